/*
 * ctx/slab.c: stacks of one size carved from slabs, so that a million of
 * them fit under the kernel's limit on mappings.
 *
 * vm.max_map_count is 65,530 by default, and a stack of its own mapping
 * with a PROT_NONE guard is two mappings: 32,000 threads. A slab holds up
 * to SLAB_STACKS stacks of one size in one mapping; the guard below each
 * is a MADV_GUARD_INSTALL marker (Linux 6.13), which faults like PROT_NONE
 * but does not split the mapping, so a million stacks are 2,000 mappings.
 * On an older kernel the guards are mprotect()ed, two mappings per stack
 * as before, and the slabs only save the mmap calls.
 *
 * A slot's layout is a separate stack's: guard, usable stack, header
 * (stack.c). A slot given back is emptied (MADV_DONTNEED: its memory goes
 * back to the kernel, the guard marker stays) and reused first. A slab
 * whose slots have all come back is unmapped, which also frees the page
 * tables that emptying leaves (a marker keeps its page-table page alive).
 * Any thread: one spinlock, held for a few instructions or, rarely, an
 * mmap or munmap.
 */
#include "ctx/ctx.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13's uapi value */
#endif

/* Stacks per slab: the first slab of a size holds one, each next one twice
 * as many, up to 512, and fewer when they are deep (a slab reserves at
 * most about 4 GiB, unless one stack is deeper): the address space
 * reserved stays within twice what the live stacks need, which matters to
 * a program under RLIMIT_AS. */
#define SLAB_STACKS 512
#define SLAB_BYTES (4UL << 30)
/* Stack sizes with slabs at once (a size without live stacks gives its
 * place up): the workers' pool size and the few a program asks for. Other
 * sizes get mappings of their own. */
#define CLASSES 8

struct class;

/* One slab: its record is a small mapping of its own. */
struct g_slab {
    struct class *class;
    char *base;
    uint32_t slots;   /* in the slab */
    uint32_t carved;  /* slots handed out at least once: the first ones */
    uint32_t nfree;   /* of the carved ones, given back: in free[] */
    struct g_slab *prev, *next; /* on class->partial while nfree > 0 */
    uint32_t free[];
};

struct class {
    size_t size;             /* usable bytes of its stacks; 0: a free class */
    size_t guard;            /* bytes below each */
    size_t slot;             /* guard + size + header */
    uint32_t per_slab;       /* stacks in the next slab */
    uint32_t most;           /* ... at most */
    struct g_slab *carving;  /* the newest slab, whose slots past carved
                                were never used */
    struct g_slab *partial;  /* slabs with slots given back */
    size_t slabs;            /* mapped now */
};

static struct class classes[CLASSES];
static atomic_flag lock = ATOMIC_FLAG_INIT;
static int markers = -1; /* MADV_GUARD_INSTALL works: -1 not known yet */

static void slab_lock(void)
{
    for (int spins = 0; atomic_flag_test_and_set_explicit(&lock,
                                                          memory_order_acquire);
         spins++)
        if (spins > 100)
            syscall(SYS_sched_yield); /* the holder may be in mmap */
}

static void slab_unlock(void)
{
    atomic_flag_clear_explicit(&lock, memory_order_release);
}

/* Under the lock: the class of a size, taking a free one if need be. */
static struct class *class_of(size_t size, size_t guard)
{
    struct class *c = NULL;

    for (int i = 0; i < CLASSES; i++) {
        if (classes[i].size == size && classes[i].guard == guard)
            return &classes[i];
        if (!classes[i].size && !c)
            c = &classes[i];
    }
    if (c) {
        c->size = size;
        c->guard = guard;
        c->slot = guard + size + G_STACK_HEADER;
        c->per_slab = 1;
        c->most = SLAB_BYTES / c->slot < SLAB_STACKS
                      ? (uint32_t)(SLAB_BYTES / c->slot)
                      : SLAB_STACKS;
        if (c->most < 1)
            c->most = 1;
    }
    return c;
}

static size_t record_size(uint32_t slots)
{
    return sizeof(struct g_slab) + slots * sizeof(uint32_t);
}

/* Under the lock: a new slab of c->per_slab slots (fewer if the address
 * space is short), now c's carving one. */
static struct g_slab *new_slab(struct class *c)
{
    struct g_slab *s;
    char *base;

    for (;;) {
        base = mmap(NULL, c->slot * c->per_slab, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                    -1, 0);
        if (base != MAP_FAILED)
            break;
        if (c->per_slab == 1)
            return NULL;
        c->per_slab /= 2;
    }
    s = mmap(NULL, record_size(c->per_slab), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED) {
        munmap(base, c->slot * c->per_slab);
        return NULL;
    }
    s->class = c;
    s->base = base;
    s->slots = c->per_slab;
    s->carved = 0;
    s->nfree = 0;
    s->prev = s->next = NULL;
    if (c->per_slab * 2 <= c->most)
        c->per_slab *= 2;
    c->carving = s;
    c->slabs++;
    return s;
}

/* Under the lock: the guard of a slot carved for the first time. A marker
 * where the kernel has them; else, or where it refuses one (a mapping
 * locked by mlockall), PROT_NONE, which splits the slab's mapping. */
static bool install_guard(char *slot, size_t guard)
{
    if (!guard)
        return true;
    if (markers != 0) {
        if (madvise(slot, guard, MADV_GUARD_INSTALL) == 0) {
            markers = 1;
            return true;
        }
        if (errno == EINVAL && markers == -1)
            markers = 0; /* a kernel before 6.13 */
    }
    return mprotect(slot, guard, PROT_NONE) == 0;
}

static void partial_remove(struct class *c, struct g_slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->partial = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

/* Under the lock: a slot for a stack of c, and its slab in *owner. */
static char *take_slot(struct class *c, struct g_slab **owner)
{
    struct g_slab *s = c->partial;
    char *slot;

    if (s) {
        slot = s->base + s->free[--s->nfree] * c->slot;
        if (!s->nfree)
            partial_remove(c, s);
    } else {
        s = c->carving;
        if ((!s || s->carved == s->slots) && !(s = new_slab(c)))
            return NULL;
        slot = s->base + s->carved * c->slot;
        if (!install_guard(slot, c->guard))
            return NULL; /* the slot stays first in line for the next try */
        s->carved++;
    }
    *owner = s;
    return slot;
}

struct g_stack *g_slab_get(size_t size, size_t guard)
{
    struct g_slab *owner = NULL;
    struct class *c;
    struct g_stack *st;
    char *slot = NULL;

    slab_lock();
    c = class_of(size, guard);
    if (c)
        slot = take_slot(c, &owner);
    slab_unlock();
    if (!slot)
        return NULL;
    st = (struct g_stack *)(slot + c->slot - G_STACK_HEADER);
    st->base = slot + guard;
    st->size = size;
    st->guard = guard;
    st->user = false;
    st->slab = owner;
    st->dirty = true;
    st->next = NULL;
    return st;
}

void g_slab_put(struct g_stack *st)
{
    struct g_slab *s = st->slab;
    struct class *c = s->class;
    char *slot = (char *)st->base - st->guard;
    size_t len;
    bool empty;

    /* The header goes too: it is written again on reuse. */
    madvise(st->base, st->size + G_STACK_HEADER, MADV_DONTNEED);
    slab_lock();
    s->free[s->nfree++] = (uint32_t)((size_t)(slot - s->base) / c->slot);
    if (s->nfree == 1) {
        s->next = c->partial;
        if (s->next)
            s->next->prev = s;
        c->partial = s;
    }
    /* Every slot used back: unmap it. The next slab of the size is no
     * bigger than this one (address space comes back under RLIMIT_AS), and
     * a size without slabs gives its class up. */
    empty = s->nfree == s->carved;
    len = c->slot * s->slots;
    if (empty) {
        partial_remove(c, s);
        if (c->carving == s) {
            c->carving = NULL;
            c->per_slab = s->slots;
        }
        if (--c->slabs == 0)
            *c = (struct class){0};
    }
    slab_unlock();
    if (empty) {
        munmap(s->base, len);
        munmap(s, record_size(s->slots));
    }
}
