/*
 * shim/lot.h: the parking lot, where every synchronisation object's waiters
 * wait.
 *
 * An object keeps only its state words, inside glibc's size for it; its
 * waiters queue in a global table of buckets, hashed by the object's
 * address. A bucket is a spinlock and an intrusive queue of struct
 * g_lot_waiter, each on its waiting thread's stack. Waiters are green
 * threads (they park) or OS threads (they sleep on a futex), on the same
 * queue. Rules: waiters are queued, dequeued and claimed only under the
 * bucket's lock; a spinlock holder never parks. Any thread.
 */
#ifndef G_LOT_H
#define G_LOT_H

#include "shim/worker.h"

struct g_lot_bucket;

struct g_lot_waiter {
    struct g_waiter w;
    const void *key;     /* the object waited on */
    struct g_queue node; /* on the key's bucket queue; under its lock */
    unsigned flags;      /* the object's own use (e.g. reader / writer) */
};

/* Lock the bucket of key; the caller reads and writes the object's state
 * words knowing no waiter comes or goes meanwhile. */
struct g_lot_bucket *g_lot_lock(const void *key);
void g_lot_unlock(struct g_lot_bucket *b);

/* Under the lock: queue lw, a wait of the calling thread on key. */
void g_lot_enqueue(struct g_lot_bucket *b, struct g_lot_waiter *lw,
                   const void *key, unsigned flags, bool cancellable);

/*
 * Under the lock: claim the first waiter on key (with flags matching mask,
 * if mask is not 0) with result, and take it off the queue. One that is
 * leaving (its timeout won) is skipped: it takes itself off. Returns false
 * when there was none to claim. *more tells whether key has waiters after
 * the one claimed.
 */
bool g_lot_claim_one(struct g_lot_bucket *b, const void *key, unsigned mask,
                     int result, struct g_wake_token *tok, bool *more);

/* Under the lock: whether anyone waits on key (with flags in mask, or any
 * when mask is 0). */
bool g_lot_has_waiters(struct g_lot_bucket *b, const void *key, unsigned mask);

/*
 * May park. Wait for lw (queued earlier, the lock released since) to be
 * claimed, or for deadline. On a timeout or cancel it leaves the queue.
 * Returns the claimer's result, -ETIMEDOUT or -ECANCELED.
 */
int g_lot_wait(struct g_lot_waiter *lw, int64_t deadline);

/* Wake every waiter on key with result (under the lock inside). Returns
 * how many. */
int g_lot_wake_all(const void *key, int result);

/* In a forked child: nobody waits (the waiters were other threads, gone
 * with the fork, their records on stacks the child may reuse), and no
 * bucket is locked. */
void g_lot_forked(void);

/* An id for the calling thread, green or not, for owner fields: never 0. */
int g_owner_id(void);

#endif
