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
 * The lock bit carries its holder's tag, so that a sem_post from a signal
 * handler (POSIX allows it) that interrupted its own thread inside the lock
 * knows it and, instead of spinning forever, leaves its unit owed to the
 * semaphore; the thread posts it once it has let go (settle).
 */
#include "shim/sync.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/worker.h"

/* A waiter on a private semaphore, on its own stack. */
struct sem_waiter {
    struct g_waiter w;
    struct sem_waiter *next, *prev; /* on the queue, under the lock */
};

struct g_sem {
    _Atomic uint64_t data; /* value | waiters << 32 | holder's tag | LOCK */
    int shared;            /* glibc's "private": SHARED or 0 */
    int unused;
    struct sem_waiter *head, *tail; /* private: waiters, oldest first */
};

/* glibc marks process-shared (and sem_open) semaphores with its
 * FUTEX_SHARED, which is 128; private ones with 0. */
#define SHARED 128

_Static_assert(sizeof(struct g_sem) <= sizeof(sem_t), "size");
_Static_assert(offsetof(struct g_sem, shared) == 8, "glibc's private");

#define VALUE(d) ((unsigned)((d)&0xffffffffu))
#define ONE_WAITER ((uint64_t)1 << 32)
/* Private semaphores only: the queue's lock, and with it the tag of the OS
 * thread that holds it (0: a thread past the first 127 that took one).
 * Held only with waiters counted, so a post that sees no waiters
 * (d >> 32 == 0) needs no lock. Shared ones count waiters in all 32 bits,
 * as glibc does. */
#define LOCK ((uint64_t)1 << 63)
#define TAG_SHIFT 56
#define HOLDER(d) ((d) & ((uint64_t)0xff << TAG_SHIFT))
#define WAITERS(d) ((unsigned)(((d) >> 32) & 0xffffff))
#define SHARED_WAITERS(d) ((unsigned)((d) >> 32))

/* This OS thread's LOCK | tag << TAG_SHIFT, 0 until its first lock. */
static __thread uint64_t my_lock __attribute__((tls_model("initial-exec")));

static uint64_t lock_bits(void)
{
    static _Atomic unsigned tags;

    if (__builtin_expect(my_lock == 0, 0)) {
        unsigned tag = atomic_fetch_add(&tags, 1) + 1;

        my_lock = LOCK | (uint64_t)(tag < 128 ? tag : 0) << TAG_SHIFT;
    }
    return my_lock;
}

/* Whether this OS thread holds the lock of word d: only a signal handler
 * can find that, having interrupted its own thread inside the lock. */
static bool mine(uint64_t d)
{
    return (d & LOCK) && my_lock != LOCK && HOLDER(d) == my_lock;
}

/*
 * Posts that signal handlers made to semaphores whose lock their own OS
 * thread held, one entry a semaphore: its address << 16 | how many. One
 * entry for each semaphore locked at once, so for each level of nested
 * handlers. owed_posts, their sum, tells the thread that it has some to
 * make once it lets go. A handler runs whole between two instructions of
 * its thread, so single atomic instructions keep these consistent.
 */
#define OWED_MAX 8
static __thread _Atomic uint64_t owed[OWED_MAX]
    __attribute__((tls_model("initial-exec")));
static __thread _Atomic unsigned owed_posts
    __attribute__((tls_model("initial-exec")));

/* In a handler that interrupted its thread inside s's lock: owe s a post. */
static void owe(struct g_sem *s)
{
    uint64_t key = (uint64_t)(uintptr_t)s << 16;

    for (int i = 0; i < OWED_MAX; i++) {
        uint64_t e = atomic_load_explicit(&owed[i], memory_order_relaxed);

        if (e == 0 ||
            ((e & ~(uint64_t)0xffff) == key && (e & 0xffff) < 0xffff)) {
            atomic_store_explicit(&owed[i], (e ? e : key) + 1,
                                  memory_order_relaxed);
            atomic_fetch_add_explicit(&owed_posts, 1, memory_order_relaxed);
            return;
        }
    }
    fprintf(stderr, "libgreen: sem_post from signal handlers nested more "
                    "than %d deep in semaphore locks\n",
            OWED_MAX);
    abort();
}

/* Once out of s's lock: make the posts our handlers owe s. */
static void settle(struct g_sem *s)
{
    uint64_t key = (uint64_t)(uintptr_t)s << 16;

    for (int i = 0; i < OWED_MAX; i++) {
        uint64_t e = atomic_load_explicit(&owed[i], memory_order_relaxed);
        unsigned n;

        if ((e & ~(uint64_t)0xffff) != key)
            continue;
        e = atomic_exchange_explicit(&owed[i], 0, memory_order_relaxed);
        n = (unsigned)(e & 0xffff);
        atomic_fetch_sub_explicit(&owed_posts, n, memory_order_relaxed);
        while (n-- > 0)
            g_sem_post(s);
    }
}

/* After every unlock: posts owed to s, which only our own handlers make. */
static inline void settle_if_owed(struct g_sem *s)
{
    if (__builtin_expect(
            atomic_load_explicit(&owed_posts, memory_order_relaxed), 0))
        settle(s);
}

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

/* Take the lock of a semaphore that has waiters counted; returns the
 * word as it now is. */
static uint64_t lock(struct g_sem *s)
{
    uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);
    uint64_t bits = lock_bits();
    int spins = 0;

    for (;;) {
        if (d & LOCK)
            d = reread(s, &spins);
        else if (atomic_compare_exchange_weak_explicit(&s->data, &d, d + bits,
                                                       memory_order_acquire,
                                                       memory_order_relaxed))
            return d + bits;
    }
}

/* Let go of the lock of d (the word as the holder left it), subtracting
 * sub in the same step. */
static void unlock(struct g_sem *s, uint64_t d, uint64_t sub)
{
    if (VALUE(d) == 0)
        atomic_store_explicit(&s->data, d - my_lock - sub,
                              memory_order_release);
    else
        atomic_fetch_sub_explicit(&s->data, my_lock + sub,
                                  memory_order_release);
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

/* May park. A private semaphore with no unit free: count ourselves a
 * waiter, queue, and wait for a post to hand us its unit. */
static int wait_private(struct g_sem *s, int64_t deadline)
{
    uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);
    uint64_t bits = lock_bits();
    struct sem_waiter sw;
    int rc, spins = 0;

    for (;;) {
        if (VALUE(d) > 0) {
            if (atomic_compare_exchange_weak_explicit(&s->data, &d, d - 1,
                                                      memory_order_acquire,
                                                      memory_order_relaxed))
                return 0;
        } else if (d & LOCK) {
            d = reread(s, &spins);
        } else if (atomic_compare_exchange_weak_explicit(
                       &s->data, &d, d + bits + ONE_WAITER,
                       memory_order_acquire, memory_order_relaxed)) {
            break;
        }
    }
    g_waiter_init(&sw.w, true);
    sw.w.reason = G_PARK_SEM;
    sw.w.interruptible = true;
    enqueue(s, &sw);
    unlock(s, d + bits + ONE_WAITER, 0);
    settle_if_owed(s);
    rc = g_wait(&sw.w, deadline); /* May park. */
    if (rc != 0) {
        /* Timed out, canceled or interrupted: no post claimed us, so
         * still queued. */
        d = lock(s);
        dequeue(s, &sw);
        unlock(s, d, ONE_WAITER);
        settle_if_owed(s);
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

/*
 * Once its unit is out, a post touches the semaphore no more (glibc's does
 * not either): a waiter may destroy it as soon as it has its unit. Only
 * posts our own handlers owe it follow, and while those are in flight too
 * the program cannot destroy it.
 */
int g_sem_post(void *sp)
{
    struct g_sem *s = sp;
    uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);
    bool shared = is_shared(s);
    struct g_wake_token tok;
    int spins = 0;

    for (;;) {
        if (VALUE(d) >= SEM_VALUE_MAX)
            return -EOVERFLOW;
        if (mine(d)) {
            owe(s);
            return 0;
        }
        if (shared || d >> 32 == 0) {
            if (!atomic_compare_exchange_weak_explicit(&s->data, &d, d + 1,
                                                       memory_order_release,
                                                       memory_order_relaxed))
                continue;
            if (shared && SHARED_WAITERS(d) > 0)
                futex_on(s, FUTEX_WAKE, 1, NULL);
            return 0;
        }
        if (d & LOCK) {
            d = reread(s, &spins);
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(&s->data, &d,
                                                  d + lock_bits(),
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            break;
    }
    d += lock_bits();
    if (hand_to_waiter(s, &tok)) {
        unlock(s, d, ONE_WAITER);
        g_wake_finish(&tok);
    } else {
        /* Every queued waiter is leaving: the unit goes to the value. */
        atomic_fetch_add_explicit(&s->data, 1 - my_lock, memory_order_release);
    }
    settle_if_owed(s);
    return 0;
}
