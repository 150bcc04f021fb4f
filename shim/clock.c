/*
 * shim/clock.c: turning the program's timespecs into deadlines.
 *
 * Every deadline inside libgreen is CLOCK_MONOTONIC nanoseconds. A
 * CLOCK_REALTIME time is converted once, when the wait starts, so a later
 * jump of the wall clock does not move it (see ARCHITECTURE.md). Any thread.
 */
#include "shim/shim.h"

#include <errno.h>

/* Seconds past which a deadline is as good as never. */
#define FAR_SECONDS (INT64_MAX / 1000000000 / 2)

static bool valid_nsec(const struct timespec *ts)
{
    return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

static int64_t to_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int g_deadline(clockid_t clock, const struct timespec *abs, int64_t *out)
{
    struct timespec now;
    int64_t d;

    if (!valid_nsec(abs) || abs->tv_sec < 0)
        return -EINVAL;
    if (abs->tv_sec > FAR_SECONDS) {
        *out = G_NEVER;
        return 0;
    }
    if (clock == CLOCK_MONOTONIC)
        d = to_ns(abs);
    else {
        clock_gettime(clock, &now);
        d = g_now() + (to_ns(abs) - to_ns(&now));
    }
    *out = d > 0 ? d : 1;
    return 0;
}

int g_deadline_after(const struct timespec *rel, int64_t *out)
{
    if (!valid_nsec(rel) || rel->tv_sec < 0)
        return -EINVAL;
    if (rel->tv_sec > FAR_SECONDS) {
        *out = G_NEVER;
        return 0;
    }
    *out = g_now() + to_ns(rel);
    return 0;
}

int64_t g_lock_deadline(clockid_t clock, const struct timespec *abs)
{
    int64_t deadline;

    if (!valid_nsec(abs))
        return -1;
    if (g_deadline(clock, abs, &deadline) != 0)
        return 1; /* before the epoch: long past */
    return deadline;
}
