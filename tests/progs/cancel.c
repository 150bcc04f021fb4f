/*
 * cancel: deferred cancellation and cleanup handlers. A thread canceled while
 * it sleeps runs its cleanup handlers (innermost first) and its joiner gets
 * PTHREAD_CANCELED; a thread with cancellation disabled finishes its sleep
 * and is canceled at the next cancellation point once enabled; a thread
 * canceled while it waits in pthread_join leaves its target joinable;
 * pthread_exit runs handlers too, and pthread_cleanup_pop(1) runs one.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "cancel"
#include "progs.h"

static _Atomic int ready;

static void say(void *what)
{
    printf("cleanup: %s\n", (const char *)what);
}

static void wait_ready(int n)
{
    while (atomic_load(&ready) < n)
        nap_ms(1);
}

static void *sleeper(void *arg)
{
    (void)arg;
    pthread_cleanup_push(say, "outer");
    pthread_cleanup_push(say, "inner");
    atomic_fetch_add(&ready, 1);
    sleep(10); /* canceled here */
    printf("sleeper: not reached\n");
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return NULL;
}

static void *disabled(void *arg)
{
    int old;

    (void)arg;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    printf("disabled: old state %s\n",
           old == PTHREAD_CANCEL_ENABLE ? "enable" : "disable");
    pthread_cleanup_push(say, "disabled");
    atomic_fetch_add(&ready, 1);
    nap_ms(100); /* the cancel arrives meanwhile and waits */
    printf("disabled: slept through the cancel\n");
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    pthread_testcancel();
    printf("disabled: not reached\n");
    pthread_cleanup_pop(0);
    return NULL;
}

static void *long_sleeper(void *arg)
{
    (void)arg;
    nap_ms(300);
    return (void *)7;
}

static void *joiner(void *arg)
{
    pthread_t target = *(pthread_t *)arg;

    pthread_cleanup_push(say, "joiner");
    atomic_fetch_add(&ready, 1);
    pthread_join(target, NULL); /* canceled here */
    pthread_cleanup_pop(0);
    return NULL;
}

static void *exiter(void *arg)
{
    (void)arg;
    pthread_cleanup_push(say, "exit outer");
    pthread_cleanup_push(say, "popped and run");
    pthread_cleanup_pop(1);
    pthread_cleanup_push(say, "exit inner");
    pthread_exit((void *)42);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return NULL;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static sem_t empty;

static void unlock(void *m)
{
    printf("cleanup: unlock, mutex held: %s\n",
           pthread_mutex_trylock(m) == EBUSY ? "yes" : "no");
    pthread_mutex_unlock(m);
}

/* Canceled in pthread_cond_wait: the mutex is held again when its cleanup
 * handler runs. */
static void *cond_waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    pthread_cleanup_push(unlock, &lock);
    atomic_fetch_add(&ready, 1);
    for (;;)
        pthread_cond_wait(&never, &lock);
    pthread_cleanup_pop(1);
    return NULL;
}

static void *sem_waiter(void *arg)
{
    (void)arg;
    pthread_cleanup_push(say, "sem");
    atomic_fetch_add(&ready, 1);
    sem_wait(&empty);
    printf("sem_waiter: not reached\n");
    pthread_cleanup_pop(0);
    return NULL;
}

static void report(const char *name, pthread_t t)
{
    void *ret;
    int rc = pthread_join(t, &ret);

    printf("%s: join %d, %s\n", name, rc,
           ret == PTHREAD_CANCELED ? "canceled" : "not canceled");
}

int main(void)
{
    pthread_t a, b, target, j, e;
    void *ret;
    int rc;

    /* Each cancel's result is printed after the join: natively the handlers
     * may run before pthread_cancel returns. */
    pthread_create(&a, NULL, sleeper, NULL);
    wait_ready(1);
    rc = pthread_cancel(a);
    report("sleeper", a);
    printf("cancel sleeper: %d\n", rc);

    pthread_create(&b, NULL, disabled, NULL);
    wait_ready(2);
    rc = pthread_cancel(b);
    report("disabled", b);
    printf("cancel disabled: %d\n", rc);

    pthread_create(&target, NULL, long_sleeper, NULL);
    pthread_create(&j, NULL, joiner, &target);
    wait_ready(3);
    nap_ms(20); /* let the joiner block in pthread_join */
    rc = pthread_cancel(j);
    report("joiner", j);
    printf("cancel joiner: %d\n", rc);
    rc = pthread_join(target, &ret);
    printf("target still joinable: %d, value %ld\n", rc, (long)ret);

    pthread_create(&e, NULL, exiter, NULL);
    pthread_join(e, &ret);
    printf("exiter: value %ld\n", (long)ret);

    /* Many at once, so that under libgreen some sit on another worker. */
    sem_init(&empty, 0, 0);
    for (int i = 0; i < 8; i++) {
        pthread_t c, s;

        pthread_create(&c, NULL, cond_waiter, NULL);
        pthread_create(&s, NULL, sem_waiter, NULL);
        wait_ready(5 + 2 * i);
        nap_ms(5); /* let them block in their waits */
        /* One at a time: each one's handlers print before its join. */
        rc = pthread_cancel(c);
        report("cond_waiter", c);
        rc |= pthread_cancel(s);
        report("sem_waiter", s);
        printf("cancel waiters: %d\n", rc);
    }
    printf("mutex free after: %s\n",
           pthread_mutex_trylock(&lock) == 0 ? "yes" : "no");
    return 0;
}
