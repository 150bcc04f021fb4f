/*
 * many_alive: N threads with default attributes (so with the default,
 * RLIMIT_STACK-deep stack each) alive at once, then all joined.
 *
 *   many_alive [N]     (default 100000)
 *
 * Each thread counts itself in and waits on a semaphore; once all N are in,
 * main samples its OS thread count, posts N units and joins every thread.
 * stdout: how many were created, alive at once and joined; stderr:
 * "os_threads=N" (sampled with all N waiting) and "wall_ms=N". A plain
 * pthread program that knows nothing of libgreen. Natively it stops at the
 * kernel's limits (pid_max is 32,768 here; each thread also costs a kernel
 * stack); tests/diff_progs.c runs it green only, where 100,000 threads are
 * 100,000 stacks of 8 MiB reserved, beyond the 65,530 mappings of
 * vm.max_map_count at two mappings per stack.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "many_alive"
#include "progs.h"

static sem_t go;
static atomic_long arrived;

static void *wait_for_go(void *arg)
{
    (void)arg;
    atomic_fetch_add(&arrived, 1);
    check_errno(sem_wait(&go), "sem_wait");
    return arg;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000, created = 0;
    long joined = 0;
    int64_t start = now_ns(CLOCK_MONOTONIC);
    pthread_t *t;

    check(n > 0, "N > 0");
    t = calloc((size_t)n, sizeof(*t));
    check(t != NULL, "calloc");
    check_errno(sem_init(&go, 0, 0), "sem_init");
    for (; created < n; created++) {
        int rc = pthread_create(&t[created], NULL, wait_for_go,
                                (void *)(intptr_t)created);

        if (rc != 0) {
            printf("pthread_create %ld: %s\n", created, ename(rc));
            break;
        }
    }
    while (atomic_load(&arrived) < created)
        nap_ms(10);
    printf("created %ld, alive at once %ld\n", created, atomic_load(&arrived));
    fprintf(stderr, "os_threads=%d\n", os_threads());
    for (long i = 0; i < created; i++)
        check_errno(sem_post(&go), "sem_post");
    for (long i = 0; i < created; i++) {
        void *ret;

        check_rc(pthread_join(t[i], &ret), "pthread_join");
        joined += ret == (void *)(intptr_t)i;
    }
    printf("joined %ld with their own return value\n", joined);
    fprintf(stderr, "wall_ms=%lld\n", (long long)((now_ns(CLOCK_MONOTONIC) - start) / 1000000));
    free(t);
    return 0;
}
