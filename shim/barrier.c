/*
 * shim/barrier.c: barriers over pthread_barrier_t. The count, the number
 * arrived and the round change only under the lot's bucket lock; the last
 * to arrive opens the round for every waiter at once and is the serial
 * thread. A magic word tells ours from a process-shared barrier that glibc
 * initialised. Any thread.
 */
#include "shim/sync.h"

#include <errno.h>

#include "shim/lot.h"

#define MAGIC 0x67726e62u /* "grnb" */

struct g_barrier {
    unsigned count;
    unsigned arrived;
    unsigned round;
    unsigned unused;
    unsigned magic;
};

_Static_assert(sizeof(struct g_barrier) <= sizeof(pthread_barrier_t), "size");

int g_barrier_init(void *p, unsigned count)
{
    struct g_barrier *b = p;

    if (count == 0)
        return -EINVAL;
    b->count = count;
    b->arrived = 0;
    b->round = 0;
    b->magic = MAGIC;
    return 0;
}

bool g_barrier_is_ours(const void *p)
{
    return ((const struct g_barrier *)p)->magic == MAGIC;
}

int g_barrier_wait(void *p)
{
    struct g_barrier *bar = p;
    struct g_lot_bucket *b = g_lot_lock(bar);
    struct g_lot_waiter lw;

    if (++bar->arrived == bar->count) {
        struct g_wake_token tok;
        bool more = true;

        bar->arrived = 0;
        bar->round++;
        while (more && g_lot_claim_one(b, bar, 0, 0, &tok, &more))
            g_wake_finish(&tok);
        g_lot_unlock(b);
        return PTHREAD_BARRIER_SERIAL_THREAD;
    }
    g_lot_enqueue(b, &lw, bar, 0, false);
    g_lot_unlock(b);
    g_lot_wait(&lw, G_NEVER); /* May park. */
    return 0;
}

int g_barrier_destroy(void *p)
{
    struct g_barrier *bar = p;
    struct g_lot_bucket *b = g_lot_lock(bar);
    int rc = bar->arrived ? -EBUSY : 0;

    if (!rc)
        bar->magic = 0;
    g_lot_unlock(b);
    return rc;
}
