/*
 * detached: threads detached through their attributes, by their creator with
 * pthread_detach, and by themselves; each bumps an atomic counter that main
 * waits on, since detached threads cannot be joined. Joining or detaching a
 * detached thread that is still alive (so its id is still valid) must fail
 * with EINVAL.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_progs.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "detached"
#include "progs.h"

enum { N_ATTR = 1000, N_CALL = 1000, N_SELF = 100 };

static atomic_int attr_done;
static atomic_int call_done;
static atomic_int self_done;
static atomic_int self_detach_failed;
static atomic_int held_started;
static atomic_int held_release;
static atomic_int held_done;

/* Not progs.h's ename: any other answer prints as "other". */
static const char *join_answer(int e)
{
    switch (e) {
    case 0:
        return "0";
    case EINVAL:
        return "EINVAL";
    case ESRCH:
        return "ESRCH";
    case EDEADLK:
        return "EDEADLK";
    default:
        return "other";
    }
}

static void *bump(void *arg)
{
    atomic_fetch_add_explicit((atomic_int *)arg, 1, memory_order_release);
    return NULL;
}

static void *detach_self(void *arg)
{
    if (pthread_detach(pthread_self()) != 0)
        atomic_fetch_add(&self_detach_failed, 1);
    return bump(arg);
}

/* Stays alive until main has tried to join and detach it again. */
static void *held(void *arg)
{
    (void)arg;
    atomic_fetch_add(&held_started, 1);
    while (!atomic_load_explicit(&held_release, memory_order_acquire))
        nap_ms(1);
    atomic_fetch_add(&held_done, 1);
    return NULL;
}

/* Two ways of waiting for detached threads: yielding, and sleeping. */
static void yield_until(atomic_int *counter, int n)
{
    while (atomic_load_explicit(counter, memory_order_acquire) < n)
        sched_yield();
}

static void sleep_until(atomic_int *counter, int n)
{
    while (atomic_load_explicit(counter, memory_order_acquire) < n)
        nap_ms(1);
}

static void detached_by_attr(void)
{
    pthread_attr_t attr;
    int state = -1;

    check_rc(pthread_attr_init(&attr), "pthread_attr_init");
    check_rc(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED),
             "pthread_attr_setdetachstate");
    check_rc(pthread_attr_getdetachstate(&attr, &state),
             "pthread_attr_getdetachstate");
    check(state == PTHREAD_CREATE_DETACHED, "attr detach state");
    for (int i = 0; i < N_ATTR; i++) {
        pthread_t t;

        check_rc(pthread_create(&t, &attr, bump, &attr_done), "pthread_create");
    }
    pthread_attr_destroy(&attr);
    yield_until(&attr_done, N_ATTR);
    printf("detached by attribute: %d threads finished\n",
           atomic_load(&attr_done));
}

static void detached_by_call(void)
{
    for (int i = 0; i < N_CALL; i++) {
        pthread_t t;

        check_rc(pthread_create(&t, NULL, bump, &call_done), "pthread_create");
        check_rc(pthread_detach(t), "pthread_detach");
    }
    sleep_until(&call_done, N_CALL);
    printf("detached by pthread_detach: %d threads finished\n",
           atomic_load(&call_done));
}

static void detached_by_self(void)
{
    for (int i = 0; i < N_SELF; i++) {
        pthread_t t;

        check_rc(pthread_create(&t, NULL, detach_self, &self_done),
                 "pthread_create");
    }
    sleep_until(&self_done, N_SELF);
    printf("detached by themselves: %d threads finished, %d detach errors\n",
           atomic_load(&self_done), atomic_load(&self_detach_failed));
}

static void join_detached(void)
{
    pthread_attr_t attr;
    pthread_t by_attr, by_call;

    check_rc(pthread_attr_init(&attr), "pthread_attr_init");
    check_rc(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED),
             "pthread_attr_setdetachstate");
    check_rc(pthread_create(&by_attr, &attr, held, NULL), "pthread_create");
    pthread_attr_destroy(&attr);
    check_rc(pthread_create(&by_call, NULL, held, NULL), "pthread_create");
    check_rc(pthread_detach(by_call), "pthread_detach");
    sleep_until(&held_started, 2);

    /* Both are alive until held_release is set, so their ids are valid. */
    printf("join of a live thread detached by attribute: %s\n",
           join_answer(pthread_join(by_attr, NULL)));
    printf("join of a live thread detached by pthread_detach: %s\n",
           join_answer(pthread_join(by_call, NULL)));
    printf("second pthread_detach of a live thread: %s\n",
           join_answer(pthread_detach(by_call)));
    atomic_store_explicit(&held_release, 1, memory_order_release);
    sleep_until(&held_done, 2);
    printf("held threads finished: %d\n", atomic_load(&held_done));
}

int main(void)
{
    detached_by_attr();
    detached_by_call();
    detached_by_self();
    join_detached();
    return 0;
}
