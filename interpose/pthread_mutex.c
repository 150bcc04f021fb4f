/*
 * interpose/pthread_mutex.c: pthread_mutex_* for every thread.
 *
 * Unlike most hooks these do not pass through off green threads: a mutex
 * must have one implementation for all its users, so green threads and OS
 * threads (libuv's, threads made before main) share ours. The exceptions are
 * robust, priority-protocol and process-shared mutexes, which another
 * process may hold without libgreen: they stay glibc's, and a green thread
 * waits for one by retrying trylock with a growing sleep (g_poll_until)
 * instead of blocking its worker. Any thread.
 */
#include "interpose/interpose.h"

#include "shim/sync.h"

static int attempt_lock(void *m)
{
    return -real_pthread_mutex_trylock(m);
}

int g_hook_mutex_lock(pthread_mutex_t *m, int64_t deadline)
{
    struct g_thread *self = hook_enter_as("pthread_mutex_lock");

    if (!g_mutex_is_glibc(m))
        return -g_mutex_lock(m, deadline);
    if (self)
        return -g_poll_until(attempt_lock, m, deadline, false);
    return deadline == G_NEVER ? real_pthread_mutex_lock(m)
                               : real_pthread_mutex_trylock(m);
}

int g_hook_mutex_unlock(pthread_mutex_t *m)
{
    hook_enter_as("pthread_mutex_unlock");
    if (g_mutex_is_glibc(m))
        return real_pthread_mutex_unlock(m);
    return -g_mutex_unlock(m);
}

G_EXPORT int pthread_mutex_init(pthread_mutex_t *m,
                                const pthread_mutexattr_t *attr)
{
    int type = PTHREAD_MUTEX_DEFAULT, pshared = PTHREAD_PROCESS_PRIVATE;
    int robust = PTHREAD_MUTEX_STALLED, protocol = PTHREAD_PRIO_NONE;

    hook_enter();
    if (attr) {
        pthread_mutexattr_gettype(attr, &type);
        pthread_mutexattr_getpshared(attr, &pshared);
        pthread_mutexattr_getrobust(attr, &robust);
        pthread_mutexattr_getprotocol(attr, &protocol);
    }
    if (pshared != PTHREAD_PROCESS_PRIVATE || robust != PTHREAD_MUTEX_STALLED ||
        protocol != PTHREAD_PRIO_NONE)
        return real_pthread_mutex_init(m, attr);
    g_mutex_init(m, type);
    return 0;
}

G_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
    hook_enter();
    if (g_mutex_is_glibc(m))
        return real_pthread_mutex_destroy(m);
    return -g_mutex_destroy(m);
}

G_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    return g_hook_mutex_lock(m, G_NEVER);
}

G_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    return g_hook_mutex_lock(m, 0);
}

G_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
                                     const struct timespec *abstime)
{
    hook_enter();
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    if (g_mutex_is_glibc(m) && !g_self())
        return real_pthread_mutex_clocklock(m, clock, abstime);
    /* A bad abstime is EINVAL only if the mutex is busy, as in glibc. */
    return g_hook_mutex_lock(m, g_lock_deadline(clock, abstime));
}

G_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m,
                                     const struct timespec *abstime)
{
    return pthread_mutex_clocklock(m, CLOCK_REALTIME, abstime);
}

G_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    return g_hook_mutex_unlock(m);
}

G_EXPORT int pthread_mutex_consistent(pthread_mutex_t *m)
{
    hook_enter();
    if (g_mutex_is_glibc(m))
        return real_pthread_mutex_consistent(m);
    return EINVAL; /* not robust */
}
