/*
 * shim/sigrec.c: records of signals on their way to green threads, or
 * pending (shim/signal.c), and their lists.
 *
 * Records come from a fixed pool allocated by a bitmap, and lists are
 * lock-free stacks with a set of the signals they hold: a trampoline takes
 * and pushes them on any thread, at any moment. Past the pool a signal is
 * handled as it landed, or, blocked everywhere, is lost, as a real-time
 * signal is past RLIMIT_SIGPENDING. Any thread; async-signal-safe.
 */
#include "shim/sigstate.h"

#define RECORDS 1024
static struct g_sigrec records[RECORDS];
static _Atomic uint64_t records_used[RECORDS / 64];

struct g_sigrec *_Atomic g_sig_proc_pending;
_Atomic uint64_t g_sig_proc_bits;

struct g_sigrec *g_sigrec_alloc(void)
{
    for (int w = 0; w < RECORDS / 64; w++) {
        uint64_t used =
            atomic_load_explicit(&records_used[w], memory_order_relaxed);

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

void g_sigrec_free(struct g_sigrec *r)
{
    size_t i = (size_t)(r - records);

    atomic_fetch_and_explicit(&records_used[i / 64], ~((uint64_t)1 << i % 64),
                              memory_order_release);
}

void g_sigrec_push(struct g_sigrec *_Atomic *list, _Atomic uint64_t *bits,
                   struct g_sigrec *r)
{
    struct g_sigrec *head = atomic_load_explicit(list, memory_order_relaxed);

    atomic_fetch_or_explicit(bits, sig_bit(r->info.si_signo),
                             memory_order_seq_cst);
    do {
        r->next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        list, &head, r, memory_order_release, memory_order_relaxed));
}

/* Take the whole list, oldest first. The bits are cleared first: a record
 * pushed meanwhile sets its bit again. */
struct g_sigrec *g_sigrec_take_all(struct g_sigrec *_Atomic *list,
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

/* Put back what a taker did not take, keeping its order. */
void g_sigrec_put_back(struct g_sigrec *_Atomic *list, _Atomic uint64_t *bits,
                       struct g_sigrec *fifo)
{
    while (fifo) {
        struct g_sigrec *next = fifo->next;

        g_sigrec_push(list, bits, fifo);
        fifo = next;
    }
}

/* Take the oldest record of list whose signal is in set; put the rest
 * back before returning, so that nothing is lost if the caller's handler
 * jumps away. */
struct g_sigrec *g_sigrec_take_one(struct g_sigrec *_Atomic *list,
                                   _Atomic uint64_t *bits, uint64_t set)
{
    struct g_sigrec *fifo, *r, *found = NULL, *keep = NULL, **tail = &keep;
    int first = _NSIG;

    if (!(atomic_load_explicit(bits, memory_order_seq_cst) & set))
        return NULL;
    fifo = g_sigrec_take_all(list, bits);
    /* The lowest-numbered signal first, as Linux takes them; of those, the
     * oldest. */
    for (r = fifo; r; r = r->next)
        if ((sig_bit(r->info.si_signo) & set) && r->info.si_signo < first)
            first = r->info.si_signo;
    while (fifo) {
        r = fifo;
        fifo = r->next;
        r->next = NULL;
        if (!found && r->info.si_signo == first) {
            found = r;
            continue;
        }
        *tail = r;
        tail = &r->next;
    }
    g_sigrec_put_back(list, bits, keep);
    return found;
}

/* A standard signal is pending at most once per list; real-time signals
 * queue (signal(7)). */
bool g_sigrec_merges(_Atomic uint64_t *bits, int sig)
{
    return sig < SIGRTMIN &&
           (atomic_load_explicit(bits, memory_order_relaxed) & sig_bit(sig));
}

void g_sigrec_reset(void)
{
    for (int w = 0; w < RECORDS / 64; w++)
        atomic_store_explicit(&records_used[w], 0, memory_order_relaxed);
    atomic_store_explicit(&g_sig_proc_pending, NULL, memory_order_relaxed);
    atomic_store_explicit(&g_sig_proc_bits, 0, memory_order_relaxed);
}
