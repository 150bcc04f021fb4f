/*
 * switch_cond: how long one thread takes to hand control to another through
 * a mutex, a condition variable and a turn variable.
 *
 *   switch_cond [N [FILLERS]]     (defaults: 1000000 and 0)
 *
 * Two threads ping-pong N times: each waits, under the mutex, until the turn
 * is its own, then gives the turn to the other and signals the condvar.
 * Each turn given is one hand-off, 2N in all. Prints "ns_per_handoff=N" on
 * stdout, timed with CLOCK_MONOTONIC, and on stderr "same_os_thread=0|1":
 * whether both threads ran on one kernel thread (gettid), as green threads
 * of one worker do. FILLERS idle threads are created first (see filler). A
 * plain pthread program that knows nothing of libgreen: scripts/bench-switch
 * runs it natively and under LD_PRELOAD=build/libgreen.so.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn; /* 0: main's, 1: the other thread's */
static long rounds;

/* Threads that only wait, made before the measured pair's second thread:
 * they change nothing natively, but under libgreen they fill the first
 * worker so that the second thread is placed on another one. */
static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;
static pid_t pong_tid; /* the OS thread the second thread ran on */

static void *filler(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&hold);
    pthread_mutex_unlock(&hold);
    return NULL;
}

static void check(int rc, const char *call)
{
    if (rc != 0) {
        fprintf(stderr, "switch_cond: %s: %s\n", call, strerror(rc));
        exit(1);
    }
}

static long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Takes n turns as player me. */
static void play(int me, long n)
{
    check(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    for (long i = 0; i < n; i++) {
        while (turn != me)
            check(pthread_cond_wait(&cond, &lock), "pthread_cond_wait");
        turn = !me;
        check(pthread_cond_signal(&cond), "pthread_cond_signal");
    }
    check(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
}

static void *other(void *arg)
{
    (void)arg;
    pong_tid = (pid_t)syscall(SYS_gettid);
    play(1, rounds + 1);
    return NULL;
}

int main(int argc, char **argv)
{
    long long t0, t1;
    pthread_t t, fill[64];
    long fillers;

    rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    fillers = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    if (rounds < 1 || fillers < 0 || fillers > 64) {
        fprintf(stderr, "usage: switch_cond [N >= 1 [FILLERS <= 64]]\n");
        return 2;
    }
    check(pthread_mutex_lock(&hold), "pthread_mutex_lock");
    for (long i = 0; i < fillers; i++)
        check(pthread_create(&fill[i], NULL, filler, NULL), "pthread_create");
    check(pthread_create(&t, NULL, other, NULL), "pthread_create");
    /* One untimed round so that the other thread is up and waiting. */
    play(0, 1);
    t0 = now_ns();
    play(0, rounds);
    t1 = now_ns();
    check(pthread_join(t, NULL), "pthread_join");
    check(pthread_mutex_unlock(&hold), "pthread_mutex_unlock");
    for (long i = 0; i < fillers; i++)
        check(pthread_join(fill[i], NULL), "pthread_join");
    fprintf(stderr, "same_os_thread=%d\n",
            pong_tid == (pid_t)syscall(SYS_gettid));
    printf("ns_per_handoff=%.1f\n", (double)(t1 - t0) / (2.0 * rounds));
    return 0;
}
