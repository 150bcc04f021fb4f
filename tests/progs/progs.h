/*
 * progs.h: helpers shared by the test programs of tests/progs/, so that each
 * of them need not carry its own copy. Like the programs, it is plain POSIX
 * (with glibc's extensions) and knows nothing of libgreen; there is no .c
 * file and nothing to link, only static inline functions and two static
 * variables that each program gets its own copy of.
 *
 * A program defines PROG_NAME, the prefix of its fatal error messages, then
 * includes this header after its system headers:
 *
 *     #define PROG_NAME "sync_sem"
 *     #include "progs.h"
 *
 * What is here:
 *  - check, check_rc, check_errno: print what failed on stderr and exit 1;
 *  - ename: the name of an errno value (or of a pthread answer), as the
 *    programs print them on stdout;
 *  - os_threads, sample_threads and os_threads_max: the Threads: line of
 *    /proc/self/status, for the "os_threads=N" and "os_threads_max=N" lines;
 *  - nap_ms, after_ms, reached and max_late_us: sleeps, deadlines and the
 *    worst lateness of a deadline, for the "max_late_us=N" line;
 *  - ns_of, now_ns, ts_of: times in nanoseconds.
 */
#ifndef PROGS_H
#define PROGS_H

#ifndef PROG_NAME
#error "define PROG_NAME before including progs.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- fatal checks ------------------------------------------------------- */

/* Exits 1 unless ok, saying what was expected. */
static inline void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, PROG_NAME ": check failed: %s\n", what);
        exit(1);
    }
}

/* Exits 1 unless rc, the answer of a pthread-style call, is 0. */
static inline void check_rc(int rc, const char *call)
{
    if (rc != 0) {
        fprintf(stderr, PROG_NAME ": %s: %s\n", call, strerror(rc));
        exit(1);
    }
}

/* Exits 1 unless rc, the answer of a call that sets errno, is 0. */
static inline void check_errno(int rc, const char *call)
{
    if (rc != 0) {
        fprintf(stderr, PROG_NAME ": %s: %s\n", call, strerror(errno));
        exit(1);
    }
}

/* --- errno names -------------------------------------------------------- */

/* The name of e, an errno value, 0 or PTHREAD_BARRIER_SERIAL_THREAD; any
 * other value as "errno N" (in a buffer the next call may reuse). */
static inline const char *ename(int e)
{
    static char other[32];

    switch (e) {
    case 0:
        return "0";
    case PTHREAD_BARRIER_SERIAL_THREAD:
        return "PTHREAD_BARRIER_SERIAL_THREAD";
    case EAGAIN:
        return "EAGAIN";
    case EBADF:
        return "EBADF";
    case EBUSY:
        return "EBUSY";
    case ECHILD:
        return "ECHILD";
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case ECONNRESET:
        return "ECONNRESET";
    case EDEADLK:
        return "EDEADLK";
    case EEXIST:
        return "EEXIST";
    case EFAULT:
        return "EFAULT";
    case EINPROGRESS:
        return "EINPROGRESS";
    case EINTR:
        return "EINTR";
    case EINVAL:
        return "EINVAL";
    case EMFILE:
        return "EMFILE";
    case ENOENT:
        return "ENOENT";
    case ENOTCONN:
        return "ENOTCONN";
    case ENOTSUP:
        return "ENOTSUP";
    case EOVERFLOW:
        return "EOVERFLOW";
    case EPERM:
        return "EPERM";
    case EPIPE:
        return "EPIPE";
    case ESPIPE:
        return "ESPIPE";
    case ERANGE:
        return "ERANGE";
    case ESRCH:
        return "ESRCH";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case EOWNERDEAD:
        return "EOWNERDEAD";
    case ENOTRECOVERABLE:
        return "ENOTRECOVERABLE";
    default:
        snprintf(other, sizeof(other), "errno %d", e);
        return other;
    }
}

/* --- OS threads --------------------------------------------------------- */

/* The highest count sample_threads has seen, for "os_threads_max=N". */
static int os_threads_max;

/* The Threads: line of /proc/self/status, or -1. */
static inline int os_threads(void)
{
    char line[256];
    int n = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* Samples the Threads: line of /proc/self/status into os_threads_max. */
static inline void sample_threads(void)
{
    int n = os_threads();

    if (n > os_threads_max)
        os_threads_max = n;
}

/* --- sleeps and deadlines ----------------------------------------------- */

/* The worst lateness reached has seen, in microseconds, for
 * "max_late_us=N". */
static long max_late_us;

/* Sleeps ms milliseconds (or less, if a signal comes). */
static inline void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000};

    nanosleep(&ts, NULL);
}

/* The time on clock ms milliseconds from now (ms may be negative). */
static inline struct timespec after_ms(clockid_t clock, long ms)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += ms % 1000 * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

/* Whether deadline on clock has passed; if it has, keeps the worst
 * lateness in max_late_us. */
static inline int reached(clockid_t clock, const struct timespec *deadline)
{
    struct timespec now;
    long late;

    clock_gettime(clock, &now);
    if (now.tv_sec < deadline->tv_sec ||
        (now.tv_sec == deadline->tv_sec && now.tv_nsec < deadline->tv_nsec))
        return 0;
    late = (now.tv_sec - deadline->tv_sec) * 1000000L +
           (now.tv_nsec - deadline->tv_nsec) / 1000;
    if (late > max_late_us)
        max_late_us = late;
    return 1;
}

/* --- nanoseconds -------------------------------------------------------- */

static inline int64_t ns_of(struct timespec ts)
{
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t now_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return ns_of(ts);
}

static inline struct timespec ts_of(int64_t ns)
{
    return (struct timespec){.tv_sec = ns / 1000000000,
                             .tv_nsec = ns % 1000000000};
}

#endif
