/*
 * shim/once_spin.c: pthread_once and spinlocks, for green threads and OS
 * threads alike. Both keep glibc's one int, so PTHREAD_ONCE_INIT and a
 * zeroed spinlock are valid. Any thread.
 */
#include "shim/sync.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/lot.h"

/* Spins of an OS thread before it gives its CPU away. */
#define SPINS_BEFORE_YIELD 100

int g_spin_lock(void *lockp, bool try_only)
{
    _Atomic int *lock = lockp;
    struct g_thread *self = g_self_to_park();
    int spins = 0;

    for (;;) {
        int expected = 0;

        if (atomic_compare_exchange_weak_explicit(
                lock, &expected, 1, memory_order_acquire, memory_order_relaxed))
            return 0;
        if (try_only && expected)
            return -EBUSY;
        while (atomic_load_explicit(lock, memory_order_relaxed)) {
            if (++spins < SPINS_BEFORE_YIELD) {
                __builtin_ia32_pause();
                continue;
            }
            /* The holder may be a green thread of our own worker that
             * parked: let it run. */
            if (self)
                g_yield(self);
            else
                syscall(SYS_sched_yield);
            spins = 0;
        }
    }
}

void g_spin_unlock(void *lockp)
{
    atomic_store_explicit((_Atomic int *)lockp, 0, memory_order_release);
}

/* pthread_once_t states. glibc's fork generation bits are not used. */
#define ONCE_RUNNING 1
#define ONCE_DONE 2
#define ONCE_WAITERS 4

int g_once(void *oncep, void (*init)(void))
{
    _Atomic int *once = oncep;
    int s = atomic_load_explicit(once, memory_order_acquire);

    while (s != ONCE_DONE) {
        struct g_lot_bucket *b;
        struct g_lot_waiter lw;

        if (s == 0) {
            if (!atomic_compare_exchange_strong_explicit(once, &s, ONCE_RUNNING,
                                                         memory_order_acquire,
                                                         memory_order_acquire))
                continue;
            init(); /* may park */
            s = atomic_exchange_explicit(once, ONCE_DONE, memory_order_acq_rel);
            if (s & ONCE_WAITERS)
                g_lot_wake_all(once, 0);
            return 0;
        }
        /* Running elsewhere: wait for it, marked so that it wakes us. */
        b = g_lot_lock(once);
        s = atomic_load_explicit(once, memory_order_acquire);
        if ((s & ONCE_RUNNING) &&
            ((s & ONCE_WAITERS) ||
             atomic_compare_exchange_strong(once, &s, s | ONCE_WAITERS))) {
            g_lot_enqueue(b, &lw, once, 0, false);
            g_lot_unlock(b);
            g_lot_wait(&lw, G_NEVER); /* May park. */
        } else {
            g_lot_unlock(b);
        }
        s = atomic_load_explicit(once, memory_order_acquire);
    }
    return 0;
}
