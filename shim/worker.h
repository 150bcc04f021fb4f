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

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#include "shim/shim.h"

/* Switches between two polls of a busy worker's loop. */
#define G_BATCH 64

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
} __attribute__((aligned(64)));

extern struct g_worker *g_workers;
extern int g_nworkers;
/* The workers run (false before they start, and in a forked child). */
extern bool g_runtime_live;
extern __thread struct g_worker *g_tls_worker
    __attribute__((tls_model("initial-exec")));

/* shim/worker.c: wake a worker that sleeps in its loop; any thread. */
void g_worker_wakeup(struct g_worker *wk);

/* shim/fdwait.c: set up a worker's epoll; take fd out of it and wake its
 * waiters with -EBADF (any thread, under fd's lock); wake the waiters of
 * what the epoll reports (the worker's scheduler). */
void g_fdwait_init(struct g_worker *wk);
void g_fdwait_forget(struct g_worker *wk, int fd);
void g_fdwait_dispatch(struct g_worker *wk);

/* shim/offload.c: in the scheduler, hand the queued calls to libuv. */
void g_offload_flush(struct g_worker *wk);

/* shim/sched.c */
void g_sched_make_runnable(struct g_worker *wk, struct g_thread *t);
void g_sched_enter(struct g_worker *wk, struct g_thread *t);
_Noreturn void g_sched_exit(struct g_worker *wk, struct g_thread *self);
void g_sched_wake_due(struct g_worker *wk, int64_t now);

/* shim/sched.c: a new thread's first context, on t->stack. */
void g_thread_ctx_init(struct g_thread *t);

/* shim/thread.c: called on t's worker once t's stack is no longer in use. */
void g_thread_reap(struct g_thread *t);
/* shim/thread.c: the most green threads alive at once. */
long g_thread_peak(void);
/* shim/thread.c: the worker for a new green thread. */
struct g_worker *g_thread_place(void);

/* shim/cancel.c: register / clear the cancellable wait of self. */
int g_cancel_wait_begin(struct g_thread *self, struct g_waiter *w);
void g_cancel_wait_end(struct g_thread *self);
/* shim/cancel.c: in the scheduler, end the waits of canceled threads. */
void g_cancel_drain(struct g_worker *wk);

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
