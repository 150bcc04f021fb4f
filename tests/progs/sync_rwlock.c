/*
 * sync_rwlock: read-write locks. 32 readers and 4 writers share a pair of
 * counters that writers keep equal; everyone checks, while holding the
 * lock, that no writer overlaps anyone, once with the default kind and once
 * with the writer-preferring kind. With
 * PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP a waiting writer makes a new
 * reader's tryrdlock fail with EBUSY and a new rdlock wait until the writer
 * is done; with the default kind the new reader gets in. tryrdlock and
 * trywrlock (EBUSY), timedrdlock and timedwrlock (ETIMEDOUT, not early),
 * clockrdlock and clockwrlock on both clocks and on a bad one (EINVAL),
 * static initializers, and what glibc answers to a writer that asks again.
 *
 * stdout shows results only. stderr carries "os_threads_max=N", sampled
 * while the 36 threads run (37 natively: the runner bounds it for green
 * runs), and "max_late_us=N".
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

#define PROG_NAME "sync_rwlock"
#include "progs.h"

enum { READERS = 32, WRITERS = 4, READS = 2000, WRITES = 1000 };

/* "ETIMEDOUT, not early" if rc is ETIMEDOUT and the deadline on clock has
 * passed (reached records the lateness), else what rc is. */
static const char *timed_out(int rc, clockid_t clock,
                             const struct timespec *deadline)
{
    if (rc != ETIMEDOUT)
        return ename(rc);
    return reached(clock, deadline) ? "ETIMEDOUT, not early" : "EARLY";
}

/* Runs fn(arg) on a new thread and joins it. */
static void on_other(void *(*fn)(void *), void *arg)
{
    pthread_t t;

    check_rc(pthread_create(&t, NULL, fn, arg), "pthread_create");
    check_rc(pthread_join(t, NULL), "pthread_join");
}

/* --- readers and writers ------------------------------------------------ */

static pthread_rwlock_t *shared;
static atomic_int readers_in, writers_in;
static atomic_long violations;
static long left, right; /* writers keep them equal */
static atomic_long reads_done;

static void *reader(void *arg)
{
    (void)arg;
    for (int i = 0; i < READS; i++) {
        check_rc(pthread_rwlock_rdlock(shared), "pthread_rwlock_rdlock");
        atomic_fetch_add(&readers_in, 1);
        if (atomic_load(&writers_in) != 0 || left != right)
            atomic_fetch_add(&violations, 1);
        atomic_fetch_add(&reads_done, 1);
        atomic_fetch_sub(&readers_in, 1);
        check_rc(pthread_rwlock_unlock(shared), "pthread_rwlock_unlock");
    }
    return NULL;
}

static void *writer(void *arg)
{
    struct timespec tiny = {0, 50000};

    (void)arg;
    for (int i = 0; i < WRITES; i++) {
        check_rc(pthread_rwlock_wrlock(shared), "pthread_rwlock_wrlock");
        if (atomic_fetch_add(&writers_in, 1) != 0 ||
            atomic_load(&readers_in) != 0)
            atomic_fetch_add(&violations, 1);
        left++;
        if (i % 100 == 0)
            nanosleep(&tiny, NULL); /* readers pile up behind us */
        right++;
        atomic_fetch_sub(&writers_in, 1);
        check_rc(pthread_rwlock_unlock(shared), "pthread_rwlock_unlock");
    }
    return NULL;
}

static void readers_and_writers(const char *name, pthread_rwlock_t *rw)
{
    pthread_t t[READERS + WRITERS];

    shared = rw;
    left = right = 0;
    atomic_store(&reads_done, 0);
    atomic_store(&violations, 0);
    /* Everyone starts blocked behind main's write lock. */
    check_rc(pthread_rwlock_wrlock(rw), "pthread_rwlock_wrlock");
    for (int i = 0; i < READERS + WRITERS; i++)
        check_rc(
            pthread_create(&t[i], NULL, i < READERS ? reader : writer, NULL),
            "pthread_create");
    nap_ms(10);
    sample_threads();
    check_rc(pthread_rwlock_unlock(rw), "pthread_rwlock_unlock");
    for (int i = 0; i < READERS + WRITERS; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    printf("%s: %ld reads, %ld writes, %ld violations\n", name,
           atomic_load(&reads_done), left, atomic_load(&violations));
}

/* --- a waiting writer and a new reader ----------------------------------- */

static pthread_rwlock_t *pref;
static atomic_int writer_waiting;
static atomic_int order_next;
static int writer_order, reader_order;

static void *waiting_writer(void *arg)
{
    (void)arg;
    atomic_store(&writer_waiting, 1);
    check_rc(pthread_rwlock_wrlock(pref), "pthread_rwlock_wrlock");
    writer_order = atomic_fetch_add(&order_next, 1);
    nap_ms(10);
    check_rc(pthread_rwlock_unlock(pref), "pthread_rwlock_unlock");
    return NULL;
}

/* Tries a read lock until it fails with EBUSY (the writer is queued), at
 * most about 5 s; returns the last answer. */
static void *try_until_busy(void *arg)
{
    int *rc = arg;

    for (int i = 0; i < 5000; i++) {
        *rc = pthread_rwlock_tryrdlock(pref);
        if (*rc != 0)
            break;
        check_rc(pthread_rwlock_unlock(pref), "pthread_rwlock_unlock");
        nap_ms(1);
    }
    return NULL;
}

static void *try_once(void *arg)
{
    int *rc = arg;

    *rc = pthread_rwlock_tryrdlock(pref);
    if (*rc == 0)
        check_rc(pthread_rwlock_unlock(pref), "pthread_rwlock_unlock");
    return NULL;
}

static void *late_reader(void *arg)
{
    (void)arg;
    check_rc(pthread_rwlock_rdlock(pref), "pthread_rwlock_rdlock");
    reader_order = atomic_fetch_add(&order_next, 1);
    check_rc(pthread_rwlock_unlock(pref), "pthread_rwlock_unlock");
    return NULL;
}

/* Main holds a read lock; a writer queues behind it; then a new reader. */
static void writer_preference(void)
{
    pthread_rwlockattr_t attr;
    pthread_rwlock_t rw;
    pthread_t w, r;
    int kind = -1, rc;

    check_rc(pthread_rwlockattr_init(&attr), "pthread_rwlockattr_init");
    check_rc(pthread_rwlockattr_setkind_np(
                 &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP),
             "pthread_rwlockattr_setkind_np");
    check_rc(pthread_rwlockattr_getkind_np(&attr, &kind),
             "pthread_rwlockattr_getkind_np");
    printf("getkind is PREFER_WRITER_NONRECURSIVE: %s\n",
           kind == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP ? "yes" : "no");
    check_rc(pthread_rwlock_init(&rw, &attr), "pthread_rwlock_init");
    pthread_rwlockattr_destroy(&attr);
    pref = &rw;

    check_rc(pthread_rwlock_rdlock(&rw), "pthread_rwlock_rdlock");
    atomic_store(&writer_waiting, 0);
    atomic_store(&order_next, 0);
    check_rc(pthread_create(&w, NULL, waiting_writer, NULL), "pthread_create");
    while (!atomic_load(&writer_waiting))
        nap_ms(1);
    on_other(try_until_busy, &rc);
    printf("prefer-writer: new reader's tryrdlock while a writer waits: %s\n",
           ename(rc));
    check_rc(pthread_create(&r, NULL, late_reader, NULL), "pthread_create");
    nap_ms(30);
    check_rc(pthread_rwlock_unlock(&rw), "pthread_rwlock_unlock");
    check_rc(pthread_join(w, NULL), "pthread_join");
    check_rc(pthread_join(r, NULL), "pthread_join");
    printf("prefer-writer: the writer got in %s, the new reader %s\n",
           writer_order == 0 ? "first" : "second",
           reader_order == 0 ? "first" : "second");
    printf("destroy: %s\n", ename(pthread_rwlock_destroy(&rw)));

    /* The default kind lets a new reader join the readers that hold it. */
    check_rc(pthread_rwlock_init(&rw, NULL), "pthread_rwlock_init");
    check_rc(pthread_rwlock_rdlock(&rw), "pthread_rwlock_rdlock");
    atomic_store(&writer_waiting, 0);
    check_rc(pthread_create(&w, NULL, waiting_writer, NULL), "pthread_create");
    while (!atomic_load(&writer_waiting))
        nap_ms(1);
    nap_ms(30);
    on_other(try_once, &rc);
    printf("default: new reader's tryrdlock while a writer waits: %s\n",
           ename(rc));
    check_rc(pthread_rwlock_unlock(&rw), "pthread_rwlock_unlock");
    check_rc(pthread_join(w, NULL), "pthread_join");
    printf("destroy: %s\n", ename(pthread_rwlock_destroy(&rw)));
}

/* --- errors and timed variants ------------------------------------------ */

static pthread_rwlock_t s_default = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t s_writer =
    PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_rwlock_t *target;

static void *tries(void *arg)
{
    const char *held = arg;
    int rc;

    rc = pthread_rwlock_tryrdlock(target);
    printf("  %s: tryrdlock by other: %s\n", held, ename(rc));
    if (rc == 0)
        check_rc(pthread_rwlock_unlock(target), "pthread_rwlock_unlock");
    rc = pthread_rwlock_trywrlock(target);
    printf("  %s: trywrlock by other: %s\n", held, ename(rc));
    if (rc == 0)
        check_rc(pthread_rwlock_unlock(target), "pthread_rwlock_unlock");
    return NULL;
}

static void *timed(void *arg)
{
    const char *held = arg;
    struct timespec d;
    int rc;

    d = after_ms(CLOCK_REALTIME, 50);
    rc = pthread_rwlock_timedwrlock(target, &d);
    printf("  %s: timedwrlock 50 ms: %s\n", held,
           timed_out(rc, CLOCK_REALTIME, &d));
    d = after_ms(CLOCK_MONOTONIC, 50);
    rc = pthread_rwlock_clockwrlock(target, CLOCK_MONOTONIC, &d);
    printf("  %s: clockwrlock CLOCK_MONOTONIC 50 ms: %s\n", held,
           timed_out(rc, CLOCK_MONOTONIC, &d));
    d = after_ms(CLOCK_REALTIME, 50);
    rc = pthread_rwlock_clockwrlock(target, CLOCK_REALTIME, &d);
    printf("  %s: clockwrlock CLOCK_REALTIME 50 ms: %s\n", held,
           timed_out(rc, CLOCK_REALTIME, &d));
    d = after_ms(CLOCK_MONOTONIC, 50);
    rc = pthread_rwlock_clockwrlock(target, CLOCK_PROCESS_CPUTIME_ID, &d);
    printf("  %s: clockwrlock CLOCK_PROCESS_CPUTIME_ID: %s\n", held, ename(rc));
    if (strcmp(held, "write-held") != 0)
        return NULL;
    d = after_ms(CLOCK_REALTIME, 50);
    rc = pthread_rwlock_timedrdlock(target, &d);
    printf("  %s: timedrdlock 50 ms: %s\n", held,
           timed_out(rc, CLOCK_REALTIME, &d));
    d = after_ms(CLOCK_MONOTONIC, 50);
    rc = pthread_rwlock_clockrdlock(target, CLOCK_MONOTONIC, &d);
    printf("  %s: clockrdlock CLOCK_MONOTONIC 50 ms: %s\n", held,
           timed_out(rc, CLOCK_MONOTONIC, &d));
    d = after_ms(CLOCK_REALTIME, 50);
    rc = pthread_rwlock_clockrdlock(target, CLOCK_REALTIME, &d);
    printf("  %s: clockrdlock CLOCK_REALTIME 50 ms: %s\n", held,
           timed_out(rc, CLOCK_REALTIME, &d));
    d = after_ms(CLOCK_MONOTONIC, 50);
    rc = pthread_rwlock_clockrdlock(target, CLOCK_PROCESS_CPUTIME_ID, &d);
    printf("  %s: clockrdlock CLOCK_PROCESS_CPUTIME_ID: %s\n", held, ename(rc));
    return NULL;
}

static void errors(const char *name, pthread_rwlock_t *rw)
{
    struct timespec d;
    int rc;

    printf("%s:\n", name);
    target = rw;

    printf("  wrlock: %s\n", ename(pthread_rwlock_wrlock(rw)));
    on_other(tries, "write-held");
    on_other(timed, "write-held");
    d = after_ms(CLOCK_REALTIME, 1000);
    printf("  timedwrlock by the writer: %s\n",
           ename(pthread_rwlock_timedwrlock(rw, &d)));
    printf("  wrlock by the writer: %s\n", ename(pthread_rwlock_wrlock(rw)));
    printf("  rdlock by the writer: %s\n", ename(pthread_rwlock_rdlock(rw)));
    printf("  trywrlock by the writer: %s\n",
           ename(pthread_rwlock_trywrlock(rw)));
    printf("  unlock: %s\n", ename(pthread_rwlock_unlock(rw)));

    printf("  rdlock: %s\n", ename(pthread_rwlock_rdlock(rw)));
    on_other(tries, "read-held");
    on_other(timed, "read-held");
    printf("  rdlock again: %s\n", ename(pthread_rwlock_rdlock(rw)));
    printf("  unlock: %s\n", ename(pthread_rwlock_unlock(rw)));
    printf("  unlock: %s\n", ename(pthread_rwlock_unlock(rw)));

    /* Free: a timed lock with tv_nsec out of range. */
    d = after_ms(CLOCK_REALTIME, 50);
    d.tv_nsec = 1000000000;
    rc = pthread_rwlock_timedwrlock(rw, &d);
    printf("  timedwrlock tv_nsec 1e9 on free: %s\n", ename(rc));
    if (rc == 0)
        check_rc(pthread_rwlock_unlock(rw), "pthread_rwlock_unlock");
    rc = pthread_rwlock_timedrdlock(rw, &d);
    printf("  timedrdlock tv_nsec 1e9 on free: %s\n", ename(rc));
    if (rc == 0)
        check_rc(pthread_rwlock_unlock(rw), "pthread_rwlock_unlock");
}

int main(void)
{
    pthread_rwlockattr_t attr;
    pthread_rwlock_t def, pw, zero;

    check_rc(pthread_rwlock_init(&def, NULL), "pthread_rwlock_init");
    readers_and_writers("default kind", &def);
    check_rc(pthread_rwlockattr_init(&attr), "pthread_rwlockattr_init");
    check_rc(pthread_rwlockattr_setkind_np(
                 &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP),
             "pthread_rwlockattr_setkind_np");
    check_rc(pthread_rwlock_init(&pw, &attr), "pthread_rwlock_init");
    pthread_rwlockattr_destroy(&attr);
    readers_and_writers("writer-preferring kind", &pw);
    readers_and_writers("static default", &s_default);
    readers_and_writers("static writer-preferring", &s_writer);

    writer_preference();

    errors("static default", &s_default);
    errors("static writer-preferring", &s_writer);
    memset(&zero, 0, sizeof(zero));
    errors("zero-filled", &zero);

    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    fprintf(stderr, "max_late_us=%ld\n", max_late_us);
    return 0;
}
