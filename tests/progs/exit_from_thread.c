/*
 * exit_from_thread: a thread calls exit(3) while main is blocked in
 * pthread_join, another thread sleeps for 100 s and a third is blocked
 * joining the sleeper. The process must end at once with status 3, flushing
 * stdout and running the atexit handler.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_progs.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "exit_from_thread"
#include "progs.h"

static atomic_int ready;
static pthread_t sleeper_thread;

static void *sleeper(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&ready, 1, memory_order_release);
    sleep(100);
    printf("sleeper woke: wrong\n");
    return NULL;
}

static void *sleeper_joiner(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&ready, 1, memory_order_release);
    pthread_join(sleeper_thread, NULL);
    printf("sleeper joined: wrong\n");
    return NULL;
}

/* Waits until the others have announced themselves, and a little more so
 * that they are probably inside sleep() and pthread_join(), then exits. */
static void *exiter(void *arg)
{
    (void)arg;
    while (atomic_load_explicit(&ready, memory_order_acquire) < 2)
        nap_ms(1);
    nap_ms(50);
    printf("thread calls exit(3)\n");
    exit(3);
}

static void at_exit(void)
{
    printf("atexit handler ran\n");
}

static void start(pthread_t *t, void *(*fn)(void *))
{
    int rc = pthread_create(t, NULL, fn, NULL);

    if (rc != 0) {
        fprintf(stderr, "exit_from_thread: pthread_create: %s\n", strerror(rc));
        exit(1);
    }
}

int main(void)
{
    pthread_t other, last;

    if (atexit(at_exit) != 0)
        return 1;
    printf("main started\n");
    start(&sleeper_thread, sleeper);
    start(&other, sleeper_joiner);
    start(&last, exiter);
    pthread_join(last, NULL);
    printf("main joined the exiting thread: wrong\n");
    return 0;
}
