/*
 * sync_stress: 10,000 threads (64 KiB stacks) contend one mutex. Main holds
 * it while it creates them all, so every one of them starts out blocked on
 * it. Each then enters the critical section twice; one entry in ten (every
 * tenth by the shared count) sleeps 100 us with nanosleep inside it. Inside,
 * a flag checks that no two threads ever hold the mutex at once.
 *
 * stdout shows exact totals. stderr carries "os_threads_max=N", sampled
 * while all threads are blocked on the mutex (10,001 natively: the runner
 * bounds it for green runs).
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_sync.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "sync_stress"
#include "progs.h"

enum { THREADS = 10000, ENTRIES = 2, STACK = 64 * 1024 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long entries, sleeps, overlaps, finished;
static int inside;

static void *contender(void *arg)
{
    struct timespec nap = {0, 100000};

    (void)arg;
    for (int i = 0; i < ENTRIES; i++) {
        check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
        if (inside)
            overlaps++;
        inside = 1;
        if (entries++ % 10 == 0) {
            nanosleep(&nap, NULL);
            sleeps++;
        }
        if (i == ENTRIES - 1)
            finished++;
        inside = 0;
        check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    }
    return NULL;
}

int main(void)
{
    static pthread_t t[THREADS];
    struct timespec settle = {0, 20 * 1000000};
    pthread_attr_t attr;

    check_rc(pthread_attr_init(&attr), "pthread_attr_init");
    check_rc(pthread_attr_setstacksize(&attr, STACK),
             "pthread_attr_setstacksize");
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_create(&t[i], &attr, contender, NULL),
                 "pthread_create");
    pthread_attr_destroy(&attr);
    nanosleep(&settle, NULL);
    sample_threads();
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    printf("%d threads: %ld entries, %ld with a sleep inside, %ld finished, "
           "%ld overlaps\n",
           THREADS, entries, sleeps, finished, overlaps);
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
