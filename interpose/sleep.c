/*
 * interpose/sleep.c: sleep, usleep, nanosleep, clock_nanosleep.
 *
 * On a green thread a sleep parks until its deadline on the worker's timer
 * heap; the worker runs the other green threads meanwhile. All four are
 * cancellation points. A signal handled on the thread ends the sleep early,
 * as natively: EINTR, and the time left in *rem for a relative sleep (a
 * sleep is never restarted, whatever SA_RESTART says). Runs on any thread.
 */
#include "interpose/interpose.h"

#include <unistd.h>

/* May park. Sleep until deadline, acting on a cancel that arrives: 0, or
 * -EINTR once a handler has run. */
static int sleep_until(struct g_thread *self, int64_t deadline)
{
    int rc;

    if (g_sig_due(self))
        g_sig_deliver(self);
    if (deadline <= g_now()) {
        g_testcancel();
        g_yield(self); /* a zero sleep still lets others run */
        return 0;
    }
    while ((rc = g_sleep_interruptible(deadline)) == -EINTR &&
           g_sig_restart(self, false))
        ;
    if (rc == -ECANCELED)
        g_cancel_act(self);
    if (g_sig_due(self))
        g_sig_deliver(self); /* came as the sleep ended */
    return rc;
}

/* What is left of a sleep that ended at deadline's time minus now. */
static void time_left(int64_t deadline, struct timespec *rem)
{
    int64_t left = deadline - g_now();

    if (!rem)
        return;
    left = left > 0 ? left : 0;
    rem->tv_sec = left / 1000000000;
    rem->tv_nsec = left % 1000000000;
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
    if (sleep_until(self, deadline) == -EINTR) {
        if (!(flags & TIMER_ABSTIME))
            time_left(deadline, rem);
        return EINTR;
    }
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
    if (sleep_until(self, deadline) == -EINTR) {
        time_left(deadline, rem);
        return (int)g_ret(-EINTR);
    }
    return 0;
}

G_EXPORT unsigned int sleep(unsigned int seconds)
{
    struct g_thread *self = hook_enter();
    struct timespec left;
    int64_t deadline;

    if (!self)
        return real_sleep(seconds);
    deadline = g_now() + (int64_t)seconds * 1000000000;
    if (sleep_until(self, deadline) == -EINTR) {
        /* glibc: the whole seconds not slept. */
        time_left(deadline, &left);
        return (unsigned int)left.tv_sec;
    }
    return 0;
}

G_EXPORT int usleep(useconds_t usec)
{
    struct g_thread *self = hook_enter();

    if (!self)
        return real_usleep(usec);
    return (int)g_ret(sleep_until(self, g_now() + (int64_t)usec * 1000));
}
