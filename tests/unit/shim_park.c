/*
 * tests/unit/shim_park.c: park / wake, timers and switching (shim/), with a
 * real runtime: each test starts two workers and runs its scenario as the
 * first green thread, which ends the test process with exit(0).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#include "shim/worker.h"

#define ROUNDS 20000

static sem_t slot_filled; /* posted when slot holds a waiter */

static void run_green(void *(*scenario)(void *))
{
    sem_init(&slot_filled, 0, 0);
    setenv("GREEN_LOOPS", "2", 1);
    g_config_load();
    g_runtime_run(scenario, NULL);
}

/*
 * Hands waiters from the green side to a plain OS thread. The OS thread
 * sleeps on a semaphore rather than spinning, so that a loaded machine does
 * not stretch every round to a time slice.
 */
static struct g_waiter *_Atomic slot;
static _Atomic int rounds_done;
static bool won[ROUNDS];

static void give_slot(struct g_waiter *w)
{
    atomic_store(&slot, w);
    sem_post(&slot_filled);
}

static struct g_waiter *take_slot(void)
{
    while (sem_wait(&slot_filled) != 0)
        ;
    return atomic_exchange(&slot, NULL);
}

static void *os_waker(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        struct g_waiter *w = take_slot();

        won[i] = g_wake(w, i);
        atomic_store(&rounds_done, i + 1);
    }
    return NULL;
}

static void *wake_before_park(void *arg)
{
    pthread_t os;

    (void)arg;
    pthread_create(&os, NULL, os_waker, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        struct g_waiter w;

        g_waiter_init(&w, false);
        give_slot(&w);
        /* The waker often wins before we park: the wake must not be lost. */
        cr_assert_eq(g_wait(&w, G_NEVER), i);
    }
    pthread_join(os, NULL);
    for (int i = 0; i < ROUNDS; i++)
        cr_assert(won[i]);
    exit(0);
}

Test(shim_park, wake_before_park_is_not_lost, .exit_code = 0, .timeout = 30)
{
    run_green(wake_before_park);
}

static void *os_late_waker(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS / 4; i++) {
        struct g_waiter *w = take_slot();

        for (volatile int spin = rand() % 20000; spin > 0; spin--)
            ;
        won[i] = g_wake(w, 1);
        atomic_store(&rounds_done, i + 1);
    }
    return NULL;
}

static void *timeout_races_wake(void *arg)
{
    struct g_thread *self = g_self();
    int timeouts = 0, wakes = 0;
    pthread_t os;

    (void)arg;
    pthread_create(&os, NULL, os_late_waker, NULL);
    for (int i = 0; i < ROUNDS / 4; i++) {
        struct g_waiter w;
        int rc;

        g_waiter_init(&w, false);
        give_slot(&w);
        rc = g_wait(&w, g_now() + (i % 40) * 1000);
        /* w must outlive the waker's attempt on it. */
        while (atomic_load(&rounds_done) < i + 1)
            g_yield(self);
        cr_assert(rc == 1 || rc == -ETIMEDOUT, "round %d: rc %d", i, rc);
        cr_assert_eq(rc == 1, won[i],
                     "round %d: rc %d but the waker %s: one winner, told", i,
                     rc, won[i] ? "won" : "lost");
        if (rc == 1)
            wakes++;
        else
            timeouts++;
    }
    pthread_join(os, NULL);
    cr_assert_eq(wakes + timeouts, ROUNDS / 4);
    exit(0);
}

Test(shim_park, timeout_racing_a_wake_has_exactly_one_winner, .exit_code = 0,
     .timeout = 60)
{
    run_green(timeout_races_wake);
}

static _Atomic int os_result = 1000;

static void *os_waiter(void *arg)
{
    struct g_waiter w;
    int64_t deadline = arg ? g_now() + 20000000 : G_NEVER;

    g_waiter_init(&w, false);
    cr_assert_null(w.thread, "an OS thread waits on the futex");
    give_slot(&w);
    atomic_store(&os_result, g_wait(&w, deadline));
    if (arg)
        cr_assert_geq(g_now(), deadline, "no early timeout");
    return NULL;
}

static void *green_wakes_os_thread(void *arg)
{
    pthread_t os;

    (void)arg;
    pthread_create(&os, NULL, os_waiter, NULL);
    cr_assert(g_wake(take_slot(), 7));
    pthread_join(os, NULL);
    cr_assert_eq(atomic_load(&os_result), 7);

    pthread_create(&os, NULL, os_waiter, (void *)1);
    take_slot(); /* nobody wakes it: it times out */
    pthread_join(os, NULL);
    cr_assert_eq(atomic_load(&os_result), -ETIMEDOUT);
    exit(0);
}

Test(shim_park, os_thread_waiter_is_woken_or_times_out, .exit_code = 0,
     .timeout = 10)
{
    run_green(green_wakes_os_thread);
}

/*
 * A claimed OS-thread waiter stays until its claimer finishes (its claimer
 * may still be writing the object it waited on), also past its own
 * deadline: claimed with a 20 ms deadline, finished 60 ms later, it
 * returns the claimer's result then, not -ETIMEDOUT and not before.
 */
static _Atomic int64_t os_returned_at;

static void *os_waiter_timed(void *arg)
{
    struct g_waiter w;

    (void)arg;
    g_waiter_init(&w, false);
    give_slot(&w);
    atomic_store(&os_result, g_wait(&w, g_now() + 20000000));
    atomic_store(&os_returned_at, g_now());
    return NULL;
}

static void *claim_then_finish_late(void *arg)
{
    struct g_wake_token tok;
    pthread_t os;
    int64_t finished;

    (void)arg;
    pthread_create(&os, NULL, os_waiter_timed, NULL);
    cr_assert(g_wake_claim(take_slot(), 5, &tok));
    cr_assert_eq(g_sleep_until(g_now() + 60000000), 0);
    cr_assert_eq(atomic_load(&os_returned_at), 0, "returned before finish");
    finished = g_now();
    g_wake_finish(&tok);
    pthread_join(os, NULL);
    cr_assert_eq(atomic_load(&os_result), 5);
    cr_assert_geq(atomic_load(&os_returned_at), finished);
    exit(0);
}

Test(shim_park, claimed_os_thread_waiter_waits_for_the_finish,
     .exit_code = 0, .timeout = 10)
{
    run_green(claim_then_finish_late);
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static void *sleeps_on_time(void *arg)
{
    int64_t late[20];

    (void)arg;
    for (int i = 0; i < 20; i++) {
        int64_t deadline = g_now() + 3000000 + i * 100000;

        cr_assert_eq(g_sleep_until(deadline), 0);
        late[i] = g_now() - deadline;
        cr_assert_geq(late[i], 0, "woke %lld ns early", (long long)-late[i]);
    }
    qsort(late, 20, sizeof(late[0]), compare_i64);
    cr_assert_lt(late[10], 5000000, "median oversleep %lld ns",
                 (long long)late[10]);
    exit(0);
}

Test(shim_park, sleep_never_wakes_early_and_rarely_late, .exit_code = 0,
     .timeout = 10)
{
    run_green(sleeps_on_time);
}

static void *short_sleeps(void *arg)
{
    (void)arg;
    /* Deadlines inside libuv's current millisecond once made the loop wait
     * with no timeout at all. */
    for (int i = 0; i < 3000; i++) {
        int64_t deadline = g_now() + (i * 37) % 1000000;

        cr_assert_eq(g_sleep_until(deadline), 0);
        cr_assert_geq(g_now(), deadline);
    }
    exit(0);
}

Test(shim_park, sub_millisecond_deadlines_are_never_lost, .exit_code = 0,
     .timeout = 20)
{
    run_green(short_sleeps);
}

/* Green ping-pong through two waiters: A wakes B, B wakes A. */
static struct g_waiter *_Atomic ping, *_Atomic pong;

static void *ponger(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        struct g_waiter w, *p;

        g_waiter_init(&w, false);
        atomic_store(&pong, &w);
        while (!(p = atomic_exchange(&ping, NULL)))
            g_yield(g_self());
        g_wake(p, 0);
        cr_assert_eq(g_wait(&w, G_NEVER), 0);
    }
    return (void *)(intptr_t)42;
}

static void *parked_idle(void *arg)
{
    (void)arg;
    g_sleep_until(g_now() + 300000000);
    return NULL;
}

static void *cross_worker_ping_pong(void *arg)
{
    struct g_thread_attr attr = {.guard_size = g_stack_guard()};
    uintptr_t id, idle[4];
    struct g_thread *t;
    void *ret;

    (void)arg;
    /* Load this worker so that the next thread goes to the other one. */
    for (int i = 0; i < 4; i++)
        cr_assert_eq(g_thread_create(&attr, parked_idle, NULL, &idle[i]), 0);
    cr_assert_eq(g_thread_create(&attr, ponger, NULL, &id), 0);
    t = g_thread_from_id(id);
    cr_assert_neq(t->worker, g_self()->worker, "placed on the other worker");
    for (int i = 0; i < ROUNDS; i++) {
        struct g_waiter w, *p;

        g_waiter_init(&w, false);
        atomic_store(&ping, &w);
        while (!(p = atomic_exchange(&pong, NULL)))
            g_yield(g_self());
        cr_assert_eq(g_wait(&w, G_NEVER), 0);
        g_wake(p, 0);
    }
    cr_assert_eq(g_thread_join(t, &ret, G_NEVER), 0);
    cr_assert_eq((intptr_t)ret, 42);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(g_thread_join(g_thread_from_id(idle[i]), NULL, G_NEVER),
                     0);
    exit(0);
}

Test(shim_park, cross_worker_wakes_arrive_in_order_and_count, .exit_code = 0,
     .timeout = 30)
{
    run_green(cross_worker_ping_pong);
}

static void *set_errno_and_yield(void *arg)
{
    for (int i = 0; i < 1000; i++) {
        errno = (int)(intptr_t)arg + i;
        g_yield(g_self());
        cr_assert_eq(errno, (int)(intptr_t)arg + i);
    }
    return NULL;
}

static void *errno_per_thread(void *arg)
{
    struct g_thread_attr attr = {.guard_size = g_stack_guard()};
    uintptr_t a, b;

    (void)arg;
    cr_assert_eq(g_thread_create(&attr, set_errno_and_yield,
                                 (void *)(intptr_t)1000, &a), 0);
    cr_assert_eq(g_thread_create(&attr, set_errno_and_yield,
                                 (void *)(intptr_t)5000, &b), 0);
    cr_assert_eq(g_thread_from_id(a)->worker, g_thread_from_id(b)->worker,
                 "both share one OS thread and its errno");
    set_errno_and_yield((void *)(intptr_t)9000);
    cr_assert_eq(g_thread_join(g_thread_from_id(a), NULL, G_NEVER), 0);
    cr_assert_eq(g_thread_join(g_thread_from_id(b), NULL, G_NEVER), 0);
    exit(0);
}

Test(shim_park, errno_is_saved_and_restored_on_every_switch, .exit_code = 0,
     .timeout = 10)
{
    run_green(errno_per_thread);
}

static void *join_rules(void *arg)
{
    struct g_thread_attr attr = {.guard_size = g_stack_guard()};
    struct g_thread *self = g_self();
    uintptr_t id;
    void *ret;

    (void)arg;
    cr_assert_eq(g_thread_join(self, NULL, G_NEVER), -EDEADLK);
    cr_assert_eq(g_thread_create(&attr, parked_idle, NULL, &id), 0);
    cr_assert_eq(g_thread_join(g_thread_from_id(id), NULL, 0), -EBUSY);
    cr_assert_eq(
        g_thread_join(g_thread_from_id(id), NULL, g_now() + 1000000),
        -ETIMEDOUT);
    cr_assert_eq(g_thread_join(g_thread_from_id(id), &ret, G_NEVER), 0);
    cr_assert_eq(g_thread_join(g_thread_from_id(id), NULL, G_NEVER), -ESRCH,
                 "a joined thread is gone");
    cr_assert_eq(g_thread_create(&attr, parked_idle, NULL, &id), 0);
    cr_assert_eq(g_thread_detach(g_thread_from_id(id)), 0);
    cr_assert_eq(g_thread_join(g_thread_from_id(id), NULL, G_NEVER), -EINVAL);
    exit(0);
}

Test(shim_park, join_errors_match_glibc, .exit_code = 0, .timeout = 10)
{
    run_green(join_rules);
}
