/*
 * interpose/signal.c: the program's signal handlers, behind a trampoline.
 *
 * Every handler the program sets is installed behind one trampoline, and
 * so is our own stand-in for SIG_DFL once a green thread blocks the signal
 * (g_signals_hide): green threads' masks are ours (shim/signal.c), and the
 * workers' OS threads block nothing, so the kernel must leave the choice
 * of a default action to us. SA_RESETHAND is ours too: the kernel keeps
 * the trampoline, and the shim resets the program's handler, so that a
 * signal sent on to another thread still meets it. The trampoline counts
 * the handlers running on its OS thread (g_tls_in_handler: while it is
 * non-zero, calls that would park act as on a plain OS thread) and asks
 * the shim who takes the signal: the green thread it interrupted takes it
 * at once, on its own stack; another is handed it and runs the handler
 * when it next runs. A handler left by siglongjmp, or by its thread's
 * exit, no longer counts; __sigsetjmp notes the green thread's mask for
 * the jump.
 *
 * sigaction reports the program's handler, flags and mask, never ours.
 * signal() and sysv_signal() are glibc's sigaction with fixed flags, made
 * inside libc where no hook sees them, so they are ours too. No lock
 * anywhere: sigaction is async-signal-safe, and a handler may call it
 * while its own thread is inside it.
 */
#include "interpose/interpose.h"

#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <ucontext.h>

/* Whether we added SA_SIGINFO to the program's flags: the kernel keeps it
 * after a one-shot handler ran, and the program must not see it. */
static _Atomic bool added_siginfo[_NSIG];

static uint64_t word(const sigset_t *set)
{
    uint64_t w;

    memcpy(&w, set, sizeof(w));
    return w;
}

static void trampoline(int sig, siginfo_t *info, void *context)
{
    int saved_errno = errno;
    struct g_sigact act = {.one_shot = false};

    if (g_tls_in_handler++ == 0 && context)
        g_tls_mask_before_handler = ((ucontext_t *)context)->uc_sigmask;
    act.handler = g_sig_program(sig, &act.flags, NULL);
    switch (g_sig_arrived(sig, info, &act)) {
    case G_SIG_RUN_HERE:
        if (!(act.flags & SA_RESTART))
            g_tls_interrupts++;
        errno = saved_errno;
        g_sig_run_here(sig, info, context, &act);
        break;
    case G_SIG_DELIVER_HERE:
        errno = saved_errno;
        g_sig_deliver(g_self());
        break;
    case G_SIG_DEFAULT:
        g_sig_default(sig);
        errno = saved_errno;
        break;
    case G_SIG_KERNEL:
        /* The kernel sets this mask as the handler returns. */
        if (context) {
            uint64_t *mask = (uint64_t *)&((ucontext_t *)context)->uc_sigmask;

            *mask |= g_sig_kernel_owned();
        }
        errno = saved_errno;
        break;
    case G_SIG_TAKEN:
        errno = saved_errno;
        break;
    }
    /* A jump inside a handler ends every level (end_handlers): below 0 the
     * worker would never count as green again. */
    if (g_tls_in_handler > 0)
        g_tls_in_handler--;
}

static bool is_handler(void (*h)(int))
{
    return h != SIG_DFL && h != SIG_IGN && h != SIG_ERR;
}

/* Signals the program can block: glibc keeps its own two (32, 33) out. */
static bool catchable(int sig)
{
    return sig > 0 && sig < _NSIG && sig != SIGKILL && sig != SIGSTOP &&
           sig != 32 && sig != 33;
}

/* The kernel's disposition of sig, once, for a signal the program never
 * set through us (inherited across exec: SIG_IGN from nohup, say). */
static void learn(int sig)
{
    struct sigaction k;

    if (g_sig_program_known(sig) || real_sigaction(sig, NULL, &k) != 0)
        return;
    if (k.sa_sigaction == trampoline)
        return; /* set through us meanwhile */
    g_sig_program_set(sig, (void *)k.sa_sigaction, k.sa_flags,
                      word(&k.sa_mask));
}

/* Our stand-in for SIG_DFL, which the program does not see. */
static void install_stand_in(int sig)
{
    struct sigaction k = {.sa_sigaction = trampoline,
                          .sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK};

    sigemptyset(&k.sa_mask);
    if (real_sigaction(sig, &k, NULL) == 0)
        g_sig_set_trampolined(sig, true);
}

void g_signals_hide(uint64_t set)
{
    for (int sig = 1; sig < _NSIG; sig++) {
        if (!(set & g_sigbit(sig)) || !catchable(sig) || g_sig_trampolined(sig))
            continue;
        learn(sig);
        /* SIG_IGN stays the kernel's: it survives exec, ours would not. */
        if (g_sig_program(sig, NULL, NULL) == SIG_DFL)
            install_stand_in(sig);
    }
}

void g_signals_forked(void)
{
    /* The child is plain: the kernel's own SIG_DFL again, where we stood
     * in for it (a SIGCHLD must not end its calls with EINTR). */
    g_sig_forked(g_self());
    for (int sig = 1; sig < _NSIG; sig++) {
        if (g_sig_trampolined(sig) &&
            g_sig_program(sig, NULL, NULL) == SIG_DFL) {
            struct sigaction dfl = {.sa_handler = SIG_DFL};

            sigemptyset(&dfl.sa_mask);
            if (real_sigaction(sig, &dfl, NULL) == 0)
                g_sig_set_trampolined(sig, false);
        }
    }
}

void g_signals_start(void)
{
    sigset_t all, initial;

    if (__builtin_expect(!g_real_ready, 0))
        g_real_init();
    /* From now on this thread (worker 0) and every worker takes every
     * signal; the mask the program started with becomes main()'s. */
    sigfillset(&all);
    real_pthread_sigmask(SIG_BLOCK, &all, &initial);
    g_sig_start(word(&initial));
    g_signals_hide(word(&initial));
}

/* The program's view of sig's disposition, into *old: its own for ours
 * (a handler, or SIG_DFL hidden), else the kernel's k. */
static void as_program_sees(int sig, const struct sigaction *k,
                            const struct g_sigact *prog, uint64_t prog_mask,
                            struct sigaction *old)
{
    *old = *k;
    if (k->sa_sigaction == trampoline) {
        old->sa_sigaction = prog->handler;
        old->sa_flags = prog->flags;
        sigemptyset(&old->sa_mask);
        memcpy(&old->sa_mask, &prog_mask, sizeof(prog_mask));
    } else if (atomic_load_explicit(&added_siginfo[sig],
                                    memory_order_relaxed)) {
        old->sa_flags &= ~SA_SIGINFO;
    }
}

G_EXPORT int sigaction(int sig, const struct sigaction *act,
                       struct sigaction *old)
{
    struct sigaction k, kold;
    struct g_sigact prog;
    uint64_t prog_mask;
    int rc;

    if (__builtin_expect(!g_real_ready, 0))
        g_real_init();
    if (sig <= 0 || sig >= _NSIG)
        return real_sigaction(sig, act, old);
    /* What was sent to this thread or the process before the change is
     * delivered with the disposition it met, as natively it would have
     * been already. */
    if (act && g_self_to_park() && g_sig_deliverable(g_self()))
        g_sig_deliver(g_self());
    prog.handler = g_sig_program(sig, &prog.flags, &prog_mask);
    if (act && (is_handler(act->sa_handler) ||
                (act->sa_handler == SIG_DFL && catchable(sig) &&
                 g_sig_blocked_anywhere(sig)))) {
        /* A handler, or SIG_DFL while a green thread blocks it. */
        k = *act;
        k.sa_sigaction = trampoline;
        /* The handler's mask is the green thread's (shim/sigthread.c).
         * The kernel blocks only the signal itself, while the trampoline
         * decides (a flood cannot nest it); the program's own handler
         * then runs with the OS thread blocking nothing, so that the
         * signals of the thread it runs for keep coming to this worker,
         * not to another that would have to hand them over. */
        k.sa_flags = (k.sa_flags | SA_SIGINFO) & ~(SA_RESETHAND | SA_NODEFER);
        sigemptyset(&k.sa_mask);
        if (!is_handler(act->sa_handler))
            k.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
        /* Set before the kernel can call the trampoline for it. */
        g_sig_program_set(sig, (void *)act->sa_sigaction, act->sa_flags,
                          word(&act->sa_mask));
        rc = real_sigaction(sig, &k, &kold);
        if (rc == 0) {
            g_sig_set_trampolined(sig, true);
            atomic_store_explicit(&added_siginfo[sig],
                                  !(act->sa_flags & SA_SIGINFO),
                                  memory_order_relaxed);
        } else { /* SIGKILL, glibc's own: the kernel kept its own */
            g_sig_program_set(sig, prog.handler, prog.flags, prog_mask);
        }
    } else {
        rc = real_sigaction(sig, act, &kold);
        if (rc == 0 && act) {
            g_sig_program_set(sig, (void *)act->sa_sigaction, act->sa_flags,
                              word(&act->sa_mask));
            g_sig_set_trampolined(sig, false);
            atomic_store_explicit(&added_siginfo[sig], false,
                                  memory_order_relaxed);
        }
    }
    if (rc == 0 && old)
        as_program_sees(sig, &kold, &prog, prog_mask, old);
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

/* The signals siginterrupt(sig, 1) named: signal() does not restart
 * their calls, as glibc's does not. */
static _Atomic uint64_t interrupting;

static int bsd_flags(int sig)
{
    bool interrupts = sig > 0 && sig < 65 &&
                      (atomic_load_explicit(&interrupting, memory_order_relaxed) &
                       ((uint64_t)1 << (sig - 1)));

    return interrupts ? 0 : SA_RESTART;
}

/* BSD semantics, as glibc's signal(): restarted calls, the signal blocked
 * during its handler. */
G_EXPORT void (*signal(int sig, void (*h)(int)))(int)
{
    return set_handler(sig, h, bsd_flags(sig));
}

G_EXPORT void (*bsd_signal(int sig, void (*h)(int)))(int)
{
    return set_handler(sig, h, bsd_flags(sig));
}

/*
 * glibc makes siginterrupt, sigignore and sigset on its internal
 * sigaction and sigprocmask, where no hook sees them: a handler sigset
 * put in ran without the trampoline. Ours go through the hooks, with
 * glibc's answers.
 */
G_EXPORT int siginterrupt(int sig, int interrupt)
{
    struct sigaction act;

    if (sigaction(sig, NULL, &act) != 0)
        return -1;
    if (interrupt) {
        atomic_fetch_or(&interrupting, (uint64_t)1 << (sig - 1));
        act.sa_flags &= ~SA_RESTART;
    } else {
        atomic_fetch_and(&interrupting, ~((uint64_t)1 << (sig - 1)));
        act.sa_flags |= SA_RESTART;
    }
    return sigaction(sig, &act, NULL);
}

G_EXPORT int sigignore(int sig)
{
    struct sigaction act = {.sa_handler = SIG_IGN};

    sigemptyset(&act.sa_mask);
    return sigaction(sig, &act, NULL);
}

/* System V: SIG_HOLD blocks sig; anything else is its disposition, and
 * lets it in. The answer is SIG_HOLD if it was blocked, else the old
 * disposition. */
G_EXPORT void (*sigset(int sig, void (*disp)(int)))(int)
{
    struct sigaction act = {.sa_handler = disp}, old;
    sigset_t set, was;

    sigemptyset(&set);
    if (sigaddset(&set, sig) != 0)
        return SIG_ERR;
    if (disp == SIG_HOLD) {
        if (sigprocmask(SIG_BLOCK, &set, &was) != 0)
            return SIG_ERR;
        if (sigismember(&was, sig))
            return SIG_HOLD;
        return sigaction(sig, NULL, &old) == 0 ? old.sa_handler : SIG_ERR;
    }
    sigemptyset(&act.sa_mask);
    if (sigaction(sig, &act, &old) != 0 ||
        sigprocmask(SIG_UNBLOCK, &set, &was) != 0)
        return SIG_ERR;
    return sigismember(&was, sig) ? SIG_HOLD : old.sa_handler;
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
 * sigsetjmp is a macro for __sigsetjmp, which returns twice: no C frame of
 * ours may stand between it and its caller. This one notes the green
 * thread's mask in the buffer (g_sig_setjmp: glibc saves the OS thread's,
 * which is not the program's), then jumps to glibc's with the caller's
 * frame and return address as they were.
 */
__asm__(".text\n"
        ".globl __sigsetjmp\n"
        ".type __sigsetjmp, @function\n"
        "__sigsetjmp:\n"
        "    .cfi_startproc\n"
        "    endbr64\n"
        "    push %rdi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    push %rsi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    sub $8, %rsp\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    call g_signals_setjmp\n"
        "    add $8, %rsp\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    pop %rsi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    pop %rdi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    jmp *real___sigsetjmp(%rip)\n"
        "    .cfi_endproc\n"
        ".size __sigsetjmp, .-__sigsetjmp\n");

void g_signals_setjmp(struct __jmp_buf_tag *env, int savemask)
{
    if (__builtin_expect(!g_real_ready, 0))
        g_real_init();
    g_sig_setjmp(env, savemask);
}

/*
 * Leaving a handler by a jump ends it, on the OS thread and on the green
 * thread it ran for, whose mask becomes what sigsetjmp saved, if it saved
 * one. Which handlers a jump leaves, when they nest, the jump buffer does
 * not tell; all of them is the common case (a handler jumps back to the
 * program's main loop).
 */
static void end_handlers(const struct __jmp_buf_tag *env)
{
    struct g_thread *self;

    if (__builtin_expect(!g_real_ready, 0))
        g_real_init();
    g_tls_in_handler = 0;
    self = g_self();
    g_sig_jumped(self, env);
    /* What the mask the jump gives back lets in is delivered now, where
     * the kernel delivers it: as siglongjmp restores the mask, before it
     * lands. */
    if (self && !self->exiting && g_sig_deliverable(self))
        g_sig_deliver(self);
}

G_EXPORT _Noreturn void siglongjmp(sigjmp_buf env, int val)
{
    end_handlers(env);
    real_siglongjmp(env, val);
}

G_EXPORT _Noreturn void longjmp(jmp_buf env, int val)
{
    end_handlers(env);
    real_longjmp(env, val);
}

G_EXPORT _Noreturn void _longjmp(jmp_buf env, int val)
{
    end_handlers(env);
    real__longjmp(env, val);
}

/* _FORTIFY_SOURCE's longjmp. */
G_EXPORT _Noreturn void __longjmp_chk(jmp_buf env, int val)
{
    end_handlers(env);
    real___longjmp_chk(env, val);
}
