/*
 * create_join: creates and joins 10,000 threads one at a time, then 10
 * batches of 1,000 threads each created before any of them is joined, and
 * checks that every return value reaches its joiner.
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

#define PROG_NAME "create_join"
#include "progs.h"

enum { N_SEQUENTIAL = 10000, BATCH = 1000, N_BATCHES = 10 };

/* Returns the square of its argument, so every joiner can check its value. */
static void *square(void *arg)
{
    uintptr_t i = (uintptr_t)arg;

    return (void *)(i * i);
}

static uint64_t sum_of_squares(uint64_t n)
{
    return (n - 1) * n * (2 * n - 1) / 6;
}

static void sequential(void)
{
    uint64_t sum = 0;

    for (uintptr_t i = 0; i < N_SEQUENTIAL; i++) {
        pthread_t t;
        void *ret;

        check_rc(pthread_create(&t, NULL, square, (void *)i), "pthread_create");
        check_rc(pthread_join(t, &ret), "pthread_join");
        check((uintptr_t)ret == i * i, "sequential return value");
        sum += (uintptr_t)ret;
    }
    check(sum == sum_of_squares(N_SEQUENTIAL), "sequential sum");
    printf("sequential: %d threads, sum of squares %llu\n", N_SEQUENTIAL,
           (unsigned long long)sum);
}

/* Joins each batch in reverse order of creation, so that most joins find
 * their thread already finished and some may still have to wait. */
static void batches(void)
{
    static pthread_t threads[BATCH];
    uint64_t sum = 0;

    for (uintptr_t b = 0; b < N_BATCHES; b++) {
        for (uintptr_t i = 0; i < BATCH; i++)
            check_rc(pthread_create(&threads[i], NULL, square,
                                    (void *)(b * BATCH + i)),
                     "pthread_create");
        for (uintptr_t i = BATCH; i-- > 0;) {
            void *ret;
            uintptr_t arg = b * BATCH + i;

            check_rc(pthread_join(threads[i], &ret), "pthread_join");
            check((uintptr_t)ret == arg * arg, "batch return value");
            sum += (uintptr_t)ret;
        }
    }
    check(sum == sum_of_squares(N_BATCHES * BATCH), "batch sum");
    printf("batches: %d x %d threads, sum of squares %llu\n", N_BATCHES, BATCH,
           (unsigned long long)sum);
}

int main(void)
{
    sequential();
    batches();
    return 0;
}
