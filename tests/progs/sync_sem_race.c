/*
 * sync_sem_race: posts racing waiters that give up, on one private
 * semaphore, and not one unit lost or made up.
 *
 * 12 takers loop until told to stop: each round is a sem_timedwait (a
 * deadline 0 to 300 us ahead, so that many time out while queued and must
 * leave the queue as a post picks its waiter), a sem_trywait or a
 * sem_wait, chosen by a per-thread sequence. 4 posters post 20,000 units
 * each, yielding or pausing 50 us now and then. One taker and one poster are OS threads
 * made in a constructor (under libgreen, before its runtime
 * starts: they block for real on the same queue the green ones park on).
 * When the posters are done, main posts one unit per sem_wait-ing taker it
 * has to stop, then drains what is left with sem_trywait. Every unit posted
 * is either taken by exactly one taker or left over: the totals on stdout
 * must be equal.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_sync.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "sync_sem_race"
#include "progs.h"

enum {
    TAKERS = 12,
    OS_TAKERS = 1, /* of TAKERS, made in the constructor */
    POSTERS = 4,
    OS_POSTERS = 1, /* of POSTERS, made in the constructor */
    POSTS = 20000,  /* per poster */
};

static sem_t units;
static atomic_long taken, timeouts;
static atomic_int stop;
static pthread_t takers[TAKERS], posters[POSTERS];
static int ctor_rc;

static void *taker(void *arg)
{
    unsigned seq = (unsigned)(uintptr_t)arg * 2654435761u;
    long mine = 0, timed_out = 0;

    while (!atomic_load(&stop)) {
        struct timespec ts;
        int rc;

        seq = seq * 1103515245u + 12345u;
        switch ((seq >> 16) % 4) {
        case 0:
        case 1:
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)((seq >> 8) % 300) * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            rc = sem_timedwait(&units, &ts);
            if (rc != 0 && errno != ETIMEDOUT)
                check_errno(rc, "sem_timedwait");
            timed_out += rc != 0;
            break;
        case 2:
            rc = sem_trywait(&units);
            if (rc != 0 && errno != EAGAIN)
                check_errno(rc, "sem_trywait");
            break;
        default:
            check_errno(rc = sem_wait(&units), "sem_wait");
            break;
        }
        mine += rc == 0;
    }
    atomic_fetch_add(&taken, mine);
    atomic_fetch_add(&timeouts, timed_out);
    return NULL;
}

static void pause_50us(void)
{
    struct timespec ts = {0, 50000};

    nanosleep(&ts, NULL);
}

static void *poster(void *arg)
{
    (void)arg;
    for (int i = 0; i < POSTS; i++) {
        check_errno(sem_post(&units), "sem_post");
        /* Pauses keep the semaphore empty for a while, so that timed
         * waiters time out while posts go on. */
        if (i % 32 == 0)
            pause_50us();
        else if (i % 8 == 0)
            sched_yield();
    }
    return NULL;
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(t, NULL, fn, arg);

    if (rc != 0 && !ctor_rc)
        ctor_rc = rc;
}

/* Runs before main, and before libgreen starts its runtime. */
__attribute__((constructor)) static void start_os_threads(void)
{
    check_errno(sem_init(&units, 0, 0), "sem_init");
    for (int i = 0; i < OS_TAKERS; i++)
        start(&takers[i], taker, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < OS_POSTERS; i++)
        start(&posters[i], poster, NULL);
}

int main(void)
{
    long left = 0;

    check_rc(ctor_rc, "pthread_create in a constructor");
    for (int i = OS_TAKERS; i < TAKERS; i++)
        check_rc(pthread_create(&takers[i], NULL, taker,
                                (void *)(uintptr_t)(i + 1)),
                 "pthread_create");
    for (int i = OS_POSTERS; i < POSTERS; i++)
        check_rc(pthread_create(&posters[i], NULL, poster, NULL),
                 "pthread_create");
    sample_threads();
    for (int i = 0; i < POSTERS; i++)
        check_rc(pthread_join(posters[i], NULL), "pthread_join");

    /* Stop the takers: one extra unit each lets any in sem_wait return. */
    atomic_store(&stop, 1);
    for (int i = 0; i < TAKERS; i++)
        check_errno(sem_post(&units), "sem_post");
    for (int i = 0; i < TAKERS; i++)
        check_rc(pthread_join(takers[i], NULL), "pthread_join");
    while (sem_trywait(&units) == 0)
        left++;
    check(errno == EAGAIN, "the drain ends with EAGAIN");

    printf("posted %d\n", POSTERS * POSTS + TAKERS);
    printf("taken or left %ld\n", atomic_load(&taken) + left);
    fprintf(stderr, "timeouts=%ld\n", atomic_load(&timeouts));
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
