/*
 * sync_barrier: 16 threads pass the same barrier 100 times. In each round
 * every thread adds itself to that round's arrival count before waiting and
 * checks after the wait that all 16 arrived; exactly one thread per round
 * gets PTHREAD_BARRIER_SERIAL_THREAD. Also: a barrier of count 1 makes every
 * caller the serial one, and count 0 is EINVAL.
 *
 * stdout shows totals only. stderr carries "os_threads_max=N", sampled by
 * the serial thread of a few rounds (17 natively: the runner bounds it for
 * green runs).
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

#define PROG_NAME "sync_barrier"
#include "progs.h"

enum { THREADS = 16, ROUNDS = 100 };

static pthread_barrier_t barrier;
static atomic_int arrived[ROUNDS];
static atomic_int serial[ROUNDS];
static atomic_int short_rounds; /* a thread passed before all arrived */
static atomic_int bad_answers;  /* neither 0 nor the serial answer */

static void *runner(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        int rc;

        atomic_fetch_add(&arrived[r], 1);
        rc = pthread_barrier_wait(&barrier);
        if (atomic_load(&arrived[r]) != THREADS)
            atomic_fetch_add(&short_rounds, 1);
        if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
            atomic_fetch_add(&serial[r], 1);
            /* The others are on their way into the next round's wait. */
            if (r % 25 == 10)
                sample_threads();
        } else if (rc != 0) {
            atomic_fetch_add(&bad_answers, 1);
        }
    }
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    pthread_barrier_t b;
    int one_serial = 0, all_arrived = 0;

    check_rc(pthread_barrier_init(&barrier, NULL, THREADS),
             "pthread_barrier_init");
    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_create(&t[i], NULL, runner, NULL), "pthread_create");
    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    for (int r = 0; r < ROUNDS; r++) {
        one_serial += atomic_load(&serial[r]) == 1;
        all_arrived += atomic_load(&arrived[r]) == THREADS;
    }
    printf("%d threads, %d rounds: %d rounds with exactly one serial "
           "thread, %d with all arrived, %d early passes, %d bad answers\n",
           THREADS, ROUNDS, one_serial, all_arrived, atomic_load(&short_rounds),
           atomic_load(&bad_answers));
    printf("destroy: %s\n", ename(pthread_barrier_destroy(&barrier)));

    check_rc(pthread_barrier_init(&b, NULL, 1), "pthread_barrier_init");
    printf("count 1, wait: %s\n", ename(pthread_barrier_wait(&b)));
    printf("count 1, wait again: %s\n", ename(pthread_barrier_wait(&b)));
    printf("destroy: %s\n", ename(pthread_barrier_destroy(&b)));
    printf("init with count 0: %s\n", ename(pthread_barrier_init(&b, NULL, 0)));

    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
