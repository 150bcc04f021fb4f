/*
 * shim/heap.h: an intrusive binary min-heap of deadlines.
 *
 * Nodes are linked by pointers, not stored in an array, so inserting never
 * allocates: a waiter's node lives in the waiter record on its green stack.
 * A heap belongs to one worker; no locking.
 */
#ifndef G_HEAP_H
#define G_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct g_heap_node {
    struct g_heap_node *left;
    struct g_heap_node *right;
    struct g_heap_node *parent;
    int64_t key; /* deadline, CLOCK_MONOTONIC nanoseconds */
};

struct g_heap {
    struct g_heap_node *min;
    unsigned long count;
};

static inline void g_heap_init(struct g_heap *h)
{
    h->min = NULL;
    h->count = 0;
}

void g_heap_insert(struct g_heap *h, struct g_heap_node *n);
void g_heap_remove(struct g_heap *h, struct g_heap_node *n);

#endif
