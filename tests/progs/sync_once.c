/*
 * sync_once: pthread_once under contention. 64 threads call pthread_once on
 * the same control; the init routine waits until all 64 have started, then
 * calls pthread_self, sleeps 50 ms (nanosleep and usleep) and sets a flag as
 * its last act. It must run exactly once and every caller must return only
 * after it finished (sees the flag). Later calls, from main and from new
 * threads, return at once without running it; a second control runs its own
 * routine once.
 *
 * stdout shows counts only. stderr carries "os_threads_max=N", sampled by
 * the init routine while the other 63 callers wait (65 natively: the runner
 * bounds it for green runs).
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_sync.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "sync_once"
#include "progs.h"

enum { THREADS = 64 };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_once_t other_once = PTHREAD_ONCE_INIT;
static atomic_int started;
static atomic_int init_runs, other_runs;
static atomic_int done;       /* set by init as its last act */
static atomic_int saw_done;   /* callers that found done set on return */
static atomic_int self_equal; /* init's pthread_self was a caller's */

static pthread_t runner_of_init;

static void init(void)
{
    atomic_fetch_add(&init_runs, 1);
    runner_of_init = pthread_self();
    while (atomic_load(&started) < THREADS)
        nap_ms(1);
    nap_ms(25);
    sample_threads();
    usleep(25000);
    atomic_store(&done, 1);
}

static void other_init(void)
{
    atomic_fetch_add(&other_runs, 1);
}

static void *caller(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    check_rc(pthread_once(&once, init), "pthread_once");
    if (atomic_load(&done))
        atomic_fetch_add(&saw_done, 1);
    if (pthread_equal(runner_of_init, pthread_self()))
        atomic_fetch_add(&self_equal, 1);
    return NULL;
}

static void *late_caller(void *arg)
{
    (void)arg;
    check_rc(pthread_once(&once, init), "pthread_once");
    check_rc(pthread_once(&other_once, other_init), "pthread_once");
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];

    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_create(&t[i], NULL, caller, NULL), "pthread_create");
    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    printf("%d callers: init ran %d time(s), %d returned after it finished, "
           "%d of them ran it\n",
           THREADS, atomic_load(&init_runs), atomic_load(&saw_done),
           atomic_load(&self_equal));

    check_rc(pthread_once(&once, init), "pthread_once");
    for (int i = 0; i < 4; i++)
        check_rc(pthread_create(&t[i], NULL, late_caller, NULL),
                 "pthread_create");
    for (int i = 0; i < 4; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    printf("after: init ran %d time(s), the other control's init %d\n",
           atomic_load(&init_runs), atomic_load(&other_runs));

    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
