/*
 * shim/thread.c: the life of a green thread: create, place, join, detach,
 * exit, reap.
 *
 * A thread's stack is released as soon as it has switched away for the last
 * time (g_thread_reap, on its own worker); its struct lives on until it is
 * joined, or is freed then if detached. Join and detach state is guarded by
 * the thread's spinlock, and the joiner is woken under it, so a joiner whose
 * wait timed out never leaves a dangling waiter behind. Runs on green stacks,
 * except g_thread_join/detach, which OS threads may call too.
 */
#include "shim/worker.h"

#include "shim/sync.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

/* Live green threads of the process: created and not yet reaped. */
static _Atomic long live;
static _Atomic long peak; /* the most alive at once, for GREEN_STATS */

static void note_alive(long n)
{
    long seen = atomic_load_explicit(&peak, memory_order_relaxed);

    while (n > seen && !atomic_compare_exchange_weak_explicit(
                           &peak, &seen, n, memory_order_relaxed,
                           memory_order_relaxed))
        ;
}

long g_threads_alive(void)
{
    return atomic_load_explicit(&live, memory_order_relaxed);
}

long g_thread_peak(void)
{
    return atomic_load_explicit(&peak, memory_order_relaxed);
}
/* main() called pthread_exit: the last thread to end exits the process. */
static _Atomic bool main_exited;

/* Structs freed by threads that are not on a worker. */
static struct g_thread *free_elsewhere;
static _Atomic int free_elsewhere_lock;

void g_threads_forked(void)
{
    /* Held, at the fork, by a thread the child does not have. */
    atomic_store_explicit(&free_elsewhere_lock, 0, memory_order_relaxed);
}

/*
 * Thread structs are recycled and never given back to malloc, so that a
 * pthread_t kept after its thread was joined still points at a struct that
 * answers ESRCH, as glibc's cached descriptors do.
 */
static struct g_thread *alloc_thread(void)
{
    struct g_worker *wk = g_tls_worker;
    struct g_thread *t = wk->free_threads;

    if (t) {
        wk->free_threads = t->inbox_next;
    } else if (free_elsewhere) {
        g_spin_acquire(&free_elsewhere_lock);
        t = free_elsewhere;
        if (t)
            free_elsewhere = t->inbox_next;
        g_spin_release(&free_elsewhere_lock);
    }
    if (!t)
        return calloc(1, sizeof(*t));
    free(t->affinity);
    g_sig_thread_recycle(t);
    memset(t, 0, sizeof(*t));
    return t;
}

static void free_thread(struct g_thread *t)
{
    struct g_worker *wk = g_tls_worker;

    t->state = G_FREE;
    /* Still queued for a cancel or a signal on its worker, which will read
     * it once more: never recycle it (a rare race; the struct is kept). */
    if (atomic_load_explicit(&t->cancel_queued, memory_order_acquire) ||
        atomic_load_explicit(&t->sig_queued, memory_order_acquire))
        return;
    if (wk) {
        t->inbox_next = wk->free_threads;
        wk->free_threads = t;
        return;
    }
    g_spin_acquire(&free_elsewhere_lock);
    t->inbox_next = free_elsewhere;
    free_elsewhere = t;
    g_spin_release(&free_elsewhere_lock);
}

/* Negative, so that owner ids never collide with OS thread ids. */
static int next_serial(void)
{
    static _Atomic unsigned counter;

    return -(int)(atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed) %
                  INT32_MAX) -
           1;
}

/* A worker may hold this many more threads than another before new threads
 * go elsewhere: creating on the creator's own worker avoids a cross-worker
 * wake-up per create and per join. */
#define PLACE_SLACK 2

struct g_worker *g_thread_place(void)
{
    struct g_worker *local = g_tls_worker;
    struct g_worker *other;

    if (g_nworkers == 1)
        return local;
    g_workers_start_forked();
    other = &g_workers[local->place_next++ % g_nworkers];
    if (other == local)
        other = &g_workers[local->place_next++ % g_nworkers];
    if (other->stopped ||
        atomic_load_explicit(&local->load, memory_order_relaxed) <=
        atomic_load_explicit(&other->load, memory_order_relaxed) + PLACE_SLACK)
        return local;
    return other;
}

static int take_stack(struct g_thread *t, struct g_worker *here,
                      const struct g_thread_attr *attr)
{
    if (attr->user_stack) {
        t->user_stack.base = attr->user_stack;
        t->user_stack.size = attr->stack_size;
        t->user_stack.guard = 0;
        t->user_stack.user = true;
        t->user_stack.slab = NULL;
        t->stack = &t->user_stack;
        return 0;
    }
    if (!attr->stack_size && attr->guard_size == here->stacks.guard)
        t->stack = g_stack_pool_get(&here->stacks);
    else
        t->stack = g_stack_map(attr->stack_size ? attr->stack_size
                                                : g_config.stack_size,
                               attr->guard_size);
    return t->stack ? 0 : -EAGAIN;
}

int g_thread_create(const struct g_thread_attr *attr, void *(*start)(void *),
                    void *arg, uintptr_t *id)
{
    struct g_thread *creator = g_self();
    struct g_worker *wk = g_thread_place();
    struct g_thread *t;

    if (g_config.max_threads &&
        atomic_load_explicit(&live, memory_order_relaxed) >=
            g_config.max_threads)
        return -EAGAIN;
    t = alloc_thread();
    if (!t)
        return -EAGAIN;
    /* The stack comes from the creator's pool: only it may touch it now. */
    if (take_stack(t, g_tls_worker, attr) != 0) {
        free_thread(t);
        return -EAGAIN;
    }
    t->worker = wk;
    g_queue_init(&t->runq);
    g_queue_init(&t->live);
    t->start = start;
    t->arg = arg;
    t->guardsize = attr->user_stack ? 0 : attr->guard_size;
    t->detached = attr->detached;
    t->serial = next_serial();
    g_sig_thread_init(t, creator, attr->sigmask);
    /* A new thread is named like its creator, as clone(2) leaves it. */
    if (creator)
        memcpy(t->name, creator->name, sizeof(t->name));
    else
        prctl(PR_GET_NAME, t->name);
    g_thread_ctx_init(t);

    note_alive(atomic_fetch_add_explicit(&live, 1, memory_order_relaxed) + 1);
    atomic_fetch_add_explicit(&wk->load, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&wk->stats.created, 1, memory_order_relaxed);
    *id = g_thread_id(t);
    g_ready(t);
    return 0;
}

static void release_stack(struct g_thread *t)
{
    struct g_stack *st = t->stack;

    t->stack = NULL;
    if (!st->user)
        g_stack_pool_put(&t->worker->stacks, st);
}

void g_thread_reap(struct g_thread *t)
{
    bool detached;

    if (g_queue_linked(&t->live))
        g_queue_remove(&t->live);
    release_stack(t);
    atomic_fetch_sub_explicit(&t->worker->load, 1, memory_order_relaxed);

    g_thread_lock(t);
    t->exited = true;
    detached = t->detached;
    if (t->joiner)
        g_wake(t->joiner, 0);
    g_thread_unlock(t);
    if (detached)
        free_thread(t);

    /* As glibc's last thread does: exit(0) once main has pthread_exit()ed
     * and nothing is left. Only a scheduler can see the count reach 0. */
    if (atomic_fetch_sub_explicit(&live, 1, memory_order_acq_rel) == 1 &&
        atomic_load_explicit(&main_exited, memory_order_acquire))
        exit(0);
}

_Noreturn void g_thread_exit(void *retval)
{
    struct g_thread *self = g_self();

    /* A thread that forked goes on as the child's only, plain thread; its
     * end is the process's end, as natively. */
    if (!self)
        exit(0);
    /* Exiting inside signal handlers ends them (they all ran on this
     * thread's stack), and the worker gets back the signal mask that
     * their return would have given it. */
    if (g_tls_in_handler > 0) {
        g_tls_in_handler = 0;
        /* Raw: libc's sigprocmask is our hook, for green masks. */
        syscall(SYS_rt_sigprocmask, SIG_SETMASK, &g_tls_mask_before_handler,
                NULL, sizeof(uint64_t));
        g_sig_jumped(self, NULL);
    }
    if (!self->exiting) {
        self->exiting = true;
        self->retval = retval;
        atomic_fetch_or_explicit(&self->cancel, G_CANCEL_ACTING,
                                 memory_order_relaxed);
    }
    g_unwind_to(self, 0);
    g_cleanup_unwind(self); /* returns once every handler has run */
    g_key_run_destructors();
    g_sig_thread_exit(self);
    if (self->is_main)
        atomic_store_explicit(&main_exited, true, memory_order_release);
    g_sched_exit(self->worker, self);
}

/* Does t wait to join self? Then self joining t would deadlock. */
static bool joined_by(struct g_thread *self, struct g_thread *t)
{
    bool yes;

    g_thread_lock(self);
    yes = self->joiner && self->joiner->thread == t;
    g_thread_unlock(self);
    return yes;
}

int g_thread_join(struct g_thread *t, void **retval, int64_t deadline)
{
    struct g_thread *self = g_self();
    struct g_waiter w;
    int rc = 0;

    if (t == self || (self && joined_by(self, t)))
        return -EDEADLK;
    g_thread_lock(t);
    if (t->state == G_FREE) {
        g_thread_unlock(t);
        return -ESRCH;
    }
    if (t->detached || t->joiner) {
        g_thread_unlock(t);
        return -EINVAL;
    }
    if (!t->exited) {
        if (deadline == 0) {
            g_thread_unlock(t);
            return -EBUSY;
        }
        g_waiter_init(&w, true);
        w.reason = G_PARK_JOIN;
        t->joiner = &w;
        g_thread_unlock(t);
        rc = g_wait(&w, deadline); /* May park. */
        g_thread_lock(t);
        t->joiner = NULL;
        /* A timeout that raced the exit still joins; a cancel never does
         * (POSIX: the target stays joinable). */
        if (rc == -ECANCELED || !t->exited) {
            g_thread_unlock(t);
            if (rc == -ECANCELED)
                g_cancel_act(self);
            return rc;
        }
    }
    if (retval)
        *retval = t->retval;
    free_thread(t);
    g_thread_unlock(t);
    return 0;
}

int g_thread_detach(struct g_thread *t)
{
    bool exited;

    g_thread_lock(t);
    if (t->state == G_FREE) {
        g_thread_unlock(t);
        return -ESRCH;
    }
    if (t->detached) {
        g_thread_unlock(t);
        return -EINVAL;
    }
    t->detached = true;
    exited = t->exited;
    if (exited)
        free_thread(t);
    g_thread_unlock(t);
    return 0;
}

int g_thread_alive(struct g_thread *t)
{
    return t->state == G_FREE ? -ESRCH : 0;
}

bool g_thread_exited(struct g_thread *t)
{
    bool exited;

    g_thread_lock(t);
    exited = t->exited;
    g_thread_unlock(t);
    return exited;
}
