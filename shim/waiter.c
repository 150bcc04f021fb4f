/*
 * shim/waiter.c: park / wake, exactly once (invariant 3).
 *
 * A wait is a struct g_waiter on the waiting thread's stack. Wakers race on
 * its state with one compare-and-swap; the winner makes the thread runnable
 * (or, for an OS thread that libgreen did not make, wakes the futex it sleeps
 * on), and losers touch nothing. A deadline puts the waiter's node on its
 * worker's timer heap, which the scheduler expires with -ETIMEDOUT. g_wait
 * runs on the waiting thread; g_wake on any thread.
 */
#include "shim/worker.h"

#include <assert.h>
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void g_waiter_init(struct g_waiter *w, bool cancellable)
{
    w->thread = g_self();
    w->reason = G_PARK_OTHER;
    atomic_store_explicit(&w->state, G_WAITING, memory_order_relaxed);
    w->timed = false;
    w->cancellable = cancellable && w->thread;
}

static long futex(_Atomic int *addr, int op, int val, const struct timespec *ts)
{
    return syscall(SYS_futex, addr, op | FUTEX_PRIVATE_FLAG, val, ts, NULL,
                   FUTEX_BITSET_MATCH_ANY);
}

/* An OS thread's wait: sleep on the state word itself. */
static int wait_os(struct g_waiter *w, int64_t deadline)
{
    int saved_errno = errno;
    int state;

    while ((state = atomic_load_explicit(&w->state, memory_order_acquire)) ==
           G_WAITING) {
        struct timespec ts, *tsp = NULL;

        if (deadline != G_NEVER) {
            ts.tv_sec = deadline / 1000000000;
            ts.tv_nsec = deadline % 1000000000;
            tsp = &ts;
        }
        /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
        if (futex(&w->state, FUTEX_WAIT_BITSET, G_WAITING, tsp) != 0 &&
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

int g_wait(struct g_waiter *w, int64_t deadline)
{
    struct g_thread *self = w->thread;
    struct g_worker *wk;
    int state;

    if (!self)
        return wait_os(w, deadline);
    wk = self->worker;
    G_COUNT(wk->stats.parks[w->reason]);
    if (w->cancellable && g_cancel_wait_begin(self, w) != 0) {
        /* Canceled before it began: end the wait ourselves, unless a
         * waker already has. */
        g_wake(w, -ECANCELED);
    } else if (deadline != G_NEVER) {
        w->timer.key = deadline;
        w->timed = true;
        g_heap_insert(&wk->timers, &w->timer);
    }
    /*
     * Exactly one park: the winning wake readies this thread exactly once,
     * also when it won before we got here (then the park returns at once,
     * or right after the wake-up crosses from another worker). Returning
     * without consuming that wake-up would leave it to end a later wait.
     */
    g_park(self);
    state = atomic_load_explicit(&w->state, memory_order_acquire);
    if (w->timed) {
        g_heap_remove(&wk->timers, &w->timer);
        w->timed = false;
    }
    if (w->cancellable)
        g_cancel_wait_end(self);
    return state;
}

bool g_wake_claim(struct g_waiter *w, int result, struct g_wake_token *tok)
{
    int expected = G_WAITING;

    assert(result != G_WAITING);
    /* Read before the swap: once it succeeds, w may vanish at any time. */
    tok->thread = w->thread;
    tok->futex = &w->state;
    /* Pairs with the acquire loads in g_wait and wait_os. */
    return atomic_compare_exchange_strong_explicit(&w->state, &expected, result,
                                                   memory_order_acq_rel,
                                                   memory_order_relaxed);
}

void g_wake_finish(const struct g_wake_token *tok)
{
    if (tok->thread)
        g_ready(tok->thread);
    else
        futex(tok->futex, FUTEX_WAKE, 1, NULL); /* harmless if it left */
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
