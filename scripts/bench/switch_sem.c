/*
 * switch_sem: how long one thread takes to hand control to another through
 * a semaphore.
 *
 *   switch_sem [N [FILLERS]]     (defaults: 1000000 and 0)
 *
 * Two threads ping-pong N times: the first posts the second's semaphore and
 * waits on its own, the second waits on its own and posts back. Each post
 * that wakes the other thread is one hand-off, 2N in all. Prints
 * "ns_per_handoff=N" on stdout, timed with CLOCK_MONOTONIC from the first
 * post to the last wake, and on stderr "same_os_thread=0|1": whether both
 * threads ran on one kernel thread (gettid), as green threads of one worker
 * do. FILLERS idle threads are created first (see filler). A plain pthread
 * program that knows nothing of libgreen: scripts/bench-switch runs it
 * natively and under LD_PRELOAD=build/libgreen.so.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static sem_t to_ping, to_pong;
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
        perror(call);
        exit(1);
    }
}

static long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *pong(void *arg)
{
    (void)arg;
    pong_tid = (pid_t)syscall(SYS_gettid);
    for (long i = 0; i < rounds; i++) {
        check(sem_wait(&to_pong), "sem_wait");
        check(sem_post(&to_ping), "sem_post");
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long long t0, t1;
    pthread_t t, fill[64];
    long fillers;
    int rc;

    rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    fillers = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    if (rounds < 1 || fillers < 0 || fillers > 64) {
        fprintf(stderr, "usage: switch_sem [N >= 1 [FILLERS <= 64]]\n");
        return 2;
    }
    check(sem_init(&to_ping, 0, 0), "sem_init");
    check(sem_init(&to_pong, 0, 0), "sem_init");
    pthread_mutex_lock(&hold);
    for (long i = 0; i < fillers; i++) {
        rc = pthread_create(&fill[i], NULL, filler, NULL);
        if (rc != 0) {
            fprintf(stderr, "switch_sem: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    rc = pthread_create(&t, NULL, pong, NULL);
    if (rc != 0) {
        fprintf(stderr, "switch_sem: pthread_create: %s\n", strerror(rc));
        return 1;
    }
    /* One untimed round so that the other thread is up and waiting. */
    rounds++;
    check(sem_post(&to_pong), "sem_post");
    check(sem_wait(&to_ping), "sem_wait");
    t0 = now_ns();
    for (long i = 1; i < rounds; i++) {
        check(sem_post(&to_pong), "sem_post");
        check(sem_wait(&to_ping), "sem_wait");
    }
    t1 = now_ns();
    pthread_join(t, NULL);
    pthread_mutex_unlock(&hold);
    for (long i = 0; i < fillers; i++)
        pthread_join(fill[i], NULL);
    fprintf(stderr, "same_os_thread=%d\n",
            pong_tid == (pid_t)syscall(SYS_gettid));
    printf("ns_per_handoff=%.1f\n", (double)(t1 - t0) / (2.0 * (rounds - 1)));
    return 0;
}
