/*
 * shim/sem.c: POSIX semaphores over glibc's sem_t layout.
 *
 * The 64-bit data word keeps glibc's meaning: the value in its low half,
 * the number of waiters in its high half, so that a process-shared or named
 * semaphore also works with processes that run without libgreen (their
 * sem_post wakes a futex on the value when waiters are counted). Private
 * semaphores queue their waiters, green or not, in the lot and hand a post
 * straight to the first; shared ones keep glibc's futex protocol, and a
 * green thread polls them with a growing sleep rather than block its
 * worker. Any thread.
 */
#include "shim/sync.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/lot.h"

struct g_sem {
    _Atomic uint64_t data; /* value | waiters << 32 */
    int shared;            /* glibc's "private": SHARED or 0 */
};

/* glibc marks process-shared (and sem_open) semaphores with its
 * FUTEX_SHARED, which is 128; private ones with 0. */
#define SHARED 128

_Static_assert(sizeof(struct g_sem) <= sizeof(sem_t), "size");

#define VALUE(d) ((unsigned)((d)&0xffffffffu))
#define WAITERS(d) ((unsigned)((d) >> 32))
#define ONE_WAITER ((uint64_t)1 << 32)

static bool is_shared(const struct g_sem *s)
{
    return s->shared == SHARED;
}

int g_sem_init(void *sp, bool shared, unsigned value)
{
    struct g_sem *s = sp;

    if (value > SEM_VALUE_MAX)
        return -EINVAL;
    atomic_store(&s->data, value);
    s->shared = shared ? SHARED : 0;
    return 0;
}

int g_sem_value(void *sp)
{
    return (int)VALUE(atomic_load(&((struct g_sem *)sp)->data));
}

static bool try_take(struct g_sem *s)
{
    uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);

    while (VALUE(d) > 0)
        if (atomic_compare_exchange_weak_explicit(&s->data, &d, d - 1,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return true;
    return false;
}

static long futex_on(struct g_sem *s, int op, unsigned val,
                     const struct timespec *ts)
{
    /* The value is the low half of data on little-endian x86-64, where
     * glibc's futex word lives too. */
    return syscall(SYS_futex, (unsigned *)&s->data,
                   is_shared(s) ? op : op | FUTEX_PRIVATE_FLAG, val, ts, NULL,
                   FUTEX_BITSET_MATCH_ANY);
}

/* May park. A private semaphore: queue in the lot, unless a unit is free.
 * A post hands its unit straight to the first waiter. */
static int wait_private(struct g_sem *s, int64_t deadline)
{
    struct g_lot_bucket *b = g_lot_lock(s);
    struct g_lot_waiter lw;
    uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);
    int rc;

    do {
        if (VALUE(d) > 0) {
            g_lot_unlock(b);
            return -EAGAIN; /* a unit came back: try again */
        }
    } while (!atomic_compare_exchange_weak(&s->data, &d, d + ONE_WAITER));
    g_lot_enqueue(b, &lw, s, 0, true);
    lw.w.reason = G_PARK_SEM;
    g_lot_unlock(b);
    rc = g_wait(&lw.w, deadline); /* May park. */
    if (rc != 0) {
        /* Timed out or canceled: not claimed, so still queued. */
        b = g_lot_lock(s);
        g_queue_remove(&lw.node);
        atomic_fetch_sub(&s->data, ONE_WAITER);
        g_lot_unlock(b);
    }
    return rc;
}

/* An OS thread on a shared semaphore: glibc's protocol. */
static int wait_shared_os(struct g_sem *s, int64_t deadline)
{
    int rc = 0, saved_errno = errno;

    atomic_fetch_add(&s->data, ONE_WAITER);
    while (!try_take(s)) {
        struct timespec ts, *tsp = NULL;

        if (deadline != G_NEVER) {
            ts.tv_sec = deadline / 1000000000;
            ts.tv_nsec = deadline % 1000000000;
            tsp = &ts;
        }
        if (futex_on(s, FUTEX_WAIT_BITSET, 0, tsp) != 0 && errno == ETIMEDOUT) {
            rc = -ETIMEDOUT;
            break;
        }
    }
    atomic_fetch_sub(&s->data, ONE_WAITER);
    errno = saved_errno;
    return rc;
}

static int attempt_take(void *sp)
{
    return try_take(sp) ? 0 : -EAGAIN;
}

int g_sem_wait(void *sp, int64_t deadline)
{
    struct g_sem *s = sp;
    int rc;

    for (;;) {
        if (try_take(s))
            return 0;
        if (deadline == 0)
            return -EAGAIN;
        if (deadline < 0)
            return -EINVAL; /* a bad timespec matters only now */
        if (is_shared(s))
            return g_self() ? g_poll_until(attempt_take, s, deadline, true)
                            : wait_shared_os(s, deadline);
        rc = wait_private(s, deadline);
        if (rc != -EAGAIN)
            return rc;
    }
}

int g_sem_post(void *sp)
{
    struct g_sem *s = sp;
    uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);

    for (;;) {
        struct g_lot_bucket *b;
        struct g_wake_token tok;
        bool more;

        if (VALUE(d) >= SEM_VALUE_MAX)
            return -EOVERFLOW;
        if (is_shared(s) || WAITERS(d) == 0) {
            if (!atomic_compare_exchange_weak_explicit(&s->data, &d, d + 1,
                                                       memory_order_release,
                                                       memory_order_relaxed))
                continue;
            if (is_shared(s) && WAITERS(d) > 0)
                futex_on(s, FUTEX_WAKE, 1, NULL);
            return 0;
        }
        /* Private with waiters: hand the unit to the first one. */
        b = g_lot_lock(s);
        if (g_lot_claim_one(b, s, 0, 0, &tok, &more)) {
            atomic_fetch_sub(&s->data, ONE_WAITER);
            g_lot_unlock(b);
            g_wake_finish(&tok);
            return 0;
        }
        /* Every queued waiter is leaving: the unit goes to the value. */
        d = atomic_fetch_add(&s->data, 1);
        g_lot_unlock(b);
        return 0;
    }
}
