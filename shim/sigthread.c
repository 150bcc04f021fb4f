/*
 * shim/sigthread.c: a green thread taking its signals (shim/signal.c): its
 * handlers run on its own stack, at a point where nothing of libgreen is
 * linked or locked for it; the calls that end or restart for them; its
 * mask and the calls that wait for signals (sigsuspend, sigwait); signals
 * sent to it (pthread_kill); and jumps out of its handlers. Runs on the
 * green thread itself, except g_sig_run_here, in the trampoline.
 */
#include "shim/sigstate.h"

#include <assert.h>
#include <setjmp.h>
#include <string.h>
#include <ucontext.h>

/* --- delivery on the green thread --- */

void g_sig_run_here(int sig, siginfo_t *info, void *context,
                    const struct g_sigact *act)
{
    struct g_thread *here = g_tls_self;
    uint64_t mask, before = 0;

    if (act->handler == SIG_IGN)
        return;
    if (act->handler == SIG_DFL) {
        g_sig_default(sig); /* our stand-in's */
        return;
    }
    /* The thread's own mask while its handler runs, as the kernel sets
     * the OS thread's for a native one, and back after it, whatever the
     * handler did. The kernel blocked the signal on this OS thread for the
     * trampoline: the handler itself runs with it let in again, so that
     * the signals of the thread keep coming to this worker (the thread's
     * mask keeps them for after the handler). On a thread that is not
     * green the OS mask is the program's: the handler's mask goes there,
     * and sigreturn puts it back. */
    g_sig_program(sig, NULL, &mask);
    if (!here) {
        g_sig_os_mask(SIG_BLOCK, sig_blockable(mask), NULL);
        if (act->flags & SA_NODEFER)
            g_sig_os_mask(SIG_UNBLOCK, sig_bit(sig), NULL);
    } else {
        before = g_sig_blocked(here);
        if (here->sig_depth++ == 0)
            here->sig_blocked_before = before;
        g_sig_set_blocked(
            here, sig_blockable(before | mask |
                                (act->flags & SA_NODEFER ? 0 : sig_bit(sig))));
        g_sig_os_mask(SIG_UNBLOCK, sig_bit(sig), NULL);
    }
    if (act->flags & SA_SIGINFO)
        ((void (*)(int, siginfo_t *, void *))act->handler)(sig, info, context);
    else
        ((void (*)(int))act->handler)(sig);
    if (here) {
        /* A jump inside the handler ended every level (g_sig_jumped):
         * the count must not go below 0, or the thread would never
         * count as green again. */
        if (here->sig_depth > 0)
            here->sig_depth--;
        g_sig_set_blocked(here, before);
    }
}

/* Run one signal's disposition on self, at a point where nothing of
 * libgreen is linked or locked for it: 0, or G_SIG_RAN with
 * G_SIG_NORESTART if its handler lacks SA_RESTART. */
static int run_one(struct g_thread *self, siginfo_t *info, void *handler,
                   int flags, bool ours)
{
    int sig = info->si_signo;
    unsigned window_epoch;
    uint64_t mask, before;
    unsigned char critical;
    bool window;
    ucontext_t uc;

    if (!handler) {
        handler = g_sig_program(sig, &flags, &mask);
        /* A signal we send ourselves (pthread_kill of a green thread)
         * takes a one-shot handler as a kernel delivery would. */
        if (ours && (flags & SA_RESETHAND) && handler != SIG_DFL &&
            handler != SIG_IGN && !g_sig_one_shot(sig, handler))
            handler = g_sig_program(sig, &flags, &mask);
    } else {
        g_sig_program(sig, NULL, &mask);
    }
    if (handler == SIG_IGN)
        return 0;
    if (handler == SIG_DFL) {
        g_sig_default(sig);
        return 0;
    }
    before = g_sig_blocked(self);
    if (self->sig_depth++ == 0)
        self->sig_blocked_before = before;
    g_sig_set_blocked(
        self,
        sig_blockable(before | mask | (flags & SA_NODEFER ? 0 : sig_bit(sig))));
    /* The handler is the program's own code: its waits are not the call's
     * window, and signals may interrupt it at once. */
    window = self->sig_window;
    window_epoch = self->sig_window_epoch;
    critical = self->sig_critical;
    self->sig_window = false;
    self->sig_critical = 0;
    if (flags & SA_SIGINFO) {
        getcontext(&uc);
        memcpy(&uc.uc_sigmask, &before, sizeof(before));
        ((void (*)(int, siginfo_t *, void *))handler)(sig, info, &uc);
    } else {
        ((void (*)(int))handler)(sig);
    }
    self->sig_critical = critical;
    self->sig_window = window;
    self->sig_window_epoch = window_epoch;
    if (self->sig_depth > 0) /* as in g_sig_run_here */
        self->sig_depth--;
    g_sig_set_blocked(self, before);
    return G_SIG_RAN | (flags & SA_RESTART ? 0 : G_SIG_NORESTART);
}

/* Deliver, one at a time, the records of list that self does not block;
 * each is taken off before its handler runs, which may jump away. */
static int deliver_list(struct g_thread *self, struct g_sigrec *_Atomic *list,
                        _Atomic uint64_t *bits)
{
    struct g_sigrec *r;
    int ran = 0;

    while ((r = g_sigrec_take_one(list, bits, ~g_sig_blocked(self)))) {
        struct g_sigrec copy = *r;

        g_sigrec_free(r);
        ran |= run_one(self, &copy.info, copy.handler, copy.flags, copy.ours);
    }
    return ran;
}

int g_sig_deliver(struct g_thread *self)
{
    int ran = deliver_list(self, &self->sig_pending, &self->sig_pending_bits);

    ran |= deliver_list(self, &g_sig_proc_pending, &g_sig_proc_bits);
    self->sig_ran |= (unsigned char)ran;
    return ran;
}

bool g_sig_deliverable(struct g_thread *self)
{
    uint64_t open = ~g_sig_blocked(self);

    return ((atomic_load_explicit(&self->sig_pending_bits,
                                  memory_order_relaxed) |
             atomic_load_explicit(&g_sig_proc_bits, memory_order_relaxed)) &
            open) != 0;
}

void g_sig_critical_end(struct g_thread *self)
{
    assert(self->sig_critical > 0);
    /* What the section kept from running at once runs now. */
    if (--self->sig_critical == 0 && g_sig_due(self))
        g_sig_deliver(self);
}

bool g_sig_restart(struct g_thread *self, bool restartable)
{
    int ran;

    g_sig_deliver(self);
    ran = self->sig_ran;
    self->sig_ran = 0;
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
    if (g_tls_in_handler > 0) /* a jump in a handler zeroed it */
        g_tls_in_handler--;
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
    g_sig_set_blocked(self, sig_blockable(cur));
    /* Pending signals it unblocked are delivered before the call returns. */
    g_sig_deliver(self);
    return 0;
}

uint64_t g_sig_pending(struct g_thread *self)
{
    return (atomic_load_explicit(&self->sig_pending_bits,
                                 memory_order_relaxed) |
            atomic_load_explicit(&g_sig_proc_bits, memory_order_relaxed)) &
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
        g_sig_set_blocked(self, sig_blockable(*mask));
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
        g_sig_set_blocked(self, win->before);
}

int g_sig_suspend(struct g_thread *self, const uint64_t *mask)
{
    struct g_sig_window win;
    int rc = 0, ran;

    g_sig_window_begin(self, mask, &win);
    ran = g_sig_deliver(self); /* pending ones the mask lets in */
    while (!(ran & G_SIG_RAN) && !g_sig_window_hit(self, &win)) {
        struct g_waiter w;

        self->sig_critical++;
        g_waiter_init(&w, true);
        w.interruptible = true;
        rc = g_wait(&w, G_NEVER);
        self->sig_critical--;
        if (rc == -ECANCELED)
            break;
        ran = g_sig_deliver(self);
    }
    g_sig_window_end(self, &win);
    self->sig_ran = 0;
    return rc == -ECANCELED ? rc : -EINTR;
}

int g_sig_wait(struct g_thread *self, uint64_t set, siginfo_t *info,
               int64_t deadline)
{
    struct g_sig_window win;
    int rc = 0;

    set = sig_blockable(set);
    atomic_store_explicit(&self->sig_waiting, set, memory_order_seq_cst);
    g_sig_sigwait_enter(self);
    g_sig_window_begin(self, NULL, &win);
    for (;;) {
        struct g_sigrec *r =
            g_sigrec_take_one(&self->sig_pending, &self->sig_pending_bits, set);
        struct g_waiter w;

        if (!r)
            r = g_sigrec_take_one(&g_sig_proc_pending, &g_sig_proc_bits, set);
        if (r) {
            *info = r->info;
            g_sigrec_free(r);
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
        self->sig_critical++;
        g_waiter_init(&w, true);
        w.interruptible = true;
        rc = g_wait(&w, deadline);
        self->sig_critical--;
        if (rc == -ECANCELED)
            break;
        win.epoch =
            atomic_load_explicit(&self->sig_epoch, memory_order_seq_cst);
        self->sig_window_epoch = win.epoch;
    }
    g_sig_sigwait_leave(self);
    atomic_store_explicit(&self->sig_waiting, 0, memory_order_relaxed);
    g_sig_window_end(self, &win);
    self->sig_ran = 0;
    return rc;
}

int g_sig_send(struct g_thread *t, int sig, const siginfo_t *info)
{
    struct g_thread *self = g_self();
    void *handler = g_sig_program(sig, NULL, NULL);
    bool blocked =
        (g_sig_blocked(t) & sig_bit(sig)) &&
        !(atomic_load_explicit(&t->sig_waiting, memory_order_relaxed) &
          sig_bit(sig));
    struct g_sigrec *r;

    if (!blocked) {
        if (g_sig_ignored(sig, handler))
            return 0;
        if (handler == SIG_DFL) {
            g_sig_default(sig); /* for the whole process */
            return 0;
        }
    }
    if (g_sigrec_merges(&t->sig_pending_bits, sig))
        return 0;
    if (!(r = g_sig_record(sig, info, NULL, true)))
        return -EAGAIN;
    if (t == self) {
        /* raise(): delivered before the call returns. */
        g_sigrec_push(&t->sig_pending, &t->sig_pending_bits, r);
        g_sig_deliver(self);
        return 0;
    }
    g_sig_hand_over(t, r);
    return 0;
}

void g_sig_forked(struct g_thread *self)
{
    /* The child's only thread is a plain one again: its OS mask is what
     * the forking green thread blocked. */
    if (self)
        g_sig_os_mask(SIG_SETMASK, g_sig_blocked(self), NULL);
}

/* Where a green thread's mask goes in a sigjmp_buf: its last two words,
 * which glibc never fills (the kernel's mask is the first 8 bytes). */
#define JMP_MAGIC 0x67726e6d61736b31UL /* "grnmask1" */

void g_sig_setjmp(struct __jmp_buf_tag *env, int savemask)
{
    struct g_thread *self = g_self();
    unsigned long *words = env->__saved_mask.__val;
    size_t n = sizeof(env->__saved_mask.__val) / sizeof(words[0]);

    /* Without a mask the buffer may be shorter than a sigjmp_buf
     * (pthread_cleanup_push's), and g_sig_jumped reads no mask from it. */
    if (!savemask)
        return;
    if (self) {
        words[n - 2] = JMP_MAGIC;
        words[n - 1] = g_sig_blocked(self);
    } else {
        words[n - 2] = 0;
    }
}

/* The stack pointer a glibc jmp_buf holds (x86-64: word 6, mangled with
 * the thread's pointer guard, as PTR_MANGLE does). */
static uintptr_t jmp_target_sp(const struct __jmp_buf_tag *env)
{
    uintptr_t v = (uintptr_t)env->__jmpbuf[6], guard;

    __asm__("mov %%fs:0x30, %0" : "=r"(guard));
    return ((v >> 0x11) | (v << (64 - 0x11))) ^ guard;
}

void g_sig_jumped(struct g_thread *self, const struct __jmp_buf_tag *env)
{
    const unsigned long *words;
    int depth;
    size_t n;

    if (!self)
        return;
    if (env) {
        uintptr_t sp = jmp_target_sp(env);
        const struct g_stack *st = self->stack;

        /* Only a jump within the thread's own stack leaves its frames. */
        if (st && sp > (uintptr_t)st->base &&
            sp <= (uintptr_t)st->base + st->size)
            g_unwind_to(self, sp);
    }
    /* A jump leaves libgreen's frames (a handler run inside a call) and
     * the windows open in them. */
    depth = self->sig_depth;
    self->sig_critical = 0;
    self->sig_window = false;
    self->sig_depth = 0;
    /* No buffer (the thread's exit), or one without a mask: the mask
     * stays as it is, as natively. */
    if (!env || !env->__mask_was_saved)
        return;
    words = env->__saved_mask.__val;
    n = sizeof(env->__saved_mask.__val) / sizeof(words[0]);
    if (words[n - 2] == JMP_MAGIC)
        g_sig_set_blocked(self, sig_blockable(words[n - 1]));
    else if (depth > 0)
        g_sig_set_blocked(self, self->sig_blocked_before); /* setjmp's buffer */
}
