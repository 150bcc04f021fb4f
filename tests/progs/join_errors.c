/*
 * join_errors: the error answers of pthread_join and its variants, as glibc
 * 2.36 gives them natively: joining oneself (EDEADLK), joining a live
 * detached thread (EINVAL), pthread_tryjoin_np on a running thread (EBUSY,
 * then 0 once it ended), pthread_timedjoin_np and pthread_clockjoin_np with a
 * deadline 50 ms ahead on a thread sleeping 1 s (ETIMEDOUT, and the deadline
 * has passed), deadlines already past or negative (ETIMEDOUT, or 0 for a
 * thread that already ended), clocks a join cannot wait on (EINVAL).
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_progs.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "join_errors"
#include "progs.h"

static atomic_int release;
static atomic_int started;

static void *join_self(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)pthread_join(pthread_self(), NULL);
}

/* Returns 77 once main sets release. */
static void *held(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&started, 1, memory_order_release);
    while (!atomic_load_explicit(&release, memory_order_acquire))
        nap_ms(1);
    return (void *)(intptr_t)77;
}

static void *sleep_ms(void *arg)
{
    nap_ms((long)(intptr_t)arg);
    return (void *)(intptr_t)88;
}

static void self_joins(void)
{
    pthread_t t;
    void *ret;

    printf("main joins itself: %s\n",
           ename(pthread_join(pthread_self(), NULL)));
    check_rc(pthread_create(&t, NULL, join_self, NULL), "pthread_create");
    check_rc(pthread_join(t, &ret), "pthread_join");
    printf("thread joins itself: %s\n", ename((int)(intptr_t)ret));
}

static void detached_and_tryjoin(void)
{
    pthread_attr_t attr;
    pthread_t detached, running;
    void *ret = NULL;
    int rc;

    check_rc(pthread_attr_init(&attr), "pthread_attr_init");
    check_rc(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED),
             "pthread_attr_setdetachstate");
    check_rc(pthread_create(&detached, &attr, held, NULL), "pthread_create");
    pthread_attr_destroy(&attr);
    check_rc(pthread_create(&running, NULL, held, NULL), "pthread_create");
    while (atomic_load_explicit(&started, memory_order_acquire) < 2)
        nap_ms(1);

    /* Both stay alive until release is set. */
    printf("join of a live detached thread: %s\n",
           ename(pthread_join(detached, NULL)));
    printf("tryjoin of a running thread: %s\n",
           ename(pthread_tryjoin_np(running, &ret)));
    atomic_store_explicit(&release, 1, memory_order_release);
    while ((rc = pthread_tryjoin_np(running, &ret)) == EBUSY)
        nap_ms(1);
    printf("tryjoin once it ended: %s, value %d\n", ename(rc),
           (int)(intptr_t)ret);
}

static void timed_joins(void)
{
    struct timespec deadline;
    pthread_t t, quick;
    void *ret = NULL;
    int rc;

    check_rc(pthread_create(&t, NULL, sleep_ms, (void *)(intptr_t)1000),
             "pthread_create");

    deadline = after_ms(CLOCK_REALTIME, 50);
    rc = pthread_timedjoin_np(t, &ret, &deadline);
    printf("timedjoin, 50 ms on a thread sleeping 1 s: %s, deadline %s\n",
           ename(rc),
           reached(CLOCK_REALTIME, &deadline) ? "passed" : "not passed");

    deadline = after_ms(CLOCK_MONOTONIC, 50);
    rc = pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC, &deadline);
    printf("clockjoin CLOCK_MONOTONIC, 50 ms: %s, deadline %s\n", ename(rc),
           reached(CLOCK_MONOTONIC, &deadline) ? "passed" : "not passed");

    deadline = after_ms(CLOCK_REALTIME, 50);
    rc = pthread_clockjoin_np(t, &ret, CLOCK_REALTIME, &deadline);
    printf("clockjoin CLOCK_REALTIME, 50 ms: %s, deadline %s\n", ename(rc),
           reached(CLOCK_REALTIME, &deadline) ? "passed" : "not passed");

    deadline = after_ms(CLOCK_MONOTONIC, -1000);
    printf("clockjoin, deadline 1 s ago: %s\n",
           ename(pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC, &deadline)));
    deadline = (struct timespec){.tv_sec = -1, .tv_nsec = 0};
    printf("timedjoin, negative deadline: %s\n",
           ename(pthread_timedjoin_np(t, &ret, &deadline)));

    deadline = after_ms(CLOCK_MONOTONIC, 50);
    printf("clockjoin CLOCK_PROCESS_CPUTIME_ID: %s\n",
           ename(pthread_clockjoin_np(t, &ret, CLOCK_PROCESS_CPUTIME_ID,
                                      &deadline)));
    printf("clockjoin CLOCK_THREAD_CPUTIME_ID: %s\n",
           ename(pthread_clockjoin_np(t, &ret, CLOCK_THREAD_CPUTIME_ID,
                                      &deadline)));
    printf("clockjoin clock 12345: %s\n",
           ename(pthread_clockjoin_np(t, &ret, (clockid_t)12345, &deadline)));

    ret = NULL;
    rc = pthread_join(t, &ret);
    printf("join of the sleeping thread: %s, value %d\n", ename(rc),
           (int)(intptr_t)ret);

    /* A deadline already past does not matter if the thread has ended. */
    check_rc(pthread_create(&quick, NULL, sleep_ms, (void *)(intptr_t)0),
             "pthread_create");
    nap_ms(100);
    deadline = after_ms(CLOCK_REALTIME, -1000);
    ret = NULL;
    rc = pthread_timedjoin_np(quick, &ret, &deadline);
    printf("timedjoin of an ended thread, deadline 1 s ago: %s, value %d\n",
           ename(rc), (int)(intptr_t)ret);
    if (rc != 0)
        check_rc(pthread_join(quick, NULL), "pthread_join");

    /* glibc 2.36 does not check tv_nsec of a join deadline: the futex call
     * fails with EINVAL, the join retries until the thread has ended, and
     * returns 0. */
    check_rc(pthread_create(&t, NULL, sleep_ms, (void *)(intptr_t)100),
             "pthread_create");
    deadline = after_ms(CLOCK_REALTIME, 0);
    deadline.tv_nsec = 1000000000;
    ret = NULL;
    rc = pthread_timedjoin_np(t, &ret, &deadline);
    printf("timedjoin, tv_nsec 1000000000: %s, value %d\n", ename(rc),
           (int)(intptr_t)ret);
    if (rc != 0)
        check_rc(pthread_join(t, NULL), "pthread_join");
    check_rc(pthread_create(&t, NULL, sleep_ms, (void *)(intptr_t)100),
             "pthread_create");
    deadline = after_ms(CLOCK_MONOTONIC, 0);
    deadline.tv_nsec = -1;
    ret = NULL;
    rc = pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC, &deadline);
    printf("clockjoin, tv_nsec -1: %s, value %d\n", ename(rc),
           (int)(intptr_t)ret);
    if (rc != 0)
        check_rc(pthread_join(t, NULL), "pthread_join");
}

int main(void)
{
    self_joins();
    detached_and_tryjoin();
    timed_joins();
    return 0;
}
