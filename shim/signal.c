/*
 * shim/signal.c: signals delivered to green threads.
 *
 * The kernel sends a signal to an OS thread, a worker, which may be running
 * any of its green threads or none. Natively it would pick a thread of the
 * program: the one a synchronous signal, raise() or pthread_kill named, or
 * for a signal sent to the process the first thread that does not block it,
 * the main thread first. If that thread sleeps in a system call, the call
 * ends with EINTR, unless the handler has SA_RESTART and the call is one
 * that restarts (signal(7)); the handler itself runs on that thread's stack
 * first. This file does the same for green threads:
 *
 *  - Each green thread has its own signal mask (sig_blocked); the workers'
 *    OS masks block nothing but the signals a signalfd reads, so every
 *    other signal reaches interpose/signal.c's trampoline: the program's
 *    handlers are installed behind it, and so is a stand-in for SIG_DFL
 *    once a green thread blocks the signal (the kernel must not act on a
 *    signal the program blocked).
 *  - The trampoline asks g_sig_arrived who takes the signal. The thread it
 *    interrupted takes it at once, on its own stack, as natively, unless it
 *    is inside libgreen's own wait or fd lock (sig_critical), where a
 *    handler that jumps would leave a waiter linked or a lock held. Any
 *    other green thread gets a record (struct g_sigrec) on its pending list:
 *    its worker resumes it if it is parked (g_sig_drain: "injection"), and
 *    a thread running on another worker is kicked with a signal of its own.
 *  - A parked thread resumed for signals ends an interruptible wait (the
 *    fd waits, sleeps, semaphores, sigsuspend, sigwait) with -EINTR; its
 *    call then runs the handlers with no waiter left linked, so that a
 *    handler may siglongjmp, and restarts or fails with EINTR as the kernel
 *    would (g_sig_restart). Other waits (mutexes, condition variables,
 *    joins) run the handlers in place and wait on, as natively.
 *  - A signal goes first to the main thread, the interrupted one, a thread
 *    in sigwait for it, or the last to unblock it. If none of them takes it
 *    it waits in the process's pending list: for good if every green
 *    thread blocks it (until one unblocks it or sigwait()s), else every
 *    worker looks through its own threads for a taker (route()).
 *
 * This file decides who takes a signal and tells it; shim/sigthread.c is
 * the green thread's side (its mask, running its handlers, the calls that
 * wait for signals); shim/sigrec.c keeps the records, shim/sigaction.c the
 * program's dispositions. The trampoline runs on any OS thread, so
 * everything reachable from g_sig_arrived is async-signal-safe: atomics,
 * raw system calls, no locks.
 */
#include "shim/sigstate.h"

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Requests that every worker look through its threads for takers of the
 * process's pending signals; each worker remembers the last it served. */
static _Atomic unsigned route_gen;

/* Green threads that block each signal, the last thread that unblocked
 * it, and the threads in sigwait: where a signal goes when neither the
 * main thread nor the interrupted one takes it. */
static _Atomic long blockers[_NSIG];
static struct g_thread *_Atomic hints[_NSIG];
#define SIGWAITERS 32
static struct g_thread *_Atomic sigwaiters[SIGWAITERS];
static struct g_thread *_Atomic main_thread;

/* The si_value of the signal that kicks a worker running a green thread
 * that has records to take (kick()). */
static const char kick_cookie;

/* --- masks --- */

static void count_blockers(uint64_t set, long delta)
{
    while (set) {
        int sig = __builtin_ctzll(set) + 1;

        atomic_fetch_add_explicit(&blockers[sig], delta, memory_order_relaxed);
        set &= set - 1;
    }
}

/* Install t's mask, keeping the counts and hints. Only t itself (or its
 * creator, before it runs) writes its mask. */
void g_sig_set_blocked(struct g_thread *t, uint64_t mask)
{
    uint64_t old = atomic_load_explicit(&t->sig_blocked, memory_order_relaxed);
    uint64_t unblocked = old & ~mask;

    if (old == mask)
        return;
    count_blockers(mask & ~old, 1);
    count_blockers(unblocked, -1);
    atomic_store_explicit(&t->sig_blocked, mask, memory_order_seq_cst);
    while (unblocked) {
        int sig = __builtin_ctzll(unblocked) + 1;

        atomic_store_explicit(&hints[sig], t, memory_order_relaxed);
        unblocked &= unblocked - 1;
    }
}

void g_sig_thread_init(struct g_thread *t, const struct g_thread *creator,
                       const uint64_t *mask)
{
    uint64_t m = mask      ? sig_blockable(*mask)
                 : creator ? atomic_load_explicit(&creator->sig_blocked,
                                                  memory_order_relaxed)
                           : 0;

    atomic_store_explicit(&t->sig_blocked, m, memory_order_relaxed);
    count_blockers(m, 1);
}

/* The process's signal mask when it started, main()'s (g_sig_start). */
static uint64_t initial_mask;

void g_sig_start(uint64_t mask)
{
    initial_mask = sig_blockable(mask);
}

void g_sig_main_init(struct g_thread *t)
{
    g_sig_set_blocked(t, initial_mask);
    atomic_store_explicit(&main_thread, t, memory_order_release);
}

uint64_t g_sig_blocked(const struct g_thread *t)
{
    return atomic_load_explicit(&t->sig_blocked, memory_order_relaxed);
}

/* Would t take sig now? */
static bool takes(struct g_thread *t, int sig)
{
    enum g_thread_state state;

    if (!t)
        return false;
    state = t->state;
    if (state == G_DEAD || state == G_FREE || t->exiting)
        return false;
    return !(atomic_load_explicit(&t->sig_blocked, memory_order_relaxed) &
             sig_bit(sig)) ||
           (atomic_load_explicit(&t->sig_waiting, memory_order_relaxed) &
            sig_bit(sig));
}

/* Whether every green thread blocks sig (and none waits for it). */
static bool all_block(int sig)
{
    return atomic_load_explicit(&blockers[sig], memory_order_relaxed) >=
           g_threads_alive();
}

bool g_sig_blocked_anywhere(int sig)
{
    return sig_valid(sig) &&
           atomic_load_explicit(&blockers[sig], memory_order_relaxed) > 0;
}

/* --- telling a thread --- */

/* Kick the worker of t, which runs t now: the trampoline there delivers
 * t's records at once (g_sig_arrived). One kick in flight per worker. */
static void kick(struct g_thread *t, int sig)
{
    struct g_worker *wk = t->worker;
    siginfo_t info;

    if (atomic_exchange_explicit(&wk->kicked, true, memory_order_acq_rel))
        return;
    memset(&info, 0, sizeof(info));
    info.si_signo = sig;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value.sival_ptr = (void *)&kick_cookie;
    syscall(SYS_rt_tgsigqueueinfo, info.si_pid, wk->tid, sig, &info);
}

/* Queue t on its worker, which resumes it if it is parked. */
static void queue_for_worker(struct g_thread *t)
{
    struct g_worker *wk = t->worker;
    struct g_thread *head;

    if (atomic_exchange_explicit(&t->sig_queued, true, memory_order_acq_rel))
        return;
    /* Pairs with the exchange in g_sig_drain(). */
    head = atomic_load_explicit(&wk->sig_queue, memory_order_relaxed);
    do {
        t->sig_next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        &wk->sig_queue, &head, t, memory_order_seq_cst, memory_order_relaxed));
    if (atomic_load_explicit(&wk->sleeping, memory_order_seq_cst))
        g_worker_wakeup(wk);
}

/* Give r to t: pending on it; unless t blocks it (and does not wait for
 * it), t is woken to take it, or kicked if it runs on another worker. */
void g_sig_hand_over(struct g_thread *t, struct g_sigrec *r)
{
    int sig = r->info.si_signo;
    bool waiting = atomic_load_explicit(&t->sig_waiting, memory_order_relaxed) &
                   sig_bit(sig);
    bool blocked =
        (atomic_load_explicit(&t->sig_blocked, memory_order_relaxed) &
         sig_bit(sig)) &&
        !waiting;

    g_sigrec_push(&t->sig_pending, &t->sig_pending_bits, r);
    if (blocked)
        return; /* pending until t unblocks it */
    atomic_fetch_add_explicit(&t->sig_epoch, 1, memory_order_seq_cst);
    /* A thread computing on another worker may make no call for a long
     * time: interrupt it there, as the kernel would. (Only for a handler
     * it runs: the kick is the same signal, and must meet our trampoline.) */
    if (!waiting && t->state == G_RUNNING && t->worker != g_tls_worker)
        kick(t, sig);
    queue_for_worker(t);
}

struct g_sigrec *g_sig_record(int sig, const siginfo_t *info,
                              const struct g_sigact *act, bool ours)
{
    struct g_sigrec *r = g_sigrec_alloc();

    if (!r)
        return NULL;
    r->info = *info;
    r->info.si_signo = sig;
    r->handler = act && act->one_shot ? act->handler : NULL;
    r->flags = act && act->one_shot ? act->flags : 0;
    r->ours = ours;
    r->directed = ours;
    return r;
}

/* Ask every worker to look through its threads for takers (route()). */
static void route_request(void)
{
    atomic_fetch_add_explicit(&route_gen, 1, memory_order_seq_cst);
    for (int i = 0; i < g_nworkers; i++)
        if (atomic_load_explicit(&g_workers[i].sleeping, memory_order_seq_cst))
            g_worker_wakeup(&g_workers[i]);
}

/* A signal nobody we know takes waits in the process's list; unless every
 * green thread blocks it, the workers look for a taker. */
static void pend_process(struct g_sigrec *r)
{
    int sig = r->info.si_signo;

    if (g_sigrec_merges(&g_sig_proc_bits, sig)) {
        g_sigrec_free(r);
        return;
    }
    g_sigrec_push(&g_sig_proc_pending, &g_sig_proc_bits, r);
    if (!all_block(sig))
        route_request();
}

void g_sig_sigwait_enter(struct g_thread *self)
{
    for (int i = 0; i < SIGWAITERS; i++) {
        struct g_thread *none = NULL;

        if (atomic_compare_exchange_strong_explicit(&sigwaiters[i], &none, self,
                                                    memory_order_seq_cst,
                                                    memory_order_relaxed))
            return;
    }
}

void g_sig_sigwait_leave(struct g_thread *self)
{
    for (int i = 0; i < SIGWAITERS; i++) {
        struct g_thread *me = self;

        if (atomic_compare_exchange_strong_explicit(&sigwaiters[i], &me, NULL,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed))
            return;
    }
}

static struct g_thread *waiter_for(int sig)
{
    for (int i = 0; i < SIGWAITERS; i++) {
        struct g_thread *t =
            atomic_load_explicit(&sigwaiters[i], memory_order_acquire);

        if (t && (atomic_load_explicit(&t->sig_waiting, memory_order_relaxed) &
                  sig_bit(sig)))
            return t;
    }
    return NULL;
}

/* The thread a signal sent to the process goes to: the main thread first,
 * as the kernel tries the thread group leader first, then the thread it
 * interrupted, a thread in sigwait for it, the last to unblock it. */
static struct g_thread *choose(int sig, struct g_thread *here)
{
    struct g_thread *t =
        atomic_load_explicit(&main_thread, memory_order_acquire);

    if (takes(t, sig))
        return t;
    if (takes(here, sig))
        return here;
    if ((t = waiter_for(sig)))
        return t;
    t = atomic_load_explicit(&hints[sig], memory_order_relaxed);
    return takes(t, sig) ? t : NULL;
}

/* Whether sig was sent to the thread running here: a fault, SIGPIPE from
 * its write, or raise(). */
static bool directed_here(int sig, const siginfo_t *info)
{
    switch (sig) {
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
    case SIGTRAP:
    case SIGSYS:
        if (info->si_code > 0)
            return true;
        break;
    case SIGPIPE:
        return true;
    }
    return info->si_code == SI_TKILL && info->si_pid == getpid();
}

static bool is_kick(const siginfo_t *info)
{
    return info->si_code == SI_QUEUE && info->si_pid == getpid() &&
           info->si_value.sival_ptr == (void *)&kick_cookie;
}

/* Whether the thread running here takes sig at once, on its stack: it
 * does not block it, and is neither inside libgreen's own waits and fd
 * locks (a handler that jumped would leave them linked or held) nor about
 * to park in a window (it would miss the signal). */
static bool runs_here(struct g_thread *here, int sig)
{
    return !(g_sig_blocked(here) & sig_bit(sig)) && here->sig_critical == 0 &&
           !atomic_load_explicit(&here->sig_waits, memory_order_seq_cst);
}

enum g_sig_verdict g_sig_arrived(int sig, const siginfo_t *info,
                                 struct g_sigact *act)
{
    struct g_thread *here = g_tls_self, *t;
    struct g_sigrec *r;
    bool kicked;

    if (!g_runtime_live || !g_tls_worker || !sig_valid(sig))
        return G_SIG_RUN_HERE; /* a plain OS thread: the kernel chose it */
    /* A worker whose mask is behind took a signal a signalfd reads. */
    if (g_sig_kernel_owned() & sig_bit(sig)) {
        int saved_errno = errno;

        g_sig_requeue(sig, info);
        errno = saved_errno;
        return G_SIG_KERNEL;
    }
    /* Any arrival ends a kick: the kernel merges a kick with the same
     * signal already pending, which then stands for it. */
    kicked = atomic_exchange_explicit(&g_tls_worker->kicked, false,
                                      memory_order_acq_rel);
    if (is_kick(info))
        return here && here->sig_critical == 0 && g_sig_due(here)
                   ? G_SIG_DELIVER_HERE
                   : G_SIG_TAKEN;
    /* A one-shot handler is this delivery's; the next finds SIG_DFL. */
    if ((act->flags & SA_RESETHAND) && act->handler != SIG_DFL &&
        act->handler != SIG_IGN) {
        act->one_shot = g_sig_one_shot(sig, act->handler);
        if (!act->one_shot)
            act->handler = g_sig_program(sig, &act->flags, NULL);
    }
    if (directed_here(sig, info)) {
        t = here;
        if (!t)
            return G_SIG_RUN_HERE; /* the scheduler's own */
        if ((g_sig_blocked(t) & sig_bit(sig)) && info->si_code > 0 &&
            sig != SIGPIPE)
            return G_SIG_DEFAULT; /* a blocked fault kills, as natively */
    } else {
        t = choose(sig, here);
    }
    if (t && g_sig_ignored(sig, act->handler) && takes(t, sig) &&
        !(atomic_load_explicit(&t->sig_waiting, memory_order_relaxed) &
          sig_bit(sig)) &&
        !(g_sig_blocked(t) & sig_bit(sig)))
        return G_SIG_TAKEN; /* discarded, as the kernel discards it */
    if (t && t == here && runs_here(here, sig)) {
        atomic_fetch_add_explicit(&t->sig_epoch, 1, memory_order_seq_cst);
        return G_SIG_RUN_HERE;
    }
    /* A standard signal already pending for its taker merges with it. */
    if (t && g_sigrec_merges(&t->sig_pending_bits, sig))
        return G_SIG_TAKEN;
    r = g_sig_record(sig, info, act, false);
    if (!r) {
        /* No record left: a handler the thread here takes runs now; any
         * other is lost, as past RLIMIT_SIGPENDING. */
        bool handler = act->handler != SIG_DFL && act->handler != SIG_IGN;

        return handler && here && t == here &&
                       !(g_sig_blocked(here) & sig_bit(sig))
                   ? G_SIG_RUN_HERE
                   : G_SIG_TAKEN;
    }
    if (!t) {
        pend_process(r);
    } else {
        r->directed = t == here && directed_here(sig, info);
        g_sig_hand_over(t, r);
    }
    return kicked && here && here != t && here->sig_critical == 0 &&
                   g_sig_due(here)
               ? G_SIG_DELIVER_HERE
               : G_SIG_TAKEN;
}

/* In the scheduler: hand the process's pending signals to threads of this
 * worker that take them. */
static void route(struct g_worker *wk)
{
    struct g_sigrec *fifo =
        g_sigrec_take_all(&g_sig_proc_pending, &g_sig_proc_bits);
    struct g_sigrec *keep = NULL, **tail = &keep;

    while (fifo) {
        struct g_sigrec *r = fifo;
        struct g_thread *taker = NULL;
        struct g_queue *q;

        fifo = r->next;
        r->next = NULL;
        for (q = wk->threads.next; q != &wk->threads; q = q->next) {
            struct g_thread *t = g_queue_data(q, struct g_thread, live);

            if (takes(t, r->info.si_signo)) {
                taker = t;
                break;
            }
        }
        if (taker) {
            g_sig_hand_over(taker, r);
        } else {
            *tail = r;
            tail = &r->next;
        }
    }
    g_sigrec_put_back(&g_sig_proc_pending, &g_sig_proc_bits, keep);
}

void g_sig_drain(struct g_worker *wk)
{
    unsigned gen = atomic_load_explicit(&route_gen, memory_order_seq_cst);
    struct g_thread *t;

    if (wk->route_seen != gen) {
        wk->route_seen = gen;
        route(wk);
    }
    g_sig_apply_os_mask(wk);
    t = atomic_exchange_explicit(&wk->sig_queue, NULL, memory_order_acquire);
    while (t) {
        struct g_thread *next = t->sig_next;

        /* Last touch of t as queued: from here on it may be recycled. */
        atomic_store_explicit(&t->sig_queued, false, memory_order_release);
        if (t->state == G_PARKED && !t->sig_inject) {
            t->sig_inject = true;
            g_sched_make_runnable(wk, t);
        } else if (t->state == G_READY && g_sig_due(t)) {
            /* It runs soon; if it parks with them still pending, the
             * next drain resumes it. */
            queue_for_worker(t);
        }
        t = next;
    }
}

bool g_sig_drain_due(const struct g_worker *wk)
{
    /* seq_cst: a worker about to sleep checks these after setting its
     * sleeping flag, which their writers check after writing them. */
    return atomic_load_explicit(&wk->sig_queue, memory_order_seq_cst) ||
           wk->route_seen !=
               atomic_load_explicit(&route_gen, memory_order_seq_cst) ||
           wk->os_owned != g_sig_kernel_owned();
}

void g_sig_thread_exit(struct g_thread *self)
{
    struct g_sigrec *fifo =
        g_sigrec_take_all(&self->sig_pending, &self->sig_pending_bits);

    count_blockers(g_sig_blocked(self), -1);
    atomic_store_explicit(&self->sig_blocked, 0, memory_order_relaxed);
    /* A signal sent to the process that this thread did not get to take
     * goes to another; those sent to the thread end with it. */
    while (fifo) {
        struct g_sigrec *r = fifo;

        fifo = r->next;
        if (r->directed)
            g_sigrec_free(r);
        else
            pend_process(r);
    }
}

void g_sig_thread_recycle(struct g_thread *t)
{
    /* Records handed to it after it exited go back to the pool. */
    struct g_sigrec *fifo =
        g_sigrec_take_all(&t->sig_pending, &t->sig_pending_bits);

    while (fifo) {
        struct g_sigrec *r = fifo;

        fifo = r->next;
        g_sigrec_free(r);
    }
}

void g_sig_forked_runtime(struct g_thread *self)
{
    uint64_t mask = g_sig_blocked(self);

    g_sigrec_reset();
    atomic_store_explicit(&self->sig_pending, NULL, memory_order_relaxed);
    atomic_store_explicit(&self->sig_pending_bits, 0, memory_order_relaxed);
    for (int sig = 1; sig < _NSIG; sig++) {
        atomic_store_explicit(&blockers[sig], (mask & sig_bit(sig)) ? 1 : 0,
                              memory_order_relaxed);
        atomic_store_explicit(&hints[sig], NULL, memory_order_relaxed);
    }
    for (int i = 0; i < SIGWAITERS; i++)
        atomic_store_explicit(&sigwaiters[i], NULL, memory_order_relaxed);
    /* The thread that forked is the child's main thread, as natively. */
    atomic_store_explicit(&main_thread, self, memory_order_release);
    atomic_store_explicit(&route_gen, 0, memory_order_relaxed);
}
