/*
 * c11_threads: a program written to C11 <threads.h> alone. Threads return
 * ints (negative ones too) through thrd_join and thrd_exit, and know their
 * own thrd_current; a detached thread reports through a condition. Plain,
 * recursive and timed mutexes: a counter under contention whose holder
 * sleeps inside the lock, trylock's thrd_busy, timedlock's thrd_timedout.
 * Conditions: producers and consumers, and cnd_timedwait's thrd_timedout.
 * tss values and their destructors, call_once, thrd_sleep's answers. Then
 * pthreads taking a C11 mutex one of them holds across a sleep (it hung
 * with one loop when mtx_lock blocked the worker). Last, 1,000 threads
 * each sleep 300 ms.
 *
 * stdout is the same natively and green. stderr carries "os_threads=N"
 * (while the 1,000 sleep) and "wall_ms=N" (their run), for
 * tests/diff_progs.c to check that they are green threads sleeping at once.
 *
 * A plain C11 program that knows nothing of libgreen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <threads.h>
#include <time.h>

#define PROG_NAME "c11_threads"
#include "progs.h"

enum { N_RESULTS = 8, N_ADDERS = 16, ADDS = 500, N_ITEMS = 1000 };
enum { N_SLEEPERS = 1000, SLEEP_MS = 300 };

static void check_thrd(int rc, const char *call)
{
    if (rc != thrd_success) {
        fprintf(stderr, PROG_NAME ": %s: answer %d\n", call, rc);
        exit(1);
    }
}

static struct timespec realtime_after_ms(long ms)
{
    return after_ms(CLOCK_REALTIME, ms);
}

/* --- results and ids ---------------------------------------------------- */

static thrd_t seen_self[N_RESULTS];

static int square_minus_ten(void *arg)
{
    int i = (int)(intptr_t)arg;

    seen_self[i] = thrd_current();
    return i * i - 10;
}

static void give_up(int code)
{
    thrd_exit(code);
}

static int exits_early(void *arg)
{
    (void)arg;
    give_up(-42);
    return 0; /* not reached */
}

static mtx_t detached_lock;
static cnd_t detached_done;
static int detached_ran;

static int detached(void *arg)
{
    (void)arg;
    mtx_lock(&detached_lock);
    detached_ran = 1;
    cnd_signal(&detached_done);
    mtx_unlock(&detached_lock);
    return 0;
}

static void results(void)
{
    thrd_t ids[N_RESULTS], t;
    int res, same = 0;

    for (int i = 0; i < N_RESULTS; i++)
        check_thrd(thrd_create(&ids[i], square_minus_ten, (void *)(intptr_t)i),
                   "thrd_create");
    printf("results:");
    for (int i = 0; i < N_RESULTS; i++) {
        check_thrd(thrd_join(ids[i], &res), "thrd_join");
        printf(" %d", res);
        same += thrd_equal(ids[i], seen_self[i]) != 0;
    }
    printf("\nthrd_current matched thrd_create's id in %d of %d\n", same,
           N_RESULTS);
    printf("main is itself: %s\n",
           thrd_equal(thrd_current(), thrd_current()) ? "yes" : "no");

    check_thrd(thrd_create(&t, exits_early, NULL), "thrd_create");
    check_thrd(thrd_join(t, &res), "thrd_join");
    printf("thrd_exit in a called function: %d\n", res);

    check_thrd(mtx_init(&detached_lock, mtx_plain), "mtx_init");
    check_thrd(cnd_init(&detached_done), "cnd_init");
    check_thrd(thrd_create(&t, detached, NULL), "thrd_create");
    printf("thrd_detach: %s\n", thrd_detach(t) == thrd_success ? "ok" : "no");
    mtx_lock(&detached_lock);
    while (!detached_ran)
        cnd_wait(&detached_done, &detached_lock);
    mtx_unlock(&detached_lock);
    printf("the detached thread ran\n");
}

/* --- mutexes ------------------------------------------------------------ */

static mtx_t counter_lock;
static long counter;

static int adder(void *arg)
{
    struct timespec ms = {0, 1000000};

    (void)arg;
    for (int i = 0; i < ADDS; i++) {
        check_thrd(mtx_lock(&counter_lock), "mtx_lock");
        long seen = counter;

        if (i % 100 == 0)
            thrd_sleep(&ms, NULL); /* others queue on the lock meanwhile */
        else if (i % 10 == 0)
            thrd_yield();
        counter = seen + 1;
        check_thrd(mtx_unlock(&counter_lock), "mtx_unlock");
    }
    return 0;
}

static mtx_t timed;
static int busy_answer, timed_answer;

static int try_held(void *arg)
{
    struct timespec deadline = realtime_after_ms(50);

    (void)arg;
    busy_answer = mtx_trylock(&timed);
    timed_answer = mtx_timedlock(&timed, &deadline);
    return 0;
}

static void mutexes(void)
{
    thrd_t adders[N_ADDERS], t;
    mtx_t rec;
    int answers[6];

    check_thrd(mtx_init(&counter_lock, mtx_plain), "mtx_init");
    for (int i = 0; i < N_ADDERS; i++)
        check_thrd(thrd_create(&adders[i], adder, NULL), "thrd_create");
    for (int i = 0; i < N_ADDERS; i++)
        check_thrd(thrd_join(adders[i], NULL), "thrd_join");
    printf("%d threads added %d each: %ld\n", N_ADDERS, ADDS, counter);
    mtx_destroy(&counter_lock);

    check_thrd(mtx_init(&rec, mtx_plain | mtx_recursive), "mtx_init");
    answers[0] = mtx_lock(&rec);
    answers[1] = mtx_lock(&rec);
    answers[2] = mtx_trylock(&rec);
    for (int i = 3; i < 6; i++)
        answers[i] = mtx_unlock(&rec);
    printf("recursive: lock, lock, trylock, 3 unlocks:");
    for (int i = 0; i < 6; i++)
        printf(" %s", answers[i] == thrd_success ? "ok" : "failed");
    printf("\n");
    mtx_destroy(&rec);

    check_thrd(mtx_init(&timed, mtx_timed), "mtx_init");
    check_thrd(mtx_lock(&timed), "mtx_lock");
    check_thrd(thrd_create(&t, try_held, NULL), "thrd_create");
    check_thrd(thrd_join(t, NULL), "thrd_join");
    check_thrd(mtx_unlock(&timed), "mtx_unlock");
    printf("held elsewhere: trylock %s, timedlock %s\n",
           busy_answer == thrd_busy ? "thrd_busy" : "something else",
           timed_answer == thrd_timedout ? "thrd_timedout" : "something else");
    mtx_destroy(&timed);
}

/* --- conditions --------------------------------------------------------- */

static struct {
    mtx_t lock;
    cnd_t not_empty, not_full;
    int items[16];
    int count, head, produced, consumed;
    long sum;
} q;

static int producer(void *arg)
{
    (void)arg;
    for (;;) {
        mtx_lock(&q.lock);
        while (q.count == 16 && q.produced < N_ITEMS)
            cnd_wait(&q.not_full, &q.lock);
        if (q.produced == N_ITEMS) {
            mtx_unlock(&q.lock);
            return 0;
        }
        q.items[(q.head + q.count++) % 16] = ++q.produced;
        cnd_signal(&q.not_empty);
        mtx_unlock(&q.lock);
    }
}

static int consumer(void *arg)
{
    (void)arg;
    for (;;) {
        mtx_lock(&q.lock);
        while (q.count == 0 && q.consumed < N_ITEMS)
            cnd_wait(&q.not_empty, &q.lock);
        if (q.consumed == N_ITEMS) {
            cnd_broadcast(&q.not_empty); /* the other consumers end too */
            mtx_unlock(&q.lock);
            return 0;
        }
        q.sum += q.items[q.head];
        q.head = (q.head + 1) % 16;
        q.count--;
        q.consumed++;
        cnd_signal(&q.not_full);
        mtx_unlock(&q.lock);
    }
}

static void conditions(void)
{
    thrd_t t[4];
    struct timespec deadline = realtime_after_ms(30);
    int rc;

    check_thrd(mtx_init(&q.lock, mtx_plain), "mtx_init");
    check_thrd(cnd_init(&q.not_empty), "cnd_init");
    check_thrd(cnd_init(&q.not_full), "cnd_init");
    for (int i = 0; i < 4; i++)
        check_thrd(thrd_create(&t[i], i < 2 ? producer : consumer, NULL),
                   "thrd_create");
    for (int i = 0; i < 4; i++)
        check_thrd(thrd_join(t[i], NULL), "thrd_join");
    printf("2 producers, 2 consumers: %d items, sum %ld\n", q.consumed, q.sum);

    mtx_lock(&q.lock);
    rc = cnd_timedwait(&q.not_empty, &q.lock, &deadline);
    mtx_unlock(&q.lock);
    printf("cnd_timedwait with nobody signalling: %s\n",
           rc == thrd_timedout ? "thrd_timedout" : "something else");
    cnd_destroy(&q.not_empty);
    cnd_destroy(&q.not_full);
    mtx_destroy(&q.lock);
}

/* --- tss, call_once, thrd_sleep ------------------------------------------ */

static tss_t slot;
static atomic_int destructed;
static atomic_int inits;
static once_flag once = ONCE_FLAG_INIT;

static void free_slot(void *value)
{
    atomic_fetch_add(&destructed, 1);
    free(value);
}

static void init_once(void)
{
    atomic_fetch_add(&inits, 1);
}

static int keeper(void *arg)
{
    int *mine = malloc(sizeof(*mine));

    check(mine != NULL, "malloc");
    *mine = (int)(intptr_t)arg;
    call_once(&once, init_once);
    check_thrd(tss_set(slot, mine), "tss_set");
    thrd_yield();
    return *(int *)tss_get(slot) == (int)(intptr_t)arg;
}

static void locals_and_sleeps(void)
{
    thrd_t t[8];
    int res, kept = 0;
    struct timespec ms10 = {0, 10000000}, bad = {0, 2000000000};

    check_thrd(tss_create(&slot, free_slot), "tss_create");
    printf("tss_get before any tss_set: %s\n", tss_get(slot) ? "set" : "NULL");
    for (int i = 0; i < 8; i++)
        check_thrd(thrd_create(&t[i], keeper, (void *)(intptr_t)i),
                   "thrd_create");
    for (int i = 0; i < 8; i++) {
        check_thrd(thrd_join(t[i], &res), "thrd_join");
        kept += res;
    }
    printf("tss: %d of 8 threads kept their value, %d destructors ran\n", kept,
           atomic_load(&destructed));
    tss_delete(slot);
    printf("call_once from 8 threads: init ran %d time(s)\n",
           atomic_load(&inits));
    printf("thrd_sleep 10 ms: %d\n", thrd_sleep(&ms10, NULL));
    printf("thrd_sleep of a bad duration: %s\n",
           thrd_sleep(&bad, NULL) < -1 ? "below -1" : "something else");
}

/* --- pthreads on a C11 mutex -------------------------------------------- */

static mtx_t shared;

static void *holds_across_a_sleep(void *arg)
{
    (void)arg;
    mtx_lock(&shared);
    nap_ms(100);
    mtx_unlock(&shared);
    return NULL;
}

static void *waits_for_it(void *arg)
{
    (void)arg;
    nap_ms(10);
    mtx_lock(&shared);
    mtx_unlock(&shared);
    return NULL;
}

static void pthreads_on_a_c11_mutex(void)
{
    pthread_t a, b;

    check_thrd(mtx_init(&shared, mtx_plain), "mtx_init");
    check_rc(pthread_create(&a, NULL, holds_across_a_sleep, NULL),
             "pthread_create");
    check_rc(pthread_create(&b, NULL, waits_for_it, NULL), "pthread_create");
    check_rc(pthread_join(a, NULL), "pthread_join");
    check_rc(pthread_join(b, NULL), "pthread_join");
    mtx_destroy(&shared);
    printf("two pthreads shared a C11 mutex held across a sleep\n");
}

/* --- 1,000 sleepers ------------------------------------------------------ */

static atomic_int about_to_sleep, slept;

static int sleeper(void *arg)
{
    struct timespec d = {0, SLEEP_MS * 1000000L};

    (void)arg;
    atomic_fetch_add(&about_to_sleep, 1);
    if (thrd_sleep(&d, NULL) == 0)
        atomic_fetch_add(&slept, 1);
    return 0;
}

static void sleepers(void)
{
    static thrd_t t[N_SLEEPERS];
    int64_t start = now_ns(CLOCK_MONOTONIC);

    for (int i = 0; i < N_SLEEPERS; i++)
        check_thrd(thrd_create(&t[i], sleeper, NULL), "thrd_create");
    while (atomic_load(&about_to_sleep) < N_SLEEPERS)
        nap_ms(1);
    fprintf(stderr, "os_threads=%d\n", os_threads());
    for (int i = 0; i < N_SLEEPERS; i++)
        check_thrd(thrd_join(t[i], NULL), "thrd_join");
    fprintf(stderr, "wall_ms=%lld\n",
            (long long)((now_ns(CLOCK_MONOTONIC) - start) / 1000000));
    printf("%d threads slept %d ms\n", atomic_load(&slept), SLEEP_MS);
}

int main(void)
{
    results();
    mutexes();
    conditions();
    locals_and_sleeps();
    pthreads_on_a_c11_mutex();
    sleepers();
    return 0;
}
