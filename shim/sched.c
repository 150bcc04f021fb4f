/*
 * shim/sched.c: switching between green threads of one worker.
 *
 * A green thread that parks switches straight to the next runnable thread of
 * its worker, without passing through the scheduler; after G_BATCH switches
 * (or when nothing is runnable) it switches to the scheduler context, which
 * polls the loop. Every switch saves and restores
 * the program's errno. Runs on green stacks and in the scheduler context of
 * the thread's own worker (invariant 4); g_ready() runs anywhere.
 */
#include "shim/worker.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

__thread struct g_thread *g_tls_self __attribute__((tls_model("initial-exec")));
__thread struct g_worker *g_tls_worker
    __attribute__((tls_model("initial-exec")));
__thread const char *g_tls_call __attribute__((tls_model("initial-exec")));

int64_t g_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * What runs on a context right after a switch to it: record the context that
 * switched out, or, if that thread has died, reap it now that nothing runs
 * on its stack any more.
 */
static void resumed(struct g_transfer t)
{
    struct g_thread *prev = t.data;

    if (prev->state == G_DEAD)
        g_thread_reap(prev);
    else
        prev->ctx = t.fctx;
}

static struct g_thread *next_to_run(struct g_worker *wk)
{
    struct g_queue *q;

    if (wk->batch > 0 && (q = g_queue_pop(&wk->runq))) {
        wk->batch--;
        return g_queue_data(q, struct g_thread, runq);
    }
    return &wk->sched;
}

static void switch_to(struct g_worker *wk, struct g_thread *from,
                      struct g_thread *to)
{
    from->saved_errno = errno;
    G_COUNT(wk->stats.switches);
    to->state = G_RUNNING;
    g_tls_self = to == &wk->sched ? NULL : to;
    resumed(jump_fcontext(to->ctx, from));
    errno = from->saved_errno;
}

/* A new green thread starts here, on its own stack. */
static void thread_entry(struct g_transfer t)
{
    struct g_thread *self;

    resumed(t);
    self = g_tls_self;
    errno = 0;
    g_thread_exit(self->start(self->arg));
}

void g_thread_ctx_init(struct g_thread *t)
{
    t->ctx = make_fcontext(g_stack_top(t->stack), t->stack->size, thread_entry);
}

void g_sched_enter(struct g_worker *wk, struct g_thread *t)
{
    wk->batch--;
    switch_to(wk, &wk->sched, t);
}

_Noreturn void g_sched_exit(struct g_worker *wk, struct g_thread *self)
{
    struct g_thread *to = next_to_run(wk);

    self->state = G_DEAD;
    G_COUNT(wk->stats.switches);
    to->state = G_RUNNING;
    g_tls_self = to == &wk->sched ? NULL : to;
    jump_fcontext(to->ctx, self);
    abort(); /* a dead thread is never resumed */
}

void g_park(struct g_thread *self)
{
    struct g_worker *wk = self->worker;

    /* Readied before it got to switch out: nothing to wait for. */
    if (self->wake_pending) {
        self->wake_pending = false;
        return;
    }
    self->state = G_PARKED;
    switch_to(wk, self, next_to_run(wk));
}

void g_yield(struct g_thread *self)
{
    struct g_worker *wk = self->worker;
    struct g_thread *to;

    self->state = G_READY;
    g_queue_insert_tail(&wk->runq, &self->runq);
    to = next_to_run(wk);
    if (to == self) {
        self->state = G_RUNNING;
        return;
    }
    switch_to(wk, self, to);
}

/*
 * On t's own worker: queue t, unless it is running or already queued (by a
 * yield); then its next park consumes the wake-up instead. Each successful
 * g_wake readies its thread once, and each wait parks once, so wake-ups
 * never pile up.
 */
void g_sched_make_runnable(struct g_worker *wk, struct g_thread *t)
{
    if (t == g_tls_self || g_queue_linked(&t->runq)) {
        t->wake_pending = true;
        return;
    }
    t->state = G_READY;
    g_queue_insert_tail(&wk->runq, &t->runq);
}

void g_ready(struct g_thread *t)
{
    struct g_worker *wk = t->worker;
    struct g_thread *head;

    if (wk == g_tls_worker) {
        g_sched_make_runnable(wk, t);
        return;
    }
    /* Another worker's thread: push onto its inbox. Pairs with the
     * exchange in drain_inbox(). */
    head = atomic_load_explicit(&wk->inbox, memory_order_relaxed);
    do {
        t->inbox_next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        &wk->inbox, &head, t, memory_order_seq_cst, memory_order_relaxed));
    /* A worker that is running or spinning finds the push by itself; one
     * that waits in its loop needs the wake-up. Pairs with the store and
     * the inbox check in wait_for_work() (both seq_cst: one side sees the
     * other). */
    atomic_fetch_add_explicit(&wk->stats.cross_wakeups, 1,
                              memory_order_relaxed);
    if (atomic_load_explicit(&wk->sleeping, memory_order_seq_cst))
        g_worker_wakeup(wk);
}

void g_sched_wake_due(struct g_worker *wk, int64_t now)
{
    struct g_heap_node *n;

    while ((n = wk->timers.min) && n->key <= now) {
        struct g_waiter *w = g_queue_data(n, struct g_waiter, timer);

        g_heap_remove(&wk->timers, n);
        w->timed = false;
        g_wake(w, -ETIMEDOUT);
    }
}
