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
 *    OS masks stay empty, so every signal reaches interpose/signal.c's
 *    trampoline: the program's handlers are installed behind it, and so is
 *    a hidden one for a default action while a green thread blocks the
 *    signal (the kernel must not act on a signal the program blocked).
 *  - The trampoline asks g_sig_arrived who takes the signal. The thread it
 *    interrupted takes it at once, on its own stack, as natively. Another
 *    green thread gets a record (struct g_sigrec) on its pending list; its
 *    worker resumes it if it is parked (g_sig_drain: "injection"), and a
 *    thread running on another worker is kicked with a signal of its own.
 *  - A parked thread resumed for signals ends an interruptible wait (the
 *    fd waits, sleeps, semaphores, sigsuspend, sigwait) with -EINTR; its
 *    call then runs the handlers with no waiter left linked, so that a
 *    handler may siglongjmp, and restarts or fails with EINTR as the kernel
 *    would (g_sig_restart). Other waits (mutexes, condition variables,
 *    joins) run the handlers in place and wait on, as natively.
 *  - A signal that every green thread blocks waits in the process's own
 *    pending list until one unblocks it or sigwait()s for it.
 *
 * The trampoline runs on any OS thread, so everything reachable from
 * g_sig_arrived is async-signal-safe: atomics, raw system calls, no locks.
 */
#include "shim/worker.h"

#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A signal on its way to a green thread, or pending. */
struct g_sigrec {
    struct g_sigrec *next; /* on a thread's sig_pending or on proc_pending */
    siginfo_t info;
    void *handler; /* as the kernel delivered it (the trampoline ran with
                      it); NULL: the disposition when it is delivered */
    int flags;     /* the handler's sa_flags, with handler */
    bool ours;     /* sent by g_sig_send, never through the kernel */
    bool directed; /* sent to its thread, not to the process */
};

/* Records come from a fixed pool, allocated by a bitmap: a trampoline can
 * take one on any thread, at any moment. Past it a process-directed signal
 * is handled as before injection (at once, where it landed); a blocked one
 * is lost, as a real-time signal past RLIMIT_SIGPENDING. */
#define RECORDS 1024
static struct g_sigrec records[RECORDS];
static _Atomic uint64_t records_used[RECORDS / 64];

/* Signals every green thread blocks, in arrival order (LIFO list). */
static struct g_sigrec *_Atomic proc_pending;
static _Atomic uint64_t proc_pending_bits;

/* What the program asked for, per signal, as its sigaction set it. */
static struct {
    _Atomic(void *) handler; /* SIG_DFL (NULL), SIG_IGN, or a function */
    _Atomic int flags;
    _Atomic uint64_t mask;
    _Atomic bool known;  /* set through us, or read from the kernel */
    _Atomic bool hidden; /* our trampoline stands in for SIG_DFL */
} programs[_NSIG];

/* Green threads that block each signal, and the last thread that
 * unblocked it or waits for it: where a signal goes when neither the main
 * thread nor the interrupted one takes it. */
static _Atomic long blockers[_NSIG];
static struct g_thread *_Atomic hints[_NSIG];
static struct g_thread *_Atomic main_thread;

/* The si_value of the signal that kicks a worker running a green thread
 * that has records to take (kick()). */
static const char kick_cookie;

static uint64_t bit(int sig)
{
    return (uint64_t)1 << (sig - 1);
}

static bool valid(int sig)
{
    return sig > 0 && sig < _NSIG;
}

/* --- records --- */

static struct g_sigrec *rec_alloc(void)
{
    for (int w = 0; w < RECORDS / 64; w++) {
        uint64_t used = atomic_load_explicit(&records_used[w],
                                             memory_order_relaxed);

        while (~used) {
            int i = __builtin_ctzll(~used);

            if (atomic_compare_exchange_weak_explicit(
                    &records_used[w], &used, used | (uint64_t)1 << i,
                    memory_order_acquire, memory_order_relaxed))
                return &records[w * 64 + i];
        }
    }
    return NULL;
}

static void rec_free(struct g_sigrec *r)
{
    size_t i = (size_t)(r - records);

    atomic_fetch_and_explicit(&records_used[i / 64], ~((uint64_t)1 << i % 64),
                              memory_order_release);
}

static void push(struct g_sigrec *_Atomic *list, _Atomic uint64_t *bits,
                 struct g_sigrec *r)
{
    struct g_sigrec *head = atomic_load_explicit(list, memory_order_relaxed);

    atomic_fetch_or_explicit(bits, bit(r->info.si_signo),
                             memory_order_seq_cst);
    do {
        r->next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        list, &head, r, memory_order_release, memory_order_relaxed));
}

/* Take the whole list, oldest first. The bits are cleared first: a record
 * pushed meanwhile sets its bit again. */
static struct g_sigrec *take_all(struct g_sigrec *_Atomic *list,
                                 _Atomic uint64_t *bits)
{
    struct g_sigrec *r, *fifo = NULL;

    atomic_store_explicit(bits, 0, memory_order_seq_cst);
    r = atomic_exchange_explicit(list, NULL, memory_order_acquire);
    while (r) {
        struct g_sigrec *next = r->next;

        r->next = fifo;
        fifo = r;
        r = next;
    }
    return fifo;
}

/* Put back what a taker did not deliver, keeping its order. */
static void put_back(struct g_sigrec *_Atomic *list, _Atomic uint64_t *bits,
                     struct g_sigrec *fifo)
{
    while (fifo) {
        struct g_sigrec *next = fifo->next;

        push(list, bits, fifo);
        fifo = next;
    }
}

/* A standard signal is pending at most once per list; real-time signals
 * queue (signal(7)). */
static bool merges(_Atomic uint64_t *bits, int sig)
{
    return sig < SIGRTMIN &&
           (atomic_load_explicit(bits, memory_order_relaxed) & bit(sig));
}

/* --- the program's dispositions --- */

void g_sig_program_set(int sig, void *handler, int flags, uint64_t mask)
{
    if (!valid(sig))
        return;
    atomic_store_explicit(&programs[sig].flags, flags, memory_order_relaxed);
    atomic_store_explicit(&programs[sig].mask, mask, memory_order_relaxed);
    atomic_store_explicit(&programs[sig].handler, handler,
                          memory_order_release);
    atomic_store_explicit(&programs[sig].known, true, memory_order_release);
}

void *g_sig_program(int sig, int *flags, uint64_t *mask)
{
    bool ok = valid(sig);

    if (flags)
        *flags = ok ? atomic_load_explicit(&programs[sig].flags,
                                           memory_order_relaxed)
                    : 0;
    if (mask)
        *mask = ok ? atomic_load_explicit(&programs[sig].mask,
                                          memory_order_relaxed)
                   : 0;
    return ok ? atomic_load_explicit(&programs[sig].handler,
                                     memory_order_acquire)
              : SIG_DFL;
}

bool g_sig_program_known(int sig)
{
    return valid(sig) &&
           atomic_load_explicit(&programs[sig].known, memory_order_acquire);
}

bool g_sig_hidden(int sig)
{
    return valid(sig) &&
           atomic_load_explicit(&programs[sig].hidden, memory_order_relaxed);
}

void g_sig_set_hidden(int sig, bool hidden)
{
    if (valid(sig))
        atomic_store_explicit(&programs[sig].hidden, hidden,
                              memory_order_relaxed);
}

/* --- the kernel, raw: libc's names are our hooks --- */

/* The kernel's struct sigaction on x86-64. */
struct k_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

static void os_mask(int how, uint64_t set, uint64_t *old)
{
    syscall(SYS_rt_sigprocmask, how, &set, old, sizeof(set));
}

/*
 * The default action of sig, from any thread: nothing for the signals
 * whose default is to be ignored, else the kernel's own (terminate, dump
 * core, stop), by sending sig to ourselves with SIG_DFL for a moment. A
 * stop returns once the process is continued.
 */
void g_sig_default(int sig)
{
    struct k_sigaction dfl = {.handler = SIG_DFL}, old;
    uint64_t mask;
    int saved_errno = errno;

    if (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT)
        return;
    syscall(SYS_rt_sigaction, sig, &dfl, &old, sizeof(uint64_t));
    os_mask(SIG_UNBLOCK, bit(sig), &mask);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
    os_mask(SIG_SETMASK, mask, NULL);
    syscall(SYS_rt_sigaction, sig, &old, NULL, sizeof(uint64_t));
    errno = saved_errno;
}

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
static void set_blocked(struct g_thread *t, uint64_t mask)
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

/* SIGKILL and SIGSTOP cannot be blocked, nor glibc's own two, which it
 * keeps out of every mask the program sets. */
static uint64_t blockable(uint64_t set)
{
    return set & ~(bit(SIGKILL) | bit(SIGSTOP) | bit(32) | bit(33));
}

void g_sig_thread_init(struct g_thread *t, const struct g_thread *creator,
                       const uint64_t *mask)
{
    uint64_t m = mask ? blockable(*mask)
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
    initial_mask = blockable(mask);
}

void g_sig_main_init(struct g_thread *t)
{
    set_blocked(t, initial_mask);
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
             bit(sig)) ||
           (atomic_load_explicit(&t->sig_waiting, memory_order_relaxed) &
            bit(sig));
}

/* Whether every green thread blocks sig (and none waits for it). */
static bool all_block(int sig)
{
    return atomic_load_explicit(&blockers[sig], memory_order_relaxed) >=
           g_threads_alive();
}

/* --- telling a thread --- */

/* Kick the worker of t, which runs t now: the trampoline there delivers
 * t's records at once (g_sig_arrived). */
static void kick(struct g_thread *t, int sig)
{
    siginfo_t info;

    memset(&info, 0, sizeof(info));
    info.si_signo = sig;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value.sival_ptr = (void *)&kick_cookie;
    syscall(SYS_rt_tgsigqueueinfo, info.si_pid, t->worker->tid, sig, &info);
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

/* Give r to t, which is not the thread running here: pending on it, and it
 * is woken or kicked to take it. */
static void hand_over(struct g_thread *t, struct g_sigrec *r)
{
    int sig = r->info.si_signo;
    bool blocked = atomic_load_explicit(&t->sig_blocked,
                                        memory_order_relaxed) &
                   bit(sig);

    push(&t->sig_pending, &t->sig_pending_bits, r);
    if (blocked && !(atomic_load_explicit(&t->sig_waiting,
                                          memory_order_relaxed) &
                     bit(sig)))
        return; /* pending until t unblocks it */
    atomic_fetch_add_explicit(&t->sig_epoch, 1, memory_order_seq_cst);
    /* A thread computing on another worker may make no call for a long
     * time: interrupt it there, as the kernel would. (Only for a handler
     * it runs: the kick is the same signal, and must meet our trampoline.) */
    if (!blocked && t->state == G_RUNNING && t->worker != g_tls_worker)
        kick(t, sig);
    queue_for_worker(t);
}

static struct g_sigrec *record(int sig, const siginfo_t *info,
                               const struct g_sigact *act, bool ours)
{
    struct g_sigrec *r = rec_alloc();

    if (!r)
        return NULL;
    r->info = *info;
    r->info.si_signo = sig;
    r->handler = act ? act->handler : NULL;
    r->flags = act ? act->flags : 0;
    r->ours = ours;
    r->directed = ours;
    return r;
}

/* A signal every green thread blocks waits in the process's list. */
static void pend_process(int sig, const siginfo_t *info)
{
    struct g_sigrec *r;

    if (merges(&proc_pending_bits, sig) ||
        !(r = record(sig, info, NULL, false)))
        return;
    push(&proc_pending, &proc_pending_bits, r);
}

/* The thread a signal sent to the process goes to: the main thread first,
 * as the kernel tries the thread group leader first, then the thread it
 * interrupted, then the last to unblock it or wait for it. */
static struct g_thread *choose(int sig, struct g_thread *here)
{
    struct g_thread *t = atomic_load_explicit(&main_thread,
                                              memory_order_acquire);

    if (takes(t, sig))
        return t;
    if (takes(here, sig))
        return here;
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

enum g_sig_verdict g_sig_arrived(int sig, const siginfo_t *info,
                                 const struct g_sigact *act)
{
    struct g_thread *here = g_tls_self, *t;
    struct g_sigrec *r;

    if (!g_runtime_live || !g_tls_worker || !valid(sig))
        return G_SIG_RUN_HERE; /* a plain OS thread: the kernel chose it */
    if (is_kick(info)) {
        if (here && (atomic_load_explicit(&here->sig_pending_bits,
                                          memory_order_relaxed) &
                     ~g_sig_blocked(here)))
            return G_SIG_DELIVER_HERE;
        return G_SIG_TAKEN;
    }
    if (directed_here(sig, info)) {
        if (!here || !(g_sig_blocked(here) & bit(sig)))
            return G_SIG_RUN_HERE;
        if (info->si_code > 0 && sig != SIGPIPE)
            return G_SIG_DEFAULT; /* a blocked fault kills, as natively */
        if (!merges(&here->sig_pending_bits, sig) &&
            (r = record(sig, info, act, false))) {
            r->directed = true;
            push(&here->sig_pending, &here->sig_pending_bits, r);
        }
        return G_SIG_TAKEN;
    }
    t = choose(sig, here);
    if (!t) {
        if (!all_block(sig))
            return G_SIG_RUN_HERE; /* a taker we cannot find: as before */
        pend_process(sig, info);
        return G_SIG_TAKEN;
    }
    /* The thread here, unless it is between deciding to wait and parking
     * for a wait that a signal must end (sigsuspend): then it could miss
     * the signal, and its worker resumes it once it has parked. */
    if (t == here && !atomic_load_explicit(&t->sig_waits, memory_order_seq_cst)) {
        atomic_fetch_add_explicit(&t->sig_epoch, 1, memory_order_seq_cst);
        return G_SIG_RUN_HERE;
    }
    if (!(r = record(sig, info, act, false))) {
        atomic_fetch_add_explicit(&t->sig_epoch, 1, memory_order_seq_cst);
        return G_SIG_RUN_HERE;
    }
    hand_over(t, r);
    return G_SIG_TAKEN;
}

/* --- delivery on the green thread --- */

void g_sig_run_here(int sig, siginfo_t *info, void *context,
                    const struct g_sigact *act)
{
    struct g_thread *here = g_tls_self;
    uint64_t mask, before = 0;

    if (act->handler == SIG_IGN)
        return;
    if (act->handler == SIG_DFL) {
        g_sig_default(sig); /* a hidden trampoline's */
        return;
    }
    /* The thread's own mask while its handler runs, as the kernel sets
     * the OS thread's; and back after it, whatever the handler did. */
    g_sig_program(sig, NULL, &mask);
    if (here) {
        before = g_sig_blocked(here);
        if (here->sig_depth++ == 0)
            here->sig_blocked_before = before;
        set_blocked(here, blockable(before | mask |
                                    (act->flags & SA_NODEFER ? 0 : bit(sig))));
    }
    if (act->flags & SA_SIGINFO)
        ((void (*)(int, siginfo_t *, void *))act->handler)(sig, info, context);
    else
        ((void (*)(int))act->handler)(sig);
    if (here) {
        here->sig_depth--;
        set_blocked(here, before);
    }
}

void g_sig_jumped(struct g_thread *self)
{
    /* A jump out of handlers gives back the mask from before them: what
     * sigsetjmp saved, when it was called outside them (the usual way). */
    if (self && self->sig_depth > 0) {
        self->sig_depth = 0;
        set_blocked(self, self->sig_blocked_before);
    }
}

/* Run one signal's disposition on self: 0, or G_SIG_RAN with G_SIG_NORESTART
 * if its handler lacks SA_RESTART. */
static int run_one(struct g_thread *self, siginfo_t *info, void *handler,
                   int flags, bool ours)
{
    int sig = info->si_signo;
    uint64_t mask, before;
    unsigned window_epoch;
    bool window;
    ucontext_t uc;

    if (!handler)
        handler = g_sig_program(sig, &flags, &mask);
    else
        g_sig_program(sig, NULL, &mask);
    if (handler == SIG_IGN)
        return 0;
    if (handler == SIG_DFL) {
        g_sig_default(sig);
        return 0;
    }
    /* A signal we send ourselves (pthread_kill of a green thread) never
     * went through the kernel, which resets a one-shot handler. */
    if (ours && (flags & SA_RESETHAND)) {
        struct k_sigaction k;

        syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof(uint64_t));
        k.handler = SIG_DFL;
        k.flags &= ~(unsigned long)SA_SIGINFO;
        syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(uint64_t));
        g_sig_program_set(sig, SIG_DFL, flags & ~SA_SIGINFO, mask);
    }
    before = g_sig_blocked(self);
    if (self->sig_depth++ == 0)
        self->sig_blocked_before = before;
    set_blocked(self, blockable(before | mask |
                                (flags & SA_NODEFER ? 0 : bit(sig))));
    /* The handler's own waits are not the call's window. */
    window = self->sig_window;
    window_epoch = self->sig_window_epoch;
    self->sig_window = false;
    if (flags & SA_SIGINFO) {
        getcontext(&uc);
        memcpy(&uc.uc_sigmask, &before, sizeof(before));
        ((void (*)(int, siginfo_t *, void *))handler)(sig, info, &uc);
    } else {
        ((void (*)(int))handler)(sig);
    }
    self->sig_window = window;
    self->sig_window_epoch = window_epoch;
    self->sig_depth--;
    set_blocked(self, before);
    return G_SIG_RAN | (flags & SA_RESTART ? 0 : G_SIG_NORESTART);
}

/* Deliver from list what self does not block; put back the rest. */
static int deliver_list(struct g_thread *self, struct g_sigrec *_Atomic *list,
                        _Atomic uint64_t *bits)
{
    struct g_sigrec *fifo, *keep = NULL, **tail = &keep;
    int ran = 0;

    if (!(atomic_load_explicit(bits, memory_order_seq_cst) &
          ~g_sig_blocked(self)))
        return 0;
    fifo = take_all(list, bits);
    while (fifo) {
        struct g_sigrec *r = fifo;
        struct g_sigrec copy;

        fifo = r->next;
        if (g_sig_blocked(self) & bit(r->info.si_signo)) {
            r->next = NULL;
            *tail = r;
            tail = &r->next;
            continue;
        }
        /* The record is freed before its handler runs, which may jump. */
        copy = *r;
        rec_free(r);
        ran |= run_one(self, &copy.info, copy.handler, copy.flags, copy.ours);
    }
    put_back(list, bits, keep);
    return ran;
}

int g_sig_deliver(struct g_thread *self)
{
    int ran = deliver_list(self, &self->sig_pending, &self->sig_pending_bits);

    return ran | deliver_list(self, &proc_pending, &proc_pending_bits);
}

bool g_sig_restart(struct g_thread *self, bool restartable)
{
    int ran = g_sig_deliver(self);

    /* In a window (sigsuspend, ppoll's mask), a signal handed over since
     * it opened ran its handler, here or where it landed: the call ends. */
    if (self->sig_window &&
        atomic_load_explicit(&self->sig_epoch, memory_order_seq_cst) !=
            self->sig_window_epoch)
        return false;
    if (!(ran & G_SIG_RAN))
        return true; /* nothing was delivered: carry on */
    return restartable && !(ran & G_SIG_NORESTART);
}

void g_sig_deliver_in_wait(struct g_thread *self)
{
    /* As in a handler: its waits do not park this thread, which is still
     * linked where its own wait's waker will find it. */
    g_tls_in_handler++;
    g_sig_deliver(self);
    g_tls_in_handler--;
}

void g_sig_drain(struct g_worker *wk)
{
    struct g_thread *t =
        atomic_exchange_explicit(&wk->sig_queue, NULL, memory_order_acquire);

    while (t) {
        struct g_thread *next = t->sig_next;

        if (t->state == G_PARKED && !t->sig_inject) {
            t->sig_inject = true;
            g_sched_make_runnable(wk, t);
        }
        /* Last touch: from here on t may be freed and recycled. */
        atomic_store_explicit(&t->sig_queued, false, memory_order_release);
        t = next;
    }
}

void g_sig_thread_exit(struct g_thread *self)
{
    struct g_sigrec *fifo = take_all(&self->sig_pending,
                                     &self->sig_pending_bits);

    /* A signal sent to the process that this thread did not get to take
     * goes to another; those sent to the thread end with it. */
    while (fifo) {
        struct g_sigrec *r = fifo;

        fifo = r->next;
        if (!r->directed && !merges(&proc_pending_bits, r->info.si_signo)) {
            push(&proc_pending, &proc_pending_bits, r);
        } else {
            rec_free(r);
        }
    }
    count_blockers(g_sig_blocked(self), -1);
    atomic_store_explicit(&self->sig_blocked, 0, memory_order_relaxed);
}

/* --- the calls on masks and waits --- */

int g_sig_setmask(struct g_thread *self, int how, const uint64_t *set,
                  uint64_t *old)
{
    uint64_t cur = g_sig_blocked(self);

    if (old)
        *old = cur;
    if (!set)
        return 0;
    switch (how) {
    case SIG_BLOCK:
        cur |= *set;
        break;
    case SIG_UNBLOCK:
        cur &= ~*set;
        break;
    case SIG_SETMASK:
        cur = *set;
        break;
    default:
        return -EINVAL;
    }
    set_blocked(self, blockable(cur));
    /* Pending signals it unblocked are delivered before the call returns. */
    g_sig_deliver(self);
    return 0;
}

uint64_t g_sig_pending(struct g_thread *self)
{
    return (atomic_load_explicit(&self->sig_pending_bits,
                                 memory_order_relaxed) |
            atomic_load_explicit(&proc_pending_bits, memory_order_relaxed)) &
           g_sig_blocked(self);
}

void g_sig_window_begin(struct g_thread *self, const uint64_t *mask,
                        struct g_sig_window *win)
{
    win->epoch = atomic_load_explicit(&self->sig_epoch, memory_order_seq_cst);
    win->before = g_sig_blocked(self);
    win->masked = mask != NULL;
    self->sig_window = true;
    self->sig_window_epoch = win->epoch;
    if (mask)
        set_blocked(self, blockable(*mask));
}

bool g_sig_window_hit(struct g_thread *self, const struct g_sig_window *win)
{
    return atomic_load_explicit(&self->sig_epoch, memory_order_seq_cst) !=
           win->epoch;
}

void g_sig_window_end(struct g_thread *self, const struct g_sig_window *win)
{
    self->sig_window = false;
    if (win->masked)
        set_blocked(self, win->before);
}

int g_sig_suspend(struct g_thread *self, const uint64_t *mask)
{
    struct g_sig_window win;
    int rc = 0, ran;

    g_sig_window_begin(self, mask, &win);
    ran = g_sig_deliver(self); /* pending ones the mask lets in */
    while (!(ran & G_SIG_RAN) && !g_sig_window_hit(self, &win)) {
        struct g_waiter w;

        g_waiter_init(&w, true);
        w.interruptible = true;
        rc = g_wait(&w, G_NEVER);
        if (rc == -ECANCELED)
            break;
        ran = g_sig_deliver(self);
    }
    g_sig_window_end(self, &win);
    return rc == -ECANCELED ? rc : -EINTR;
}

/* Take a record of a signal in set from list. */
static struct g_sigrec *take_one(struct g_sigrec *_Atomic *list,
                                 _Atomic uint64_t *bits, uint64_t set)
{
    struct g_sigrec *fifo, *found = NULL, *keep = NULL, **tail = &keep;

    if (!(atomic_load_explicit(bits, memory_order_seq_cst) & set))
        return NULL;
    fifo = take_all(list, bits);
    while (fifo) {
        struct g_sigrec *r = fifo;

        fifo = r->next;
        r->next = NULL;
        if (!found && (bit(r->info.si_signo) & set)) {
            found = r;
            continue;
        }
        *tail = r;
        tail = &r->next;
    }
    put_back(list, bits, keep);
    return found;
}

int g_sig_wait(struct g_thread *self, uint64_t set, siginfo_t *info,
               int64_t deadline)
{
    struct g_sig_window win;
    int rc = 0;

    set = blockable(set);
    for (int sig = 1; sig < _NSIG; sig++)
        if (set & bit(sig))
            atomic_store_explicit(&hints[sig], self, memory_order_relaxed);
    atomic_store_explicit(&self->sig_waiting, set, memory_order_seq_cst);
    g_sig_window_begin(self, NULL, &win);
    for (;;) {
        struct g_sigrec *r = take_one(&self->sig_pending,
                                      &self->sig_pending_bits, set);
        struct g_waiter w;

        if (!r)
            r = take_one(&proc_pending, &proc_pending_bits, set);
        if (r) {
            *info = r->info;
            rec_free(r);
            rc = info->si_signo;
            break;
        }
        if (deadline != G_NEVER && g_now() >= deadline) {
            rc = -EAGAIN;
            break;
        }
        /* Signals outside set that arrive meanwhile are delivered as
         * to any waiting thread: then sigwait ends with EINTR. */
        if (g_sig_deliver(self) & G_SIG_RAN) {
            rc = -EINTR;
            break;
        }
        g_waiter_init(&w, true);
        w.interruptible = true;
        rc = g_wait(&w, deadline);
        if (rc == -ECANCELED)
            break;
        win.epoch = atomic_load_explicit(&self->sig_epoch,
                                         memory_order_seq_cst);
        self->sig_window_epoch = win.epoch;
    }
    atomic_store_explicit(&self->sig_waiting, 0, memory_order_relaxed);
    g_sig_window_end(self, &win);
    return rc;
}

int g_sig_send(struct g_thread *t, int sig, const siginfo_t *info)
{
    struct g_thread *self = g_self();
    void *handler = g_sig_program(sig, NULL, NULL);
    bool blocked = (g_sig_blocked(t) & bit(sig)) &&
                   !(atomic_load_explicit(&t->sig_waiting,
                                          memory_order_relaxed) &
                     bit(sig));
    struct g_sigrec *r;

    if (!blocked) {
        if (handler == SIG_IGN)
            return 0;
        if (handler == SIG_DFL) {
            g_sig_default(sig); /* for the whole process */
            return 0;
        }
    }
    if (merges(&t->sig_pending_bits, sig))
        return 0;
    if (!(r = record(sig, info, NULL, true)))
        return -EAGAIN;
    if (t == self) {
        /* raise(): delivered before the call returns. */
        push(&t->sig_pending, &t->sig_pending_bits, r);
        g_sig_deliver(self);
        return 0;
    }
    hand_over(t, r);
    return 0;
}

void g_sig_forked(struct g_thread *self)
{
    /* The child's only thread is a plain one again: its OS mask is what
     * the forking green thread blocked. */
    if (self)
        os_mask(SIG_SETMASK, g_sig_blocked(self), NULL);
}
