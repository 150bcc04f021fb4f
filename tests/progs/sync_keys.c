/*
 * sync_keys: thread-specific data. 100 threads each store their own value
 * under one key, sleep (so that others run in between) and check that
 * getspecific still gives their own value; after the joins the key's
 * destructor has run exactly once per thread, with that thread's value, and
 * main's own value is untouched. A destructor that stores a new value is
 * called again, at most PTHREAD_DESTRUCTOR_ITERATIONS times in all (glibc's
 * count is printed). Destructors run on pthread_exit as on return, not for
 * NULL values, and not for a key deleted before the thread ends. A key
 * never set reads NULL, in main and in a new thread; a key created after a
 * delete reads NULL too.
 *
 * stdout shows counts only. stderr carries "os_threads_max=N", sampled while
 * the 100 threads wait (101 natively: the runner bounds it for green runs).
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_sync.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "sync_keys"
#include "progs.h"

enum { THREADS = 100 };

static pthread_key_t key, again_key, deleted_key, unset_key;
static int values[THREADS];
static atomic_int dtor_calls;
static atomic_int dtor_hits[THREADS]; /* per value: how often destroyed */
static atomic_int dtor_foreign;       /* called with a value not ours */
static atomic_int again_calls;
static atomic_int deleted_calls;
static atomic_int own_value_ok;
static atomic_int unset_null;
static atomic_int ready;
static atomic_int release;

static void dtor(void *value)
{
    int *v = value;

    atomic_fetch_add(&dtor_calls, 1);
    if (v >= values && v < values + THREADS && *v == v - values)
        atomic_fetch_add(&dtor_hits[v - values], 1);
    else
        atomic_fetch_add(&dtor_foreign, 1);
}

/* Stores a fresh value every time it is called, which asks for another
 * round. */
static void again_dtor(void *value)
{
    (void)value;
    atomic_fetch_add(&again_calls, 1);
    pthread_setspecific(again_key, &again_calls);
}

static void deleted_dtor(void *value)
{
    (void)value;
    atomic_fetch_add(&deleted_calls, 1);
}

static void *worker(void *arg)
{
    int i = (int)(intptr_t)arg;

    if (pthread_getspecific(unset_key) == NULL &&
        pthread_getspecific(key) == NULL)
        atomic_fetch_add(&unset_null, 1);
    check_rc(pthread_setspecific(key, &values[i]), "pthread_setspecific");
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&release))
        nap_ms(1);
    for (int n = 0; n < 3; n++) {
        nap_ms(1);
        if (pthread_getspecific(key) != &values[i])
            return NULL;
    }
    atomic_fetch_add(&own_value_ok, 1);
    if (i % 2)
        pthread_exit(NULL); /* destructors run on this way out too */
    return NULL;
}

static void *again_worker(void *arg)
{
    (void)arg;
    check_rc(pthread_setspecific(again_key, &again_calls),
             "pthread_setspecific");
    return NULL;
}

static void *deleted_worker(void *arg)
{
    atomic_int *step = arg;

    check_rc(pthread_setspecific(deleted_key, &deleted_calls),
             "pthread_setspecific");
    /* NULL values are not destroyed either. */
    check_rc(pthread_setspecific(key, NULL), "pthread_setspecific");
    atomic_store(step, 1);
    while (atomic_load(step) != 2)
        nap_ms(1);
    return NULL;
}

int main(void)
{
    static pthread_t t[THREADS];
    int main_value = -1, once_each = 0;
    atomic_int step = 0;
    pthread_key_t fresh;

    for (int i = 0; i < THREADS; i++)
        values[i] = i;
    check_rc(pthread_key_create(&key, dtor), "pthread_key_create");
    check_rc(pthread_key_create(&again_key, again_dtor), "pthread_key_create");
    check_rc(pthread_key_create(&deleted_key, deleted_dtor),
             "pthread_key_create");
    check_rc(pthread_key_create(&unset_key, dtor), "pthread_key_create");

    /* So that a key made after deleted_key is deleted may reuse a slot
     * that held a value in main. */
    check_rc(pthread_setspecific(deleted_key, &main_value),
             "pthread_setspecific");
    printf("main, never set: %s\n",
           pthread_getspecific(unset_key) ? "not NULL" : "NULL");
    check_rc(pthread_setspecific(key, &main_value), "pthread_setspecific");

    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i),
                 "pthread_create");
    while (atomic_load(&ready) < THREADS)
        nap_ms(1);
    sample_threads();
    atomic_store(&release, 1);
    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    for (int i = 0; i < THREADS; i++)
        once_each += atomic_load(&dtor_hits[i]) == 1;
    printf("%d threads: %d read NULL before setting, %d kept their own "
           "value\n",
           THREADS, atomic_load(&unset_null), atomic_load(&own_value_ok));
    printf("destructor: %d calls, %d values destroyed exactly once, %d "
           "foreign\n",
           atomic_load(&dtor_calls), once_each, atomic_load(&dtor_foreign));
    printf("main's value kept: %s\n",
           pthread_getspecific(key) == &main_value ? "yes" : "no");

    check_rc(pthread_create(&t[0], NULL, again_worker, NULL), "pthread_create");
    check_rc(pthread_join(t[0], NULL), "pthread_join");
    printf("destructor that sets a new value: %d calls "
           "(PTHREAD_DESTRUCTOR_ITERATIONS %d)\n",
           atomic_load(&again_calls), PTHREAD_DESTRUCTOR_ITERATIONS);

    atomic_store(&dtor_calls, 0);
    check_rc(pthread_create(&t[0], NULL, deleted_worker, &step),
             "pthread_create");
    while (atomic_load(&step) != 1)
        nap_ms(1);
    printf("key_delete: %d\n", pthread_key_delete(deleted_key));
    atomic_store(&step, 2);
    check_rc(pthread_join(t[0], NULL), "pthread_join");
    printf("deleted key's destructor: %d calls; NULL value's: %d calls\n",
           atomic_load(&deleted_calls), atomic_load(&dtor_calls));

    check_rc(pthread_key_create(&fresh, NULL), "pthread_key_create");
    printf("key created after a delete reads: %s\n",
           pthread_getspecific(fresh) ? "not NULL" : "NULL");
    check_rc(pthread_key_delete(fresh), "pthread_key_delete");
    check_rc(pthread_setspecific(key, NULL), "pthread_setspecific");
    printf("key_delete of the main key: %d\n", pthread_key_delete(key));

    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
