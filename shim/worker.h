/*
 * shim/worker.h: the worker, private to shim/.
 *
 * One worker per GREEN_LOOPS: an OS thread that owns one libuv loop, the run
 * queue and timers of the green threads placed on it, and a stack pool.
 * Only the worker's own OS thread (its scheduler or its green threads)
 * touches its fields, except inbox and load, which are atomic.
 */
#ifndef G_WORKER_H
#define G_WORKER_H

#include <errno.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#include "shim/shim.h"

/* Switches between two polls of a busy worker's loop. */
#define G_BATCH 256

/* Bump a counter only its worker writes and the report reads. */
#define G_COUNT(x)                                                            \
    atomic_store_explicit(&(x), atomic_load_explicit(&(x), memory_order_relaxed) + 1, \
                          memory_order_relaxed)

/* What GREEN_STATS reports of one worker (stats.c documents each). */
struct g_worker_stats {
    _Atomic uint64_t created;
    _Atomic uint64_t switches;
    _Atomic uint64_t parks[G_PARK_REASONS];
    _Atomic uint64_t cross_wakeups; /* written by other threads */
    _Atomic uint64_t iterations;
    _Atomic int64_t longest_ns;
    const char *_Atomic longest_call;
    int64_t busy_since; /* the end of the last poll of the loop */
};

struct g_worker {
    int index;
    struct g_thread sched; /* the scheduler's own context, as a thread */
    struct g_queue runq;   /* runnable g_thread.runq nodes, FIFO */
    int batch;             /* switches left before the loop is polled */
    unsigned quick_looks;  /* polls that returned without waiting */
    int *errno_at;         /* errno of the worker's OS thread, which all its
                              green threads share */
    int64_t spin_ns;       /* how long to watch the inbox when idle */
    unsigned place_next;   /* round-robin cursor for placement */
    struct g_heap timers;  /* g_waiter.timer nodes with a deadline */
    struct g_stack_pool stacks;
    struct g_thread *free_threads; /* recycled structs, via inbox_next */

    /* Written by other threads. */
    struct g_thread *_Atomic inbox;   /* g_thread.inbox_next, LIFO; drained
                                         by the scheduler */
    struct g_thread *_Atomic cancels; /* g_thread.cancel_next: threads with
                                         a cancel to act on, LIFO */
    struct g_thread *_Atomic sig_queue; /* g_thread.sig_next: threads with
                                           signals to take, LIFO */
    _Atomic long load;                /* live green threads placed here */
    _Atomic bool sleeping;            /* about to wait, or waiting, in the
                                         loop: wakers must write wakeup_fd */

    uv_loop_t loop;
    int wakeup_fd; /* an eventfd: written by wakers of a sleeping
                      worker, read by the loop (wakeup) */
    uv_poll_t wakeup;
    uv_timer_t alarm; /* armed for timers.min before the loop waits */

    /* Waiting for fds (fdwait.c): an epoll of our own, watched by fd_poll,
     * and this worker's watch records, in chunks as fdtable.c's. */
    int fd_epoll;
    uv_poll_t fd_poll;
    struct g_fdwatch *_Atomic *watches;

    struct g_worker_stats stats;

    /* Calls for the thread pool that green threads of this worker queued
     * (offload.c); only this worker's OS thread touches the list. */
    struct g_offload *offloads;
    pthread_t os_thread;

    /* Signals (shim/signal.c). */
    pid_t tid;                 /* the OS thread's, for a kick */
    _Atomic bool kicked;       /* a kick is on its way to it */
    unsigned route_seen;       /* the last routing request it served */
    uint64_t os_owned;         /* the signalfd signals its OS mask blocks */
    struct g_queue threads;    /* g_thread.live: its live threads */
    bool stopped; /* in a forked child: its OS thread is not started (yet:
                     g_workers_start_forked) */
} __attribute__((aligned(64)));

extern struct g_worker *g_workers;
extern int g_nworkers;
/* The workers run (false before they start, and in a forked child). */
extern bool g_runtime_live;
extern __thread struct g_worker *g_tls_worker
    __attribute__((tls_model("initial-exec")));

/* shim/worker.c: in a forked child that keeps a runtime, start the OS
 * threads of the workers other than the forking thread's; on it, before
 * it first places a thread. */
void g_workers_start_forked(void);
/* shim/worker.c: wake a worker that sleeps in its loop; any thread. */
void g_worker_wakeup(struct g_worker *wk);

/* shim/fdwait.c: set up a worker's epoll; take fd out of it and wake its
 * waiters with -EBADF (any thread, under fd's lock); wake the waiters of
 * what the epoll reports (the worker's scheduler). */
void g_fdwait_init(struct g_worker *wk);
int g_fdwait_forked(struct g_worker *wk);
void g_fdwait_forget(struct g_worker *wk, int fd);
void g_fdwait_dispatch(struct g_worker *wk);

/* shim/offload.c: in the scheduler, hand the queued calls to libuv. */
void g_offload_flush(struct g_worker *wk);

/* shim/sched.c */
void g_sched_enter(struct g_worker *wk, struct g_thread *t);
_Noreturn void g_sched_exit(struct g_worker *wk, struct g_thread *self);
void g_sched_wake_due(struct g_worker *wk, int64_t now);

/* shim/sched.c: a new thread's first context, on t->stack. */
void g_thread_ctx_init(struct g_thread *t);
/* shim/sched.c: g_ready for a thread of another worker. */
void g_ready_remote(struct g_thread *t);

/* shim/thread.c: called on t's worker once t's stack is no longer in use. */
void g_thread_reap(struct g_thread *t);
/* shim/thread.c: the most green threads alive at once. */
long g_thread_peak(void);
/* shim/thread.c: the worker for a new green thread. */
struct g_worker *g_thread_place(void);

/* shim/waiter.c: g_wait for an OS thread: sleep on the state word; and
 * g_wake_finish for one: store its result and wake it. */
int g_wait_os(struct g_waiter *w, int64_t deadline);
void g_wake_os(const struct g_wake_token *tok);
/* shim/cancel.c: in the scheduler, end the waits of canceled threads. */
void g_cancel_drain(struct g_worker *wk);
/* shim/signal.c: in the scheduler, resume the parked threads that have
 * signals to take, route the process's, and keep the OS mask up to date
 * (g_sig_drain_due says whether any of it is to do). */
void g_sig_drain(struct g_worker *wk);
bool g_sig_drain_due(const struct g_worker *wk);
void g_sig_apply_os_mask(struct g_worker *wk);

/*
 * The switch, inline (sched.c has the rest of scheduling) because a
 * hand-off between two threads is a wait and a wake around it, and every
 * call level between the program's call and the switch costs its register
 * saves (issue 4).
 *
 * A green thread that parks switches straight to the next runnable thread of
 * its worker; after G_BATCH switches, or when nothing is runnable, to the
 * scheduler context, which polls the loop. Every switch saves and restores
 * the program's errno.
 */

/* What runs on a context right after a switch to it: record the context
 * that switched out, or, if that thread has died, reap it now that nothing
 * runs on its stack any more. */
static inline void g_resumed(struct g_transfer t)
{
    struct g_thread *prev = t.data;

    if (__builtin_expect(prev->state == G_DEAD, 0))
        g_thread_reap(prev);
    else
        prev->ctx = t.fctx;
}

static inline struct g_thread *g_next_to_run(struct g_worker *wk)
{
    struct g_queue *q;

    if (wk->batch > 0 && (q = g_queue_pop(&wk->runq))) {
        wk->batch--;
        return g_queue_data(q, struct g_thread, runq);
    }
    return &wk->sched;
}

static inline void g_switch_to(struct g_worker *wk, struct g_thread *from,
                               struct g_thread *to)
{
    from->saved_errno = *wk->errno_at;
    G_COUNT(wk->stats.switches);
    to->state = G_RUNNING;
    g_tls_self = to == &wk->sched ? NULL : to;
    g_resumed(g_jump(to->ctx, from));
    *wk->errno_at = from->saved_errno;
}

/* Switch out until g_ready() puts self back on its run queue. May park. */
static inline void g_park(struct g_thread *self)
{
    struct g_worker *wk = self->worker;

    /* Readied before it got to switch out: nothing to wait for. */
    if (self->wake_pending) {
        self->wake_pending = false;
        return;
    }
    self->state = G_PARKED;
    g_switch_to(wk, self, g_next_to_run(wk));
}

/*
 * On t's own worker: queue t, unless it is running or already queued (by a
 * yield); then its next park consumes the wake-up instead. Each successful
 * g_wake readies its thread once, and each wait parks once, so wake-ups
 * never pile up.
 */
static inline void g_sched_make_runnable(struct g_worker *wk,
                                         struct g_thread *t)
{
    if (t == g_tls_self || g_queue_linked(&t->runq)) {
        t->wake_pending = true;
        return;
    }
    t->state = G_READY;
    g_queue_insert_tail(&wk->runq, &t->runq);
}

/* Make a parked thread runnable; from any thread, and from a signal
 * handler, which goes through the inbox as another thread would. */
static inline void g_ready(struct g_thread *t)
{
    if (t->worker == g_tls_worker && !g_tls_in_handler)
        g_sched_make_runnable(t->worker, t);
    else
        g_ready_remote(t);
}

/* Let a claimed waiter go: ready its green thread, or give its OS thread
 * its result (g_wake_os). */
static inline void g_wake_finish(const struct g_wake_token *tok)
{
    if (tok->thread)
        g_ready(tok->thread);
    else
        g_wake_os(tok);
}

/*
 * A cancellable wait is recorded in parked_on with plain stores: only the
 * thread's own worker reads it, in g_cancel_drain (shim/cancel.c), while
 * the thread is switched out. A canceller elsewhere never touches the
 * waiter; it queues the thread on its worker, which ends the wait if it is
 * still there.
 */
static inline int g_cancel_wait_begin(struct g_thread *self,
                                      struct g_waiter *w)
{
    /* A cancel that arrives after this check is queued on our worker and
     * drained only once we have switched out, with parked_on set. */
    if (g_cancel_due(atomic_load_explicit(&self->cancel, memory_order_relaxed)))
        return -ECANCELED;
    self->parked_on = w;
    return 0;
}

/* Prepare a wait by the calling thread, green or not. */
static inline void g_waiter_init(struct g_waiter *w, bool cancellable)
{
    w->thread = g_self_to_park();
    w->reason = G_PARK_OTHER;
    atomic_store_explicit(&w->state, G_WAITING, memory_order_relaxed);
    w->timed = false;
    w->cancellable = cancellable && w->thread;
    w->interruptible = false;
}

/*
 * A wait of self that its worker resumed for signals (g_sig_drain) before
 * anything woke it. An interruptible wait ends with -EINTR, and its call
 * runs the handlers once nothing of the wait is linked any more; any other
 * runs them here and waits on. A cancel that came meanwhile found the
 * thread not parked, so it is acted on here. Each resumption consumes one
 * g_ready and each wake-up gives one, so the wait parks once more in every
 * case.
 */
static inline void g_wait_signalled(struct g_thread *self, struct g_waiter *w)
{
    while (self->sig_inject) {
        self->sig_inject = false;
        if (!w->interruptible)
            g_sig_deliver_in_wait(self);
        if (w->cancellable &&
            g_cancel_due(atomic_load_explicit(&self->cancel,
                                              memory_order_relaxed)))
            g_wake(w, -ECANCELED);
        else if (w->interruptible)
            g_wake(w, -EINTR);
        g_park(self);
    }
}

/*
 * Before parking in a wait that a signal handed over since its call began
 * must end (self->sig_window): end it now if one came. sig_waits tells a
 * trampoline that interrupts self between here and the park to hand the
 * signal over rather than run it at once (shim/signal.c).
 */
static inline void g_wait_window(struct g_thread *self, struct g_waiter *w)
{
    atomic_store_explicit(&self->sig_waits, true, memory_order_seq_cst);
    if (atomic_load_explicit(&self->sig_epoch, memory_order_seq_cst) !=
        self->sig_window_epoch)
        g_wake(w, -EINTR);
}

/*
 * May park. Wait until woken or deadline (G_NEVER: no deadline) passes;
 * returns the waker's result, -ETIMEDOUT, or -ECANCELED. Park / wake
 * happen exactly once each (invariant 3, shim/waiter.c).
 */
static inline int g_wait(struct g_waiter *w, int64_t deadline)
{
    struct g_thread *self = w->thread;
    struct g_worker *wk;
    int state;

    if (!self)
        return g_wait_os(w, deadline);
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
    if (w->interruptible) {
        self->sig_ran = 0;
        if (__builtin_expect(self->sig_window, 0))
            g_wait_window(self, w);
    }
    /* Signals handed over while this thread was running or ready (its
     * worker's drain passed it by): take them now, as if injected. */
    if (__builtin_expect(g_sig_due(self), 0) && !self->sig_inject) {
        self->sig_inject = true;
        g_sched_make_runnable(wk, self); /* the park returns at once */
    }
    /*
     * Exactly one park: the winning wake readies this thread exactly once,
     * also when it won before we got here (then the park returns at once,
     * or right after the wake-up crosses from another worker). Returning
     * without consuming that wake-up would leave it to end a later wait.
     */
    g_park(self);
    if (__builtin_expect(self->sig_inject, 0))
        g_wait_signalled(self, w);
    /* Handed over while it was ready to run: natively the handler runs
     * before the thread goes on. (An interruptible wait's call delivers at
     * its end, once nothing of the wait is linked.) */
    if (__builtin_expect(g_sig_due(self), 0) && !w->interruptible)
        g_sig_deliver_in_wait(self);
    if (__builtin_expect(w->interruptible && self->sig_window, 0))
        atomic_store_explicit(&self->sig_waits, false, memory_order_relaxed);
    state = atomic_load_explicit(&w->state, memory_order_acquire);
    if (w->timed) {
        g_heap_remove(&wk->timers, &w->timer);
        w->timed = false;
    }
    if (w->cancellable)
        self->parked_on = NULL;
    return state;
}

/*
 * A spinlock for a few instructions' worth of state, never held across a
 * park. A holder may be an OS thread that got preempted, so a waiter stops
 * burning its CPU after a while. Any thread.
 */
static inline void g_spin_acquire(_Atomic int *lock)
{
    int spins = 0;

    for (;;) {
        int expected = 0;

        if (atomic_compare_exchange_weak_explicit(
                lock, &expected, 1, memory_order_acquire, memory_order_relaxed))
            return;
        while (atomic_load_explicit(lock, memory_order_relaxed)) {
            if (++spins < 1000)
                __builtin_ia32_pause();
            else
                syscall(SYS_sched_yield);
        }
    }
}

static inline void g_spin_release(_Atomic int *lock)
{
    atomic_store_explicit(lock, 0, memory_order_release);
}

/*
 * g_wake_claim for a waiter queued on a synchronisation object, under the
 * object's lock. Its other possible claimers are then its timer and a
 * cancel, both acted on by its own worker's scheduler, so a claimer running
 * on that same worker races no one and needs no compare-and-swap.
 */
static inline bool g_claim(struct g_waiter *w, int result,
                           struct g_wake_token *tok)
{
    struct g_thread *t = w->thread;

    if (!t || t->worker != g_tls_worker)
        return g_wake_claim(w, result, tok);
    if (atomic_load_explicit(&w->state, memory_order_relaxed) != G_WAITING)
        return false;
    atomic_store_explicit(&w->state, result, memory_order_relaxed);
    tok->thread = t;
    tok->futex = &w->state;
    return true;
}

/* The per-thread spinlock guarding join and cancel state. */
static inline void g_thread_lock(struct g_thread *t)
{
    g_spin_acquire(&t->join_lock);
}

static inline void g_thread_unlock(struct g_thread *t)
{
    g_spin_release(&t->join_lock);
}

#endif
