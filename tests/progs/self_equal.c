/*
 * self_equal: 1,000 threads alive at once each record pthread_self(); the
 * ids must all differ (sorted as integers, neighbours compared with
 * pthread_equal), differ from main's, and each thread's own id must equal
 * the one its creator got from pthread_create. No id is ever printed.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_progs.c
 * runs it natively and green and compares stdout and exit status.
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

#define PROG_NAME "self_equal"
#include "progs.h"

enum { N_THREADS = 1000 };

static pthread_t created[N_THREADS]; /* what pthread_create gave main */
static pthread_t seen[N_THREADS];    /* what pthread_self gave the thread */
static atomic_int recorded;
static atomic_int release;

/* Records its id, stays alive until every thread has been created, then
 * returns whether its id equals the one main got. */
static void *record(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    struct timespec ts = {0, 5000000};

    seen[i] = pthread_self();
    atomic_fetch_add_explicit(&recorded, 1, memory_order_release);
    while (!atomic_load_explicit(&release, memory_order_acquire))
        nanosleep(&ts, NULL);
    return (void *)(uintptr_t)(pthread_equal(pthread_self(), created[i]) &&
                               pthread_equal(seen[i], pthread_self()));
}

static int cmp_id(const void *a, const void *b)
{
    uintmax_t x = (uintmax_t) * (const pthread_t *)a;
    uintmax_t y = (uintmax_t) * (const pthread_t *)b;

    return (x > y) - (x < y);
}

int main(void)
{
    static pthread_t sorted[N_THREADS];
    struct timespec ts = {0, 1000000};
    pthread_attr_t attr;
    int distinct = 1, not_main = 0, matched = 0;

    check_rc(pthread_attr_init(&attr), "pthread_attr_init");
    check_rc(pthread_attr_setstacksize(&attr, 64 * 1024),
             "pthread_attr_setstacksize");
    for (uintptr_t i = 0; i < N_THREADS; i++)
        check_rc(pthread_create(&created[i], &attr, record, (void *)i),
                 "pthread_create");
    pthread_attr_destroy(&attr);
    while (atomic_load_explicit(&recorded, memory_order_acquire) < N_THREADS)
        nanosleep(&ts, NULL);

    /* All are alive here, so no id can have been reused. */
    memcpy(sorted, seen, sizeof(sorted));
    qsort(sorted, N_THREADS, sizeof(sorted[0]), cmp_id);
    for (int i = 0; i < N_THREADS; i++) {
        if (i > 0 && pthread_equal(sorted[i - 1], sorted[i]))
            distinct = 0;
        if (!pthread_equal(sorted[i], sorted[i]))
            distinct = 0;
        not_main += !pthread_equal(sorted[i], pthread_self());
    }
    atomic_store_explicit(&release, 1, memory_order_release);
    for (int i = 0; i < N_THREADS; i++) {
        void *ret;

        check_rc(pthread_join(created[i], &ret), "pthread_join");
        matched += ret != NULL;
    }
    printf("%d live threads have distinct ids: %s\n", N_THREADS,
           distinct ? "yes" : "no");
    printf("ids different from main's: %d\n", not_main);
    printf("threads whose pthread_self equals their creator's id: %d\n",
           matched);
    printf("main's pthread_self equals itself: %s\n",
           pthread_equal(pthread_self(), pthread_self()) ? "yes" : "no");
    return 0;
}
