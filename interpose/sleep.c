/*
 * interpose/sleep.c: sleep, usleep, nanosleep, clock_nanosleep.
 *
 * On a green thread a sleep parks until its deadline on the worker's timer
 * heap; the worker runs the other green threads meanwhile. All four are
 * cancellation points. Signals do not interrupt a green sleep (they go to
 * the worker OS thread: see ARCHITECTURE.md), so a green sleep never ends
 * early with EINTR and leaves *rem alone. Runs on any thread.
 */
#include "interpose/interpose.h"

#include <unistd.h>

/* May park. Sleep until deadline, acting on a cancel that arrives. */
static void sleep_until(struct g_thread *self, int64_t deadline)
{
    if (deadline <= g_now()) {
        g_testcancel();
        g_yield(self); /* a zero sleep still lets others run */
        return;
    }
    if (g_sleep_until(deadline) == -ECANCELED)
        g_cancel_act(self);
}

G_EXPORT int clock_nanosleep(clockid_t clock, int flags,
                             const struct timespec *req, struct timespec *rem)
{
    struct g_thread *self = hook_enter();
    int64_t deadline;
    int rc;

    /* Other clocks (CPU-time clocks, BOOTTIME, TAI) keep their real
     * behaviour, errors included. */
    if (!self || (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC))
        return real_clock_nanosleep(clock, flags, req, rem);
    if (flags & TIMER_ABSTIME)
        rc = g_deadline(clock, req, &deadline);
    else
        rc = g_deadline_after(req, &deadline);
    if (rc < 0)
        return -rc;
    sleep_until(self, deadline);
    return 0;
}

G_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    struct g_thread *self = hook_enter();
    int64_t deadline;
    int rc;

    if (!self)
        return real_nanosleep(req, rem);
    if (!req)
        return (int)g_ret(-EFAULT);
    rc = g_deadline_after(req, &deadline);
    if (rc < 0)
        return (int)g_ret(rc);
    sleep_until(self, deadline);
    return 0;
}

G_EXPORT unsigned int sleep(unsigned int seconds)
{
    struct g_thread *self = hook_enter();

    if (!self)
        return real_sleep(seconds);
    sleep_until(self, g_now() + (int64_t)seconds * 1000000000);
    return 0;
}

G_EXPORT int usleep(useconds_t usec)
{
    struct g_thread *self = hook_enter();

    if (!self)
        return real_usleep(usec);
    sleep_until(self, g_now() + (int64_t)usec * 1000);
    return 0;
}
