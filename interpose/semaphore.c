/*
 * interpose/semaphore.c: sem_init, sem_wait and friends for every thread.
 * sem_open, sem_close and sem_unlink stay glibc's: the semaphores they map
 * keep glibc's layout, which ours is (shim/sem.c). The errno convention of
 * these calls: -1 and errno. Any thread.
 */
#include "interpose/interpose.h"

#include <semaphore.h>

#include "shim/sync.h"

G_EXPORT int sem_init(sem_t *sem, int pshared, unsigned value)
{
    hook_enter();
    return (int)g_ret(g_sem_init(sem, pshared != 0, value));
}

G_EXPORT int sem_destroy(sem_t *sem)
{
    (void)sem;
    return 0;
}

/* May park. A cancellation point. Inline: the hand-off between two threads
 * through a semaphore is the hot path issue 4 measures. */
static inline __attribute__((always_inline)) int wait(sem_t *sem,
                                                      int64_t deadline)
{
    struct g_thread *self = hook_enter_sync("sem_wait");
    int rc;

    /* A cancellation point even when a unit is free, as glibc's: a pending
     * cancel is acted on first. (sem_trywait is none.) */
    if (self && deadline != 0 &&
        g_cancel_due(atomic_load_explicit(&self->cancel, memory_order_relaxed)))
        g_cancel_act(self);
    /* A signal: EINTR, or on with SA_RESTART (as Linux since 2.6.22). */
    while ((rc = g_sem_wait(sem, deadline)) == -EINTR &&
           g_sig_restart(self, true))
        ;
    if (rc == -ECANCELED)
        g_cancel_act(g_self());
    /* What came for it while it took the unit, as on a system call's
     * return. */
    if (self && g_sig_due(self))
        g_sig_deliver(self);
    return (int)g_ret(rc);
}

G_EXPORT int sem_wait(sem_t *sem)
{
    return wait(sem, G_NEVER);
}

G_EXPORT int sem_trywait(sem_t *sem)
{
    return wait(sem, 0);
}

G_EXPORT int sem_clockwait(sem_t *sem, clockid_t clock,
                           const struct timespec *abstime)
{
    int64_t deadline = g_lock_deadline(clock, abstime);

    /* As glibc: a bad clock or tv_nsec is EINVAL even if a unit is free. */
    if ((clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) || deadline < 0) {
        errno = EINVAL;
        return -1;
    }
    return wait(sem, deadline);
}

G_EXPORT int sem_timedwait(sem_t *sem, const struct timespec *abstime)
{
    return sem_clockwait(sem, CLOCK_REALTIME, abstime);
}

G_EXPORT int sem_post(sem_t *sem)
{
    hook_enter_sync(__func__);
    return (int)g_ret(g_sem_post(sem));
}

G_EXPORT int sem_getvalue(sem_t *sem, int *value)
{
    *value = g_sem_value(sem);
    return 0;
}
