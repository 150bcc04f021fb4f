/*
 * switch_fcontext: the floor under a green hand-off, the bare
 * boost.context switch that libgreen uses, with no scheduler around it.
 *
 *   switch_fcontext [N]     (default 10000000)
 *
 * Makes one context on a malloc'd stack and does N round trips to it: main
 * jumps in, the context jumps straight back (two switches). Prints
 * "ns_per_roundtrip=N" on stdout, timed with CLOCK_MONOTONIC. Links the same
 * Debian static libboost_context.a as libgreen (scripts/meson.build); the
 * prototypes are boost.context's C ABI, written out here as in ctx/ctx.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { STACK = 64 * 1024 };

typedef void *fctx;

struct transfer {
    fctx ctx; /* the context that just switched out */
    void *data;
};

struct transfer jump_fcontext(fctx const to, void *vp);
fctx make_fcontext(void *sp, size_t size, void (*fn)(struct transfer));

static long trips;

/* Bounces every jump back to whoever jumped in; never returns. */
static void bounce(struct transfer t)
{
    for (;;)
        t = jump_fcontext(t.ctx, t.data);
}

static long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    char *stack;
    struct transfer t;
    long long t0, t1;
    long count = 0;

    trips = argc > 1 ? strtol(argv[1], NULL, 10) : 10000000;
    if (trips < 1) {
        fprintf(stderr, "usage: switch_fcontext [N >= 1]\n");
        return 2;
    }
    stack = malloc(STACK);
    if (!stack) {
        perror("malloc");
        return 1;
    }
    /* The stack grows down from its top. */
    t.ctx = make_fcontext(stack + STACK, STACK, bounce);
    t = jump_fcontext(t.ctx, &count); /* untimed: start the context */
    t0 = now_ns();
    for (long i = 0; i < trips; i++) {
        t = jump_fcontext(t.ctx, &count);
        count++;
    }
    t1 = now_ns();
    if (count != trips || t.data != &count) {
        fprintf(stderr, "switch_fcontext: %ld round trips, want %ld\n", count,
                trips);
        return 1;
    }
    printf("ns_per_roundtrip=%.1f\n", (double)(t1 - t0) / trips);
    free(stack);
    return 0;
}
