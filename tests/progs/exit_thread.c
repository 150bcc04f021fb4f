/*
 * exit_thread: threads end by returning, by calling pthread_exit directly,
 * and by calling it from deep inside nested calls; the joiner must receive
 * the value each passed. A grandchild is joined by the thread that made it.
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

#define PROG_NAME "exit_thread"
#include "progs.h"

enum { N_THREADS = 300, MODES = 4 };

static const char *const mode_name[MODES] = {
    "return",
    "pthread_exit",
    "pthread_exit from nested calls",
    "pthread_exit(NULL)",
};

static uintptr_t value_of(uintptr_t i)
{
    return 1000 + i;
}

static void exit_deep(int depth, uintptr_t value);

/* Called through a volatile pointer so that the compiler keeps every level
 * of the recursion as a real call. */
static void (*volatile exit_deeper)(int, uintptr_t) = exit_deep;

/* Recurses depth times, leaving a live frame at each level, then exits from
 * the innermost one. */
static void exit_deep(int depth, uintptr_t value)
{
    volatile char frame[64];

    frame[depth % 64] = (char)depth;
    if (depth == 0)
        pthread_exit((void *)value);
    exit_deeper(depth - 1, value);
    check(frame[depth % 64] == 0x7f, "pthread_exit returned");
}

static void *ender(void *arg)
{
    uintptr_t i = (uintptr_t)arg;

    switch (i % MODES) {
    case 0:
        return (void *)value_of(i);
    case 1:
        pthread_exit((void *)value_of(i));
    case 2:
        exit_deep(1 + (int)(i % 20), value_of(i));
        break;
    case 3:
        pthread_exit(NULL);
    }
    check(0, "thread body fell through");
    return NULL;
}

/* Creates and joins a grandchild that ends with pthread_exit, then ends
 * itself with pthread_exit of the value it got. */
static void *parent(void *arg)
{
    pthread_t child;
    void *ret;

    (void)arg;
    check_rc(pthread_create(&child, NULL, ender, (void *)(uintptr_t)5),
             "pthread_create");
    check_rc(pthread_join(child, &ret), "pthread_join");
    pthread_exit(ret);
}

int main(void)
{
    static pthread_t threads[N_THREADS];
    int ok[MODES] = {0};
    pthread_t p;
    void *ret;

    for (uintptr_t i = 0; i < N_THREADS; i++)
        check_rc(pthread_create(&threads[i], NULL, ender, (void *)i),
                 "pthread_create");
    for (uintptr_t i = 0; i < N_THREADS; i++) {
        uintptr_t want = i % MODES == 3 ? 0 : value_of(i);

        check_rc(pthread_join(threads[i], &ret), "pthread_join");
        if ((uintptr_t)ret == want)
            ok[i % MODES]++;
    }
    for (int m = 0; m < MODES; m++)
        printf("%s: %d of %d values delivered\n", mode_name[m], ok[m],
               N_THREADS / MODES);

    check_rc(pthread_create(&p, NULL, parent, NULL), "pthread_create");
    check_rc(pthread_join(p, &ret), "pthread_join");
    printf("grandchild value passed up: %lu\n", (unsigned long)(uintptr_t)ret);
    return 0;
}
