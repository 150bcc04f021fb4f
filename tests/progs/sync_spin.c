/*
 * sync_spin: spinlocks. 8 threads add 1 to a counter 100,000 times each
 * under one spinlock; trylock of a held spinlock is EBUSY. Then one thread
 * takes the spinlock and sleeps 20 ms (nanosleep) holding it, while 4 others
 * spin in pthread_spin_lock to get it: everyone must get through (under
 * libgreen with one worker, the spinners must let the sleeper run).
 *
 * stdout shows totals only. stderr carries "os_threads_max=N", sampled while
 * the spinners wait (a handful of threads natively: the runner does not
 * bound it).
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_sync.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "sync_spin"
#include "progs.h"

enum { THREADS = 8, ADDS = 100000, SPINNERS = 4 };

static pthread_spinlock_t spin;
static long counter;
static atomic_int spinning;
static atomic_int holding;

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < ADDS; i++) {
        check_rc(pthread_spin_lock(&spin), "pthread_spin_lock");
        counter++;
        check_rc(pthread_spin_unlock(&spin), "pthread_spin_unlock");
    }
    return NULL;
}

static void *trier(void *arg)
{
    int *rc = arg;

    *rc = pthread_spin_trylock(&spin);
    if (*rc == 0)
        check_rc(pthread_spin_unlock(&spin), "pthread_spin_unlock");
    return NULL;
}

/* Takes the spinlock and sleeps 20 ms holding it, once every spinner is
 * about to spin. */
static void *sleeper(void *arg)
{
    (void)arg;
    check_rc(pthread_spin_lock(&spin), "pthread_spin_lock");
    atomic_store(&holding, 1);
    while (atomic_load(&spinning) < SPINNERS)
        nap_ms(1);
    nap_ms(20);
    counter += 1000;
    check_rc(pthread_spin_unlock(&spin), "pthread_spin_unlock");
    return NULL;
}

static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&holding))
        nap_ms(1);
    atomic_fetch_add(&spinning, 1);
    check_rc(pthread_spin_lock(&spin), "pthread_spin_lock");
    counter++;
    check_rc(pthread_spin_unlock(&spin), "pthread_spin_unlock");
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS], s[SPINNERS + 1];
    int rc = -1;

    check_rc(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE),
             "pthread_spin_init");
    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_create(&t[i], NULL, adder, NULL), "pthread_create");
    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    printf("%d threads x %d adds: counter %ld\n", THREADS, ADDS, counter);

    printf("trylock: %s\n", ename(pthread_spin_trylock(&spin)));
    check_rc(pthread_create(&t[0], NULL, trier, &rc), "pthread_create");
    check_rc(pthread_join(t[0], NULL), "pthread_join");
    printf("trylock by other while held: %s\n", ename(rc));
    printf("unlock: %s\n", ename(pthread_spin_unlock(&spin)));
    check_rc(pthread_create(&t[0], NULL, trier, &rc), "pthread_create");
    check_rc(pthread_join(t[0], NULL), "pthread_join");
    printf("trylock by other when free: %s\n", ename(rc));

    counter = 0;
    check_rc(pthread_create(&s[0], NULL, sleeper, NULL), "pthread_create");
    for (int i = 1; i <= SPINNERS; i++)
        check_rc(pthread_create(&s[i], NULL, spinner, NULL), "pthread_create");
    while (atomic_load(&spinning) < SPINNERS)
        nap_ms(1);
    sample_threads();
    for (int i = 0; i <= SPINNERS; i++)
        check_rc(pthread_join(s[i], NULL), "pthread_join");
    printf("holder slept 20 ms holding the lock, %d spinners: counter %ld\n",
           SPINNERS, counter);
    printf("destroy: %s\n", ename(pthread_spin_destroy(&spin)));

    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
