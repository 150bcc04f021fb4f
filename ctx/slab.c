/*
 * ctx/slab.c: stacks of one size carved from slabs, so that a million of
 * them fit under the kernel's limit on mappings.
 *
 * vm.max_map_count is 65,530 by default, and a stack of its own mapping
 * with a PROT_NONE guard is two mappings: 32,000 threads. A slab holds up
 * to SLAB_STACKS stacks of one size in one mapping; the guard below each
 * is a MADV_GUARD_INSTALL marker (Linux 6.13), which faults like PROT_NONE
 * but does not split the mapping, so a million stacks are 2,000 mappings. On an
 * older kernel the guards are mprotect()ed, two mappings per stack as
 * before, and the slabs only save the mmap calls.
 *
 * A slot's layout is a separate stack's: guard, usable stack, header
 * (stack.c). Slots given back are emptied (MADV_DONTNEED: their memory goes
 * back to the kernel, the guard marker stays) and reused first. Slabs are
 * never unmapped. Any thread: one spinlock, held for a few instructions
 * or, rarely, one mmap.
 */
#include "ctx/ctx.h"

#include <errno.h>
#include <stdatomic.h>
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
/* Stack sizes with slabs at once: the workers' pool size, and a few for
 * tests. Other sizes get mappings of their own. */
#define CLASSES 4

struct class {
    size_t size;        /* usable bytes of its stacks; 0: a free class */
    size_t guard;       /* bytes below each */
    size_t slot;        /* guard + size + header */
    size_t per_slab;    /* stacks in the next slab */
    size_t most;        /* ... at most */
    char *next, *end;   /* the unused slots of the newest slab */
    char **returned;    /* slots given back: their lowest address */
    size_t nreturned;
    size_t cap;         /* of returned, a mapping of its own */
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

static struct class *class_of(size_t size, size_t guard)
{
    for (int i = 0; i < CLASSES; i++) {
        struct class *c = &classes[i];

        if (!c->size) {
            c->size = size;
            c->guard = guard;
            c->slot = guard + size + G_STACK_HEADER;
            c->per_slab = 1;
            c->most = SLAB_BYTES / c->slot;
            if (c->most > SLAB_STACKS)
                c->most = SLAB_STACKS;
            if (c->most < 1)
                c->most = 1;
        }
        if (c->size == size && c->guard == guard)
            return c;
    }
    return NULL;
}

/* Under the lock: the guard of a slot carved for the first time. */
static bool install_guard(char *slot, size_t guard)
{
    if (!guard)
        return true;
    if (markers != 0) {
        if (madvise(slot, guard, MADV_GUARD_INSTALL) == 0) {
            markers = 1;
            return true;
        }
        if (errno != EINVAL || markers == 1)
            return false;
        markers = 0; /* a kernel before 6.13 */
    }
    return mprotect(slot, guard, PROT_NONE) == 0;
}

/* Under the lock: a slot never used, from the newest slab or a new one. */
static char *carve(struct class *c)
{
    char *slot;

    if (c->next == c->end) {
        char *map = mmap(NULL, c->slot * c->per_slab, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
                             MAP_STACK,
                         -1, 0);

        if (map == MAP_FAILED)
            return NULL;
        c->next = map;
        c->end = map + c->slot * c->per_slab;
        if (c->per_slab * 2 <= c->most)
            c->per_slab *= 2;
    }
    slot = c->next;
    if (!install_guard(slot, c->guard))
        return NULL; /* the slot stays first in line for the next try */
    c->next += c->slot;
    return slot;
}

struct g_stack *g_slab_get(size_t size, size_t guard)
{
    struct class *c;
    struct g_stack *st;
    char *slot = NULL;

    slab_lock();
    c = class_of(size, guard);
    if (c)
        slot = c->nreturned ? c->returned[--c->nreturned] : carve(c);
    slab_unlock();
    if (!slot)
        return NULL;
    st = (struct g_stack *)(slot + c->slot - G_STACK_HEADER);
    st->base = slot + guard;
    st->size = size;
    st->guard = guard;
    st->user = false;
    st->slab = true;
    st->dirty = true;
    st->next = NULL;
    return st;
}

/* Under the lock: room for one more returned slot. */
static bool room_to_return(struct class *c)
{
    size_t cap = c->cap ? c->cap * 2 : 4096;
    char **grown;

    if (c->nreturned < c->cap)
        return true;
    grown = c->returned
                ? mremap(c->returned, c->cap * sizeof(char *),
                         cap * sizeof(char *), MREMAP_MAYMOVE)
                : mmap(NULL, cap * sizeof(char *), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (grown == MAP_FAILED)
        return false;
    c->returned = grown;
    c->cap = cap;
    return true;
}

void g_slab_put(struct g_stack *st)
{
    size_t size = st->size, guard = st->guard;
    char *slot = (char *)st->base - guard;
    struct class *c;

    /* The header goes too: it is written again on reuse. */
    madvise(slot + guard, size + G_STACK_HEADER, MADV_DONTNEED);
    slab_lock();
    c = class_of(size, guard);
    /* Without room the slot is lost to reuse, its memory already free. */
    if (c && room_to_return(c))
        c->returned[c->nreturned++] = slot;
    slab_unlock();
}
