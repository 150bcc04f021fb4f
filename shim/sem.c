/*
 * shim/sem.c: POSIX semaphores over glibc's sem_t layout.
 *
 * The 64-bit data word keeps glibc's meaning: the value in its low half,
 * the number of waiters in its high half, so that a process-shared or named
 * semaphore also works with processes that run without libgreen (their
 * sem_post wakes a futex on the value when waiters are counted). Shared
 * ones keep glibc's futex protocol, and a green thread polls them with a
 * growing sleep rather than block its worker.
 *
 * Private semaphores are ours alone, so they queue their waiters, green or
 * not, in the spare bytes of sem_t, under a lock bit at the top of the data
 * word: a waiter counts itself and takes the lock in one compare-and-swap,
 * and a post hands its unit straight to the first waiter. This is the
 * fastest hand-off between threads libgreen has (issue 4's benchmark), so
 * it stays off the parking lot. Any thread.
 *
 * sem_post may be called from a signal handler, which may have interrupted
 * its own thread inside the lock: it leaves its unit in pending instead of
 * spinning forever, and the thread posts it as it lets go (settle).
 */
#include "shim/sync.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/worker.h"

/* A waiter on a private semaphore, on its own stack. */
struct sem_waiter {
    struct g_waiter w;
    struct sem_waiter *next, *prev; /* on the queue, under the lock */
};

struct g_sem {
    _Atomic uint64_t data;     /* value | waiters << 32 | LOCK */
    int shared;                /* glibc's "private": SHARED or 0 */
    _Atomic unsigned pending;  /* private: posts left by signal handlers */
    struct sem_waiter *head, *tail; /* private: waiters, oldest first */
};

/* glibc marks process-shared (and sem_open) semaphores with its
 * FUTEX_SHARED, which is 128; private ones with 0. */
#define SHARED 128

_Static_assert(sizeof(struct g_sem) <= sizeof(sem_t), "size");
_Static_assert(offsetof(struct g_sem, shared) == 8, "glibc's private");

#define VALUE(d) ((unsigned)((d)&0xffffffffu))
#define ONE_WAITER ((uint64_t)1 << 32)
/* Private semaphores only: the queue's lock. Held only with waiters
 * counted, so a post that sees no waiters (d >> 32 == 0) needs no lock. */
#define LOCK ((uint64_t)1 << 63)
#define WAITERS(d) ((unsigned)(((d) & ~LOCK) >> 32))

/* The private semaphore whose lock this OS thread holds or is taking, if
 * any: a handler that interrupts it there must not wait for the lock. */
static __thread struct g_sem *held __attribute__((tls_model("initial-exec")));

/*
 * Who changes the data word while its lock is held: the holder, and a
 * try_take that finds a unit (value > 0). So a holder that locked it at
 * value 0, and added no unit, may unlock with a plain store.
 */

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
    atomic_store(&s->pending, 0);
    s->head = s->tail = NULL;
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

/* The lock is held (by a thread that never parks while holding it):
 * wait a moment and read the word again. The holder may be an OS thread
 * that got preempted, so a waiter stops burning its CPU after a while. */
static uint64_t reread(struct g_sem *s, int *spins)
{
    if (++*spins < 1000)
        __builtin_ia32_pause();
    else
        syscall(SYS_sched_yield);
    return atomic_load_explicit(&s->data, memory_order_relaxed);
}

/* Set the lock bit, adding add to the word in the same step; returns the
 * word as it now is. */
static uint64_t lock(struct g_sem *s, uint64_t add)
{
    uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);
    int spins = 0;

    for (;;) {
        if (d & LOCK) {
            d = reread(s, &spins);
        } else if (atomic_compare_exchange_weak_explicit(
                       &s->data, &d, (d | LOCK) + add, memory_order_acquire,
                       memory_order_relaxed)) {
            return (d | LOCK) + add;
        }
    }
}

/* Clear the lock bit of d (the word as the holder left it), subtracting
 * sub in the same step. */
static void unlock(struct g_sem *s, uint64_t d, uint64_t sub)
{
    if (VALUE(d) == 0)
        atomic_store_explicit(&s->data, d - LOCK - sub, memory_order_release);
    else
        atomic_fetch_sub_explicit(&s->data, LOCK + sub, memory_order_release);
}

static void enqueue(struct g_sem *s, struct sem_waiter *sw)
{
    sw->next = NULL;
    sw->prev = s->tail;
    if (s->tail)
        s->tail->next = sw;
    else
        s->head = sw;
    s->tail = sw;
}

static void dequeue(struct g_sem *s, struct sem_waiter *sw)
{
    if (sw->prev)
        sw->prev->next = sw->next;
    else
        s->head = sw->next;
    if (sw->next)
        sw->next->prev = sw->prev;
    else
        s->tail = sw->prev;
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

static int post_unit(struct g_sem *s);

/* Post what signal handlers left while this thread was in s's lock, unless
 * it is still inside a section on s (a handler's, then the thread's own
 * section settles afterwards). */
static void settle(struct g_sem *s)
{
    unsigned n = atomic_load_explicit(&s->pending, memory_order_relaxed);

    if (n == 0 || held == s)
        return;
    while (n > 0)
        if (atomic_compare_exchange_weak_explicit(&s->pending, &n, n - 1,
                                                  memory_order_acquire,
                                                  memory_order_relaxed)) {
            post_unit(s);
            n = atomic_load_explicit(&s->pending, memory_order_relaxed);
        }
}

/* May park. A private semaphore with no unit free: count ourselves a
 * waiter, queue, and wait for a post to hand us its unit. */
static int wait_private(struct g_sem *s, int64_t deadline)
{
    uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);
    struct g_sem *outer = held;
    struct sem_waiter sw;
    int rc, spins = 0;

    held = s;
    for (;;) {
        if (VALUE(d) > 0) {
            if (atomic_compare_exchange_weak_explicit(&s->data, &d, d - 1,
                                                      memory_order_acquire,
                                                      memory_order_relaxed)) {
                held = outer;
                settle(s);
                return 0;
            }
        } else if (d & LOCK) {
            d = reread(s, &spins);
        } else if (atomic_compare_exchange_weak_explicit(
                       &s->data, &d, d + (LOCK | ONE_WAITER),
                       memory_order_acquire, memory_order_relaxed)) {
            break;
        }
    }
    g_waiter_init(&sw.w, true);
    sw.w.reason = G_PARK_SEM;
    enqueue(s, &sw);
    unlock(s, d + (LOCK | ONE_WAITER), 0);
    held = outer;
    settle(s);
    rc = g_wait(&sw.w, deadline); /* May park. */
    if (rc != 0) {
        /* Timed out or canceled: no post claimed us, so still queued. */
        held = s;
        d = lock(s, 0);
        dequeue(s, &sw);
        unlock(s, d, ONE_WAITER);
        held = outer;
        settle(s);
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

    if (try_take(s))
        return 0;
    if (deadline == 0)
        return -EAGAIN;
    if (deadline < 0)
        return -EINVAL; /* a bad timespec matters only now */
    if (is_shared(s))
        return g_self_to_park()
                   ? g_poll_until(attempt_take, s, deadline, true)
                   : wait_shared_os(s, deadline);
    return wait_private(s, deadline);
}

/* Under the lock: claim the first waiter that is not leaving (one whose
 * timeout or cancel won takes itself off) with the unit, and take it off
 * the queue. A claimed waiter cannot return before g_wake_finish. */
static bool hand_to_waiter(struct g_sem *s, struct g_wake_token *tok)
{
    for (struct sem_waiter *sw = s->head; sw; sw = sw->next)
        if (g_claim(&sw->w, 0, tok)) {
            dequeue(s, sw);
            return true;
        }
    return false;
}

/* sem_post's work; 1 if it left its unit in pending (a signal handler
 * that interrupted its own thread inside s's lock). */
static int post_unit(struct g_sem *s)
{
    uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);
    struct g_sem *outer = held;
    struct g_wake_token tok;
    int spins = 0;

    held = s;
    for (;;) {
        if (VALUE(d) >= SEM_VALUE_MAX) {
            held = outer;
            return -EOVERFLOW;
        }
        if (is_shared(s) || d >> 32 == 0) {
            if (!atomic_compare_exchange_weak_explicit(&s->data, &d, d + 1,
                                                       memory_order_release,
                                                       memory_order_relaxed))
                continue;
            held = outer;
            if (is_shared(s) && WAITERS(d) > 0)
                futex_on(s, FUTEX_WAKE, 1, NULL);
            return 0;
        }
        if (d & LOCK) {
            if (outer == s) {
                /* Its own thread settles it, after this in program
                 * order: no fence needed. */
                atomic_fetch_add_explicit(&s->pending, 1,
                                          memory_order_relaxed);
                held = outer;
                return 1;
            }
            d = reread(s, &spins);
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(&s->data, &d, d | LOCK,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            break;
    }
    d |= LOCK;
    if (hand_to_waiter(s, &tok)) {
        unlock(s, d, ONE_WAITER);
        held = outer;
        g_wake_finish(&tok);
    } else {
        /* Every queued waiter is leaving: the unit goes to the value. */
        atomic_fetch_add_explicit(&s->data, 1 - LOCK, memory_order_release);
        held = outer;
    }
    return 0;
}

int g_sem_post(void *sp)
{
    struct g_sem *s = sp;
    int rc = post_unit(s);

    if (rc == 1)
        return 0;
    if (!is_shared(s))
        settle(s);
    return rc;
}
