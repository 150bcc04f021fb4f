/*
 * shim/cancel.c: deferred cancellation and the cleanup-handler chain of
 * green threads.
 *
 * glibc keeps both per OS thread, which all green threads of a worker share,
 * so green threads keep their own: the cancel bits and the chain of
 * pthread_cleanup_push buffers in struct g_thread. A cancel request is acted
 * on at the cancellation points libgreen implements (its sleeps, joins,
 * condition and semaphore waits, pthread_testcancel), also when it arrives
 * while the thread waits in one: then the thread's own worker ends that
 * wait. Runs on green stacks and in the scheduler; g_thread_cancel on any
 * thread.
 */
#include "shim/worker.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>

/* A canceller never touches the waiter (see g_cancel_wait_begin in
 * worker.h): it queues the thread on its worker. */
int g_thread_cancel(struct g_thread *t)
{
    struct g_worker *wk = t->worker;
    struct g_thread *head;
    int bits;

    g_thread_lock(t);
    if (t->exited) {
        g_thread_unlock(t);
        return 0; /* glibc: canceling a thread that has exited succeeds */
    }
    bits = atomic_fetch_or_explicit(&t->cancel, G_CANCEL_PENDING,
                                    memory_order_seq_cst) |
           G_CANCEL_PENDING;
    g_thread_unlock(t);
    if (!g_cancel_due(bits) ||
        atomic_exchange_explicit(&t->cancel_queued, true, memory_order_acq_rel))
        return 0;
    /* Pairs with the exchange in g_cancel_drain(). */
    head = atomic_load_explicit(&wk->cancels, memory_order_relaxed);
    do {
        t->cancel_next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        &wk->cancels, &head, t, memory_order_seq_cst, memory_order_relaxed));
    if (atomic_load_explicit(&wk->sleeping, memory_order_seq_cst))
        g_worker_wakeup(wk);
    return 0;
}

void g_cancel_drain(struct g_worker *wk)
{
    struct g_thread *t =
        atomic_exchange_explicit(&wk->cancels, NULL, memory_order_acquire);

    while (t) {
        struct g_thread *next = t->cancel_next;

        /* Still in a cancellable wait, and the cancel still due (not
         * disabled meanwhile, not already acted on)? */
        if (t->state == G_PARKED && t->parked_on &&
            g_cancel_due(atomic_load_explicit(&t->cancel, memory_order_relaxed)))
            g_wake(t->parked_on, -ECANCELED);
        /* Last touch: from here on t may be freed and recycled. */
        atomic_store_explicit(&t->cancel_queued, false, memory_order_release);
        t = next;
    }
}

void g_testcancel(void)
{
    struct g_thread *self = g_self();

    if (self &&
        g_cancel_due(atomic_load_explicit(&self->cancel, memory_order_relaxed)))
        g_cancel_act(self);
}

_Noreturn void g_cancel_act(struct g_thread *self)
{
    atomic_fetch_or_explicit(&self->cancel, G_CANCEL_ACTING,
                             memory_order_relaxed);
    g_thread_exit(PTHREAD_CANCELED);
}

/*
 * pthread_cleanup_push's buffer: glibc's public __pthread_unwind_buf_t. Its
 * first pad word links the chain, as glibc itself uses it.
 */
void g_cleanup_push(struct g_thread *self, void *buf)
{
    __pthread_unwind_buf_t *b = buf;

    b->__pad[0] = self->cleanup_top;
    self->cleanup_top = b;
}

void g_cleanup_pop(struct g_thread *self, void *buf)
{
    __pthread_unwind_buf_t *b = buf;

    self->cleanup_top = b->__pad[0];
}

/*
 * Run the next cleanup handler of an exiting thread: jump back into the
 * pthread_cleanup_push whose handler is next, which calls it and then
 * __pthread_unwind_next, which brings us here again. Returns once the chain
 * is empty.
 */
void g_cleanup_unwind(struct g_thread *self)
{
    __pthread_unwind_buf_t *b = self->cleanup_top;

    if (!b)
        return;
    self->cleanup_top = b->__pad[0];
    /* The buffer is shorter than a jmp_buf: it has no signal mask, and
     * longjmp reads none as __mask_was_saved is 0 (glibc does the same). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
    longjmp((struct __jmp_buf_tag *)(void *)b->__cancel_jmp_buf, 1);
#pragma GCC diagnostic pop
}

void g_unwind_push(struct g_thread *self, struct g_unwind *u,
                   void (*fn)(void *), void *arg)
{
    u->fn = fn;
    u->arg = arg;
    u->prev = self->unwinds;
    self->unwinds = u;
}

void g_unwind_pop(struct g_thread *self, struct g_unwind *u)
{
    self->unwinds = u->prev;
}

/* The stack grows down: what lies between the jump's own frame (here)
 * and sp is left, newer than the target. A jump that stays above them (a
 * handler on an alternate stack placed there, jumping within itself)
 * leaves nothing. */
static bool left(const void *record, uintptr_t here, uintptr_t sp)
{
    return !sp || ((uintptr_t)record > here && (uintptr_t)record < sp);
}

void g_unwind_to(struct g_thread *self, uintptr_t sp)
{
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    struct g_unwind *u;

    while ((u = self->unwinds) && left(u, here, sp)) {
        self->unwinds = u->prev;
        u->fn(u->arg);
    }
    while (sp && self->cleanup_top && left(self->cleanup_top, here, sp))
        self->cleanup_top = ((__pthread_unwind_buf_t *)self->cleanup_top)
                                ->__pad[0];
}

