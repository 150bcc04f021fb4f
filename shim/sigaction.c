/*
 * shim/sigaction.c: the program's dispositions, as its sigaction calls set
 * them (interpose/signal.c), the default actions libgreen takes for it,
 * and the signals a signalfd reads, which stay the kernel's.
 *
 * No locks: sigaction is async-signal-safe, a handler may call it while
 * its own thread is inside it, and the trampoline reads these on any
 * thread. Raw system calls: libc's names are our hooks.
 */
#include "shim/sigstate.h"

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What the program asked for, per signal, as its sigaction set it. */
static struct {
    _Atomic(void *) handler; /* SIG_DFL (NULL), SIG_IGN, or a function */
    _Atomic int flags;
    _Atomic uint64_t mask;
    _Atomic bool known;       /* set through us, or read from the kernel */
    _Atomic bool trampolined; /* the kernel holds our trampoline */
    _Atomic bool defaulting;  /* g_sig_default is at work on it */
} programs[_NSIG];

/* Signals a signalfd reads: blocked in every worker's OS mask, so that
 * they stay the kernel's (g_sig_kernel_own). */
static _Atomic uint64_t kernel_owned;

/* --- the program's dispositions --- */

void g_sig_program_set(int sig, void *handler, int flags, uint64_t mask)
{
    if (!sig_valid(sig))
        return;
    atomic_store_explicit(&programs[sig].flags, flags, memory_order_relaxed);
    atomic_store_explicit(&programs[sig].mask, mask, memory_order_relaxed);
    atomic_store_explicit(&programs[sig].handler, handler,
                          memory_order_release);
    atomic_store_explicit(&programs[sig].known, true, memory_order_release);
}

void *g_sig_program(int sig, int *flags, uint64_t *mask)
{
    bool ok = sig_valid(sig);

    if (flags)
        *flags = ok ? atomic_load_explicit(&programs[sig].flags,
                                           memory_order_relaxed)
                    : 0;
    if (mask)
        *mask =
            ok ? atomic_load_explicit(&programs[sig].mask, memory_order_relaxed)
               : 0;
    return ok ? atomic_load_explicit(&programs[sig].handler,
                                     memory_order_acquire)
              : SIG_DFL;
}

bool g_sig_program_known(int sig)
{
    return sig_valid(sig) &&
           atomic_load_explicit(&programs[sig].known, memory_order_acquire);
}

bool g_sig_one_shot(int sig, void *handler)
{
    /* Only one arrival takes a one-shot handler; later ones find SIG_DFL,
     * as the kernel resets it at its first delivery. */
    return sig_valid(sig) && atomic_compare_exchange_strong_explicit(
                                 &programs[sig].handler, &handler, SIG_DFL,
                                 memory_order_acq_rel, memory_order_relaxed);
}

bool g_sig_trampolined(int sig)
{
    return sig_valid(sig) && atomic_load_explicit(&programs[sig].trampolined,
                                                  memory_order_relaxed);
}

void g_sig_set_trampolined(int sig, bool yes)
{
    if (sig_valid(sig))
        atomic_store_explicit(&programs[sig].trampolined, yes,
                              memory_order_relaxed);
}

/* Whether handler, for sig, means the signal is discarded. */
bool g_sig_ignored(int sig, void *handler)
{
    return handler == SIG_IGN ||
           (handler == SIG_DFL && (sig == SIGCHLD || sig == SIGURG ||
                                   sig == SIGWINCH || sig == SIGCONT));
}

/* --- the kernel, raw: libc's names are our hooks --- */

/* The kernel's struct sigaction on x86-64. */
struct k_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

void g_sig_os_mask(int how, uint64_t set, uint64_t *old)
{
    syscall(SYS_rt_sigprocmask, how, &set, old, sizeof(set));
}

/*
 * The default action of sig, from any thread: nothing for the signals
 * whose default is to be ignored, else the kernel's own (terminate, dump
 * core, stop), by sending sig to ourselves with SIG_DFL for a moment. A
 * stop returns once the process is continued; then our trampoline goes
 * back in. One at a time per signal: a second would save SIG_DFL as the
 * disposition to put back.
 */
void g_sig_default(int sig)
{
    struct k_sigaction dfl = {.handler = SIG_DFL}, old;
    uint64_t mask;
    int saved_errno = errno;

    if (g_sig_ignored(sig, SIG_DFL) || !sig_valid(sig) ||
        atomic_exchange_explicit(&programs[sig].defaulting, true,
                                 memory_order_acq_rel))
        return;
    syscall(SYS_rt_sigaction, sig, &dfl, &old, sizeof(uint64_t));
    g_sig_os_mask(SIG_UNBLOCK, sig_bit(sig), &mask);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
    g_sig_os_mask(SIG_SETMASK, mask, NULL);
    syscall(SYS_rt_sigaction, sig, &old, NULL, sizeof(uint64_t));
    atomic_store_explicit(&programs[sig].defaulting, false,
                          memory_order_release);
    errno = saved_errno;
}

/*
 * Queue a signal back to the kernel, for a signalfd to read. The kernel
 * takes the code of kill(), tgkill() or its own (si_code >= 0) only from
 * the main OS thread; from another it becomes SI_QUEUE's, with the same
 * signal, pid and uid.
 */
void g_sig_requeue(int sig, const siginfo_t *info)
{
    siginfo_t copy = *info;

    if (syscall(SYS_rt_sigqueueinfo, getpid(), sig, &copy) != 0 &&
        errno == EPERM) {
        copy.si_code = SI_QUEUE;
        syscall(SYS_rt_sigqueueinfo, getpid(), sig, &copy);
    }
}

/* --- signals a signalfd reads --- */

void g_sig_kernel_own(uint64_t set)
{
    uint64_t was = atomic_fetch_or_explicit(&kernel_owned, sig_blockable(set),
                                            memory_order_seq_cst);
    struct g_sigrec *fifo, *keep = NULL, **tail = &keep;

    if ((was | sig_blockable(set)) == was)
        return;
    if (g_tls_worker)
        g_sig_apply_os_mask(g_tls_worker);
    for (int i = 0; i < g_nworkers; i++)
        if (atomic_load_explicit(&g_workers[i].sleeping, memory_order_seq_cst))
            g_worker_wakeup(&g_workers[i]);
    /* What came before is the kernel's again, for the signalfd to read. */
    fifo = g_sigrec_take_all(&g_sig_proc_pending, &g_sig_proc_bits);
    while (fifo) {
        struct g_sigrec *r = fifo;

        fifo = r->next;
        r->next = NULL;
        if (sig_bit(r->info.si_signo) & set) {
            g_sig_requeue(r->info.si_signo, &r->info);
            g_sigrec_free(r);
        } else {
            *tail = r;
            tail = &r->next;
        }
    }
    g_sigrec_put_back(&g_sig_proc_pending, &g_sig_proc_bits, keep);
}

void g_sig_apply_os_mask(struct g_worker *wk)
{
    uint64_t owned = atomic_load_explicit(&kernel_owned, memory_order_acquire);

    if (wk->os_owned == owned)
        return;
    wk->os_owned = owned;
    g_sig_os_mask(SIG_SETMASK, owned, NULL);
}

uint64_t g_sig_kernel_owned(void)
{
    return atomic_load_explicit(&kernel_owned, memory_order_seq_cst);
}
