/*
 * ctx/stack.c: green thread stacks, mapped lazily and pooled.
 *
 * A stack is a guard at the bottom, the usable stack, and the struct
 * g_stack header in the top bytes: a slot of a slab (slab.c) shared with
 * other stacks of its size, or, for sizes without a slab, an anonymous
 * MAP_NORESERVE mapping of its own with a PROT_NONE guard. Nothing is
 * committed until touched, so a default reservation as deep as a native
 * thread's (RLIMIT_STACK) costs only address space. Runs in any context; a
 * pool belongs to one thread.
 */
#include "ctx/ctx.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void)
{
    static size_t page;

    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

_Static_assert(sizeof(struct g_stack) <= G_STACK_HEADER, "header too large");

/* The usable size g_stack_map gives for a request of size bytes. */
static size_t usable_size(size_t size)
{
    return round_up(size + G_STACK_HEADER, page_size()) - G_STACK_HEADER;
}

struct g_stack *g_stack_map(size_t size, size_t guard)
{
    size_t page = page_size();
    size_t usable = usable_size(size) + G_STACK_HEADER;
    size_t total;
    char *map;
    struct g_stack *st;

    guard = round_up(guard, page);
    /* A slot of a slab if one serves this size (slab.c). */
    if ((st = g_slab_get(usable - G_STACK_HEADER, guard)))
        return st;
    total = guard + usable;
    map = mmap(NULL, total, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (guard && mprotect(map, guard, PROT_NONE) != 0) {
        munmap(map, total);
        return NULL;
    }
    st = (struct g_stack *)(map + total - G_STACK_HEADER);
    st->base = map + guard;
    st->size = usable - G_STACK_HEADER;
    st->guard = guard;
    st->user = false;
    st->slab = NULL;
    st->dirty = true;
    st->next = NULL;
    return st;
}

void g_stack_unmap(struct g_stack *st)
{
    char *map = (char *)st->base - st->guard;

    if (st->slab) {
        g_slab_put(st);
        return;
    }

    munmap(map, st->guard + st->size + G_STACK_HEADER);
}

void g_stack_pool_init(struct g_stack_pool *p, size_t size, size_t guard,
                       size_t max)
{
    p->free = NULL;
    p->count = 0;
    p->max = max;
    p->size = usable_size(size);
    p->guard = round_up(guard, page_size());
}

struct g_stack *g_stack_pool_get(struct g_stack_pool *p)
{
    struct g_stack *st = p->free;

    if (!st)
        return g_stack_map(p->size, p->guard);
    p->free = st->next;
    p->count--;
    st->next = NULL;
    return st;
}

void g_stack_pool_put(struct g_stack_pool *p, struct g_stack *st)
{
    if (p->count >= p->max || st->size != p->size || st->guard != p->guard) {
        g_stack_unmap(st);
        return;
    }
    st->dirty = true;
    st->next = p->free;
    p->free = st;
    p->count++;
}

void g_stack_pool_trim(struct g_stack_pool *p)
{
    size_t page = page_size();

    size_t keep = round_up(G_STACK_KEEP, page);

    /*
     * Every put pushes a dirty stack on top and a trim cleans them all, so
     * the dirty stacks always sit above the clean ones: stop at the first
     * clean one.
     */
    for (struct g_stack *st = p->free; st && st->dirty; st = st->next) {
        if (st->size > keep)
            madvise(st->base, (st->size - keep) / page * page, MADV_DONTNEED);
        st->dirty = false;
    }
}
