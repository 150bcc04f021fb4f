/*
 * ctx: green thread stacks and the stack switch.
 *
 * Knows nothing of threads, loops or workers. The switch is boost.context's
 * fcontext assembly, linked from Debian's static libboost_context.a; only
 * these three entry points are referenced, so only their objects are pulled
 * in and nothing of the C++ runtime. Runs in any context.
 */
#ifndef G_CTX_H
#define G_CTX_H

#include <stdbool.h>
#include <stddef.h>

struct g_slab;

/* A suspended execution context: the stack pointer of a switched-out stack. */
typedef void *g_fctx;

/* What a switch delivers to the context that is resumed. */
struct g_transfer {
    g_fctx fctx; /* the context that just switched out */
    void *data;  /* the value it passed along */
};

/* boost.context's C ABI (see boost/context/detail/fcontext.hpp). */
struct g_transfer jump_fcontext(g_fctx const to, void *vp);

/*
 * jump_fcontext, entered with a pushed return address and a jump instead
 * of a call. jump_fcontext leaves by jumping to the return address it pops,
 * not by ret, so a call to it leaves one entry on the CPU's return stack
 * predictor that no ret consumes: every later return of the resumed thread
 * is then predicted one frame off and mispredicted (two per switch where
 * the bare round trip has none). Entered this way the predictor stays in
 * step. The 128 bytes skipped keep the push off the red zone. (A debugger
 * stopped inside jump_fcontext cannot unwind past this frame: its call
 * frame information does not know the 136 bytes.)
 */
static inline struct g_transfer g_jump(g_fctx to, void *vp)
{
    register void *rdi __asm__("rdi") = to;
    register void *rsi __asm__("rsi") = vp;
    register void *rax __asm__("rax");
    register void *rdx __asm__("rdx");

    __asm__ volatile("sub $128, %%rsp\n\t"
                     "lea 1f(%%rip), %%rax\n\t"
                     "push %%rax\n\t"
                     "jmp jump_fcontext@PLT\n"
                     "1:\n\t"
                     "add $128, %%rsp"
                     : "=a"(rax), "=d"(rdx), "+D"(rdi), "+S"(rsi)
                     :
                     : "rcx", "r8", "r9", "r10", "r11", "memory", "cc",
                       "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)",
                       "st(6)", "st(7)", "xmm0", "xmm1", "xmm2", "xmm3",
                       "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
#ifdef __AVX512F__
                       ,
                       "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
                       "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27",
                       "xmm28", "xmm29", "xmm30", "xmm31", "k0", "k1", "k2",
                       "k3", "k4", "k5", "k6", "k7"
#endif
    );
    return (struct g_transfer){rax, rdx};
}
g_fctx make_fcontext(void *sp, size_t size, void (*fn)(struct g_transfer));
struct g_transfer ontop_fcontext(g_fctx const to, void *vp,
                                 struct g_transfer (*fn)(struct g_transfer));

/*
 * A stack: [base, base + size) is usable and grows down from base + size.
 * Stacks we map have a guard below base that faults (a PROT_NONE page, or
 * a guard marker in a slab) and are reserved with MAP_NORESERVE, so
 * untouched pages cost address space only.
 */
struct g_stack {
    void *base;
    size_t size;
    size_t guard;         /* bytes of guard below base; 0 for user stacks */
    bool user;            /* supplied by the program: never unmapped by us */
    struct g_slab *slab;  /* the slab (slab.c) it is a slot of, or NULL for
                             a mapping of its own */
    bool dirty;           /* may hold touched pages deeper than G_STACK_KEEP */
    struct g_stack *next; /* free list link while pooled */
};

/* The header's bytes at the top of a stack's mapping or slot; the top of
 * the usable stack stays 64-aligned. */
#define G_STACK_HEADER 64

/* Pages nearest the top that stay resident when a pooled stack is trimmed. */
#define G_STACK_KEEP (64 * 1024)

/*
 * A stack with at least size usable bytes above a guard of guard bytes: a
 * slot of a slab, or a mapping of its own. Its header lives in the top
 * bytes, so a stack costs no malloc. NULL when the kernel refuses (ENOMEM,
 * vm.max_map_count).
 */
struct g_stack *g_stack_map(size_t size, size_t guard);
/* Unmap a stack of g_stack_map, or give a slab's back to its slab. */
void g_stack_unmap(struct g_stack *st);

/*
 * ctx/slab.c: a stack of usable size bytes (a multiple of the page size,
 * less the header) above a guard, from a slab shared by every stack of
 * that size: no mapping of its own. NULL when there is no slab for it (too
 * many sizes) or the kernel refuses one; then g_stack_map. g_slab_put gives
 * it back, its memory to the kernel. Any thread.
 */
struct g_stack *g_slab_get(size_t size, size_t guard);
void g_slab_put(struct g_stack *st);

static inline void *g_stack_top(const struct g_stack *st)
{
    return (char *)st->base + st->size;
}

/*
 * A free list of equally sized stacks with their headers, owned by one
 * thread (no locking). Popping and pushing never make a system call; trim()
 * returns the deep pages of stacks used since the last trim to the kernel
 * and is meant for idle moments.
 */
struct g_stack_pool {
    struct g_stack *free;
    size_t count;
    size_t max;
    size_t size; /* only stacks of this size and guard are pooled */
    size_t guard;
};

void g_stack_pool_init(struct g_stack_pool *p, size_t size, size_t guard,
                       size_t max);
/* A stack of the pool's size, from the free list, else from a slab (or
 * newly mapped); NULL on ENOMEM. */
struct g_stack *g_stack_pool_get(struct g_stack_pool *p);
/* Give back a stack: the pool keeps it, or unmaps it when full or when the
 * stack is not of the pool's size. */
void g_stack_pool_put(struct g_stack_pool *p, struct g_stack *st);
void g_stack_pool_trim(struct g_stack_pool *p);

#endif
