/*
 * shim/lot.c: the parking lot (see lot.h). Buckets are cache-line sized and
 * many, so unrelated objects rarely share a lock.
 */
#include "shim/lot.h"

#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/worker.h"

#define BUCKETS 1024 /* a power of two */

struct g_lot_bucket {
    _Atomic int lock;
    struct g_queue waiters; /* g_lot_waiter.node of every key hashed here */
} __attribute__((aligned(64)));

static struct g_lot_bucket buckets[BUCKETS];
static _Atomic bool ready;
static _Atomic int init_lock;

/* Zeroed buckets need their queue heads made once; cheap to check. */
static void init_buckets(void)
{
    int expected = 0;

    if (atomic_load_explicit(&ready, memory_order_acquire))
        return;
    while (!atomic_compare_exchange_weak(&init_lock, &expected, 1))
        expected = 0;
    if (!ready) {
        for (int i = 0; i < BUCKETS; i++)
            g_queue_init(&buckets[i].waiters);
        atomic_store_explicit(&ready, true, memory_order_release);
    }
    atomic_store(&init_lock, 0);
}

static struct g_lot_bucket *bucket_of(const void *key)
{
    uint64_t h = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15ULL;

    return &buckets[h >> (64 - 10)];
}

struct g_lot_bucket *g_lot_lock(const void *key)
{
    struct g_lot_bucket *b = bucket_of(key);

    init_buckets();
    g_spin_acquire(&b->lock);
    return b;
}

void g_lot_unlock(struct g_lot_bucket *b)
{
    g_spin_release(&b->lock);
}

void g_lot_enqueue(struct g_lot_bucket *b, struct g_lot_waiter *lw,
                   const void *key, unsigned flags, bool cancellable)
{
    g_waiter_init(&lw->w, cancellable);
    lw->key = key;
    lw->flags = flags;
    g_queue_insert_tail(&b->waiters, &lw->node);
}

static bool matches(const struct g_lot_waiter *lw, const void *key,
                    unsigned mask)
{
    return lw->key == key && (!mask || (lw->flags & mask));
}

bool g_lot_has_waiters(struct g_lot_bucket *b, const void *key, unsigned mask)
{
    for (struct g_queue *q = b->waiters.next; q != &b->waiters; q = q->next)
        if (matches(g_queue_data(q, struct g_lot_waiter, node), key, mask))
            return true;
    return false;
}

bool g_lot_claim_one(struct g_lot_bucket *b, const void *key, unsigned mask,
                     int result, struct g_wake_token *tok, bool *more)
{
    struct g_queue *q = b->waiters.next;
    bool claimed = false;

    while (q != &b->waiters) {
        struct g_lot_waiter *lw = g_queue_data(q, struct g_lot_waiter, node);

        q = q->next;
        if (!matches(lw, key, mask))
            continue;
        if (claimed) {
            *more = true;
            return true;
        }
        /* A waiter whose timeout won is leaving: it takes itself off the
         * queue; skip it. */
        if (g_claim(&lw->w, result, tok)) {
            g_queue_remove(&lw->node);
            claimed = true;
        }
    }
    *more = false;
    return claimed;
}

int g_lot_wait(struct g_lot_waiter *lw, int64_t deadline)
{
    int rc = g_wait(&lw->w, deadline);

    if (rc == -ETIMEDOUT || rc == -ECANCELED) {
        struct g_lot_bucket *b = g_lot_lock(lw->key);

        if (g_queue_linked(&lw->node))
            g_queue_remove(&lw->node);
        g_lot_unlock(b);
    }
    return rc;
}

int g_lot_wake_all(const void *key, int result)
{
    struct g_lot_bucket *b = g_lot_lock(key);
    struct g_wake_token tok;
    bool more = true;
    int n = 0;

    /* Claimed waiters can only run once finished; finish right away, under
     * the lock, so that none is forgotten. */
    while (more && g_lot_claim_one(b, key, 0, result, &tok, &more)) {
        g_wake_finish(&tok);
        n++;
    }
    g_lot_unlock(b);
    return n;
}

int g_owner_id(void)
{
    static __thread int tid;
    struct g_thread *self = g_self();

    if (self)
        return self->serial;
    if (!tid)
        tid = (int)syscall(SYS_gettid);
    return tid;
}

void g_lot_forked(void)
{
    if (!atomic_load_explicit(&ready, memory_order_acquire))
        return;
    for (int i = 0; i < BUCKETS; i++) {
        g_queue_init(&buckets[i].waiters);
        atomic_store_explicit(&buckets[i].lock, 0, memory_order_relaxed);
    }
}
