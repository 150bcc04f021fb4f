/*
 * interpose/signal.c: signal handlers run as their OS thread.
 *
 * A signal runs its handler on a worker's OS thread, over whatever was
 * running there: a green thread, or the scheduler itself, perhaps in the
 * middle of its run queue or asleep in epoll_wait. So libgreen installs
 * every handler the program sets behind one trampoline that counts the
 * handlers running on the OS thread (g_tls_in_handler). While it is
 * non-zero, calls that would park act as on a plain OS thread
 * (g_self_to_park), and a wake-up goes through the worker's inbox and
 * eventfd (g_ready): sem_post and write, which POSIX lets a handler call,
 * wake a green thread even when the worker sleeps in its loop. A handler
 * left by siglongjmp, or by its thread's exit, no longer counts; the exit
 * also gives the OS thread back the signal mask from before the handler,
 * as the kernel's return from it would have.
 *
 * sigaction reports the program's handler and flags, never the trampoline.
 * signal() and sysv_signal() are glibc's sigaction with fixed flags, made
 * inside libc where no hook sees them, so they are ours too.
 */
#include "interpose/interpose.h"

#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <ucontext.h>

/*
 * What the program asked for, per signal: the handler the trampoline
 * calls, and for sigaction's answers whether it takes three arguments
 * (SA_SIGINFO) and whether the kernel holds an SA_SIGINFO that we added.
 * No lock: sigaction is async-signal-safe, and a handler may call it while
 * its own thread is inside it.
 */
static struct {
    _Atomic(void *) handler;
    _Atomic bool siginfo;
    _Atomic bool added_siginfo;
    _Atomic bool restart; /* SA_RESTART: calls go on after the handler */
} programs[_NSIG];

/* Every handler is called with three arguments: the x86-64 calling
 * convention lets a one-argument handler ignore the other two, as the
 * kernel's own calls do. */
static void trampoline(int sig, siginfo_t *info, void *context)
{
    void (*handler)(int, siginfo_t *, void *);

    if (g_tls_in_handler++ == 0 && context)
        g_tls_mask_before_handler = ((ucontext_t *)context)->uc_sigmask;
    handler = atomic_load_explicit(&programs[sig].handler,
                                   memory_order_acquire);
    handler(sig, info, context);
    if (!atomic_load_explicit(&programs[sig].restart, memory_order_relaxed))
        g_tls_interrupts++;
    g_tls_in_handler--;
}

static bool is_handler(void (*h)(int))
{
    return h != SIG_DFL && h != SIG_IGN && h != SIG_ERR;
}

/* The program's view of what the kernel holds in k: the trampoline
 * stands for the row as it was before the change, and an SA_SIGINFO we
 * added stays with the disposition after a one-shot handler ran. */
static void as_program_sees(struct sigaction *k, void *handler, bool siginfo,
                            bool added_siginfo)
{
    if (k->sa_sigaction == trampoline) {
        k->sa_sigaction = handler;
        if (!siginfo)
            k->sa_flags &= ~SA_SIGINFO;
    } else if (added_siginfo) {
        k->sa_flags &= ~SA_SIGINFO;
    }
}

G_EXPORT int sigaction(int sig, const struct sigaction *act,
                       struct sigaction *old)
{
    struct sigaction k, kold;
    void *handler;
    bool siginfo, added;
    int rc;

    if (__builtin_expect(!g_real_ready, 0))
        g_real_init();
    if (sig <= 0 || sig >= _NSIG)
        return real_sigaction(sig, act, old);
    handler = atomic_load_explicit(&programs[sig].handler,
                                   memory_order_relaxed);
    siginfo = atomic_load_explicit(&programs[sig].siginfo,
                                   memory_order_relaxed);
    added = atomic_load_explicit(&programs[sig].added_siginfo,
                                 memory_order_relaxed);
    if (act && is_handler(act->sa_handler)) {
        k = *act;
        k.sa_sigaction = trampoline;
        k.sa_flags |= SA_SIGINFO;
        atomic_store_explicit(&programs[sig].handler,
                              (void *)act->sa_sigaction,
                              memory_order_release);
        rc = real_sigaction(sig, &k, &kold);
        if (rc == 0) {
            atomic_store_explicit(&programs[sig].siginfo,
                                  (act->sa_flags & SA_SIGINFO) != 0,
                                  memory_order_relaxed);
            atomic_store_explicit(&programs[sig].added_siginfo,
                                  !(act->sa_flags & SA_SIGINFO),
                                  memory_order_relaxed);
            atomic_store_explicit(&programs[sig].restart,
                                  (act->sa_flags & SA_RESTART) != 0,
                                  memory_order_relaxed);
        } else { /* SIGKILL, glibc's own: the kernel kept its own */
            atomic_store_explicit(&programs[sig].handler, handler,
                                  memory_order_relaxed);
        }
    } else {
        rc = real_sigaction(sig, act, &kold);
        if (rc == 0 && act)
            atomic_store_explicit(&programs[sig].added_siginfo, false,
                                  memory_order_relaxed);
    }
    if (rc == 0 && old) {
        as_program_sees(&kold, handler, siginfo, added);
        *old = kold;
    }
    return rc;
}

/* signal(), sysv_signal(): sigaction with their flags; the old handler. */
static void (*set_handler(int sig, void (*h)(int), int flags))(int)
{
    struct sigaction act = {.sa_handler = h, .sa_flags = flags}, old;

    sigemptyset(&act.sa_mask);
    if (!(flags & SA_NODEFER) && sig > 0 && sig < _NSIG)
        sigaddset(&act.sa_mask, sig);
    if (sigaction(sig, &act, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

/* BSD semantics, as glibc's signal(): restarted calls, the signal blocked
 * during its handler. */
G_EXPORT void (*signal(int sig, void (*h)(int)))(int)
{
    return set_handler(sig, h, SA_RESTART);
}

G_EXPORT void (*bsd_signal(int sig, void (*h)(int)))(int)
{
    return set_handler(sig, h, SA_RESTART);
}

/* System V semantics: a one-shot handler, not blocked while it runs. */
G_EXPORT void (*sysv_signal(int sig, void (*h)(int)))(int)
{
    return set_handler(sig, h, SA_RESETHAND | SA_NODEFER);
}

G_EXPORT void (*__sysv_signal(int sig, void (*h)(int)))(int)
{
    return set_handler(sig, h, SA_RESETHAND | SA_NODEFER);
}

/*
 * Leaving a handler by a jump ends it. Which handlers a jump leaves, when
 * they nest, the jump buffer does not tell; all of them is the common case
 * (a handler jumps back to the program's main loop).
 */
static void end_handlers(void)
{
    if (__builtin_expect(!g_real_ready, 0))
        g_real_init();
    g_tls_in_handler = 0;
}

G_EXPORT _Noreturn void siglongjmp(sigjmp_buf env, int val)
{
    end_handlers();
    real_siglongjmp(env, val);
}

G_EXPORT _Noreturn void longjmp(jmp_buf env, int val)
{
    end_handlers();
    real_longjmp(env, val);
}

G_EXPORT _Noreturn void _longjmp(jmp_buf env, int val)
{
    end_handlers();
    real__longjmp(env, val);
}

/* _FORTIFY_SOURCE's longjmp. */
G_EXPORT _Noreturn void __longjmp_chk(jmp_buf env, int val)
{
    end_handlers();
    real___longjmp_chk(env, val);
}
