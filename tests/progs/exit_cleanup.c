/*
 * exit_cleanup: pthread_exit runs the cleanup handlers still pushed, last
 * pushed first, also when it is called from nested calls;
 * pthread_cleanup_pop(1) runs its handler at once and pthread_cleanup_pop(0)
 * drops it. Each thread logs the handlers it ran into its own buffer, which
 * main prints after the join. Last, a function that pushes and pops a
 * handler leaves its caller's locals as they were (libgreen's sigsetjmp
 * once wrote past pthread_cleanup_push's buffer).
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_progs.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "exit_cleanup"
#include "progs.h"

enum { N_THREADS = 20 };

struct log {
    char text[16];
    int len;
};

static struct log logs[N_THREADS];

static void note(struct log *log, char c)
{
    if (log->len < (int)sizeof(log->text) - 1)
        log->text[log->len++] = c;
}

static void handler_a(void *arg)
{
    note(arg, 'A');
}

static void handler_b(void *arg)
{
    note(arg, 'B');
}

static void handler_c(void *arg)
{
    note(arg, 'C');
}

static void handler_d(void *arg)
{
    note(arg, 'D');
}

static void exit_deep(int depth, struct log *log);

/* Called through a volatile pointer so that the compiler keeps every level
 * of the recursion as a real call. */
static void (*volatile exit_deeper)(int, struct log *) = exit_deep;

static void exit_deep(int depth, struct log *log)
{
    if (depth == 0) {
        note(log, 'x');
        pthread_exit(log);
    }
    exit_deeper(depth - 1, log);
    note(log, '!');
}

/* Expected log: "C" from pop(1), nothing from pop(0), then "x" and the
 * handlers D and A from pthread_exit. Odd threads sleep first, so that the
 * exit happens after the thread has been switched out at least once. */
static void *worker(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    struct log *log = &logs[i];

    pthread_cleanup_push(handler_a, log);
    pthread_cleanup_push(handler_b, log);
    pthread_cleanup_push(handler_c, log);
    pthread_cleanup_pop(1);
    pthread_cleanup_pop(0);
    pthread_cleanup_push(handler_d, log);
    if (i % 2) {
        struct timespec ts = {0, 2000000};

        nanosleep(&ts, NULL);
    }
    exit_deep((int)i % 5, log);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return NULL;
}

static void nothing(void *arg)
{
    (void)arg;
}

__attribute__((noinline)) static int pushes_and_pops(int x)
{
    int r;

    pthread_cleanup_push(nothing, NULL);
    r = x * 2;
    pthread_cleanup_pop(0);
    return r;
}

__attribute__((noinline)) static void locals_survive(void)
{
    volatile uint64_t v[8];
    int r, intact = 0;

    for (int i = 0; i < 8; i++)
        v[i] = 0x0101010101010101ULL * (uint64_t)(i + 1);
    r = pushes_and_pops(21);
    for (int i = 0; i < 8; i++)
        intact += v[i] == 0x0101010101010101ULL * (uint64_t)(i + 1);
    printf("push and pop in a callee: %d, caller's locals intact: %d of 8\n",
           r, intact);
}

int main(void)
{
    pthread_t threads[N_THREADS];
    int same = 0;

    for (uintptr_t i = 0; i < N_THREADS; i++)
        check_rc(pthread_create(&threads[i], NULL, worker, (void *)i),
                 "pthread_create");
    for (int i = 0; i < N_THREADS; i++) {
        void *ret;

        check_rc(pthread_join(threads[i], &ret), "pthread_join");
        if (ret == &logs[i] && strcmp(logs[i].text, logs[0].text) == 0)
            same++;
    }
    printf("handlers run by thread 0: %s\n", logs[0].text);
    printf("threads with the same log and exit value: %d of %d\n", same,
           N_THREADS);
    locals_survive();
    return 0;
}
