/*
 * errno_isolation: 64 threads each set errno to a value of their own, then
 * yield and sleep many times (forcing switches among them) and check after
 * every call that errno is still theirs: a successful call must leave errno
 * alone, a failed one must set it in the failing thread only.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_progs.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "errno_isolation"
#include "progs.h"

enum { N_THREADS = 64, ROUNDS = 40 };

static atomic_int arrived;

struct tally {
    int kept_own;    /* rounds in which errno survived yield and sleeps */
    int set_einval;  /* a failed nanosleep set errno to EINVAL */
    int kept_einval; /* ...and it stayed EINVAL across a yield and a sleep */
};

static struct tally tallies[N_THREADS];

static void *keeper(void *arg)
{
    struct tally *t = arg;
    int mine = 1000 + (int)(t - tallies);
    struct timespec ms = {0, 1000000};
    struct timespec bad = {0, -1};

    /* Start together so that the rounds interleave. */
    atomic_fetch_add_explicit(&arrived, 1, memory_order_acq_rel);
    while (atomic_load_explicit(&arrived, memory_order_acquire) < N_THREADS)
        sched_yield();

    errno = mine;
    for (int r = 0; r < ROUNDS; r++) {
        int kept = 1;

        kept &= sched_yield() == 0 && errno == mine;
        kept &= nanosleep(&ms, NULL) == 0 && errno == mine;
        kept &= usleep(500) == 0 && errno == mine;
        kept &= clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL) == 0 &&
                errno == mine;
        t->kept_own += kept;
    }

    t->set_einval = nanosleep(&bad, NULL) == -1 && errno == EINVAL;
    sched_yield();
    nanosleep(&ms, NULL);
    t->kept_einval = errno == EINVAL;
    return NULL;
}

int main(void)
{
    pthread_t threads[N_THREADS];
    int kept = 0, set = 0, stayed = 0;

    for (int i = 0; i < N_THREADS; i++)
        check_rc(pthread_create(&threads[i], NULL, keeper, &tallies[i]),
                 "pthread_create");
    errno = 4242;
    for (int i = 0; i < N_THREADS; i++)
        check_rc(pthread_join(threads[i], NULL), "pthread_join");
    printf("main's errno across the joins: %d\n", errno);
    for (int i = 0; i < N_THREADS; i++) {
        kept += tallies[i].kept_own == ROUNDS;
        set += tallies[i].set_einval;
        stayed += tallies[i].kept_einval;
    }
    printf("threads whose errno survived %d rounds of yields and sleeps: %d\n",
           ROUNDS, kept);
    printf("threads whose failed nanosleep set EINVAL: %d\n", set);
    printf("threads whose EINVAL survived a yield and a sleep: %d\n", stayed);
    return 0;
}
