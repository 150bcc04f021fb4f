/*
 * sync_sem: POSIX semaphores. Unnamed: init, getvalue, trywait (EAGAIN when
 * zero), post, wait woken by a post from another thread, 10 waiters woken by
 * 10 posts, timedwait and clockwait on both clocks timing out (ETIMEDOUT,
 * never before the deadline), a clock they cannot wait on (EINVAL), tv_nsec
 * out of range with and without a count available (glibc's answers), a
 * deadline already past, init above SEM_VALUE_MAX (EINVAL), post at
 * SEM_VALUE_MAX (EOVERFLOW), destroy. Named: sem_open(O_CREAT | O_EXCL) of
 * a name made unique by the pid (never printed), a forked child that posts
 * it 3 times with small sleeps and _exits, the parent waiting 3 times, then
 * sem_close, sem_unlink, and sem_open of the unlinked name (ENOENT).
 *
 * stdout shows answers by name. stderr carries "os_threads_max=N", sampled
 * while the 10 waiters wait (11 natively: the runner bounds it for green
 * runs), and "max_late_us=N".
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_sync.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "sync_sem"
#include "progs.h"

enum { WAITERS = 10 };

/* "0" if rc is 0, else the name of errno. */
static const char *answer(int rc)
{
    return rc == 0 ? "0" : ename(errno);
}

/* For a wait that returned rc with errno: "ETIMEDOUT, not early" if it
 * timed out no earlier than deadline on clock, else its answer. */
static const char *timed_out(int rc, clockid_t clock,
                             const struct timespec *deadline)
{
    int e = errno;

    if (rc == 0 || e != ETIMEDOUT)
        return rc == 0 ? "0" : ename(e);
    return reached(clock, deadline) ? "ETIMEDOUT, not early"
                                    : "ETIMEDOUT, EARLY";
}

static int value_of(sem_t *s)
{
    int v = -1;

    check_errno(sem_getvalue(s, &v), "sem_getvalue");
    return v;
}

/* --- unnamed ------------------------------------------------------------ */

static sem_t sem;
static atomic_int waiting, woke;

static void *waiter(void *arg)
{
    (void)arg;
    atomic_fetch_add(&waiting, 1);
    check_errno(sem_wait(&sem), "sem_wait");
    atomic_fetch_add(&woke, 1);
    return NULL;
}

static void basics(void)
{
    printf("init 0: %s\n", answer(sem_init(&sem, 0, 0)));
    printf("getvalue: %d\n", value_of(&sem));
    printf("trywait on 0: %s\n", answer(sem_trywait(&sem)));
    printf("post: %s\n", answer(sem_post(&sem)));
    printf("post: %s\n", answer(sem_post(&sem)));
    printf("getvalue: %d\n", value_of(&sem));
    printf("trywait: %s\n", answer(sem_trywait(&sem)));
    printf("wait: %s\n", answer(sem_wait(&sem)));
    printf("getvalue: %d\n", value_of(&sem));
}

static void waiters_woken(void)
{
    pthread_t t[WAITERS];

    check_rc(pthread_create(&t[0], NULL, waiter, NULL), "pthread_create");
    while (atomic_load(&waiting) < 1)
        nap_ms(1);
    nap_ms(20);
    printf("one waiter, before the post: %d woke\n", atomic_load(&woke));
    check_errno(sem_post(&sem), "sem_post");
    check_rc(pthread_join(t[0], NULL), "pthread_join");
    printf("one waiter, after the post: %d woke\n", atomic_load(&woke));

    atomic_store(&waiting, 0);
    atomic_store(&woke, 0);
    for (int i = 0; i < WAITERS; i++)
        check_rc(pthread_create(&t[i], NULL, waiter, NULL), "pthread_create");
    while (atomic_load(&waiting) < WAITERS)
        nap_ms(1);
    nap_ms(20);
    sample_threads();
    for (int i = 0; i < WAITERS; i++)
        check_errno(sem_post(&sem), "sem_post");
    for (int i = 0; i < WAITERS; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    printf("%d waiters, %d posts: %d woke, value %d\n", WAITERS, WAITERS,
           atomic_load(&woke), value_of(&sem));
}

static void timed(void)
{
    struct timespec d;
    int rc;

    d = after_ms(CLOCK_REALTIME, 50);
    rc = sem_timedwait(&sem, &d);
    printf("timedwait 50 ms: %s\n", timed_out(rc, CLOCK_REALTIME, &d));
    d = after_ms(CLOCK_MONOTONIC, 50);
    rc = sem_clockwait(&sem, CLOCK_MONOTONIC, &d);
    printf("clockwait CLOCK_MONOTONIC 50 ms: %s\n",
           timed_out(rc, CLOCK_MONOTONIC, &d));
    d = after_ms(CLOCK_REALTIME, 50);
    rc = sem_clockwait(&sem, CLOCK_REALTIME, &d);
    printf("clockwait CLOCK_REALTIME 50 ms: %s\n",
           timed_out(rc, CLOCK_REALTIME, &d));
    d = after_ms(CLOCK_MONOTONIC, 50);
    printf("clockwait CLOCK_PROCESS_CPUTIME_ID: %s\n",
           answer(sem_clockwait(&sem, CLOCK_PROCESS_CPUTIME_ID, &d)));
    d = after_ms(CLOCK_REALTIME, -1000);
    printf("timedwait, deadline 1 s ago: %s\n",
           answer(sem_timedwait(&sem, &d)));

    d = after_ms(CLOCK_REALTIME, 50);
    d.tv_nsec = 1000000000;
    printf("timedwait tv_nsec 1e9 on 0: %s\n", answer(sem_timedwait(&sem, &d)));
    d.tv_nsec = -1;
    printf("timedwait tv_nsec -1 on 0: %s\n", answer(sem_timedwait(&sem, &d)));
    check_errno(sem_post(&sem), "sem_post");
    d.tv_nsec = 1000000000;
    printf("timedwait tv_nsec 1e9 on 1: %s\n", answer(sem_timedwait(&sem, &d)));
    printf("getvalue: %d\n", value_of(&sem));
    d = after_ms(CLOCK_REALTIME, -1000);
    printf("timedwait, deadline 1 s ago, on 1: %s\n",
           answer(sem_timedwait(&sem, &d)));
    printf("getvalue: %d\n", value_of(&sem));
}

static void limits(void)
{
    sem_t s;

    printf("init SEM_VALUE_MAX + 1: %s\n",
           answer(sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1)));
    printf("init SEM_VALUE_MAX: %s\n", answer(sem_init(&s, 0, SEM_VALUE_MAX)));
    printf("getvalue is SEM_VALUE_MAX: %s\n",
           value_of(&s) == SEM_VALUE_MAX ? "yes" : "no");
    printf("post at SEM_VALUE_MAX: %s\n", answer(sem_post(&s)));
    printf("trywait: %s\n", answer(sem_trywait(&s)));
    printf("post: %s\n", answer(sem_post(&s)));
    printf("destroy: %s\n", answer(sem_destroy(&s)));

    /* A process-shared one in our own memory works the same. */
    printf("init pshared 1: %s\n", answer(sem_init(&s, 1, 1)));
    printf("wait: %s\n", answer(sem_wait(&s)));
    printf("trywait: %s\n", answer(sem_trywait(&s)));
    printf("destroy: %s\n", answer(sem_destroy(&s)));
}

/* --- named -------------------------------------------------------------- */

static void named(void)
{
    char name[64];
    sem_t *s, *again;
    int status = -1;
    pid_t child;

    snprintf(name, sizeof(name), "/sync_sem_%ld", (long)getpid());
    sem_unlink(name); /* a leftover of an earlier run with our pid */
    s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    printf("sem_open O_CREAT|O_EXCL: %s\n",
           s == SEM_FAILED ? ename(errno) : "ok");
    if (s == SEM_FAILED)
        exit(1);
    again = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    printf("sem_open O_CREAT|O_EXCL again: %s\n",
           again == SEM_FAILED ? ename(errno) : "ok");
    fflush(stdout);

    child = fork();
    if (child < 0) {
        perror("fork");
        exit(1);
    }
    if (child == 0) {
        struct timespec ts = {0, 20 * 1000000};

        for (int i = 0; i < 3; i++) {
            nanosleep(&ts, NULL);
            if (sem_post(s) != 0)
                _exit(1);
        }
        _exit(0);
    }
    for (int i = 0; i < 3; i++)
        printf("wait %d for the child's post: %s\n", i + 1,
               answer(sem_wait(s)));
    if (waitpid(child, &status, 0) != child) {
        perror("waitpid");
        exit(1);
    }
    printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("getvalue: %d\n", value_of(s));
    printf("sem_close: %s\n", answer(sem_close(s)));
    printf("sem_unlink: %s\n", answer(sem_unlink(name)));
    again = sem_open(name, 0);
    printf("sem_open of the unlinked name: %s\n",
           again == SEM_FAILED ? ename(errno) : "ok");
    printf("sem_unlink again: %s\n", answer(sem_unlink(name)));
}

/* sem_wait is a cancellation point that "shall occur": with a cancel
 * pending it acts on it even when a unit is free, which stays free. */
static sem_t one_unit;
static pthread_barrier_t step;

static void *wait_with_cancel_pending(void *arg)
{
    int old;

    (void)arg;
    check_rc(pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old),
             "pthread_setcancelstate");
    pthread_barrier_wait(&step); /* main cancels us now */
    pthread_barrier_wait(&step);
    check_rc(pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old),
             "pthread_setcancelstate");
    sem_wait(&one_unit);
    return NULL;
}

static void cancel_first(void)
{
    pthread_t t;
    void *ret;

    check_errno(sem_init(&one_unit, 0, 1), "sem_init");
    check_rc(pthread_barrier_init(&step, NULL, 2), "pthread_barrier_init");
    check_rc(pthread_create(&t, NULL, wait_with_cancel_pending, NULL),
             "pthread_create");
    pthread_barrier_wait(&step);
    check_rc(pthread_cancel(t), "pthread_cancel");
    pthread_barrier_wait(&step);
    check_rc(pthread_join(t, &ret), "pthread_join");
    printf("sem_wait, cancel pending, a unit free: %s, value %d\n",
           ret == PTHREAD_CANCELED ? "canceled" : "returned",
           value_of(&one_unit));
    pthread_barrier_destroy(&step);
}

int main(void)
{
    basics();
    cancel_first();
    waiters_woken();
    timed();
    printf("destroy: %s\n", answer(sem_destroy(&sem)));
    limits();
    named();
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    fprintf(stderr, "max_late_us=%ld\n", max_late_us);
    return 0;
}
