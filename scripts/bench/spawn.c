/*
 * spawn: how long one pthread_create + pthread_join pair takes.
 *
 *   spawn [COUNT [ROUNDS]]     (defaults: 200000 and 5)
 *
 * Each round creates and joins COUNT threads one at a time, default
 * attributes, and is timed with CLOCK_MONOTONIC. Prints the median round as
 * "ns_per_create_join=N" on stdout. A plain pthread program that knows
 * nothing of libgreen: scripts/bench-spawn runs it natively and under
 * LD_PRELOAD=build/libgreen.so.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ROUNDS 101

/* What each thread returns, so that a join is checked for the right value. */
static int token;

static void *run(void *arg)
{
    return arg;
}

static long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Returns the mean nanoseconds per create+join over count pairs. */
static double round_ns(long count)
{
    long long t0 = now_ns();

    for (long i = 0; i < count; i++) {
        pthread_t t;
        void *ret;
        int rc = pthread_create(&t, NULL, run, &token);

        if (rc != 0) {
            fprintf(stderr, "spawn: pthread_create #%ld: %s\n", i,
                    strerror(rc));
            exit(1);
        }
        rc = pthread_join(t, &ret);
        if (rc != 0 || ret != &token) {
            fprintf(stderr, "spawn: pthread_join #%ld: %s\n", i,
                    rc ? strerror(rc) : "wrong return value");
            exit(1);
        }
    }
    return (double)(now_ns() - t0) / count;
}

int main(int argc, char **argv)
{
    long count = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    double ns[MAX_ROUNDS], median;

    if (count < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: spawn [COUNT [ROUNDS <= %d]]\n", MAX_ROUNDS);
        return 2;
    }
    for (int r = 0; r < rounds; r++)
        ns[r] = round_ns(count);
    qsort(ns, rounds, sizeof(ns[0]), cmp);
    if (rounds % 2)
        median = ns[rounds / 2];
    else
        median = (ns[rounds / 2 - 1] + ns[rounds / 2]) / 2;
    printf("ns_per_create_join=%.0f\n", median);
    return 0;
}
