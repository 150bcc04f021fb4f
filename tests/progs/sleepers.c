/*
 * sleepers: 10,000 threads (64 KiB stacks) each sleep 200 ms with
 * nanosleep. Once every one of them is about to sleep, main counts the OS
 * threads of the process (the Threads: line of /proc/self/status).
 *
 * stdout is only "10000 slept", the same natively and green. stderr carries
 * "os_threads=N" and "wall_ms=N" (the whole run), for tests/diff_progs.c to
 * check that green threads are not OS threads and really sleep at once.
 *
 * A plain POSIX program that knows nothing of libgreen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "sleepers"
#include "progs.h"

enum { N_THREADS = 10000, STACK = 64 * 1024 };

static atomic_int about_to_sleep;
static atomic_int slept;

static int64_t now_ms(void)
{
    return now_ns(CLOCK_MONOTONIC) / 1000000;
}

static void *sleeper(void *arg)
{
    struct timespec ts = {0, 200 * 1000000};

    (void)arg;
    atomic_fetch_add_explicit(&about_to_sleep, 1, memory_order_release);
    if (nanosleep(&ts, NULL) == 0)
        atomic_fetch_add_explicit(&slept, 1, memory_order_relaxed);
    return NULL;
}

int main(void)
{
    static pthread_t threads[N_THREADS];
    struct timespec ms = {0, 1000000};
    int64_t start = now_ms();
    pthread_attr_t attr;

    check_rc(pthread_attr_init(&attr), "pthread_attr_init");
    check_rc(pthread_attr_setstacksize(&attr, STACK),
             "pthread_attr_setstacksize");
    for (int i = 0; i < N_THREADS; i++)
        check_rc(pthread_create(&threads[i], &attr, sleeper, NULL),
                 "pthread_create");
    pthread_attr_destroy(&attr);
    while (atomic_load_explicit(&about_to_sleep, memory_order_acquire) <
           N_THREADS)
        nanosleep(&ms, NULL);
    fprintf(stderr, "os_threads=%d\n", os_threads());
    for (int i = 0; i < N_THREADS; i++)
        check_rc(pthread_join(threads[i], NULL), "pthread_join");
    fprintf(stderr, "wall_ms=%lld\n", (long long)(now_ms() - start));
    printf("%d slept\n", atomic_load(&slept));
    return 0;
}
