/*
 * interpose/pthread_sync.c: spinlocks, pthread_once and barriers, for every
 * thread (one implementation per object, like mutexes). A process-shared
 * barrier stays glibc's, and a green thread waiting on one blocks its
 * worker (see ARCHITECTURE.md). Any thread.
 */
#include "interpose/interpose.h"

#include "shim/sync.h"

G_EXPORT int pthread_spin_init(pthread_spinlock_t *lock, int pshared)
{
    (void)pshared; /* the same int works across processes */
    *lock = 0;
    return 0;
}

G_EXPORT int pthread_spin_destroy(pthread_spinlock_t *lock)
{
    (void)lock;
    return 0;
}

G_EXPORT int pthread_spin_lock(pthread_spinlock_t *lock)
{
    hook_enter();
    return -g_spin_lock((void *)lock, false);
}

G_EXPORT int pthread_spin_trylock(pthread_spinlock_t *lock)
{
    hook_enter();
    return -g_spin_lock((void *)lock, true);
}

G_EXPORT int pthread_spin_unlock(pthread_spinlock_t *lock)
{
    g_spin_unlock((void *)lock);
    return 0;
}

G_EXPORT int pthread_once(pthread_once_t *once, void (*init)(void))
{
    hook_enter();
    return -g_once(once, init);
}

G_EXPORT int pthread_barrier_init(pthread_barrier_t *b,
                                  const pthread_barrierattr_t *attr,
                                  unsigned count)
{
    int pshared = PTHREAD_PROCESS_PRIVATE;

    hook_enter();
    if (attr)
        pthread_barrierattr_getpshared(attr, &pshared);
    if (pshared != PTHREAD_PROCESS_PRIVATE)
        return real_pthread_barrier_init(b, attr, count);
    return -g_barrier_init(b, count);
}

G_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
    hook_enter();
    if (!g_barrier_is_ours(b))
        return real_pthread_barrier_wait(b);
    return g_barrier_wait(b);
}

G_EXPORT int pthread_barrier_destroy(pthread_barrier_t *b)
{
    hook_enter();
    if (!g_barrier_is_ours(b))
        return real_pthread_barrier_destroy(b);
    return -g_barrier_destroy(b);
}
