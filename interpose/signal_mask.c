/*
 * interpose/signal_mask.c: signal masks and the calls that wait for
 * signals: pthread_sigmask, sigprocmask, sigpending, sigsuspend, pause,
 * sigwait, sigwaitinfo, sigtimedwait; and signalfd, whose signals stay
 * the kernel's.
 *
 * On a green thread the mask is the thread's own (shim/signal.c), as a
 * native thread's is, not its worker's: the worker's OS thread takes every
 * signal and the trampoline hands each to a green thread that does not
 * block it. Blocking a signal whose disposition is SIG_DFL first puts our
 * trampoline in for it (g_signals_hide), or the kernel would act on it at
 * once. The waits park the green thread. Anywhere else every call is the
 * real one. These calls take the kernel's 64 signals: the first word of a
 * sigset_t.
 */
#include "interpose/interpose.h"

#include <signal.h>
#include <string.h>

static uint64_t word(const sigset_t *set)
{
    uint64_t w;

    memcpy(&w, set, sizeof(w));
    return w;
}

/* Writes the kernel's word of a set, as the kernel does (the rest of the
 * program's sigset_t is left alone). */
static void set_word(sigset_t *set, uint64_t w)
{
    memcpy(set, &w, sizeof(w));
}

/* A signalfd reads signals the kernel keeps pending: they stay blocked in
 * every worker's OS mask from now on, whoever blocks them in green masks
 * (the program has blocked them, as signalfd(2) asks). Any thread. */
G_EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
    if (__builtin_expect(!g_real_ready, 0))
        g_real_init();
    if (mask)
        g_sig_kernel_own(word(mask));
    return real_signalfd(fd, mask, flags);
}

/* Returns a positive error number, as pthread_sigmask does. */
static int green_sigmask(struct g_thread *self, int how, const sigset_t *set,
                         sigset_t *old)
{
    uint64_t w, prev;
    int rc;

    if (set && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
        return EINVAL;
    if (set) {
        w = word(set);
        if (how != SIG_UNBLOCK)
            g_signals_hide(w);
    }
    rc = g_sig_setmask(self, how, set ? &w : NULL, &prev);
    if (rc == 0 && old)
        set_word(old, prev);
    return -rc;
}

G_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    struct g_thread *self = hook_enter_self();

    if (!self)
        return real_pthread_sigmask(how, set, old);
    return green_sigmask(self, how, set, old);
}

G_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    struct g_thread *self = hook_enter_self();
    int rc;

    if (!self)
        return real_sigprocmask(how, set, old);
    rc = green_sigmask(self, how, set, old);
    return (int)g_ret(-rc);
}

G_EXPORT int sigpending(sigset_t *set)
{
    struct g_thread *self = hook_enter_self();

    if (real_sigpending(set) != 0 || !self)
        return self ? -1 : 0;
    /* The kernel's (the worker's and the process's) and ours. */
    set_word(set, word(set) | g_sig_pending(self));
    return 0;
}

G_EXPORT int sigsuspend(const sigset_t *mask)
{
    struct g_thread *self = hook_enter();
    uint64_t w;
    int rc;

    if (!self)
        return real_sigsuspend(mask);
    w = word(mask);
    g_signals_hide(w);
    g_testcancel();
    rc = g_sig_suspend(self, &w);
    if (rc == -ECANCELED)
        g_cancel_act(self);
    return (int)g_ret(rc);
}

G_EXPORT int pause(void)
{
    struct g_thread *self = hook_enter();
    int rc;

    if (!self)
        return real_pause();
    g_testcancel();
    rc = g_sig_suspend(self, NULL);
    if (rc == -ECANCELED)
        g_cancel_act(self);
    return (int)g_ret(rc);
}

/* May park. The three sigwaits: the signal, or -EAGAIN, -EINTR, -EINVAL. */
static int green_sigwait(struct g_thread *self, const sigset_t *set,
                         siginfo_t *info, const struct timespec *timeout)
{
    int64_t deadline = G_NEVER;
    siginfo_t local;
    int rc;

    if (timeout) {
        rc = g_deadline_after(timeout, &deadline);
        if (rc < 0)
            return rc;
    }
    g_testcancel();
    rc = g_sig_wait(self, word(set), info ? info : &local, deadline);
    if (rc == -ECANCELED)
        g_cancel_act(self);
    return rc;
}

G_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info,
                          const struct timespec *timeout)
{
    struct g_thread *self = hook_enter();

    if (!self)
        return real_sigtimedwait(set, info, timeout);
    return (int)g_ret(green_sigwait(self, set, info, timeout));
}

G_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
    struct g_thread *self = hook_enter();

    if (!self)
        return real_sigwaitinfo(set, info);
    return (int)g_ret(green_sigwait(self, set, info, NULL));
}

/* sigwait never fails with EINTR: it waits on after a handler ran. */
G_EXPORT int sigwait(const sigset_t *set, int *sig)
{
    struct g_thread *self = hook_enter();
    int rc;

    if (!self)
        return real_sigwait(set, sig);
    while ((rc = green_sigwait(self, set, NULL, NULL)) == -EINTR)
        ;
    if (rc < 0)
        return -rc;
    *sig = rc;
    return 0;
}

/*
 * The BSD and System V mask calls. glibc makes them on its internal
 * sigprocmask, where no hook sees them: dash's sigsetmask(0) in its SIGINT
 * handler left the signal blocked for the green thread, so the shell
 * exited 130 instead of dying of SIGINT. A BSD mask is an int, bit sig - 1
 * for the signals 1 to 32.
 */
static int bsd_mask(int how, int mask)
{
    sigset_t set, old;

    sigemptyset(&set);
    set_word(&set, (uint32_t)mask);
    sigprocmask(how, &set, &old);
    return (int)(uint32_t)word(&old);
}

G_EXPORT int sigblock(int mask)
{
    return bsd_mask(SIG_BLOCK, mask);
}

G_EXPORT int sigsetmask(int mask)
{
    return bsd_mask(SIG_SETMASK, mask);
}

G_EXPORT int siggetmask(void)
{
    return bsd_mask(SIG_BLOCK, 0);
}

static int one_signal(int how, int sig)
{
    sigset_t set;

    sigemptyset(&set);
    if (sigaddset(&set, sig) != 0)
        return -1; /* EINVAL */
    return sigprocmask(how, &set, NULL);
}

G_EXPORT int sighold(int sig)
{
    return one_signal(SIG_BLOCK, sig);
}

G_EXPORT int sigrelse(int sig)
{
    return one_signal(SIG_UNBLOCK, sig);
}

/* X/Open's sigpause lets sig in while it waits; BSD's waits with mask. */
G_EXPORT int __sigpause(int sig_or_mask, int is_sig)
{
    sigset_t set;

    if (is_sig) {
        sigprocmask(SIG_BLOCK, NULL, &set);
        if (sigdelset(&set, sig_or_mask) != 0)
            return -1; /* EINVAL */
    } else {
        sigemptyset(&set);
        set_word(&set, (uint32_t)sig_or_mask);
    }
    return sigsuspend(&set);
}

G_EXPORT int __xpg_sigpause(int sig)
{
    return __sigpause(sig, 1);
}

/* <signal.h> names X/Open's "sigpause"; the symbol is BSD's. */
G_EXPORT int bsd_sigpause(int mask) __asm__("sigpause");
G_EXPORT int bsd_sigpause(int mask)
{
    return __sigpause(mask, 0);
}
