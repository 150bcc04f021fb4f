/*
 * sleeps: sleep, usleep, nanosleep and clock_nanosleep (relative and
 * TIMER_ABSTIME, CLOCK_REALTIME and CLOCK_MONOTONIC), each from 32 threads
 * at once. Every sleep must last at least what was asked, leave nanosleep's
 * rem as it was, and return 0; the invalid calls must fail the way glibc
 * 2.36 fails them (nanosleep: -1 and errno; clock_nanosleep: the error
 * number, errno untouched).
 *
 * stdout only says which checks passed, so it is the same natively and
 * green. stderr carries "median_oversleep_us=N max_oversleep_us=N" over all
 * timed sleeps, for tests/diff_progs.c to bound green oversleep.
 *
 * A plain POSIX program that knows nothing of libgreen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "sleeps"
#include "progs.h"

enum { N_THREADS = 32 };

/* The timed checks each thread makes, in order. */
enum timed {
    T_SLEEP,
    T_USLEEP,
    T_NANOSLEEP,
    T_REALTIME_REL,
    T_MONOTONIC_REL,
    T_REALTIME_ABS,
    T_MONOTONIC_ABS,
    N_TIMED
};

static const char *const timed_name[N_TIMED] = {
    "sleep(1)",
    "usleep",
    "nanosleep",
    "clock_nanosleep CLOCK_REALTIME relative",
    "clock_nanosleep CLOCK_MONOTONIC relative",
    "clock_nanosleep CLOCK_REALTIME TIMER_ABSTIME",
    "clock_nanosleep CLOCK_MONOTONIC TIMER_ABSTIME",
};

struct result {
    int ok[N_TIMED];         /* returned 0 and lasted long enough */
    long over_us[N_TIMED];   /* how much longer than asked it lasted */
    int rem_untouched;       /* nanosleep left rem as it was */
    int clock_rem_untouched; /* clock_nanosleep left rem as it was */
    int past_deadline_ok;    /* an absolute deadline already past: 0 */
    int zero_ok;             /* zero durations: 0 */
};

static struct result results[N_THREADS];

/* Records one timed check: rc must be 0 and elapsed at least wanted. */
static void record(struct result *r, enum timed t, int rc, int64_t elapsed_ns,
                   int64_t wanted_ns)
{
    r->ok[t] = rc == 0 && elapsed_ns >= wanted_ns;
    r->over_us[t] = (long)((elapsed_ns - wanted_ns) / 1000);
}

static void *sleeper(void *arg)
{
    struct result *r = arg;
    int64_t ms = 10 + (r - results) % 3 * 10;
    int64_t want = ms * 1000000;
    struct timespec req = ts_of(want), rem;
    int64_t start, deadline;
    int rc;

    start = now_ns(CLOCK_MONOTONIC);
    rc = (int)sleep(1);
    record(r, T_SLEEP, rc, now_ns(CLOCK_MONOTONIC) - start, 1000000000);

    start = now_ns(CLOCK_MONOTONIC);
    rc = usleep((useconds_t)(ms * 1000));
    record(r, T_USLEEP, rc, now_ns(CLOCK_MONOTONIC) - start, want);

    rem = (struct timespec){.tv_sec = 123, .tv_nsec = 456};
    start = now_ns(CLOCK_MONOTONIC);
    rc = nanosleep(&req, &rem);
    record(r, T_NANOSLEEP, rc, now_ns(CLOCK_MONOTONIC) - start, want);
    r->rem_untouched = rem.tv_sec == 123 && rem.tv_nsec == 456;

    rem = (struct timespec){.tv_sec = 123, .tv_nsec = 456};
    start = now_ns(CLOCK_REALTIME);
    rc = clock_nanosleep(CLOCK_REALTIME, 0, &req, &rem);
    record(r, T_REALTIME_REL, rc, now_ns(CLOCK_REALTIME) - start, want);
    r->clock_rem_untouched = rem.tv_sec == 123 && rem.tv_nsec == 456;

    start = now_ns(CLOCK_MONOTONIC);
    rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
    record(r, T_MONOTONIC_REL, rc, now_ns(CLOCK_MONOTONIC) - start, want);

    deadline = now_ns(CLOCK_REALTIME) + want;
    req = ts_of(deadline);
    rc = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &req, NULL);
    record(r, T_REALTIME_ABS, rc, now_ns(CLOCK_REALTIME) - deadline, 0);

    deadline = now_ns(CLOCK_MONOTONIC) + want;
    req = ts_of(deadline);
    rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &req, NULL);
    record(r, T_MONOTONIC_ABS, rc, now_ns(CLOCK_MONOTONIC) - deadline, 0);

    req = ts_of(now_ns(CLOCK_MONOTONIC) - 1000000000);
    r->past_deadline_ok =
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &req, NULL) == 0;

    req = ts_of(0);
    r->zero_ok = sleep(0) == 0 && usleep(0) == 0 &&
                 nanosleep(&req, NULL) == 0 &&
                 clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL) == 0;
    return NULL;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;

    return (x > y) - (x < y);
}

static void report_timed(void)
{
    static long over[N_THREADS * N_TIMED];
    int n = 0, rem = 0, clock_rem = 0, past = 0, zero = 0;

    for (int t = 0; t < N_TIMED; t++) {
        int ok = 0;

        for (int i = 0; i < N_THREADS; i++) {
            ok += results[i].ok[t];
            over[n++] = results[i].over_us[t];
        }
        printf("%s: ok in %d of %d threads\n", timed_name[t], ok, N_THREADS);
    }
    for (int i = 0; i < N_THREADS; i++) {
        rem += results[i].rem_untouched;
        clock_rem += results[i].clock_rem_untouched;
        past += results[i].past_deadline_ok;
        zero += results[i].zero_ok;
    }
    printf("nanosleep left rem untouched: %d of %d\n", rem, N_THREADS);
    printf("clock_nanosleep left rem untouched: %d of %d\n", clock_rem,
           N_THREADS);
    printf("absolute deadline already past returns 0: %d of %d\n", past,
           N_THREADS);
    printf("zero durations return 0: %d of %d\n", zero, N_THREADS);

    qsort(over, (size_t)n, sizeof(over[0]), cmp_long);
    fprintf(stderr, "median_oversleep_us=%ld max_oversleep_us=%ld\n",
            over[n / 2], over[n - 1]);
}

/* nanosleep fails with -1 and errno. */
static void bad_nanosleep(const char *what, const struct timespec *req)
{
    int rc;

    errno = 0;
    rc = nanosleep(req, NULL);
    printf("nanosleep %s: %d, errno %s\n", what, rc, ename(errno));
}

/* clock_nanosleep returns the error number and leaves errno alone. */
static void bad_clock_nanosleep(const char *what, clockid_t clock, int flags,
                                struct timespec req)
{
    int rc;

    errno = 0;
    rc = clock_nanosleep(clock, flags, &req, NULL);
    printf("clock_nanosleep %s: %s, errno %s\n", what, ename(rc), ename(errno));
}

static void invalid_calls(void)
{
    struct timespec ms = ts_of(1000000);

    bad_nanosleep("tv_nsec 1000000000",
                  &(struct timespec){.tv_sec = 0, .tv_nsec = 1000000000});
    bad_nanosleep("tv_nsec -1", &(struct timespec){.tv_sec = 0, .tv_nsec = -1});
    bad_nanosleep("tv_sec -1", &(struct timespec){.tv_sec = -1, .tv_nsec = 0});
    bad_nanosleep("NULL", NULL);

    bad_clock_nanosleep("clock 12345", (clockid_t)12345, 0, ms);
    bad_clock_nanosleep("CLOCK_THREAD_CPUTIME_ID", CLOCK_THREAD_CPUTIME_ID, 0,
                        ms);
    bad_clock_nanosleep("tv_nsec 1000000000", CLOCK_MONOTONIC, 0,
                        (struct timespec){.tv_sec = 0, .tv_nsec = 1000000000});
    bad_clock_nanosleep("tv_nsec -1", CLOCK_REALTIME, 0,
                        (struct timespec){.tv_sec = 0, .tv_nsec = -1});
    bad_clock_nanosleep("TIMER_ABSTIME tv_nsec 1000000000", CLOCK_MONOTONIC,
                        TIMER_ABSTIME,
                        (struct timespec){.tv_sec = 0, .tv_nsec = 1000000000});
    bad_clock_nanosleep("TIMER_ABSTIME tv_sec -1", CLOCK_MONOTONIC,
                        TIMER_ABSTIME,
                        (struct timespec){.tv_sec = -1, .tv_nsec = 0});
    bad_clock_nanosleep("relative tv_sec -1", CLOCK_REALTIME, 0,
                        (struct timespec){.tv_sec = -1, .tv_nsec = 0});
}

int main(void)
{
    pthread_t threads[N_THREADS];

    for (int i = 0; i < N_THREADS; i++)
        check_rc(pthread_create(&threads[i], NULL, sleeper, &results[i]),
                 "pthread_create");
    invalid_calls();
    for (int i = 0; i < N_THREADS; i++)
        check_rc(pthread_join(threads[i], NULL), "pthread_join");
    report_timed();
    return 0;
}
