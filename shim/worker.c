/*
 * shim/worker.c: the workers, their loops, and the scheduler.
 *
 * GREEN_LOOPS OS threads each own one libuv loop. The process's original
 * thread becomes worker 0 and starts main() as its first green thread; the
 * others are plain OS threads made with the real pthread_create. A worker's
 * scheduler context is the only place that calls libuv (invariant 2): it
 * drains the inbox of threads woken from elsewhere, wakes the threads whose
 * deadlines passed, runs the runnable ones, and when none is left, trims its
 * stack pool and waits in uv_run() for I/O, a timer or a wake-up.
 */
#include "shim/worker.h"
#include "shim/fdtable.h"
#include "shim/lot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct g_worker *g_workers;
int g_nworkers;
bool g_runtime_live;

/* Stacks pooled per worker; past this, freed stacks are unmapped. */
#define POOL_MAX 256

/*
 * How long an idle worker may watch its inbox before it sleeps in the loop
 * (longer than a wake-up through the eventfd takes here, 30-50 us): a
 * wake-up from another worker then costs no system call on either side.
 * But a spinning worker takes a CPU from everything else (a load generator
 * on the same machine, the other workers' kernel work), so the spin adapts:
 * each one that ends without a wake-up halves the next, down to none below
 * SPIN_MIN_NS, and a wake-up from another thread (found spinning or through
 * the eventfd) restores it. A server whose green threads wait on fds and
 * timers soon stops spinning; threads handing work across workers keep it.
 */
#define SPIN_NS 100000
#define SPIN_MIN_NS 1000

/*
 * Cross-thread wake-ups are a write to the worker's own eventfd, watched
 * by a uv_poll_t. The inbox says what to do and the sleeping flag says
 * when to write; uv_async_send would add its own pending flag on top, a
 * second state to reason about for nothing. Any thread.
 */
void g_worker_wakeup(struct g_worker *wk)
{
    uint64_t one = 1;
    int saved_errno = errno;

    /* Raw system calls here and below: libc's read and write are our own
     * hooks, and this runs on green threads too. */
    while (syscall(SYS_write, wk->wakeup_fd, &one, sizeof(one)) < 0 &&
           errno == EINTR)
        ;
    errno = saved_errno;
}

static void on_wakeup(uv_poll_t *handle, int status, int events)
{
    struct g_worker *wk = handle->data;
    uint64_t count;

    (void)status;
    (void)events;
    wk->spin_ns = SPIN_NS; /* wake-ups come from other threads again */
    /* The scheduler drains the inbox after every uv_run. */
    while (syscall(SYS_read, wk->wakeup_fd, &count, sizeof(count)) < 0 &&
           errno == EINTR)
        ;
}

static void on_fd_events(uv_poll_t *handle, int status, int events)
{
    (void)status;
    (void)events;
    g_fdwait_dispatch(handle->data);
}

static void on_alarm(uv_timer_t *handle)
{
    (void)handle; /* the scheduler wakes due threads after every uv_run */
}

static void drain_inbox(struct g_worker *wk)
{
    if (atomic_load_explicit(&wk->cancels, memory_order_relaxed))
        g_cancel_drain(wk);
    if (g_sig_drain_due(wk))
        g_sig_drain(wk);
    /* Pairs with the release CAS in g_ready(). */
    struct g_thread *t =
        atomic_exchange_explicit(&wk->inbox, NULL, memory_order_acquire);
    struct g_thread *fifo = NULL;

    /* The inbox is a LIFO stack: reverse it to keep wake-up order. */
    while (t) {
        struct g_thread *next = t->inbox_next;

        t->inbox_next = fifo;
        fifo = t;
        t = next;
    }
    while (fifo) {
        struct g_thread *next = fifo->inbox_next;

        g_sched_make_runnable(wk, fifo);
        fifo = next;
    }
}

/*
 * Arm the loop's one libuv timer for the earliest green deadline. libuv
 * counts in whole milliseconds of its own (cached, possibly coarse) clock,
 * so the timer may fire at the top of uv_run before our deadline is due; it
 * then repeats every millisecond, so that the loop never waits without a
 * timeout while a green thread has a deadline.
 */
static void arm_alarm(struct g_worker *wk, int64_t now)
{
    struct g_heap_node *min = wk->timers.min;
    int64_t ms;

    if (!min) {
        uv_timer_stop(&wk->alarm);
        return;
    }
    ms = (min->key - now + 999999) / 1000000;
    uv_update_time(&wk->loop);
    uv_timer_start(&wk->alarm, on_alarm, ms > 0 ? (uint64_t)ms : 0, 1);
}

static bool inbox_empty(struct g_worker *wk)
{
    return !atomic_load_explicit(&wk->inbox, memory_order_seq_cst) &&
           !atomic_load_explicit(&wk->cancels, memory_order_seq_cst) &&
           !g_sig_drain_due(wk);
}

/*
 * Nothing is runnable: watch the inbox for a moment, then wait in the loop
 * until I/O, a timer or a wake-up arrives.
 */
static void wait_for_work(struct g_worker *wk)
{
    if (g_nworkers > 1 && wk->spin_ns > 0) {
        int64_t until = g_now() + wk->spin_ns;
        int i;

        for (i = 1; inbox_empty(wk); i++) {
            __builtin_ia32_pause();
            if (i % 64 == 0 && g_now() >= until)
                break;
        }
        if (!inbox_empty(wk))
            wk->spin_ns = SPIN_NS;
        else if ((wk->spin_ns /= 2) < SPIN_MIN_NS)
            wk->spin_ns = 0;
    }
    g_stack_pool_trim(&wk->stacks);
    arm_alarm(wk, g_now());
    atomic_store_explicit(&wk->sleeping, true, memory_order_seq_cst);
    uv_run(&wk->loop, inbox_empty(wk) ? UV_RUN_ONCE : UV_RUN_NOWAIT);
    atomic_store_explicit(&wk->sleeping, false, memory_order_relaxed);
}

/*
 * One iteration of the loop ends: the time since the last poll is what the
 * loop waited for its green threads to switch back (the stats' longest
 * iteration, with the last intercepted call made on this worker).
 */
static void count_iteration(struct g_worker *wk)
{
    struct g_worker_stats *s = &wk->stats;
    int64_t busy = g_now() - s->busy_since;

    G_COUNT(s->iterations);
    if (s->busy_since && busy > atomic_load_explicit(&s->longest_ns,
                                                     memory_order_relaxed)) {
        atomic_store_explicit(&s->longest_ns, busy, memory_order_relaxed);
        atomic_store_explicit(&s->longest_call, g_tls_call,
                              memory_order_relaxed);
    }
}

/*
 * Poll the loop: without waiting while threads are runnable, else wait for
 * work.
 */
static void poll_loop(struct g_worker *wk)
{
    count_iteration(wk);
    if (wk->offloads)
        g_offload_flush(wk);
    if (g_queue_empty(&wk->runq))
        g_sched_wake_due(wk, g_now());
    if (g_queue_empty(&wk->runq))
        wait_for_work(wk);
    else
        uv_run(&wk->loop, UV_RUN_NOWAIT);
    drain_inbox(wk);
    wk->stats.busy_since = g_now();
    g_sched_wake_due(wk, wk->stats.busy_since);
    wk->batch = G_BATCH;
}

static _Noreturn void sched_loop(struct g_worker *wk)
{
    for (;;) {
        struct g_queue *q;

        drain_inbox(wk);
        /* The loop is polled once a batch of switches is used up, so that
         * busy threads cannot starve I/O and timers, and whenever nothing
         * is runnable; not between, where it would cost a system call per
         * round (a thread that exits comes back here to be reaped). */
        if (wk->batch <= 0 || g_queue_empty(&wk->runq))
            poll_loop(wk);
        if ((q = g_queue_pop(&wk->runq)))
            g_sched_enter(wk, g_queue_data(q, struct g_thread, runq));
    }
}

/* A worker's OS thread takes every signal but those a signalfd reads: the
 * green threads' masks are ours (shim/signal.c). It was made with all of
 * them blocked, as libuv's threads are (interpose/pthread_create.c). */
static void worker_signals(struct g_worker *wk)
{
    wk->tid = (pid_t)syscall(SYS_gettid);
    wk->os_owned = ~(uint64_t)0; /* unlike any set: apply it */
    g_sig_apply_os_mask(wk);
}

static void worker_main(void *arg)
{
    struct g_worker *wk = arg;

    g_tls_worker = wk;
    wk->errno_at = &errno;
    worker_signals(wk);
    sched_loop(wk);
}

/* The program may close every fd it does not know (daemons do): our own
 * must survive that (interpose/io_fd.c). */
static void reserve_fds(struct g_worker *wk, void (*mark)(int fd))
{
    mark(wk->wakeup_fd);
    mark(wk->fd_epoll);
    mark(uv_backend_fd(&wk->loop));
    mark(wk->loop.async_io_watcher.fd);
    mark(wk->loop.async_wfd);
    mark(wk->loop.signal_pipefd[0]);
    mark(wk->loop.signal_pipefd[1]);
}

/*
 * Holds the free ones of fds 0 to 2 (on /dev/null) while libgreen makes
 * its own descriptors, which would take the lowest numbers: a daemon that
 * closed stdin, stdout and stderr expects its next opens to get them, and
 * could not dup2 onto ours (EBUSY).
 */
static unsigned hold_stdio(void)
{
    unsigned held = 0;
    long fd;

    while ((fd = syscall(SYS_openat, AT_FDCWD, "/dev/null",
                         O_RDONLY | O_CLOEXEC)) >= 0 &&
           fd <= 2)
        held |= 1u << fd;
    if (fd > 2)
        syscall(SYS_close, fd);
    return held;
}

static void release_stdio(unsigned held)
{
    for (int fd = 0; fd <= 2; fd++)
        if (held & (1u << fd))
            syscall(SYS_close, fd);
}

/* In a forked child, from the first fork handler to the last: libuv's
 * own handler makes a pipe too. */
static unsigned fork_held;

void g_fork_hold_stdio(void)
{
    fork_held = hold_stdio();
}

static void fork_release_stdio(void)
{
    release_stdio(fork_held);
    fork_held = 0;
}

static void worker_init(struct g_worker *wk, int index)
{
    wk->index = index;
    wk->spin_ns = SPIN_NS;
    wk->sched.worker = wk;
    g_queue_init(&wk->sched.runq);
    g_queue_init(&wk->runq);
    g_heap_init(&wk->timers);
    g_stack_pool_init(&wk->stacks, g_config.stack_size, g_stack_guard(),
                      POOL_MAX);
    atomic_init(&wk->inbox, NULL);
    atomic_init(&wk->cancels, NULL);
    atomic_init(&wk->sig_queue, NULL);
    atomic_init(&wk->kicked, false);
    g_queue_init(&wk->threads);
    atomic_init(&wk->load, 0);
    wk->wakeup_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    wk->wakeup.data = wk;
    wk->fd_poll.data = wk;
    g_fdwait_init(wk);
    if (wk->wakeup_fd < 0 || wk->fd_epoll < 0 || !wk->watches ||
        uv_loop_init(&wk->loop) != 0 ||
        uv_poll_init(&wk->loop, &wk->wakeup, wk->wakeup_fd) != 0 ||
        uv_poll_start(&wk->wakeup, UV_READABLE, on_wakeup) != 0 ||
        uv_poll_init(&wk->loop, &wk->fd_poll, wk->fd_epoll) != 0 ||
        uv_poll_start(&wk->fd_poll, UV_READABLE, on_fd_events) != 0 ||
        uv_timer_init(&wk->loop, &wk->alarm) != 0) {
        fprintf(stderr, "libgreen: cannot start worker %d's loop\n", index);
        _exit(2);
    }
    reserve_fds(wk, g_fd_reserve);
}

_Noreturn void g_runtime_run(void *(*start)(void *), void *arg)
{
    struct g_thread_attr attr = {.guard_size = g_stack_guard()};
    struct g_thread *main_thread;
    uintptr_t id;
    unsigned held;
    int i;

    g_nworkers = g_config.loops;
    if (posix_memalign((void **)&g_workers, 64,
                       sizeof(*g_workers) * (size_t)g_nworkers) != 0) {
        fprintf(stderr, "libgreen: out of memory starting %d workers\n",
                g_nworkers);
        _exit(2);
    }
    memset(g_workers, 0, sizeof(*g_workers) * (size_t)g_nworkers);
    held = hold_stdio();
    for (i = 0; i < g_nworkers; i++)
        worker_init(&g_workers[i], i);
    release_stdio(held);
    /* After libuv's, which its first loop registered. */
    pthread_atfork(NULL, NULL, fork_release_stdio);
    g_tls_worker = &g_workers[0];
    g_workers[0].errno_at = &errno;
    g_workers[0].os_thread = pthread_self();
    worker_signals(&g_workers[0]);
    for (i = 1; i < g_nworkers; i++) {
        /* libuv's pthread_create comes through our hook from a context that
         * is not green, so it makes a real OS thread. */
        int rc;

        g_tls_creating_internal = true;
        rc = uv_thread_create(&g_workers[i].os_thread, worker_main,
                              &g_workers[i]);
        g_tls_creating_internal = false;

        if (rc != 0) {
            fprintf(stderr, "libgreen: cannot start worker %d: %s\n", i,
                    uv_strerror(rc));
            _exit(2);
        }
    }

    /* main() gets at least the stack a native main thread may grow to. */
    attr.stack_size = g_main_stack_size();
    if (g_thread_create(&attr, start, arg, &id) != 0) {
        fprintf(stderr, "libgreen: cannot map main()'s stack\n");
        _exit(2);
    }
    g_runtime_live = true;
    main_thread = g_thread_from_id(id);
    main_thread->is_main = true;
    g_sig_main_init(main_thread);
    sched_loop(&g_workers[0]);
}

uintptr_t g_thread_os_thread(const struct g_thread *t)
{
    return (uintptr_t)t->worker->os_thread;
}

bool g_runtime_running(void)
{
    return g_runtime_live;
}

bool g_in_scheduler(void)
{
    return g_tls_worker && !g_tls_self;
}

void g_runtime_forked(void)
{
    /* The child has one OS thread and no loops: from here on every hook
     * passes through, and the thread that forked runs on as a plain one. */
    g_lot_forked();
    g_tls_self = NULL;
    g_tls_worker = NULL;
    g_runtime_live = false;
}

/*
 * The forking thread's worker in a child that keeps a runtime: nothing
 * queued or waiting but self, which runs, and the kernel objects it shared
 * with the parent replaced by its own, under the same numbers where
 * libuv's handles watch them. Its loop is not running: its OS thread is
 * the one that forked, in a green thread.
 */
static int home_forked(struct g_worker *wk, struct g_thread *self)
{
    long fresh;

    g_queue_init(&wk->runq);
    g_heap_init(&wk->timers);
    atomic_store_explicit(&wk->inbox, NULL, memory_order_relaxed);
    atomic_store_explicit(&wk->cancels, NULL, memory_order_relaxed);
    atomic_store_explicit(&wk->sig_queue, NULL, memory_order_relaxed);
    atomic_store_explicit(&wk->load, 1, memory_order_relaxed);
    atomic_store_explicit(&wk->sleeping, false, memory_order_relaxed);
    atomic_store_explicit(&wk->kicked, false, memory_order_relaxed);
    wk->route_seen = 0;
    wk->batch = G_BATCH;
    wk->offloads = NULL;
    wk->spin_ns = SPIN_NS;
    wk->tid = (pid_t)syscall(SYS_gettid);
    g_queue_init(&wk->threads);
    g_queue_init(&self->live);
    g_queue_insert_tail(&wk->threads, &self->live);
    /* Queued, at the fork, on lists the child has emptied. */
    atomic_store_explicit(&self->cancel_queued, false, memory_order_relaxed);
    atomic_store_explicit(&self->sig_queued, false, memory_order_relaxed);
    fresh = syscall(SYS_eventfd2, 0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fresh < 0 || syscall(SYS_dup3, fresh, wk->wakeup_fd, O_CLOEXEC) < 0)
        return -errno;
    syscall(SYS_close, fresh);
    if (g_fdwait_forked(wk) != 0)
        return -errno;
    /* libuv makes its own loop fds anew, maybe under other numbers. */
    reserve_fds(wk, g_fd_unreserve);
    if (uv_loop_fork(&wk->loop) != 0)
        return -EIO;
    reserve_fds(wk, g_fd_reserve);
    return 0;
}

/*
 * Another worker in a child that keeps a runtime. Its OS thread stayed in
 * the parent, maybe in the middle of its loop: it starts afresh, its copies
 * of the parent's kernel objects closed (what the old loop had allocated
 * is left behind), and its OS thread waits for the first thread the child
 * places off its home worker (g_workers_start_forked): a prefork child
 * that makes no threads costs no more OS threads than natively.
 */
static void other_forked(struct g_worker *wk)
{
    int fds[] = {wk->wakeup_fd,
                 wk->fd_epoll,
                 uv_backend_fd(&wk->loop),
                 wk->loop.async_io_watcher.fd,
                 wk->loop.async_wfd,
                 wk->loop.signal_pipefd[0],
                 wk->loop.signal_pipefd[1]};
    int index = wk->index;

    reserve_fds(wk, g_fd_unreserve);
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            syscall(SYS_close, fds[i]);
    memset(wk, 0, sizeof(*wk));
    worker_init(wk, index);
    wk->stopped = true;
}

/* Workers of this forked child not started yet (only its home worker
 * runs green threads until they are, so only that OS thread reads it). */
static bool workers_stopped;

void g_workers_start_forked(void)
{
    struct g_thread *self = g_tls_self;

    if (!workers_stopped)
        return;
    workers_stopped = false;
    /* Made as from a scheduler (not green: pthread_create makes them
     * real, with every signal blocked until worker_main lets them in). A
     * worker that cannot start (a limit on threads) is left out: threads
     * go to the others. */
    g_tls_self = NULL;
    g_tls_creating_internal = true;
    for (int i = 0; i < g_nworkers; i++)
        if (g_workers[i].stopped &&
            uv_thread_create(&g_workers[i].os_thread, worker_main,
                             &g_workers[i]) == 0)
            g_workers[i].stopped = false;
    g_tls_creating_internal = false;
    g_tls_self = self;
}

bool g_runtime_fork_child(void)
{
    struct g_thread *self = g_tls_self;
    struct g_worker *home;

    if (!self || g_tls_in_handler || g_threads_alive() != 1)
        return false;
    home = self->worker;
    g_threads_forked();
    g_lot_forked();
    g_fd_forked_runtime();
    if (home_forked(home, self) != 0) {
        fprintf(stderr, "libgreen: cannot renew worker %d's loop in a "
                        "forked child\n",
                home->index);
        _exit(127);
    }
    for (int i = 0; i < g_nworkers; i++)
        if (&g_workers[i] != home)
            other_forked(&g_workers[i]);
    workers_stopped = g_nworkers > 1;
    g_sig_forked_runtime(self);
    self->is_main = true; /* its end is the child's, as the last thread's */
    return true;
}
