/*
 * interpose/pthread_rwlock.c: reader-writer locks for every thread. A
 * process-shared one stays glibc's; a green thread polls it with trylock
 * and a growing sleep (g_poll_until) instead of blocking its worker. Any
 * thread.
 */
#include "interpose/interpose.h"

#include "shim/sync.h"

static int attempt_rdlock(void *rw)
{
    return -real_pthread_rwlock_tryrdlock(rw);
}

static int attempt_wrlock(void *rw)
{
    return -real_pthread_rwlock_trywrlock(rw);
}

/* May park. A glibc-only rwlock, from any thread. */
static int lock_glibc(pthread_rwlock_t *rw, bool write, int64_t deadline)
{
    if (!g_self() && deadline == G_NEVER)
        return write ? real_pthread_rwlock_wrlock(rw)
                     : real_pthread_rwlock_rdlock(rw);
    return -g_poll_until(write ? attempt_wrlock : attempt_rdlock, rw, deadline,
                         false);
}

static int lock(pthread_rwlock_t *rw, bool write, int64_t deadline)
{
    hook_enter_as(write ? "pthread_rwlock_wrlock" : "pthread_rwlock_rdlock");
    if (deadline < 0)
        return EINVAL;
    if (g_rwlock_is_glibc(rw))
        return lock_glibc(rw, write, deadline);
    return -(write ? g_rwlock_wrlock(rw, deadline)
                   : g_rwlock_rdlock(rw, deadline));
}

G_EXPORT int pthread_rwlock_init(pthread_rwlock_t *rw,
                                 const pthread_rwlockattr_t *attr)
{
    int pshared = PTHREAD_PROCESS_PRIVATE;
    int kind = PTHREAD_RWLOCK_DEFAULT_NP;

    hook_enter();
    if (attr) {
        pthread_rwlockattr_getpshared(attr, &pshared);
        pthread_rwlockattr_getkind_np(attr, &kind);
    }
    if (pshared != PTHREAD_PROCESS_PRIVATE)
        return real_pthread_rwlock_init(rw, attr);
    g_rwlock_init(rw, kind == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    return 0;
}

G_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
    hook_enter();
    if (g_rwlock_is_glibc(rw))
        return real_pthread_rwlock_destroy(rw);
    return -g_rwlock_destroy(rw);
}

G_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
    return lock(rw, false, G_NEVER);
}

G_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
    return lock(rw, false, 0);
}

G_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *rw, clockid_t clock,
                                        const struct timespec *abstime)
{
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    return lock(rw, false, g_lock_deadline(clock, abstime));
}

G_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *rw,
                                        const struct timespec *abstime)
{
    return pthread_rwlock_clockrdlock(rw, CLOCK_REALTIME, abstime);
}

G_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
    return lock(rw, true, G_NEVER);
}

G_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
    return lock(rw, true, 0);
}

G_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *rw, clockid_t clock,
                                        const struct timespec *abstime)
{
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    return lock(rw, true, g_lock_deadline(clock, abstime));
}

G_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *rw,
                                        const struct timespec *abstime)
{
    return pthread_rwlock_clockwrlock(rw, CLOCK_REALTIME, abstime);
}

G_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
    hook_enter();
    if (g_rwlock_is_glibc(rw))
        return real_pthread_rwlock_unlock(rw);
    return -g_rwlock_unlock(rw);
}
