/*
 * interpose/pthread_cond.c: pthread_cond_* for every thread.
 *
 * Ours for all users, green or not, like mutexes. A process-shared
 * condition stays glibc's; a green thread waiting on one returns after a
 * short sleep as a spurious wake-up (which POSIX allows and every correct
 * caller loops on), so it never blocks its worker. Any thread.
 */
#include "interpose/interpose.h"

#include "shim/sync.h"

/* How long a green wait on a process-shared condition lasts at most. */
#define SHARED_POLL_NS 1000000

/* glibc keeps pshared in bit 0 of __wrefs (offset 8); our own conditions
 * never set it, their counter is at offset 0. */
static bool cond_is_glibc(const pthread_cond_t *c)
{
    return c->__data.__wrefs & 1;
}

static int unlock_cb(void *m)
{
    return g_hook_mutex_unlock(m);
}

static int lock_cb(void *m)
{
    return g_hook_mutex_lock(m, G_NEVER);
}

G_EXPORT int pthread_cond_init(pthread_cond_t *c,
                               const pthread_condattr_t *attr)
{
    clockid_t clock = CLOCK_REALTIME;
    int pshared = PTHREAD_PROCESS_PRIVATE;

    hook_enter();
    if (attr) {
        pthread_condattr_getclock(attr, &clock);
        pthread_condattr_getpshared(attr, &pshared);
    }
    if (pshared != PTHREAD_PROCESS_PRIVATE)
        return real_pthread_cond_init(c, attr);
    g_cond_init(c, clock);
    return 0;
}

G_EXPORT int pthread_cond_destroy(pthread_cond_t *c)
{
    hook_enter();
    if (cond_is_glibc(c))
        return real_pthread_cond_destroy(c);
    return -g_cond_destroy(c);
}

G_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    hook_enter();
    if (cond_is_glibc(c))
        return real_pthread_cond_signal(c);
    g_cond_signal(c);
    return 0;
}

G_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
    hook_enter();
    if (cond_is_glibc(c))
        return real_pthread_cond_broadcast(c);
    g_cond_broadcast(c);
    return 0;
}

/* May park. A wait on a process-shared condition. */
static int wait_glibc(struct g_thread *self, pthread_cond_t *c,
                      pthread_mutex_t *m, int64_t deadline,
                      const struct timespec *abstime, clockid_t clock)
{
    int64_t until = g_now() + SHARED_POLL_NS;
    int rc;

    if (!self)
        return abstime ? real_pthread_cond_clockwait(c, m, clock, abstime)
                       : real_pthread_cond_wait(c, m);
    if ((rc = g_hook_mutex_unlock(m)) != 0)
        return rc;
    if (g_sleep_until(deadline < until ? deadline : until) == -ECANCELED) {
        g_hook_mutex_lock(m, G_NEVER);
        g_cancel_act(self);
    }
    g_hook_mutex_lock(m, G_NEVER);
    return g_now() >= deadline ? ETIMEDOUT : 0;
}

static int wait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                const struct timespec *abstime)
{
    struct g_thread *self = hook_enter_as("pthread_cond_wait");
    struct g_cond_mutex cm = {m, unlock_cb, lock_cb};
    int64_t deadline = G_NEVER;

    if (abstime && g_deadline(clock, abstime, &deadline) != 0)
        return EINVAL;
    if (cond_is_glibc(c))
        return wait_glibc(self, c, m, deadline, abstime, clock);
    return -g_cond_wait(c, &cm, deadline);
}

G_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    return wait(c, m, CLOCK_REALTIME, NULL);
}

G_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                    const struct timespec *abstime)
{
    clockid_t clock;

    if (cond_is_glibc(c))
        /* glibc's __PTHREAD_COND_CLOCK_MONOTONIC_MASK */
        clock = (c->__data.__wrefs & 2) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
    else
        clock = g_cond_clock(c);
    return wait(c, m, clock, abstime);
}

G_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m,
                                    clockid_t clock,
                                    const struct timespec *abstime)
{
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    return wait(c, m, clock, abstime);
}
