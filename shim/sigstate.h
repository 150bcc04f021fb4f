/*
 * shim/sigstate.h: what the signal files of shim/ share, private to them:
 * sigrec.c (records and their lists), sigaction.c (the program's
 * dispositions, default actions, the signals a signalfd reads), signal.c
 * (who takes a signal) and sigthread.c (a green thread taking its own).
 */
#ifndef G_SIGSTATE_H
#define G_SIGSTATE_H

#include "shim/worker.h"

#include <signal.h>

/* A signal on its way to a green thread, or pending. */
struct g_sigrec {
    struct g_sigrec
        *next; /* on a thread's sig_pending or on g_sig_proc_pending */
    siginfo_t info;
    void *handler; /* a one-shot handler the trampoline already reset to
                      SIG_DFL; NULL: the disposition when it is delivered */
    int flags;     /* that handler's sa_flags */
    bool ours;     /* sent by g_sig_send, never through the kernel */
    bool directed; /* sent to its thread, not to the process */
};

/* Bit sig - 1 of a kernel signal set. */
static inline uint64_t sig_bit(int sig)
{
    return (uint64_t)1 << (sig - 1);
}

static inline bool sig_valid(int sig)
{
    return sig > 0 && sig < _NSIG;
}

/* SIGKILL and SIGSTOP cannot be blocked, nor glibc's own two, which it
 * keeps out of every mask the program sets. */
static inline uint64_t sig_blockable(uint64_t set)
{
    return set &
           ~(sig_bit(SIGKILL) | sig_bit(SIGSTOP) | sig_bit(32) | sig_bit(33));
}

/* --- sigrec.c: records, lock-free, async-signal-safe --- */

/* Signals nobody took yet, in arrival order (a LIFO list and its set). */
extern struct g_sigrec *_Atomic g_sig_proc_pending;
extern _Atomic uint64_t g_sig_proc_bits;

/* A free record, or NULL if the pool of them is used up. */
struct g_sigrec *g_sigrec_alloc(void);
void g_sigrec_free(struct g_sigrec *r);
/* Push r on a list, whose set of signals is bits. */
void g_sigrec_push(struct g_sigrec *_Atomic *list, _Atomic uint64_t *bits,
                   struct g_sigrec *r);
/* Take a whole list, oldest first; put back what was not taken. */
struct g_sigrec *g_sigrec_take_all(struct g_sigrec *_Atomic *list,
                                   _Atomic uint64_t *bits);
void g_sigrec_put_back(struct g_sigrec *_Atomic *list, _Atomic uint64_t *bits,
                       struct g_sigrec *fifo);
/* Take the oldest record of a signal in set; the rest stay on the list. */
struct g_sigrec *g_sigrec_take_one(struct g_sigrec *_Atomic *list,
                                   _Atomic uint64_t *bits, uint64_t set);
/* Whether a new sig merges with one the list holds (standard signals). */
bool g_sigrec_merges(_Atomic uint64_t *bits, int sig);
/* In a forked child: no record is in use, none pending (the child's own
 * thread holds none either: fork leaves signals pending in the parent). */
void g_sigrec_reset(void);

/* --- sigaction.c --- */

/* Whether handler, for sig, means the signal is discarded. */
bool g_sig_ignored(int sig, void *handler);
/* The calling OS thread's mask, raw: libc's calls are our hooks. */
void g_sig_os_mask(int how, uint64_t set, uint64_t *old);
/* Queue a signal back to the kernel, for a signalfd to read. */
void g_sig_requeue(int sig, const siginfo_t *info);

/* --- signal.c --- */

/* Install t's mask, keeping the counts and hints of who takes what. */
void g_sig_set_blocked(struct g_thread *t, uint64_t mask);
/* A record of sig; act (may be NULL) the disposition a one-shot delivery
 * reset; ours: sent by g_sig_send. NULL if none is left. */
struct g_sigrec *g_sig_record(int sig, const siginfo_t *info,
                              const struct g_sigact *act, bool ours);
/* Give r to t, and wake or kick t to take it unless t blocks it. */
void g_sig_hand_over(struct g_thread *t, struct g_sigrec *r);
/* The threads in sigwait, for the signals they wait for. */
void g_sig_sigwait_enter(struct g_thread *self);
void g_sig_sigwait_leave(struct g_thread *self);

#endif
