/*
 * sync_cond: condition variables. A signal wakes a waiter whose predicate
 * became true; timedwait without a signal times out (ETIMEDOUT, never before
 * the deadline) on CLOCK_REALTIME, on a condvar whose condattr clock is
 * CLOCK_MONOTONIC, and with pthread_cond_clockwait on both clocks (another
 * clock gives EINVAL); a timed wait that is signalled returns 0; 1000 rounds
 * of ping-pong between two threads through one mutex and condvar lose no
 * wake-up; one broadcast wakes all of 100 waiters. The condvars are
 * statically initialized or made with attributes.
 *
 * stdout shows results only ("ok" for timeouts). stderr carries
 * "os_threads_max=N", sampled while the 100 waiters wait (101 threads
 * natively: the runner bounds it for green runs), and "max_late_us=N", the
 * worst lateness of a timed wait.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_sync.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "sync_cond"
#include "progs.h"

enum { ROUNDS = 1000, WAITERS = 100 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

/* "ok" if rc is ETIMEDOUT and the deadline on clock has passed; records
 * the lateness. */
static const char *timed_out(int rc, clockid_t clock,
                             const struct timespec *deadline)
{
    if (rc != ETIMEDOUT)
        return ename(rc);
    return reached(clock, deadline) ? "ok" : "EARLY";
}

/* --- signal and wait ---------------------------------------------------- */

static int ready;
static int seen;

static void *wait_ready(void *arg)
{
    (void)arg;
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    while (!ready)
        check_rc(pthread_cond_wait(&cond, &lock), "pthread_cond_wait");
    seen = ready;
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    return NULL;
}

static void signal_wakes_waiter(void)
{
    pthread_t t;

    check_rc(pthread_create(&t, NULL, wait_ready, NULL), "pthread_create");
    nap_ms(20);
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    ready = 42;
    check_rc(pthread_cond_signal(&cond), "pthread_cond_signal");
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("signal: waiter saw %d\n", seen);
    printf("signal with no waiter: %s\n", ename(pthread_cond_signal(&cond)));
    printf("broadcast with no waiter: %s\n",
           ename(pthread_cond_broadcast(&cond)));
}

/* --- timed waits -------------------------------------------------------- */

struct signal_later {
    pthread_cond_t *c;
    int *flag;
};

static void *signal_after_20ms(void *arg)
{
    struct signal_later *s = arg;

    nap_ms(20);
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    *s->flag = 1;
    check_rc(pthread_cond_signal(s->c), "pthread_cond_signal");
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    return NULL;
}

/* Waits on c with deadline on clock (timed: 0 for pthread_cond_timedwait,
 * 1 for clockwait) while another thread signals after 20 ms; returns the
 * answer of the wait that saw the flag. */
static int signalled_wait(pthread_cond_t *c, int clockwait, clockid_t clock)
{
    struct signal_later s;
    struct timespec deadline;
    pthread_t t;
    int flag = 0, rc = 0;

    s.c = c;
    s.flag = &flag;
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    check_rc(pthread_create(&t, NULL, signal_after_20ms, &s), "pthread_create");
    deadline = after_ms(clock, 5000);
    while (!flag && rc == 0)
        rc = clockwait ? pthread_cond_clockwait(c, &lock, clock, &deadline)
                       : pthread_cond_timedwait(c, &lock, &deadline);
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    check_rc(pthread_join(t, NULL), "pthread_join");
    return rc;
}

static void timed_waits(void)
{
    pthread_condattr_t attr;
    pthread_cond_t mono;
    struct timespec deadline;
    clockid_t clock = -1;
    int rc;

    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    deadline = after_ms(CLOCK_REALTIME, 50);
    do
        rc = pthread_cond_timedwait(&cond, &lock, &deadline);
    while (rc == 0);
    printf("timedwait 50 ms: %s\n", timed_out(rc, CLOCK_REALTIME, &deadline));

    deadline = after_ms(CLOCK_REALTIME, -1000);
    printf("timedwait, deadline 1 s ago: %s\n",
           ename(pthread_cond_timedwait(&cond, &lock, &deadline)));

    deadline = after_ms(CLOCK_MONOTONIC, 50);
    do
        rc = pthread_cond_clockwait(&cond, &lock, CLOCK_MONOTONIC, &deadline);
    while (rc == 0);
    printf("clockwait CLOCK_MONOTONIC 50 ms: %s\n",
           timed_out(rc, CLOCK_MONOTONIC, &deadline));

    deadline = after_ms(CLOCK_REALTIME, 50);
    do
        rc = pthread_cond_clockwait(&cond, &lock, CLOCK_REALTIME, &deadline);
    while (rc == 0);
    printf("clockwait CLOCK_REALTIME 50 ms: %s\n",
           timed_out(rc, CLOCK_REALTIME, &deadline));

    deadline = after_ms(CLOCK_MONOTONIC, 50);
    printf("clockwait CLOCK_PROCESS_CPUTIME_ID: %s\n",
           ename(pthread_cond_clockwait(&cond, &lock, CLOCK_PROCESS_CPUTIME_ID,
                                        &deadline)));
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");

    check_rc(pthread_condattr_init(&attr), "pthread_condattr_init");
    printf("condattr_setclock CLOCK_MONOTONIC: %s\n",
           ename(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)));
    printf("condattr_setclock CLOCK_PROCESS_CPUTIME_ID: %s\n",
           ename(pthread_condattr_setclock(&attr, CLOCK_PROCESS_CPUTIME_ID)));
    check_rc(pthread_condattr_getclock(&attr, &clock),
             "pthread_condattr_getclock");
    printf("condattr_getclock is CLOCK_MONOTONIC: %s\n",
           clock == CLOCK_MONOTONIC ? "yes" : "no");
    check_rc(pthread_cond_init(&mono, &attr), "pthread_cond_init");
    pthread_condattr_destroy(&attr);

    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    deadline = after_ms(CLOCK_MONOTONIC, 50);
    do
        rc = pthread_cond_timedwait(&mono, &lock, &deadline);
    while (rc == 0);
    printf("monotonic condvar timedwait 50 ms: %s\n",
           timed_out(rc, CLOCK_MONOTONIC, &deadline));
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");

    printf("monotonic condvar timedwait, signalled: %s\n",
           ename(signalled_wait(&mono, 0, CLOCK_MONOTONIC)));
    printf("timedwait, signalled: %s\n",
           ename(signalled_wait(&cond, 0, CLOCK_REALTIME)));
    printf("clockwait CLOCK_MONOTONIC, signalled: %s\n",
           ename(signalled_wait(&cond, 1, CLOCK_MONOTONIC)));
    printf("clockwait CLOCK_REALTIME, signalled: %s\n",
           ename(signalled_wait(&cond, 1, CLOCK_REALTIME)));
    printf("destroy: %s\n", ename(pthread_cond_destroy(&mono)));
}

/* --- ping-pong ---------------------------------------------------------- */

static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond = PTHREAD_COND_INITIALIZER;
static int turn; /* whose move: 0 or 1 */
static long moves[2];

static void *player(void *arg)
{
    int me = (int)(long)arg;

    check_rc(pthread_mutex_lock(&pp_lock), "pthread_mutex_lock");
    for (int i = 0; i < ROUNDS; i++) {
        while (turn != me)
            check_rc(pthread_cond_wait(&pp_cond, &pp_lock),
                     "pthread_cond_wait");
        moves[me]++;
        turn = !me;
        check_rc(pthread_cond_signal(&pp_cond), "pthread_cond_signal");
    }
    check_rc(pthread_mutex_unlock(&pp_lock), "pthread_mutex_unlock");
    return NULL;
}

static void ping_pong(void)
{
    pthread_t t[2];

    for (long i = 0; i < 2; i++)
        check_rc(pthread_create(&t[i], NULL, player, (void *)i),
                 "pthread_create");
    for (int i = 0; i < 2; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    printf("ping-pong: %ld and %ld moves, turn %d\n", moves[0], moves[1], turn);
}

/* --- broadcast ---------------------------------------------------------- */

static pthread_cond_t all_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t waiting_cond = PTHREAD_COND_INITIALIZER;
static int waiting, go, woken;

static void *broadcast_waiter(void *arg)
{
    (void)arg;
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    if (++waiting == WAITERS)
        check_rc(pthread_cond_signal(&waiting_cond), "pthread_cond_signal");
    while (!go)
        check_rc(pthread_cond_wait(&all_cond, &lock), "pthread_cond_wait");
    woken++;
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    return NULL;
}

static void broadcast_wakes_all(void)
{
    static pthread_t t[WAITERS];

    for (int i = 0; i < WAITERS; i++)
        check_rc(pthread_create(&t[i], NULL, broadcast_waiter, NULL),
                 "pthread_create");
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    while (waiting < WAITERS)
        check_rc(pthread_cond_wait(&waiting_cond, &lock), "pthread_cond_wait");
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    nap_ms(10);
    sample_threads();
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    go = 1;
    check_rc(pthread_cond_broadcast(&all_cond), "pthread_cond_broadcast");
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    for (int i = 0; i < WAITERS; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    printf("broadcast: %d of %d waiters woke\n", woken, WAITERS);
}

int main(void)
{
    signal_wakes_waiter();
    timed_waits();
    ping_pong();
    broadcast_wakes_all();
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    fprintf(stderr, "max_late_us=%ld\n", max_late_us);
    return 0;
}
