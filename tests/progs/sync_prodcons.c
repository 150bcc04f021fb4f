/*
 * sync_prodcons: 64 producers and 64 consumers pass 1,000,000 items through
 * a bounded buffer of 64 slots, first guarded by one mutex and two condvars
 * (not full, not empty), then by two counting semaphores (free slots, filled
 * slots) and a mutex. Each producer makes 15,625 distinct items, each
 * consumer takes 15,625; every item is counted and summed, and each must be
 * seen exactly once.
 *
 * stdout: the count and checksums of each phase, the same natively and
 * green. stderr carries "os_threads_max=N", sampled once all 128 threads of a
 * phase exist (129 threads natively: the runner bounds it for green runs).
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_sync.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG_NAME "sync_prodcons"
#include "progs.h"

enum {
    PRODUCERS = 64,
    CONSUMERS = 64,
    ITEMS = 1000000,
    PER_PRODUCER = ITEMS / PRODUCERS,
    PER_CONSUMER = ITEMS / CONSUMERS,
    SLOTS = 64,
};

/* The ring and what was consumed, shared by both phases. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t ring[SLOTS];
static unsigned head, tail, filled;
static unsigned char seen[ITEMS];

/* Per consumer, summed by main after the joins. */
struct tally {
    long count;
    uint64_t sum;
    uint64_t mix; /* sum of item * item, wrapping */
};
static struct tally tallies[CONSUMERS];

static void put(uint32_t item)
{
    ring[head] = item;
    head = (head + 1) % SLOTS;
    filled++;
}

static uint32_t take(void)
{
    uint32_t item = ring[tail];

    tail = (tail + 1) % SLOTS;
    filled--;
    return item;
}

static void count(struct tally *t, uint32_t item)
{
    t->count++;
    t->sum += item;
    t->mix += (uint64_t)item * item;
    /* Each item is taken by exactly one consumer; a duplicate or a lost
     * one shows in the check after the joins. */
    seen[item]++;
}

/* --- mutex and two condvars --------------------------------------------- */

static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;

static void *cv_producer(void *arg)
{
    uint32_t base = (uint32_t)(uintptr_t)arg * PER_PRODUCER;

    for (uint32_t i = 0; i < PER_PRODUCER; i++) {
        check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
        while (filled == SLOTS)
            check_rc(pthread_cond_wait(&not_full, &lock), "pthread_cond_wait");
        put(base + i);
        check_rc(pthread_cond_signal(&not_empty), "pthread_cond_signal");
        check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    }
    return NULL;
}

static void *cv_consumer(void *arg)
{
    struct tally *t = arg;

    for (int i = 0; i < PER_CONSUMER; i++) {
        check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
        while (filled == 0)
            check_rc(pthread_cond_wait(&not_empty, &lock), "pthread_cond_wait");
        count(t, take());
        check_rc(pthread_cond_signal(&not_full), "pthread_cond_signal");
        check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    }
    return NULL;
}

/* --- two semaphores and a mutex ----------------------------------------- */

static sem_t free_slots, full_slots;

static void *sem_producer(void *arg)
{
    uint32_t base = (uint32_t)(uintptr_t)arg * PER_PRODUCER;

    for (uint32_t i = 0; i < PER_PRODUCER; i++) {
        check_errno(sem_wait(&free_slots), "sem_wait");
        check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
        put(base + i);
        check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
        check_errno(sem_post(&full_slots), "sem_post");
    }
    return NULL;
}

static void *sem_consumer(void *arg)
{
    struct tally *t = arg;

    for (int i = 0; i < PER_CONSUMER; i++) {
        check_errno(sem_wait(&full_slots), "sem_wait");
        check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
        count(t, take());
        check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
        check_errno(sem_post(&free_slots), "sem_post");
    }
    return NULL;
}

/* Runs one phase and prints its totals. */
static void phase(const char *name, void *(*producer)(void *),
                  void *(*consumer)(void *))
{
    static pthread_t prod[PRODUCERS], cons[CONSUMERS];
    struct tally total = {0, 0, 0};
    long once = 0;

    memset(tallies, 0, sizeof(tallies));
    memset(seen, 0, sizeof(seen));
    head = tail = filled = 0;
    for (int i = 0; i < CONSUMERS; i++)
        check_rc(pthread_create(&cons[i], NULL, consumer, &tallies[i]),
                 "pthread_create");
    for (uintptr_t i = 0; i < PRODUCERS; i++)
        check_rc(pthread_create(&prod[i], NULL, producer, (void *)i),
                 "pthread_create");
    sample_threads();
    for (int i = 0; i < PRODUCERS; i++)
        check_rc(pthread_join(prod[i], NULL), "pthread_join");
    for (int i = 0; i < CONSUMERS; i++) {
        check_rc(pthread_join(cons[i], NULL), "pthread_join");
        total.count += tallies[i].count;
        total.sum += tallies[i].sum;
        total.mix += tallies[i].mix;
    }
    for (int i = 0; i < ITEMS; i++)
        once += seen[i] == 1;
    printf("%s: %ld items, sum %llu, mix %llu, %ld seen exactly once, "
           "%u left\n",
           name, total.count, (unsigned long long)total.sum,
           (unsigned long long)total.mix, once, filled);
}

int main(void)
{
    phase("mutex+condvars", cv_producer, cv_consumer);

    check_errno(sem_init(&free_slots, 0, SLOTS), "sem_init");
    check_errno(sem_init(&full_slots, 0, 0), "sem_init");
    phase("semaphores", sem_producer, sem_consumer);
    check_errno(sem_destroy(&free_slots), "sem_destroy");
    check_errno(sem_destroy(&full_slots), "sem_destroy");

    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
