/*
 * nested: a tree of threads, 4 levels deep below main with a fanout of 4
 * (340 threads). Each node starts all its children before joining any and
 * returns the node count and the id sum of its subtree, which are added up
 * the tree.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_progs.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG_NAME "nested"
#include "progs.h"

enum { DEPTH = 4, FANOUT = 4 };

/* Nodes are numbered as in a heap: main is 0, the children of n are
 * n * FANOUT + 1 .. n * FANOUT + FANOUT, so the ids are 1..340. */
struct node {
    uint64_t id;
    int depth;
    uint64_t count; /* result: nodes in this subtree, itself included */
    uint64_t sum;   /* result: sum of their ids */
};

static void *grow(void *arg)
{
    struct node *self = arg;
    struct node kids[FANOUT];
    pthread_t threads[FANOUT];

    self->count = 1;
    self->sum = self->id;
    if (self->depth == DEPTH)
        return self;
    for (int k = 0; k < FANOUT; k++) {
        kids[k] = (struct node){.id = self->id * FANOUT + k + 1,
                                .depth = self->depth + 1};
        check_rc(pthread_create(&threads[k], NULL, grow, &kids[k]),
                 "pthread_create");
    }
    for (int k = 0; k < FANOUT; k++) {
        void *ret;

        check_rc(pthread_join(threads[k], &ret), "pthread_join");
        if (ret != &kids[k]) {
            fprintf(stderr, "nested: wrong value from join\n");
            exit(1);
        }
        self->count += kids[k].count;
        self->sum += kids[k].sum;
    }
    return self;
}

int main(void)
{
    struct node root = {.id = 0, .depth = 0};

    grow(&root);
    /* main itself is not a thread it made */
    printf("threads in the tree: %llu\n", (unsigned long long)root.count - 1);
    printf("sum of their ids: %llu\n", (unsigned long long)root.sum);
    return 0;
}
