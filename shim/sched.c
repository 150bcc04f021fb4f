/*
 * shim/sched.c: switching between green threads of one worker: a thread's
 * first and last switch, yield, wake-ups across workers and due timers. The
 * switch itself, park and the same-worker ready are inline in worker.h.
 * Runs on green stacks and in the scheduler context of the thread's own
 * worker (invariant 4); g_ready_remote() runs anywhere.
 */
#include "shim/worker.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

__thread struct g_thread *g_tls_self __attribute__((tls_model("initial-exec")));
__thread struct g_worker *g_tls_worker
    __attribute__((tls_model("initial-exec")));
__thread bool g_tls_creating_internal
    __attribute__((tls_model("initial-exec")));
__thread const char *g_tls_call __attribute__((tls_model("initial-exec")));
__thread int g_tls_in_handler __attribute__((tls_model("initial-exec")));
__thread sigset_t g_tls_mask_before_handler;
__thread unsigned g_tls_interrupts __attribute__((tls_model("initial-exec")));

int64_t g_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A new green thread starts here, on its own stack. */
static void thread_entry(struct g_transfer t)
{
    struct g_thread *self;

    g_resumed(t);
    self = g_tls_self;
    /* Signals sent to the process look for takers among a worker's live
     * threads (shim/signal.c); only the worker touches its list. */
    g_queue_insert_tail(&self->worker->threads, &self->live);
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
    g_switch_to(wk, &wk->sched, t);
}

_Noreturn void g_sched_exit(struct g_worker *wk, struct g_thread *self)
{
    struct g_thread *to = g_next_to_run(wk);

    self->state = G_DEAD;
    G_COUNT(wk->stats.switches);
    to->state = G_RUNNING;
    g_tls_self = to == &wk->sched ? NULL : to;
    jump_fcontext(to->ctx, self);
    abort(); /* a dead thread is never resumed */
}

void g_yield(struct g_thread *self)
{
    struct g_worker *wk = self->worker;
    struct g_thread *to;

    self->state = G_READY;
    g_queue_insert_tail(&wk->runq, &self->runq);
    to = g_next_to_run(wk);
    if (to == self) {
        self->state = G_RUNNING;
        return;
    }
    g_switch_to(wk, self, to);
}

/* Calls that returned at once between two yields (g_yield_now_and_then). */
#define YIELD_EVERY 16

void g_yield_now_and_then(struct g_thread *self)
{
    if (++self->worker->quick_looks % YIELD_EVERY == 0)
        g_yield(self);
}

/* Another worker's thread (see g_ready in worker.h). */
void g_ready_remote(struct g_thread *t)
{
    struct g_worker *wk = t->worker;
    struct g_thread *head;

    /* Push onto its inbox. Pairs with the exchange in drain_inbox(). */
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
