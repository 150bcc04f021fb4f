/*
 * shim/cancel.c: deferred cancellation and the cleanup-handler chain of
 * green threads.
 *
 * glibc keeps both per OS thread, which all green threads of a worker share,
 * so green threads keep their own: the cancel bits and the chain of
 * pthread_cleanup_push buffers in struct g_thread. A cancel request is acted
 * on at the cancellation points libgreen implements (its sleeps, joins and
 * pthread_testcancel), also when it arrives while the thread waits in one.
 * Runs on green stacks; g_thread_cancel on any thread.
 */
#include "shim/worker.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>

static bool cancel_due(int bits)
{
    return (bits & (G_CANCEL_PENDING | G_CANCEL_DISABLED | G_CANCEL_ACTING)) ==
           G_CANCEL_PENDING;
}

int g_cancel_wait_begin(struct g_thread *self, struct g_waiter *w)
{
    int rc = 0;

    /* Under the lock, so that a canceller never wakes a waiter that has
     * already left (see g_thread_cancel). */
    g_thread_lock(self);
    if (cancel_due(atomic_load_explicit(&self->cancel, memory_order_relaxed)))
        rc = -ECANCELED;
    else
        self->parked_on = w;
    g_thread_unlock(self);
    return rc;
}

void g_cancel_wait_end(struct g_thread *self)
{
    g_thread_lock(self);
    self->parked_on = NULL;
    g_thread_unlock(self);
}

int g_thread_cancel(struct g_thread *t)
{
    int bits;

    g_thread_lock(t);
    if (t->exited) {
        g_thread_unlock(t);
        return 0; /* glibc: canceling a thread that has exited succeeds */
    }
    bits = atomic_fetch_or_explicit(&t->cancel, G_CANCEL_PENDING,
                                    memory_order_relaxed) |
           G_CANCEL_PENDING;
    if (cancel_due(bits) && t->parked_on)
        g_wake(t->parked_on, -ECANCELED);
    g_thread_unlock(t);
    return 0;
}

void g_testcancel(void)
{
    struct g_thread *self = g_self();

    if (self &&
        cancel_due(atomic_load_explicit(&self->cancel, memory_order_relaxed)))
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
