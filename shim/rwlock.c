/*
 * shim/rwlock.c: reader-writer locks over pthread_rwlock_t.
 *
 * One state word: the writer bit, a "someone queued" bit, and the number
 * of readers. Uncontended locks and unlocks are one compare-and-swap; the
 * rest happens under the lot's bucket lock, where an unlock hands the lock
 * on directly: to the first queued writer, or to every queued reader at
 * once. glibc's PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP (its __flags,
 * offset 48, where the static initialiser puts it) makes readers queue
 * behind a waiting writer; glibc treats every other kind as reader
 * preferring, and so do we. Any thread.
 */
#include "shim/sync.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "shim/lot.h"

#define WRITER 1u
#define QUEUED 2u
#define READER 4u /* one reader */

/* Waiter flags in the lot. */
#define WANTS_READ 1u
#define WANTS_WRITE 2u

struct g_rwlock {
    _Atomic unsigned state;
    unsigned writers_queued; /* under the bucket lock */
    int writer;              /* g_owner_id() of the writer, or 0 */
    unsigned magic;          /* ours; glibc's __writers_futex otherwise */
    unsigned pad[3];
    int shared; /* glibc's __shared (offset 28) */
    char pad2[16];
    unsigned flags; /* glibc's __flags (offset 48) */
};

_Static_assert(sizeof(struct g_rwlock) <= sizeof(pthread_rwlock_t), "size");
_Static_assert(offsetof(struct g_rwlock, shared) == 28, "glibc's __shared");
_Static_assert(offsetof(struct g_rwlock, flags) == 48, "glibc's __flags");

static bool prefers_writer(const struct g_rwlock *rw)
{
    return rw->flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
}

void g_rwlock_init(void *p, bool prefer_writer)
{
    struct g_rwlock *rw = p;

    memset(p, 0, sizeof(pthread_rwlock_t));
    if (prefer_writer)
        rw->flags = PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
}

bool g_rwlock_is_glibc(const void *p)
{
    return ((const struct g_rwlock *)p)->shared != 0;
}

/* Readers may enter: no writer, and (writer-preferring) none queued. */
static bool read_open(const struct g_rwlock *rw, unsigned s)
{
    return !(s & WRITER) && !(prefers_writer(rw) && rw->writers_queued);
}

static int lock(struct g_rwlock *rw, bool write, int64_t deadline)
{
    int me = g_owner_id();
    struct g_lot_bucket *b;
    struct g_lot_waiter lw;
    unsigned s = atomic_load_explicit(&rw->state, memory_order_relaxed);
    int rc;

    if (rw->writer == me)
        return deadline == 0 ? -EBUSY : -EDEADLK;
    /* Fast paths: no queue, nothing in the way. */
    if (write ? s == 0 : (!(s & (WRITER | QUEUED)))) {
        if (atomic_compare_exchange_strong_explicit(
                &rw->state, &s, write ? WRITER : s + READER,
                memory_order_acquire, memory_order_relaxed)) {
            if (write)
                rw->writer = me;
            return 0;
        }
    }
    b = g_lot_lock(rw);
    for (s = atomic_load(&rw->state);;) {
        bool can = write ? (s & ~QUEUED) == 0 && !rw->writers_queued
                         : read_open(rw, s);
        unsigned want = can ? (write ? s | WRITER : s + READER) : s | QUEUED;

        if (!atomic_compare_exchange_weak(&rw->state, &s, want))
            continue;
        if (can) {
            g_lot_unlock(b);
            if (write)
                rw->writer = me;
            return 0;
        }
        break;
    }
    if (deadline == 0 || deadline < 0) {
        g_lot_unlock(b);
        return deadline ? -EINVAL : -EBUSY;
    }
    if (write)
        rw->writers_queued++;
    g_lot_enqueue(b, &lw, rw, write ? WANTS_WRITE : WANTS_READ, false);
    lw.w.reason = G_PARK_MUTEX;
    g_lot_unlock(b);
    rc = g_lot_wait(&lw, deadline); /* May park. */
    if (rc == 0) {
        if (write)
            rw->writer = me; /* handed over */
        return 0;
    }
    if (write) {
        b = g_lot_lock(rw);
        rw->writers_queued--;
        g_lot_unlock(b);
    }
    return rc;
}

int g_rwlock_rdlock(void *rw, int64_t deadline)
{
    return lock(rw, false, deadline);
}

int g_rwlock_wrlock(void *rw, int64_t deadline)
{
    return lock(rw, true, deadline);
}

/* Under the bucket lock, with the lock free of holders: hand it on. */
static void hand_on(struct g_rwlock *rw, struct g_lot_bucket *b)
{
    struct g_wake_token tok;
    bool more;
    unsigned readers = 0;

    if (g_lot_has_waiters(b, rw, WANTS_WRITE) &&
        (prefers_writer(rw) || !g_lot_has_waiters(b, rw, WANTS_READ))) {
        if (g_lot_claim_one(b, rw, WANTS_WRITE, 0, &tok, &more)) {
            rw->writers_queued--;
            rw->writer = 0;
            atomic_store(&rw->state, WRITER | QUEUED);
            g_wake_finish(&tok);
            return;
        }
    }
    /* Every queued reader at once. */
    while (g_lot_claim_one(b, rw, WANTS_READ, 0, &tok, &more)) {
        atomic_fetch_add(&rw->state, READER);
        readers++;
        g_wake_finish(&tok);
        if (!more)
            break;
    }
    if (!g_lot_has_waiters(b, rw, 0))
        atomic_fetch_and(&rw->state, ~QUEUED);
    if (!readers && g_lot_has_waiters(b, rw, WANTS_WRITE) &&
        !(atomic_load(&rw->state) & ~QUEUED)) {
        /* Only writers left (readers preferred but none queued). */
        if (g_lot_claim_one(b, rw, WANTS_WRITE, 0, &tok, &more)) {
            rw->writers_queued--;
            atomic_fetch_or(&rw->state, WRITER);
            g_wake_finish(&tok);
        }
    }
}

int g_rwlock_unlock(void *p)
{
    struct g_rwlock *rw = p;
    unsigned s = atomic_load_explicit(&rw->state, memory_order_relaxed);
    struct g_lot_bucket *b;

    if (s & WRITER) {
        rw->writer = 0;
        if (s == WRITER &&
            atomic_compare_exchange_strong_explicit(
                &rw->state, &s, 0, memory_order_release, memory_order_relaxed))
            return 0;
        b = g_lot_lock(rw);
        atomic_fetch_and(&rw->state, ~WRITER);
    } else {
        if (s < READER)
            return -EPERM;
        s = atomic_fetch_sub_explicit(&rw->state, READER,
                                      memory_order_release) -
            READER;
        /* The last reader out wakes whoever is queued. */
        if (s != QUEUED)
            return 0;
        b = g_lot_lock(rw);
        if (atomic_load(&rw->state) != QUEUED) {
            g_lot_unlock(b);
            return 0;
        }
    }
    hand_on(rw, b);
    g_lot_unlock(b);
    return 0;
}

int g_rwlock_destroy(void *p)
{
    struct g_rwlock *rw = p;

    return (atomic_load(&rw->state) & ~QUEUED) ? -EBUSY : 0;
}
