/*
 * shim/heap.c: the pointer-linked binary min-heap behind each worker's
 * timers. The heap stays complete: the node at 1-based position i has its
 * children at 2i and 2i+1, and the binary digits of a position, read after
 * the leading 1, are the left/right turns from the root down to it.
 */
#include "shim/heap.h"

#include <stddef.h>

/* Swap node c into the place of its parent p, and p into c's place. */
static void swap_with_parent(struct g_heap *h, struct g_heap_node *p,
                             struct g_heap_node *c)
{
    struct g_heap_node *pl = p->left, *pr = p->right, *pp = p->parent;
    struct g_heap_node *sibling;

    p->left = c->left;
    p->right = c->right;
    p->parent = c;
    if (p->left)
        p->left->parent = p;
    if (p->right)
        p->right->parent = p;

    if (pl == c) {
        c->left = p;
        c->right = pr;
        sibling = pr;
    } else {
        c->left = pl;
        c->right = p;
        sibling = pl;
    }
    if (sibling)
        sibling->parent = c;
    c->parent = pp;

    if (!pp)
        h->min = c;
    else if (pp->left == p)
        pp->left = c;
    else
        pp->right = c;
}

/* The link that holds (or will hold) the node at 1-based position pos. */
static struct g_heap_node **slot_of(struct g_heap *h, unsigned long pos,
                                    struct g_heap_node **parent)
{
    struct g_heap_node **link = &h->min;
    unsigned long path = 0;
    int depth = 0;

    *parent = NULL;
    for (; pos >= 2; pos >>= 1, depth++)
        path = (path << 1) | (pos & 1);
    for (; depth > 0; depth--, path >>= 1) {
        *parent = *link;
        link = (path & 1) ? &(*link)->right : &(*link)->left;
    }
    return link;
}

static void sift_up(struct g_heap *h, struct g_heap_node *n)
{
    while (n->parent && n->key < n->parent->key)
        swap_with_parent(h, n->parent, n);
}

static void sift_down(struct g_heap *h, struct g_heap_node *n)
{
    for (;;) {
        struct g_heap_node *least = n;

        if (n->left && n->left->key < least->key)
            least = n->left;
        if (n->right && n->right->key < least->key)
            least = n->right;
        if (least == n)
            return;
        swap_with_parent(h, n, least);
    }
}

void g_heap_insert(struct g_heap *h, struct g_heap_node *n)
{
    struct g_heap_node *parent;
    struct g_heap_node **link = slot_of(h, h->count + 1, &parent);

    n->left = NULL;
    n->right = NULL;
    n->parent = parent;
    *link = n;
    h->count++;
    sift_up(h, n);
}

void g_heap_remove(struct g_heap *h, struct g_heap_node *n)
{
    struct g_heap_node *parent;
    struct g_heap_node **link = slot_of(h, h->count, &parent);
    struct g_heap_node *last = *link;

    /* Detach the last node; it then takes n's place, if it is not n. */
    *link = NULL;
    h->count--;
    if (last == n)
        return;

    last->left = n->left;
    last->right = n->right;
    last->parent = n->parent;
    if (last->left)
        last->left->parent = last;
    if (last->right)
        last->right->parent = last;
    if (!n->parent)
        h->min = last;
    else if (n->parent->left == n)
        n->parent->left = last;
    else
        n->parent->right = last;

    sift_down(h, last);
    sift_up(h, last);
}
