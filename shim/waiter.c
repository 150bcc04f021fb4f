/*
 * shim/waiter.c: park / wake, exactly once (invariant 3).
 *
 * A wait is a struct g_waiter on the waiting thread's stack. Wakers race on
 * its state with one compare-and-swap; the winner makes the thread runnable
 * (or, for an OS thread that libgreen did not make, wakes the futex it sleeps
 * on), and losers touch nothing. A deadline puts the waiter's node on its
 * worker's timer heap, which the scheduler expires with -ETIMEDOUT. g_wait
 * (inline in worker.h, the hot path of every hand-off) runs on the waiting
 * thread; g_wake on any thread.
 */
#include "shim/worker.h"

#include <assert.h>
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long futex(_Atomic int *addr, int op, int val, const struct timespec *ts)
{
    return syscall(SYS_futex, addr, op | FUTEX_PRIVATE_FLAG, val, ts, NULL,
                   FUTEX_BITSET_MATCH_ANY);
}

/* An OS thread's wait: sleep on the state word itself. */
int g_wait_os(struct g_waiter *w, int64_t deadline)
{
    int saved_errno = errno;
    int state;

    while ((state = atomic_load_explicit(&w->state, memory_order_acquire)) ==
               G_WAITING ||
           state == G_HANDING) {
        struct timespec ts, *tsp = NULL;

        /* Claimed: only the claimer's g_wake_finish is left to wait for. */
        if (deadline != G_NEVER && state == G_WAITING) {
            ts.tv_sec = deadline / 1000000000;
            ts.tv_nsec = deadline % 1000000000;
            tsp = &ts;
        }
        /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
        if (futex(&w->state, FUTEX_WAIT_BITSET, state, tsp) != 0 &&
            errno == ETIMEDOUT) {
            int expected = G_WAITING;

            atomic_compare_exchange_strong_explicit(
                &w->state, &expected, -ETIMEDOUT, memory_order_acq_rel,
                memory_order_acquire);
        }
    }
    errno = saved_errno;
    return state;
}

void g_wake_os(const struct g_wake_token *tok)
{
    /* From this store on the waiter may return: the wake-up that follows
     * is harmless if it has. */
    atomic_store_explicit(tok->futex, tok->result, memory_order_release);
    futex(tok->futex, FUTEX_WAKE, 1, NULL);
}

bool g_wake_claim(struct g_waiter *w, int result, struct g_wake_token *tok)
{
    int expected = G_WAITING;

    assert(result != G_WAITING && result != G_HANDING);
    /* Read before the swap: once it succeeds, w may vanish at any time. */
    tok->thread = w->thread;
    tok->futex = &w->state;
    tok->result = result;
    /* Pairs with the acquire loads in g_wait and g_wait_os. A green
     * thread cannot return before g_wake_finish readies it; an OS thread
     * could, so it gets G_HANDING until then. */
    return atomic_compare_exchange_strong_explicit(
        &w->state, &expected, tok->thread ? result : G_HANDING,
        memory_order_acq_rel, memory_order_relaxed);
}

bool g_wake(struct g_waiter *w, int result)
{
    struct g_wake_token tok;

    if (!g_wake_claim(w, result, &tok))
        return false;
    g_wake_finish(&tok);
    return true;
}

/* May park. Sleep until deadline: 0, or -ECANCELED if cancellable. */
static int sleep_until(int64_t deadline, bool cancellable)
{
    struct g_waiter w;
    int rc;

    g_waiter_init(&w, cancellable);
    w.reason = G_PARK_TIMER;
    rc = g_wait(&w, deadline);
    return rc == -ETIMEDOUT ? 0 : rc;
}

int g_sleep_until(int64_t deadline)
{
    return sleep_until(deadline, true);
}

int g_sleep_interruptible(int64_t deadline)
{
    struct g_thread *self = g_self();
    struct g_waiter w;
    int rc;

    g_sig_critical_begin(self); /* the timer is linked until g_wait ends */
    g_waiter_init(&w, true);
    w.reason = G_PARK_TIMER;
    w.interruptible = true;
    rc = g_wait(&w, deadline);
    g_sig_critical_end(self);
    return rc == -ETIMEDOUT ? 0 : rc;
}

/* Back-off bounds of g_poll_until. */
#define POLL_MIN_NS 50000
#define POLL_MAX_NS 2000000

int g_poll_until(int (*attempt)(void *), void *arg, int64_t deadline,
                 bool cancellable)
{
    int64_t pause = POLL_MIN_NS;
    int rc;

    while ((rc = attempt(arg)) == -EBUSY || rc == -EAGAIN) {
        int64_t now = g_now();

        if (deadline == 0)
            return rc;
        if (deadline < 0)
            return -EINVAL;
        if (now >= deadline)
            return -ETIMEDOUT;
        if (sleep_until(now + pause < deadline ? now + pause : deadline,
                        cancellable) == -ECANCELED)
            return -ECANCELED;
        if (pause < POLL_MAX_NS)
            pause *= 2;
    }
    return rc;
}
