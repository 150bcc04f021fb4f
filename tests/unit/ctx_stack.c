/*
 * tests/unit/ctx_stack.c: stacks and the fcontext switch (ctx/).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctx/ctx.h"

static size_t page(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

Test(ctx_stack, map_gives_the_size_asked_for_writable_end_to_end)
{
    struct g_stack *st = g_stack_map(100000, page());

    cr_assert_not_null(st);
    cr_assert_geq(st->size, 100000);
    cr_assert_eq((uintptr_t)g_stack_top(st) % 16, 0, "top is 16-aligned");
    memset(st->base, 0xa5, st->size);
    cr_assert_eq(((unsigned char *)st->base)[0], 0xa5);
    cr_assert_not(st->user);
    g_stack_unmap(st);
}

Test(ctx_stack, guard_page_below_the_stack_faults, .signal = SIGSEGV)
{
    struct g_stack *st = g_stack_map(64 * 1024, page());

    cr_assert_not_null(st);
    ((volatile char *)st->base)[-1] = 1; /* into the guard: must fault */
}

Test(ctx_stack, pool_reuses_a_freed_stack_without_mapping)
{
    struct g_stack_pool pool;
    struct g_stack *a, *b;

    g_stack_pool_init(&pool, 64 * 1024, page(), 2);
    a = g_stack_pool_get(&pool);
    cr_assert_not_null(a);
    g_stack_pool_put(&pool, a);
    cr_assert_eq(pool.count, 1);
    b = g_stack_pool_get(&pool);
    cr_assert_eq(a, b, "the same stack comes back");
    cr_assert_eq(pool.count, 0);
    g_stack_pool_put(&pool, b);
}

Test(ctx_stack, pool_keeps_at_most_max_and_only_its_size)
{
    struct g_stack_pool pool;
    struct g_stack *s[3], *other;

    g_stack_pool_init(&pool, 64 * 1024, page(), 2);
    for (int i = 0; i < 3; i++)
        s[i] = g_stack_pool_get(&pool);
    for (int i = 0; i < 3; i++)
        g_stack_pool_put(&pool, s[i]);
    cr_assert_eq(pool.count, 2, "the third is unmapped");

    other = g_stack_map(256 * 1024, page());
    g_stack_pool_put(&pool, other);
    cr_assert_eq(pool.count, 2, "a stack of another size is not pooled");
    cr_assert_neq(g_stack_pool_get(&pool), other);
}

static size_t resident_pages(void *base, size_t len)
{
    size_t n = len / page(), count = 0;
    unsigned char vec[n];

    cr_assert_eq(mincore(base, len, vec), 0);
    for (size_t i = 0; i < n; i++)
        count += vec[i] & 1;
    return count;
}

Test(ctx_stack, trim_returns_deep_pages_and_keeps_the_top)
{
    struct g_stack_pool pool;
    struct g_stack *st;
    size_t deep;

    g_stack_pool_init(&pool, 1024 * 1024, page(), 4);
    st = g_stack_pool_get(&pool);
    memset(st->base, 1, st->size); /* touch every page */
    deep = st->size - G_STACK_KEEP;
    deep -= deep % page();
    cr_assert_eq(resident_pages(st->base, deep), deep / page());
    g_stack_pool_put(&pool, st);
    g_stack_pool_trim(&pool);
    cr_assert_eq(resident_pages(st->base, deep), 0, "deep pages released");
    cr_assert_gt(resident_pages((char *)st->base + deep, page()), 0,
                 "the top stays resident");
    cr_assert_not(st->dirty);
}

/* Lines of /proc/self/maps: the process's mappings. */
static int mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;

    cr_assert_not_null(f);
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Whether this kernel has MADV_GUARD_INSTALL (6.13), which lets a slab's
 * guards leave it one mapping. */
static bool guard_markers(void)
{
    char *p = mmap(NULL, 2 * page(), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bool ok = madvise(p, page(), 102 /* MADV_GUARD_INSTALL */) == 0;

    munmap(p, 2 * page());
    return ok;
}

Test(ctx_stack, stacks_of_a_pool_share_one_mapping)
{
    struct g_stack_pool pool;
    struct g_stack *st[200];
    int before;

    if (!guard_markers())
        cr_skip_test("no MADV_GUARD_INSTALL: guards split the slabs");
    g_stack_pool_init(&pool, 64 * 1024, page(), 256);
    before = mappings();
    for (int i = 0; i < 200; i++) {
        st[i] = g_stack_pool_get(&pool);
        cr_assert_not_null(st[i]);
        cr_assert(st[i]->slab);
        memset(st[i]->base, 1, st[i]->size);
    }
    /* Slabs of 1, 2, 4 ... 128 stacks: 8 mappings at most (the kernel may
     * merge neighbours), where a mapping and a guard each made 400. */
    cr_assert_leq(mappings() - before, 8, "200 stacks, %d new mappings",
                  mappings() - before);
}

Test(ctx_stack, guard_below_a_slab_stack_faults, .signal = SIGSEGV)
{
    struct g_stack_pool pool;
    struct g_stack *st;

    g_stack_pool_init(&pool, 64 * 1024, page(), 2);
    st = g_stack_pool_get(&pool);
    cr_assert(st && st->slab);
    ((volatile char *)st->base)[-1] = 1; /* into the guard: must fault */
}

Test(ctx_stack, a_stack_given_back_to_its_slab_is_emptied_and_reused)
{
    struct g_stack_pool pool;
    struct g_stack *first, *a, *other, *b;
    void *base;
    size_t len;

    g_stack_pool_init(&pool, 64 * 1024, page(), 0); /* keeps none */
    first = g_stack_pool_get(&pool); /* the first slab holds one */
    a = g_stack_pool_get(&pool);     /* the second two */
    other = g_stack_pool_get(&pool); /* ... which keeps it mapped */
    cr_assert(first && first->slab && a && a->slab);
    cr_assert_neq(a->slab, first->slab);
    cr_assert_eq(a->slab, other->slab);
    base = a->base;
    len = a->size + G_STACK_HEADER;
    memset(base, 1, a->size);
    cr_assert_eq(resident_pages(base, len), len / page());
    g_stack_pool_put(&pool, a);
    cr_assert_eq(pool.count, 0);
    cr_assert_eq(resident_pages(base, len), 0, "its memory went back");
    b = g_stack_pool_get(&pool);
    cr_assert_eq(b->base, base, "the slot is reused");
    cr_assert_eq(b->size, pool.size);
}

Test(ctx_stack, a_slab_whose_stacks_all_came_back_is_unmapped)
{
    struct g_stack_pool pool;
    struct g_stack *st;
    unsigned char vec;
    void *base;

    g_stack_pool_init(&pool, 64 * 1024, page(), 0);
    st = g_stack_pool_get(&pool); /* alone in the first slab */
    base = st->base;
    cr_assert_eq(mincore(base, page(), &vec), 0);
    g_stack_pool_put(&pool, st);
    cr_assert_eq(mincore(base, page(), &vec), -1, "still mapped");
    cr_assert_eq(errno, ENOMEM);
}

/* A context that adds one to what it is sent and sends it back. */
static void echo_plus_one(struct g_transfer t)
{
    for (;;)
        t = jump_fcontext(t.fctx, (void *)((uintptr_t)t.data + 1));
}

/* The same through g_jump on both sides, with values live across the
 * switch (a sum, a double, a long double): the other side's floating
 * point must not reach them. */
static volatile double scratch;

static void echo_plus_one_by_g_jump(struct g_transfer t)
{
    for (;;) {
        long double x = (long double)(uintptr_t)t.data * 3.0L + 0.5L;

        scratch = (double)(x / 7.0L) + (double)(uintptr_t)t.data * 1.25;
        t = g_jump(t.fctx, (void *)((uintptr_t)t.data + 1));
    }
}

Test(ctx_stack, g_jump_round_trips_keep_data_and_live_values)
{
    struct g_stack *st = g_stack_map(64 * 1024, page());
    g_fctx ctx = make_fcontext(g_stack_top(st), st->size,
                               echo_plus_one_by_g_jump);
    double kept = 1.5;
    long double wide = 2.25L;
    uintptr_t sum = 0, wrong = 0;

    /* No call in the loop, so that the compiler may keep them in
     * registers across the switch. */
    for (uintptr_t i = 0; i < 100000; i++) {
        struct g_transfer t = g_jump(ctx, (void *)i);

        wrong += (uintptr_t)t.data != i + 1;
        sum += (uintptr_t)t.data;
        wide += 1.0L;
        kept *= 1.0000001;
        ctx = t.fctx;
    }
    cr_assert_eq(wrong, 0);
    cr_assert_eq(sum, (uintptr_t)100000 * 100001 / 2);
    cr_assert(kept > 1.51 && kept < 1.52, "kept %f", kept);
    cr_assert(wide == 2.25L + 100000.0L);
}

Test(ctx_stack, fcontext_round_trips_carry_data_both_ways)
{
    struct g_stack *st = g_stack_map(64 * 1024, page());
    g_fctx ctx = make_fcontext(g_stack_top(st), st->size, echo_plus_one);

    for (uintptr_t i = 0; i < 100000; i++) {
        struct g_transfer t = jump_fcontext(ctx, (void *)i);

        cr_assert_eq((uintptr_t)t.data, i + 1);
        ctx = t.fctx;
    }
}
