/*
 * shim/shim.h: green threads, workers and the waiting primitives, as the
 * interpose layer sees them.
 *
 * Functions return 0, a count or -EXXX and never touch errno; the hooks in
 * interpose/ convert. "May park." marks a function that can switch stacks.
 */
#ifndef G_SHIM_H
#define G_SHIM_H

#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ctx/ctx.h"
#include "shim/heap.h"
#include "shim/queue.h"

struct g_worker;

enum g_thread_state {
    G_RUNNING, /* on its worker's CPU right now */
    G_READY,   /* on its worker's run queue or inbox */
    G_PARKED,  /* switched out, waiting for a g_wake */
    G_DEAD,    /* returned or exited; its stack is being released */
    G_FREE,    /* joined or reaped: the struct waits on a free list */
};

/* Deferred cancellation, as pthread_cancel(3) describes it. */
enum g_cancel_bits {
    G_CANCEL_DISABLED = 1, /* pthread_setcancelstate(DISABLE) */
    G_CANCEL_ASYNC = 2,    /* asked for; acted on at cancellation points */
    G_CANCEL_PENDING = 4,  /* pthread_cancel was called */
    G_CANCEL_ACTING = 8,   /* the thread is exiting as canceled */
};

struct g_waiter;
struct g_tsd;
struct g_sigrec;

struct g_thread {
    g_fctx ctx;                  /* saved context while switched out */
    struct g_worker *worker;     /* owner for life (invariant 4) */
    struct g_queue runq;         /* on worker->runq; owned by that worker */
    struct g_thread *inbox_next; /* on worker->inbox (lock-free MPSC), or
                                    on a free list once G_FREE */
    int saved_errno;             /* the program's errno while switched out */
    bool wake_pending;           /* readied while running or queued: the next
                                    park returns at once (owner worker only) */
    bool sig_inject;             /* resumed to take signals, not woken */
    bool sig_window;             /* in sigsuspend, ppoll's mask, sigwait */
    unsigned char sig_critical;  /* in libgreen's waits and fd locks: a
                                    signal waits for the end of them */
    enum g_thread_state state;
    unsigned char sig_ran;       /* G_SIG_RAN, G_SIG_NORESTART since the
                                    last interruptible wait began */
    /* Signals handed to it (shim/signal.c); in this first cache line with
     * the rest that every switch and wait touches. */
    _Atomic uint64_t sig_pending_bits;

    void *(*start)(void *);
    void *arg;
    void *retval;
    struct g_stack *stack;     /* NULL once released */
    struct g_stack user_stack; /* header for a pthread_attr_setstack stack */
    size_t guardsize;          /* as requested, for pthread_getattr_np */

    /* Join state, guarded by join_lock (a spinlock: never held across a
     * park, and only for a few instructions). */
    _Atomic int join_lock;
    bool detached;
    bool exited;             /* published after the stack is released */
    struct g_waiter *joiner; /* the one thread waiting in join */

    _Atomic int cancel;           /* enum g_cancel_bits */
    struct g_waiter *parked_on;   /* cancellable wait in progress; touched
                                     only on its worker's OS thread */
    struct g_thread *cancel_next; /* on worker->cancels (lock-free MPSC) */
    _Atomic bool cancel_queued;   /* on worker->cancels, not drained yet */
    void *cleanup_top; /* pthread_cleanup_push chain (glibc's buffers) */
    struct g_unwind *unwinds; /* libgreen's own, newest first */
    bool exiting;      /* in g_thread_exit: retval is final */

    char name[16];    /* pthread_setname_np; NUL-terminated */
    int sched_policy; /* remembered, not applied: see ARCHITECTURE */
    int sched_priority;
    cpu_set_t *affinity; /* remembered, not applied; NULL: the worker's */
    bool is_main;
    struct g_tsd *tsd; /* pthread_setspecific values (shim/key.c) */
    int serial;        /* owner id for mutexes: negative, unique among
                          live threads (OS threads use their tid) */

    /* Signals (shim/signal.c). The mask is written by the thread itself
     * (or its creator before it runs) and read by any trampoline. */
    _Atomic uint64_t sig_blocked;  /* bit sig - 1 for each blocked signal */
    _Atomic uint64_t sig_waiting;  /* sigwait's set while it waits */
    struct g_sigrec *_Atomic sig_pending; /* records for it, LIFO; their
                                             signals in sig_pending_bits */
    _Atomic unsigned sig_epoch;   /* signals handed to it so far */
    _Atomic bool sig_waits;       /* parking for a wait a signal must end */
    unsigned sig_window_epoch;    /* sig_epoch when that window opened */
    struct g_thread *sig_next;    /* on worker->sig_queue (lock-free) */
    _Atomic bool sig_queued;      /* on worker->sig_queue, not drained */
    int sig_depth;                /* handlers running on it */
    uint64_t sig_blocked_before;  /* its mask before the outermost one */
    struct g_queue live;          /* on worker->threads from its first run
                                     until reaped; owned by that worker */
};

/* What pthread_create's attributes ask for. */
struct g_thread_attr {
    bool detached;
    size_t stack_size; /* 0: the configured default */
    void *user_stack;  /* lowest address of a program-supplied stack */
    size_t guard_size;
    const uint64_t *sigmask; /* pthread_attr_setsigmask_np's; NULL: the
                                creator's mask */
};

/* --- configuration (shim/config.c) --- */
struct g_config {
    int loops;         /* GREEN_LOOPS */
    size_t stack_size; /* GREEN_STACK_SIZE */
    long max_threads;  /* GREEN_MAX_THREADS; 0 for no limit */
    const char *stats; /* GREEN_STATS: NULL (off), "" (stderr) or a path */
};
extern struct g_config g_config;
/* Read the GREEN_* variables; on a bad value print one line and _exit(2). */
void g_config_load(void);
/* The guard below every stack we map, as glibc's default: one page. */
size_t g_stack_guard(void);
/* main()'s stack: at least what a native main may grow to (RLIMIT_STACK). */
size_t g_main_stack_size(void);

/* --- threads (shim/thread.c) --- */

/*
 * The calling green thread, or NULL on any other thread or context: a
 * worker's scheduler, libuv's pool, threads libgreen did not create.
 */
static inline struct g_thread *g_self(void);

/* A green thread's pthread_t: its address with the low bit set, which no
 * glibc pthread_t (an aligned pointer) ever has. */
static inline uintptr_t g_thread_id(const struct g_thread *t)
{
    return (uintptr_t)t | 1;
}

static inline struct g_thread *g_thread_from_id(uintptr_t id)
{
    return (id & 1) ? (struct g_thread *)(id & ~(uintptr_t)1) : NULL;
}

/* Create a green thread and make it runnable; *id is written first, as
 * glibc does, so the new thread can read it. Returns 0 or -EAGAIN/-EINVAL. */
int g_thread_create(const struct g_thread_attr *attr, void *(*start)(void *),
                    void *arg, uintptr_t *id);
/* May park. 0, -EDEADLK, -EINVAL, -ETIMEDOUT, -EBUSY (deadline 0 means
 * "try"), or -ECANCELED when the joiner was canceled while waiting. */
int g_thread_join(struct g_thread *t, void **retval, int64_t deadline);
int g_thread_detach(struct g_thread *t);
/* End the calling green thread: run its cleanup handlers, then switch away
 * for good. */
_Noreturn void g_thread_exit(void *retval);
/* 0 while t can still be joined or is running; -ESRCH once joined or
 * reaped. Structs are recycled, never unmapped, so a stale id is safe to
 * ask about (and, as in glibc, may name a newer thread). */
int g_thread_alive(struct g_thread *t);
/* Whether t has exited (it may still be waiting to be joined). */
bool g_thread_exited(struct g_thread *t);
int g_thread_cancel(struct g_thread *t);
/* A cancellation point: exits the thread if a cancel is pending. */
void g_testcancel(void);
/* A cancel request that is to be acted on now (g_cancel_act). */
static inline bool g_cancel_due(int bits)
{
    return (bits & (G_CANCEL_PENDING | G_CANCEL_DISABLED | G_CANCEL_ACTING)) ==
           G_CANCEL_PENDING;
}
/* Exit as canceled: what a wait that returned -ECANCELED leads to. */
_Noreturn void g_cancel_act(struct g_thread *self);
/* pthread_cleanup_push / _pop of a green thread (glibc's unwind buffers). */
void g_cleanup_push(struct g_thread *self, void *buf);
void g_cleanup_pop(struct g_thread *self, void *buf);
/* Run the exiting thread's next cleanup handler; returns when none is left. */
void g_cleanup_unwind(struct g_thread *self);

/*
 * A cleanup of libgreen's own, on the stack of the call that pushes it:
 * run if the thread leaves that call other than by its return, by a jump
 * out of a signal handler (glibc runs its internal cleanups on longjmp
 * too) or by its end (a cancel, pthread_exit in a handler). A green
 * thread's only.
 */
struct g_unwind {
    void (*fn)(void *arg);
    void *arg;
    struct g_unwind *prev;
};
void g_unwind_push(struct g_thread *self, struct g_unwind *u,
                   void (*fn)(void *), void *arg);
void g_unwind_pop(struct g_thread *self, struct g_unwind *u);
/* A jump to a frame whose stack pointer is sp (0: the thread's end) leaves
 * the frames below it: run libgreen's cleanups there, and forget the
 * program's pthread_cleanup_push records (glibc leaves them dangling). */
void g_unwind_to(struct g_thread *self, uintptr_t sp);

/* --- scheduling (shim/sched.c) --- */

#define G_NEVER INT64_MAX

/* g_park and g_ready, the switch itself, are inline in shim/worker.h. */
/* Let the other runnable threads of this worker (and its loop) run. */
void g_yield(struct g_thread *self);
/* For a call that returned without waiting: g_yield once in a while, so
 * that a thread calling it in a loop does not keep its worker's other
 * threads, timers and I/O from running. */
void g_yield_now_and_then(struct g_thread *self);
/* Monotonic now, in nanoseconds. */
int64_t g_now(void);

/* --- deadlines (shim/clock.c): CLOCK_MONOTONIC nanoseconds --- */

/* An absolute time on CLOCK_REALTIME or CLOCK_MONOTONIC as a deadline.
 * -EINVAL for a tv_nsec outside [0, 1e9) or a negative tv_sec. A time already
 * past gives a deadline in the past (never 0 or negative); one too far gives
 * G_NEVER. */
int g_deadline(clockid_t clock, const struct timespec *abs, int64_t *out);
/* Now plus a relative time; -EINVAL as above or for a negative tv_sec. */
int g_deadline_after(const struct timespec *rel, int64_t *out);
/* The deadline of a timed lock or wait as glibc treats its abstime: -1 for
 * a tv_nsec outside [0, 1e9) (EINVAL: at once for rwlocks and semaphores,
 * for mutexes only if they must wait), a time before the epoch long past. */
int64_t g_lock_deadline(clockid_t clock, const struct timespec *abs);

/* --- waiting (shim/waiter.c) --- */

/* A waiter's state before its single wake: a value no result can take. */
#define G_WAITING INT32_MIN
/* An OS thread's waiter, claimed, between g_wake_claim and g_wake_finish:
 * it must not return yet (its claimer may still be writing the object it
 * waited on, which it could destroy on return). */
#define G_HANDING (INT32_MIN + 1)

/*
 * One wait of one thread. It lives on the waiting thread's stack and is
 * linked wherever its wakers can find it. The first g_wake (event, timeout,
 * close, cancel, another worker) moves state from G_WAITING to the result;
 * every later one fails and does nothing.
 */
/* Why a green thread parks, as GREEN_STATS counts it. */
enum g_park_reason {
    G_PARK_OTHER, /* barriers, once, anything not below */
    G_PARK_FD,    /* an fd to become ready; poll, select, epoll_wait */
    G_PARK_TIMER, /* sleeps, and the back-off of polled waits */
    G_PARK_MUTEX, /* mutexes, rwlocks, spinlocks */
    G_PARK_COND,
    G_PARK_SEM,
    G_PARK_JOIN,
    G_PARK_DNS,
    G_PARK_REASONS
};

struct g_waiter {
    struct g_thread *thread;  /* NULL: an OS thread that sleeps on state */
    unsigned char reason;     /* enum g_park_reason; OTHER from init */
    _Atomic int state;        /* G_WAITING, then the result: a count, 0 or
                                 -errno */
    bool timed;               /* node is on the worker's timer heap */
    bool cancellable;         /* pthread_cancel may end this wait */
    bool interruptible;       /* a signal ends it with -EINTR (else the
                                 handler runs in it and it goes on) */
    struct g_heap_node timer; /* on thread->worker->timers; owned by it */
};

/* g_waiter_init and g_wait (may park) are inline in shim/worker.h. */
/* The single wake: true if this call won. From any thread. */
bool g_wake(struct g_waiter *w, int result);

/*
 * g_wake in two halves, for a waker that must update shared state after it
 * has won the waiter but before the waiter can run: claim decides (and from
 * then on only tok may be used), finish lets the waiter go.
 */
struct g_wake_token {
    struct g_thread *thread;
    _Atomic int *futex;
    int result; /* for an OS thread, stored by g_wake_finish */
};
bool g_wake_claim(struct g_waiter *w, int result, struct g_wake_token *tok);
/* g_wake_finish: inline in shim/worker.h. */
/* May park. Sleep until deadline: 0, or -ECANCELED. */
int g_sleep_until(int64_t deadline);
/* g_sleep_until that a signal ends with -EINTR (the sleep calls). */
int g_sleep_interruptible(int64_t deadline);
/*
 * May park. For objects another process may hold, which we cannot queue
 * on: retry attempt(arg) (0 or an error: done; -EBUSY or -EAGAIN: not yet)
 * with a sleep growing from 50 us to 2 ms. deadline as for the lock calls:
 * 0 tries once, negative is -EINVAL when it must wait. Returns attempt's
 * result, -ETIMEDOUT, or -ECANCELED if cancellable and canceled.
 */
int g_poll_until(int (*attempt)(void *), void *arg, int64_t deadline,
                 bool cancellable);

/* --- signals (shim/signal.c) --- */

/* A signal set as the kernel keeps it: bit sig - 1 for signal sig. */
static inline uint64_t g_sigbit(int sig)
{
    return (uint64_t)1 << (sig - 1);
}

/* A disposition: SIG_DFL, SIG_IGN or a handler, with its sa_flags. */
struct g_sigact {
    void *handler;
    int flags;
    bool one_shot; /* SA_RESETHAND's reset was done for this delivery */
};

/* The program's dispositions as its sigaction calls set them (and, for the
 * signals it never set, as the kernel had them at start). */
void g_sig_program_set(int sig, void *handler, int flags, uint64_t mask);
void *g_sig_program(int sig, int *flags, uint64_t *mask);
bool g_sig_program_known(int sig);
/* SA_RESETHAND: handler becomes SIG_DFL; true for the one delivery that
 * made the change (the kernel keeps our trampoline: we reset, not it). */
bool g_sig_one_shot(int sig, void *handler);
/* Whether the kernel holds our trampoline for sig: for a handler, or for
 * SIG_DFL once a green thread blocks it (the kernel must then not act on
 * it at once). */
bool g_sig_trampolined(int sig);
void g_sig_set_trampolined(int sig, bool yes);
/* Whether some green thread blocks sig now. */
bool g_sig_blocked_anywhere(int sig);

/* What the trampoline does with a signal that reached its OS thread. */
enum g_sig_verdict {
    G_SIG_RUN_HERE,     /* run the disposition now, on this stack */
    G_SIG_TAKEN,        /* handed to a green thread, or pending */
    G_SIG_DELIVER_HERE, /* a kick: g_sig_deliver() the thread here */
    G_SIG_DEFAULT,      /* a fault the thread blocks: the default action */
    G_SIG_KERNEL,       /* a signalfd's: queued back to the kernel; the
                           OS thread must block those from now on */
};
/* From the trampoline, any OS thread; act is the program's disposition,
 * which a one-shot handler's delivery resets (act->one_shot then says so).
 * Async-signal-safe. */
enum g_sig_verdict g_sig_arrived(int sig, const siginfo_t *info,
                                 struct g_sigact *act);
/* Run act for sig on this stack, with the interrupted green thread's mask
 * as the kernel would set it (G_SIG_RUN_HERE). */
void g_sig_run_here(int sig, siginfo_t *info, void *context,
                    const struct g_sigact *act);
/* The default action of sig (G_SIG_DEFAULT, and SIG_DFL deliveries). */
void g_sig_default(int sig);

/* g_sig_deliver's result bits. */
#define G_SIG_RAN 1       /* a handler ran */
#define G_SIG_NORESTART 2 /* one without SA_RESTART */
/* Run the handlers of the signals pending for self that it does not block
 * (its own, then the process's). A clean point: no wait of self linked. */
int g_sig_deliver(struct g_thread *self);
/* After a wait of a call ended with -EINTR: deliver, then whether the call
 * goes on (restartable: it restarts under SA_RESTART, as signal(7) lists;
 * nothing delivered: it always goes on). */
bool g_sig_restart(struct g_thread *self, bool restartable);
/* g_sig_deliver inside a wait that goes on (see worker.h's g_wait). */
void g_sig_deliver_in_wait(struct g_thread *self);
/* A signal-critical section of self (a wait being set up or torn down, an
 * fd lock held): a signal that interrupts it waits for its end, which
 * delivers it. */
static inline void g_sig_critical_begin(struct g_thread *self)
{
    self->sig_critical++;
}
void g_sig_critical_end(struct g_thread *self);
/* Before checks at a call's start: are signals pending that self takes? */
static inline bool g_sig_due(struct g_thread *self);
/* The same, counting the process's pending signals too. */
bool g_sig_deliverable(struct g_thread *self);

/* New threads: the mask of the creator, or mask if not NULL. */
void g_sig_thread_init(struct g_thread *t, const struct g_thread *creator,
                       const uint64_t *mask);
/* Before the workers start: the process's signal mask, which becomes
 * main()'s; the workers' own OS masks are empty from then on. */
void g_sig_start(uint64_t mask);
/* main(): that mask, and the first taker of signals sent to the process. */
void g_sig_main_init(struct g_thread *t);
/* An exiting thread's pending signals: the process's go to another. */
void g_sig_thread_exit(struct g_thread *self);
/* A struct about to be reused: records handed to it after its exit. */
void g_sig_thread_recycle(struct g_thread *t);
/* In a forked child: its OS mask becomes the forking thread's. */
void g_sig_forked(struct g_thread *self);
/* In a forked child that keeps a runtime: self, the only thread, is its
 * main thread, and nothing is pending. */
void g_sig_forked_runtime(struct g_thread *self);
/* sigsetjmp(env, savemask) on self (NULL: not green): remember its mask
 * in env's spare words; a jump (siglongjmp, longjmp) to env, or out of
 * handlers (env NULL), then gives it back if env saved it. */
struct __jmp_buf_tag;
void g_sig_setjmp(struct __jmp_buf_tag *env, int savemask);
void g_sig_jumped(struct g_thread *self, const struct __jmp_buf_tag *env);
/* Signals a signalfd reads stay the kernel's: blocked in every worker's
 * OS mask from now on; what is pending of them is queued back to it. */
void g_sig_kernel_own(uint64_t set);
uint64_t g_sig_kernel_owned(void);

/* pthread_sigmask; then delivers what it unblocked. 0 or -EINVAL. */
int g_sig_setmask(struct g_thread *self, int how, const uint64_t *set,
                  uint64_t *old);
uint64_t g_sig_blocked(const struct g_thread *t);
/* Signals pending for self or for the process (sigpending). */
uint64_t g_sig_pending(struct g_thread *self);
/* May park. sigsuspend (mask) or pause (NULL): -EINTR once a handler has
 * run, or -ECANCELED. */
int g_sig_suspend(struct g_thread *self, const uint64_t *mask);
/* May park. sigtimedwait: the signal number, -EAGAIN after deadline,
 * -EINTR if a handler for another signal ran, -ECANCELED. */
int g_sig_wait(struct g_thread *self, uint64_t set, siginfo_t *info,
               int64_t deadline);
/* pthread_kill / pthread_sigqueue of green thread t: 0 or -EAGAIN. */
int g_sig_send(struct g_thread *t, int sig, const siginfo_t *info);

/*
 * A call whose wait a signal must end even if it comes before the wait
 * parks (sigsuspend, ppoll and pselect with a mask): its mask is set and
 * the signals handed to self are counted from here on (begin), the waits
 * between begin and end see them (hit), and end puts the mask back.
 */
struct g_sig_window {
    unsigned epoch;
    uint64_t before;
    bool masked;
};
void g_sig_window_begin(struct g_thread *self, const uint64_t *mask,
                        struct g_sig_window *win);
bool g_sig_window_hit(struct g_thread *self, const struct g_sig_window *win);
void g_sig_window_end(struct g_thread *self, const struct g_sig_window *win);

/* --- the thread pool (shim/offload.c) --- */

/*
 * May park. Run fn(arg) on libuv's thread pool while the calling green
 * thread waits, for a call that blocks and has no green version (it would
 * freeze the worker). Not cancellable: fn's arguments live on the waiting
 * thread's stack. GREEN_STATS counts the wait under reason. Green threads
 * only.
 */
void g_run_blocking(void (*fn)(void *), void *arg, enum g_park_reason reason);

/* --- statistics (shim/stats.c) --- */

/* Write the GREEN_STATS report where g_config.stats says. For atexit. */
void g_stats_report(void);

/* --- workers (shim/worker.c) --- */

/*
 * Start the workers and run start(arg) as the first green thread (main).
 * The calling OS thread becomes worker 0; never returns.
 */
_Noreturn void g_runtime_run(void *(*start)(void *), void *arg);
/* The OS thread that runs t's worker, for calls that need one. */
uintptr_t g_thread_os_thread(const struct g_thread *t);
/* In a forked child, before anything of libgreen's or libuv's makes a
 * descriptor: keep fds 0 to 2 free for the program (they are let go by
 * the last fork handler). */
void g_fork_hold_stdio(void);
/* Fall back to plain threads after fork() in a child process. */
void g_runtime_forked(void);
/* After fork() in a child process, on the forking green thread: if it was
 * the program's only green thread, renew the workers and loops and go on
 * green (true); else nothing (false: g_runtime_forked is for the caller). */
bool g_runtime_fork_child(void);
/* Whether this OS thread is a worker outside its green threads (in its
 * scheduler, or in a handler that interrupted the scheduler). */
bool g_in_scheduler(void);
/* Whether the workers run (false before main, and in a forked child that
 * went on plain: g_runtime_forked). */
bool g_runtime_running(void);
/* How many green threads are alive now (shim/thread.c). */
long g_threads_alive(void);
/* In a forked child that keeps a runtime: no lock is held. */
void g_threads_forked(void);

/* --- inline: the per-OS-thread current green thread --- */
extern __thread struct g_thread *g_tls_self
    __attribute__((tls_model("initial-exec")));
/* The name of the last intercepted call made on this OS thread, for the
 * stats' longest loop iteration (interpose.h sets it). */
extern __thread const char *g_tls_call
    __attribute__((tls_model("initial-exec")));

/* How many signal handlers this OS thread is running now
 * (interpose/signal.c counts them). */
/* Set around libgreen's own thread creations (the workers, libuv's pool
 * as work is queued): pthread_create marks those internal. */
extern __thread bool g_tls_creating_internal
    __attribute__((tls_model("initial-exec")));
extern __thread int g_tls_in_handler
    __attribute__((tls_model("initial-exec")));

/* Handlers set without SA_RESTART that have run on this OS thread: a call
 * that waits its own way (not in the kernel) tells by it whether a signal
 * should have ended it with EINTR. */
extern __thread unsigned g_tls_interrupts
    __attribute__((tls_model("initial-exec")));

/* The signal mask before the outermost handler running on this OS thread
 * (interpose/signal.c saves it), for a thread that exits inside the
 * handler (g_thread_exit). */
extern __thread sigset_t g_tls_mask_before_handler;

/* The green thread this code runs for: its identity (pthread_self, keys). */
static inline struct g_thread *g_self(void)
{
    return g_tls_self;
}

/*
 * The green thread that a wait made here would park: g_self(), except in a
 * signal handler. A handler interrupted whatever its OS thread was doing,
 * the scheduler included, so it must neither switch away nor touch the run
 * queue: there it waits and wakes as a plain OS thread does.
 */
static inline struct g_thread *g_self_to_park(void)
{
    return __builtin_expect(g_tls_in_handler, 0) ? NULL : g_tls_self;
}

static inline bool g_sig_due(struct g_thread *self)
{
    uint64_t pending = atomic_load_explicit(&self->sig_pending_bits,
                                            memory_order_relaxed);

    /* The mask is in another cache line: read only if something waits. */
    return __builtin_expect(pending != 0, 0) &&
           (pending & ~atomic_load_explicit(&self->sig_blocked,
                                            memory_order_relaxed));
}

#endif
