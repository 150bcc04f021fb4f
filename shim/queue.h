/*
 * shim/queue.h: an intrusive doubly linked circular queue.
 *
 * A struct g_queue is embedded in its owner; the head is a g_queue of its
 * own. Removal re-initialises the node, so g_queue_linked() is a cheap "is it
 * on a queue?" test. No locking: each queue has one owner, named where the
 * node is declared.
 */
#ifndef G_QUEUE_H
#define G_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct g_queue {
    struct g_queue *next;
    struct g_queue *prev;
};

#define g_queue_data(ptr, type, field)                                         \
    ((type *)((char *)(ptr)-offsetof(type, field)))

static inline void g_queue_init(struct g_queue *q)
{
    q->next = q;
    q->prev = q;
}

static inline bool g_queue_empty(const struct g_queue *head)
{
    return head->next == head;
}

/* A node is linked when it sits on some queue (after g_queue_init). */
static inline bool g_queue_linked(const struct g_queue *node)
{
    return node->next != node;
}

static inline void g_queue_insert_tail(struct g_queue *head,
                                       struct g_queue *node)
{
    node->next = head;
    node->prev = head->prev;
    node->prev->next = node;
    head->prev = node;
}

static inline void g_queue_remove(struct g_queue *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    g_queue_init(node);
}

/* Unlink and return the first node, or NULL when the queue is empty. */
static inline struct g_queue *g_queue_pop(struct g_queue *head)
{
    struct g_queue *node = head->next;

    if (node == head)
        return NULL;
    g_queue_remove(node);
    return node;
}

#endif
