/*
 * shim/mutex.c: pthread mutexes for green threads and OS threads alike.
 *
 * The lock word is taken with one compare-and-swap when free. A contended
 * lock marks the word and queues in the lot; an unlock of a marked word
 * frees it and wakes the first waiter to try again (a newcomer may take
 * it first, as with glibc's futex mutexes). Waiters queue and the word is
 * marked under the bucket lock, and the unlocker claims under it, so no
 * wake-up is lost. A parked green thread never spins. glibc's type sits in
 * __kind (offset 16), where its static initialisers put it. Any thread.
 */
#include "shim/sync.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "shim/lot.h"

_Static_assert(sizeof(struct g_mutex) <= sizeof(pthread_mutex_t), "size");
_Static_assert(offsetof(struct g_mutex, kind) == 16, "glibc's __kind");

static int type_of(const struct g_mutex *m)
{
    return m->kind &
           3; /* PTHREAD_MUTEX_{TIMED,RECURSIVE,ERRORCHECK,ADAPTIVE}_NP */
}

void g_mutex_init(void *mp, int kind)
{
    struct g_mutex *m = mp;

    memset(m, 0, sizeof(pthread_mutex_t));
    m->kind = kind;
}

/* Under the bucket lock: take the mutex if free, else mark it contended.
 * Returns true when taken. */
static bool take_or_mark(struct g_mutex *m)
{
    int s = atomic_load_explicit(&m->state, memory_order_relaxed);

    for (;;) {
        int want =
            (s & G_MUTEX_LOCKED) ? s | G_MUTEX_WAITERS : s | G_MUTEX_LOCKED;

        if (s == want)
            return false;
        if (atomic_compare_exchange_weak_explicit(&m->state, &s, want,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return !(s & G_MUTEX_LOCKED);
    }
}

static int lock_slow(struct g_mutex *m, int me, int64_t deadline)
{
    for (;;) {
        struct g_lot_bucket *b = g_lot_lock(m);
        struct g_lot_waiter lw;
        int rc;

        if (take_or_mark(m)) {
            g_lot_unlock(b);
            m->owner = me;
            return 0;
        }
        g_lot_enqueue(b, &lw, m, 0, false);
        lw.w.reason = G_PARK_MUTEX;
        g_lot_unlock(b);
        rc = g_lot_wait(&lw, deadline); /* May park. */
        if (rc != 0)
            return rc;
        /* Woken by an unlock: try again; a newcomer may have been first. */
    }
}

int g_mutex_lock(void *mp, int64_t deadline)
{
    struct g_mutex *m = mp;
    int me = g_owner_id();
    int expected = 0;

    if (atomic_compare_exchange_strong_explicit(
            &m->state, &expected, G_MUTEX_LOCKED, memory_order_acquire,
            memory_order_relaxed)) {
        m->owner = me;
        return 0;
    }
    /* Only the holder can see its own id here. */
    if (m->owner == me) {
        if (type_of(m) == PTHREAD_MUTEX_RECURSIVE) {
            if (m->count == UINT_MAX)
                return -EAGAIN;
            m->count++;
            return 0;
        }
        if (type_of(m) == PTHREAD_MUTEX_ERRORCHECK)
            return deadline == 0 ? -EBUSY : -EDEADLK;
    }
    if (deadline == 0)
        return -EBUSY;
    if (deadline < 0)
        return -EINVAL; /* a bad timespec matters only when we must wait */
    return lock_slow(m, me, deadline);
}

int g_mutex_unlock(void *mp)
{
    struct g_mutex *m = mp;
    struct g_lot_bucket *b;
    struct g_wake_token tok;
    int expected = G_MUTEX_LOCKED;
    bool more;

    if (type_of(m) == PTHREAD_MUTEX_RECURSIVE ||
        type_of(m) == PTHREAD_MUTEX_ERRORCHECK) {
        if (m->owner != g_owner_id() ||
            !(atomic_load_explicit(&m->state, memory_order_relaxed) &
              G_MUTEX_LOCKED))
            return -EPERM;
        if (m->count) {
            m->count--;
            return 0;
        }
    }
    m->owner = 0;
    if (atomic_compare_exchange_strong_explicit(&m->state, &expected, 0,
                                                memory_order_release,
                                                memory_order_relaxed))
        return 0;

    /* Contended: free it, then wake the first waiter to try again. Once
     * free, m may be taken, released and destroyed by others; it is
     * touched again only while waiters are left, which keep it alive. */
    atomic_store_explicit(&m->state, 0, memory_order_release);
    b = g_lot_lock(m);
    if (g_lot_claim_one(b, m, 0, 0, &tok, &more)) {
        if (more)
            atomic_fetch_or_explicit(&m->state, G_MUTEX_WAITERS,
                                     memory_order_relaxed);
        g_wake_finish(&tok);
    }
    g_lot_unlock(b);
    return 0;
}

int g_mutex_destroy(void *mp)
{
    struct g_mutex *m = mp;

    if (atomic_load_explicit(&m->state, memory_order_relaxed) & G_MUTEX_LOCKED)
        return -EBUSY;
    return 0;
}
