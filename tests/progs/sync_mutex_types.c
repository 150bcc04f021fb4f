/*
 * sync_mutex_types: the four mutex types (NORMAL, RECURSIVE, ERRORCHECK,
 * ADAPTIVE), each made once with a mutexattr and once with its static
 * initializer, plus a zero-filled one, and the answers glibc 2.36 gives for
 * each: trylock of a held mutex (EBUSY), recursive counting, relock by the
 * owner (EDEADLK), unlock by a thread that does not own it and of an
 * unlocked mutex (EPERM), timedlock and clocklock on a held mutex
 * (ETIMEDOUT, not before the deadline), a clock a lock cannot wait on
 * (EINVAL), and a tv_nsec out of range on a free and on a held mutex. A
 * thread blocked in lock gets the mutex when its owner unlocks it.
 *
 * stdout prints codes by name only. stderr carries "os_threads_max=N"; few
 * threads live here (at most three), so the runner does not bound it. It
 * also carries "max_late_us=N", the worst lateness of a timed out lock.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG_NAME "sync_mutex_types"
#include "progs.h"

/* What a helper thread is asked to do with the mutex main holds. */
enum op {
    OP_TRYLOCK,
    OP_UNLOCK,
    OP_TIMEDLOCK,
    OP_CLOCKLOCK_MONO,
    OP_CLOCKLOCK_REAL,
    OP_CLOCKLOCK_BAD,
    OP_TIMEDLOCK_BAD_NSEC,
    OP_LOCK_UNLOCK,
};

struct job {
    pthread_mutex_t *m;
    enum op op;
    int rc;
    int on_time; /* ETIMEDOUT came no earlier than the deadline */
};

static atomic_int blocked_started;

static void *helper(void *arg)
{
    struct job *j = arg;
    struct timespec deadline;

    switch (j->op) {
    case OP_TRYLOCK:
        j->rc = pthread_mutex_trylock(j->m);
        if (j->rc == 0)
            pthread_mutex_unlock(j->m);
        break;
    case OP_UNLOCK:
        j->rc = pthread_mutex_unlock(j->m);
        break;
    case OP_TIMEDLOCK:
        deadline = after_ms(CLOCK_REALTIME, 50);
        j->rc = pthread_mutex_timedlock(j->m, &deadline);
        j->on_time = reached(CLOCK_REALTIME, &deadline);
        break;
    case OP_CLOCKLOCK_MONO:
        deadline = after_ms(CLOCK_MONOTONIC, 50);
        j->rc = pthread_mutex_clocklock(j->m, CLOCK_MONOTONIC, &deadline);
        j->on_time = reached(CLOCK_MONOTONIC, &deadline);
        break;
    case OP_CLOCKLOCK_REAL:
        deadline = after_ms(CLOCK_REALTIME, 50);
        j->rc = pthread_mutex_clocklock(j->m, CLOCK_REALTIME, &deadline);
        j->on_time = reached(CLOCK_REALTIME, &deadline);
        break;
    case OP_CLOCKLOCK_BAD:
        deadline = after_ms(CLOCK_MONOTONIC, 50);
        j->rc =
            pthread_mutex_clocklock(j->m, CLOCK_PROCESS_CPUTIME_ID, &deadline);
        break;
    case OP_TIMEDLOCK_BAD_NSEC:
        deadline = after_ms(CLOCK_REALTIME, 50);
        deadline.tv_nsec = 1000000000;
        j->rc = pthread_mutex_timedlock(j->m, &deadline);
        break;
    case OP_LOCK_UNLOCK:
        atomic_store_explicit(&blocked_started, 1, memory_order_release);
        j->rc = pthread_mutex_lock(j->m);
        if (j->rc == 0)
            j->rc = pthread_mutex_unlock(j->m);
        break;
    }
    if (j->rc != 0 && j->rc != ETIMEDOUT)
        j->on_time = 1;
    return NULL;
}

/* Runs op on m in a new thread and waits for it; returns the job. */
static struct job on_other(pthread_mutex_t *m, enum op op)
{
    struct job j = {m, op, -1, 0};
    pthread_t t;

    check_rc(pthread_create(&t, NULL, helper, &j), "pthread_create");
    check_rc(pthread_join(t, NULL), "pthread_join");
    return j;
}

static void print_timed(const char *what, struct job j)
{
    if (j.rc == ETIMEDOUT)
        printf("  %s on held: ETIMEDOUT, %s\n", what,
               j.on_time ? "not early" : "EARLY");
    else
        printf("  %s on held: %s\n", what, ename(j.rc));
}

/* What the program expects of one kind of mutex; m is unlocked. */
static void exercise(const char *name, pthread_mutex_t *m, int type)
{
    struct timespec bad;
    pthread_t t;
    struct job j;
    int rc;

    printf("%s:\n", name);
    printf("  lock: %s\n", ename(pthread_mutex_lock(m)));
    printf("  trylock by other: %s\n", ename(on_other(m, OP_TRYLOCK).rc));
    if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK)
        printf("  unlock by other: %s\n", ename(on_other(m, OP_UNLOCK).rc));
    print_timed("timedlock 50 ms", on_other(m, OP_TIMEDLOCK));
    print_timed("clocklock CLOCK_MONOTONIC 50 ms",
                on_other(m, OP_CLOCKLOCK_MONO));
    print_timed("clocklock CLOCK_REALTIME 50 ms",
                on_other(m, OP_CLOCKLOCK_REAL));
    printf("  clocklock CLOCK_PROCESS_CPUTIME_ID on held: %s\n",
           ename(on_other(m, OP_CLOCKLOCK_BAD).rc));
    printf("  timedlock tv_nsec 1e9 on held: %s\n",
           ename(on_other(m, OP_TIMEDLOCK_BAD_NSEC).rc));

    switch (type) {
    case PTHREAD_MUTEX_RECURSIVE:
        printf("  relock: %s\n", ename(pthread_mutex_lock(m)));
        printf("  trylock by owner: %s\n", ename(pthread_mutex_trylock(m)));
        bad = after_ms(CLOCK_REALTIME, 50);
        printf("  timedlock by owner: %s\n",
               ename(pthread_mutex_timedlock(m, &bad)));
        for (int i = 1; i <= 4; i++)
            printf("  unlock %d: %s\n", i, ename(pthread_mutex_unlock(m)));
        printf("  unlock of unlocked: %s\n", ename(pthread_mutex_unlock(m)));
        break;
    case PTHREAD_MUTEX_ERRORCHECK:
        printf("  relock: %s\n", ename(pthread_mutex_lock(m)));
        printf("  trylock by owner: %s\n", ename(pthread_mutex_trylock(m)));
        bad = after_ms(CLOCK_REALTIME, 50);
        printf("  timedlock by owner: %s\n",
               ename(pthread_mutex_timedlock(m, &bad)));
        printf("  unlock: %s\n", ename(pthread_mutex_unlock(m)));
        printf("  unlock of unlocked: %s\n", ename(pthread_mutex_unlock(m)));
        break;
    default:
        printf("  trylock by owner: %s\n", ename(pthread_mutex_trylock(m)));
        printf("  unlock: %s\n", ename(pthread_mutex_unlock(m)));
        break;
    }

    /* Free now: the bad clock is refused all the same, the bad tv_nsec is
     * not looked at when the lock is free. */
    printf("  clocklock CLOCK_PROCESS_CPUTIME_ID on free: %s\n",
           ename(on_other(m, OP_CLOCKLOCK_BAD).rc));
    bad = after_ms(CLOCK_REALTIME, 50);
    bad.tv_nsec = -1;
    rc = pthread_mutex_timedlock(m, &bad);
    printf("  timedlock tv_nsec -1 on free: %s\n", ename(rc));
    if (rc == 0)
        pthread_mutex_unlock(m);
    bad.tv_nsec = 1000000000;
    rc = pthread_mutex_timedlock(m, &bad);
    printf("  timedlock tv_nsec 1e9 on free: %s\n", ename(rc));
    if (rc == 0)
        pthread_mutex_unlock(m);
    printf("  trylock by other when free: %s\n",
           ename(on_other(m, OP_TRYLOCK).rc));

    /* A thread blocked in lock gets the mutex once main unlocks. */
    check_rc(pthread_mutex_lock(m), "pthread_mutex_lock");
    j = (struct job){m, OP_LOCK_UNLOCK, -1, 0};
    atomic_store_explicit(&blocked_started, 0, memory_order_relaxed);
    check_rc(pthread_create(&t, NULL, helper, &j), "pthread_create");
    while (!atomic_load_explicit(&blocked_started, memory_order_acquire))
        nap_ms(1);
    nap_ms(20);
    sample_threads();
    check_rc(pthread_mutex_unlock(m), "pthread_mutex_unlock");
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("  blocked lock after unlock: %s\n", ename(j.rc));
    printf("  lock again: %s\n", ename(pthread_mutex_lock(m)));
    printf("  unlock: %s\n", ename(pthread_mutex_unlock(m)));
}

static void by_attr(const char *name, int type)
{
    pthread_mutexattr_t attr;
    pthread_mutex_t m;
    int got = -1;

    check_rc(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
    check_rc(pthread_mutexattr_settype(&attr, type),
             "pthread_mutexattr_settype");
    check_rc(pthread_mutexattr_gettype(&attr, &got),
             "pthread_mutexattr_gettype");
    check_rc(pthread_mutex_init(&m, &attr), "pthread_mutex_init");
    pthread_mutexattr_destroy(&attr);
    exercise(name, &m, type);
    printf("  gettype matches: %s\n", got == type ? "yes" : "no");
    printf("  destroy: %s\n", ename(pthread_mutex_destroy(&m)));
}

static pthread_mutex_t s_normal = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t s_recursive = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t s_errorcheck = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_mutex_t s_adaptive = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;

int main(void)
{
    pthread_mutex_t zero;

    by_attr("NORMAL by attr", PTHREAD_MUTEX_NORMAL);
    by_attr("RECURSIVE by attr", PTHREAD_MUTEX_RECURSIVE);
    by_attr("ERRORCHECK by attr", PTHREAD_MUTEX_ERRORCHECK);
    by_attr("ADAPTIVE by attr", PTHREAD_MUTEX_ADAPTIVE_NP);
    by_attr("DEFAULT by attr", PTHREAD_MUTEX_DEFAULT);
    exercise("NORMAL static", &s_normal, PTHREAD_MUTEX_NORMAL);
    exercise("RECURSIVE static", &s_recursive, PTHREAD_MUTEX_RECURSIVE);
    exercise("ERRORCHECK static", &s_errorcheck, PTHREAD_MUTEX_ERRORCHECK);
    exercise("ADAPTIVE static", &s_adaptive, PTHREAD_MUTEX_ADAPTIVE_NP);
    memset(&zero, 0, sizeof(zero));
    exercise("zero-filled", &zero, PTHREAD_MUTEX_NORMAL);
    printf("zero-filled destroy: %s\n", ename(pthread_mutex_destroy(&zero)));

    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    fprintf(stderr, "max_late_us=%ld\n", max_late_us);
    return 0;
}
