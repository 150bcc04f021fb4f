/*
 * sync_mixed: one mutex, two condvars and two semaphores shared by a thread
 * created in a constructor and by 10 threads that main creates. Under
 * libgreen the constructor runs before the runtime starts, so its thread is
 * a real OS thread that blocks for real, while main's threads are green and
 * park: each kind must wake the other.
 *
 * All 11 take turns through the mutex to say they arrived (the last one
 * signals main), wait for main's broadcast, add 1 to a mutex-protected
 * counter 10,000 times each, then wait on a semaphore that main posts once
 * for each of them. The constructor's thread then posts another semaphore
 * that main waits on.
 *
 * stdout shows totals only. stderr carries "os_threads_max=N", sampled while
 * all 11 wait on the semaphore (12 natively: the runner bounds it for green
 * runs; the constructor's thread is one of the extra OS threads it allows).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "sync_mixed"
#include "progs.h"

enum { GREEN = 10, ALL = GREEN + 1, ADDS = 10000 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t arrived_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static sem_t posts;     /* main posts one per participant */
static sem_t ctor_done; /* the constructor's thread posts it at its end */
static int arrived, go, woke_by_broadcast, counted;
static long counter;
static atomic_int got_post;

static pthread_t ctor_thread;
static int ctor_thread_rc = -1;

static void *participant(void *arg)
{
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    if (++arrived == ALL)
        check_rc(pthread_cond_signal(&arrived_cond), "pthread_cond_signal");
    while (!go)
        check_rc(pthread_cond_wait(&go_cond, &lock), "pthread_cond_wait");
    woke_by_broadcast++;
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");

    for (int i = 0; i < ADDS; i++) {
        check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
        counter++;
        check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    }
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    if (++counted == ALL)
        check_rc(pthread_cond_signal(&arrived_cond), "pthread_cond_signal");
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");

    check_errno(sem_wait(&posts), "sem_wait");
    atomic_fetch_add(&got_post, 1);
    if (arg)
        check_errno(sem_post(&ctor_done), "sem_post");
    return NULL;
}

/* Runs before main, and before libgreen starts its runtime. */
__attribute__((constructor)) static void start_os_thread(void)
{
    check_errno(sem_init(&posts, 0, 0), "sem_init");
    check_errno(sem_init(&ctor_done, 0, 0), "sem_init");
    ctor_thread_rc = pthread_create(&ctor_thread, NULL, participant, "ctor");
}

int main(void)
{
    pthread_t t[GREEN];
    int value = -1;

    check_rc(ctor_thread_rc, "pthread_create in a constructor");
    for (int i = 0; i < GREEN; i++)
        check_rc(pthread_create(&t[i], NULL, participant, NULL),
                 "pthread_create");

    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    while (arrived < ALL)
        check_rc(pthread_cond_wait(&arrived_cond, &lock), "pthread_cond_wait");
    go = 1;
    check_rc(pthread_cond_broadcast(&go_cond), "pthread_cond_broadcast");
    while (counted < ALL)
        check_rc(pthread_cond_wait(&arrived_cond, &lock), "pthread_cond_wait");
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");

    /* Let all of them get into sem_wait. */
    nap_ms(20);
    sample_threads();
    printf("before the posts: %d got one\n", atomic_load(&got_post));
    for (int i = 0; i < ALL; i++)
        check_errno(sem_post(&posts), "sem_post");
    check_errno(sem_wait(&ctor_done), "sem_wait");
    for (int i = 0; i < GREEN; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    check_rc(pthread_join(ctor_thread, NULL), "pthread_join");
    check_errno(sem_getvalue(&posts, &value), "sem_getvalue");

    printf("%d threads arrived, %d woke by broadcast, counter %ld, "
           "%d got a post, %d posts left\n",
           arrived, woke_by_broadcast, counter, atomic_load(&got_post), value);
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
