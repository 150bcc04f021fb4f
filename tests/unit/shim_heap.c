/*
 * tests/unit/shim_heap.c: the timer heap (shim/heap.c).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "shim/heap.h"

#define N 5000

static struct g_heap_node nodes[N];

static int64_t pop_min(struct g_heap *h)
{
    struct g_heap_node *n = h->min;

    g_heap_remove(h, n);
    return n->key;
}

Test(shim_heap, pops_in_key_order_after_random_inserts)
{
    struct g_heap h;
    int64_t last = INT64_MIN;

    srand(1);
    g_heap_init(&h);
    for (int i = 0; i < N; i++) {
        nodes[i].key = rand() % 1000;
        g_heap_insert(&h, &nodes[i]);
    }
    cr_assert_eq(h.count, N);
    for (int i = 0; i < N; i++) {
        int64_t k = pop_min(&h);

        cr_assert_geq(k, last);
        last = k;
    }
    cr_assert_null(h.min);
    cr_assert_eq(h.count, 0);
}

Test(shim_heap, removing_any_node_keeps_the_order)
{
    struct g_heap h;
    bool gone[N] = {false};
    int64_t last = INT64_MIN;
    unsigned long left = N;

    srand(2);
    g_heap_init(&h);
    for (int i = 0; i < N; i++) {
        nodes[i].key = rand() % 100000;
        g_heap_insert(&h, &nodes[i]);
    }
    /* Remove every third node, from anywhere in the heap. */
    for (int i = 0; i < N; i += 3) {
        g_heap_remove(&h, &nodes[i]);
        gone[i] = true;
        left--;
    }
    cr_assert_eq(h.count, left);
    while (h.min) {
        struct g_heap_node *n = h.min;

        cr_assert_not(gone[n - nodes], "a removed node came back");
        cr_assert_geq(n->key, last);
        last = n->key;
        g_heap_remove(&h, n);
        left--;
    }
    cr_assert_eq(left, 0);
}

Test(shim_heap, equal_keys_and_single_node)
{
    struct g_heap h;

    g_heap_init(&h);
    nodes[0].key = 7;
    g_heap_insert(&h, &nodes[0]);
    cr_assert_eq(h.min, &nodes[0]);
    g_heap_remove(&h, &nodes[0]);
    cr_assert_null(h.min);
    for (int i = 0; i < 10; i++) {
        nodes[i].key = 5;
        g_heap_insert(&h, &nodes[i]);
    }
    for (int i = 0; i < 10; i++)
        cr_assert_eq(pop_min(&h), 5);
    cr_assert_eq(h.count, 0);
}
