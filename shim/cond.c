/*
 * shim/cond.c: condition variables over pthread_cond_t.
 *
 * A waiter queues in the lot under the condition's key before it releases
 * the mutex, so a signal sent after the release always finds it: no lost
 * wake-ups. Signals claim waiters in queue order. The counter of queued
 * waiters lets a signal with nobody waiting return without a lock; it is
 * counted down by whoever takes the waiter off the queue, so a woken waiter
 * never touches the condition again (it may be destroyed at once). A
 * zero-filled object is a valid condition on CLOCK_REALTIME. Any thread.
 */
#include "shim/sync.h"

#include <errno.h>
#include <string.h>

#include "shim/lot.h"

struct g_cond {
    _Atomic unsigned waiters; /* queued in the lot; under its lock */
    int clock_plus_one;       /* 0: CLOCK_REALTIME, as zero-filled */
};

_Static_assert(sizeof(struct g_cond) <= sizeof(pthread_cond_t), "size");

void g_cond_init(void *cp, clockid_t clock)
{
    struct g_cond *c = cp;

    memset(cp, 0, sizeof(pthread_cond_t));
    c->clock_plus_one = clock == CLOCK_REALTIME ? 0 : (int)clock + 1;
}

clockid_t g_cond_clock(const void *cp)
{
    const struct g_cond *c = cp;

    return c->clock_plus_one ? c->clock_plus_one - 1 : CLOCK_REALTIME;
}

int g_cond_wait(void *cp, const struct g_cond_mutex *m, int64_t deadline)
{
    struct g_cond *c = cp;
    struct g_lot_bucket *b;
    struct g_lot_waiter lw;
    int rc;

    b = g_lot_lock(c);
    g_lot_enqueue(b, &lw, c, 0, true);
    lw.w.reason = G_PARK_COND;
    atomic_fetch_add_explicit(&c->waiters, 1, memory_order_relaxed);
    g_lot_unlock(b);

    rc = m->unlock(m->mutex);
    if (rc != 0) {
        /* Not ours to release (EPERM): leave as if never queued. */
        b = g_lot_lock(c);
        if (g_queue_linked(&lw.node)) {
            g_queue_remove(&lw.node);
            atomic_fetch_sub_explicit(&c->waiters, 1, memory_order_relaxed);
        }
        g_lot_unlock(b);
        return -rc;
    }
    rc = g_wait(&lw.w, deadline); /* May park. */
    if (rc == -ETIMEDOUT || rc == -ECANCELED) {
        b = g_lot_lock(c);
        if (g_queue_linked(&lw.node)) {
            g_queue_remove(&lw.node);
            atomic_fetch_sub_explicit(&c->waiters, 1, memory_order_relaxed);
        }
        g_lot_unlock(b);
    }
    m->lock(m->mutex);
    /* Canceled: exit with the mutex held, as POSIX has it for the cleanup
     * handlers. */
    if (rc == -ECANCELED)
        g_cancel_act(g_self());
    return rc == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

static void wake(struct g_cond *c, bool all)
{
    struct g_lot_bucket *b;
    struct g_wake_token tok;
    bool more = true;

    /* Pairs with nothing: a signal racing a waiter that is not queued yet
     * may miss it, which POSIX allows (that waiter still holds the mutex). */
    if (!atomic_load_explicit(&c->waiters, memory_order_relaxed))
        return;
    b = g_lot_lock(c);
    while (more && g_lot_claim_one(b, c, 0, 0, &tok, &more)) {
        atomic_fetch_sub_explicit(&c->waiters, 1, memory_order_relaxed);
        g_wake_finish(&tok);
        if (!all)
            break;
    }
    g_lot_unlock(b);
}

void g_cond_signal(void *c)
{
    wake(c, false);
}

void g_cond_broadcast(void *c)
{
    wake(c, true);
}

int g_cond_destroy(void *cp)
{
    (void)cp;
    return 0;
}
