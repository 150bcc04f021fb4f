/*
 * exit_main: main calls pthread_exit while its threads still sleep; they
 * wake, print in turn, and end. The process must then exit with status 0
 * after the last of them, flushing stdout and running the atexit handler.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_progs.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "exit_main"
#include "progs.h"

enum { N_THREADS = 5 };

static atomic_int main_printed;
static atomic_int turn;

/* Sleeps long enough for main to be gone, then prints when its turn comes;
 * the turn counter forces the order of the lines. */
static void *late(void *arg)
{
    int i = (int)(intptr_t)arg;

    while (!atomic_load_explicit(&main_printed, memory_order_acquire))
        nap_ms(1);
    nap_ms(100 + 20 * (N_THREADS - i));
    while (atomic_load_explicit(&turn, memory_order_acquire) != i)
        nap_ms(1);
    printf("thread %d woke and prints\n", i);
    atomic_fetch_add_explicit(&turn, 1, memory_order_release);
    return NULL;
}

static void at_exit(void)
{
    printf("atexit handler: %d threads printed before it\n",
           atomic_load(&turn));
}

int main(void)
{
    if (atexit(at_exit) != 0)
        return 1;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_t t;
        int rc = pthread_create(&t, NULL, late, (void *)(intptr_t)i);

        if (rc != 0) {
            fprintf(stderr, "exit_main: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    printf("main calls pthread_exit\n");
    atomic_store_explicit(&main_printed, 1, memory_order_release);
    pthread_exit(NULL);
}
