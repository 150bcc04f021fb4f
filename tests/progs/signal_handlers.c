/*
 * signal_handlers: what a handler may do, and what the program sees of its
 * handlers afterwards.
 *
 * 1. A handler that re-arms itself with signal() (sigaction is
 *    async-signal-safe) while main keeps changing another disposition: no
 *    deadlock, for a second of SIGALRM every 100 us.
 * 2. A one-shot (SA_RESETHAND) handler set without SA_SIGINFO: once it has
 *    run, sigaction reports SIG_DFL, still without SA_SIGINFO.
 * 3. Threads that end inside their handler (pthread_exit): each next one
 *    still gets its signal, and the signal is not left blocked.
 * 4. A semaphore used once and destroyed by its waiter, the memory then
 *    reused, 50,000 times, posted by a thread made before main: sem_post
 *    must not touch the semaphore once its unit is out, as glibc's does not.
 *
 * Prints what it checked; exits 1 on a mismatch.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "signal_handlers"
#include "progs.h"

#define EXITERS 3
#define ONE_USE_ROUNDS 50000

static atomic_long ticks;
static atomic_int ended_in_handler;
static int failures;

static void expect(int ok, const char *what)
{
    printf("%s: %s\n", what, ok ? "yes" : "NO");
    if (!ok)
        failures++;
}

static void rearm(int sig)
{
    signal(sig, rearm);
    atomic_fetch_add(&ticks, 1);
}

static void handler_rearms_while_main_changes_dispositions(void)
{
    struct itimerval it = {{0, 100}, {0, 100}};
    int64_t until = now_ns(CLOCK_MONOTONIC) + 1000000000;

    signal(SIGALRM, rearm);
    setitimer(ITIMER_REAL, &it, NULL);
    do {
        for (int i = 0; i < 1000; i++) {
            void (*old)(int) = signal(SIGPIPE, SIG_IGN);

            signal(SIGPIPE, old);
        }
    } while (now_ns(CLOCK_MONOTONIC) < until);
    it = (struct itimerval){{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
    signal(SIGALRM, SIG_IGN);
    expect(atomic_load(&ticks) > 0,
           "a handler re-armed itself while main set another");
}

static void once(int sig)
{
    (void)sig;
}

static void one_shot_handler_reports_as_native(void)
{
    struct sigaction act = {.sa_handler = once, .sa_flags = SA_RESETHAND};
    struct sigaction now;

    sigemptyset(&act.sa_mask);
    sigaction(SIGUSR2, &act, NULL);
    raise(SIGUSR2);
    sigaction(SIGUSR2, NULL, &now);
    expect(now.sa_handler == SIG_DFL && !(now.sa_flags & SA_SIGINFO),
           "after a one-shot handler: SIG_DFL, without SA_SIGINFO");
}

static void end_here(int sig)
{
    (void)sig;
    atomic_fetch_add(&ended_in_handler, 1);
    pthread_exit(NULL);
}

static void *exiter(void *arg)
{
    (void)arg;
    raise(SIGUSR1);
    return (void *)1; /* only if the handler did not run */
}

static void threads_end_inside_their_handler(void)
{
    sigset_t mask;

    signal(SIGUSR1, end_here);
    for (int i = 0; i < EXITERS; i++) {
        pthread_t t;
        void *ret;

        pthread_create(&t, NULL, exiter, NULL);
        pthread_join(t, &ret);
        printf("thread %d ended inside its handler: %s\n", i,
               ret == NULL ? "yes" : "NO");
        if (ret != NULL)
            failures++;
    }
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    expect(!sigismember(&mask, SIGUSR1), "SIGUSR1 not left blocked");
}

/* The poster: made before main, so that it is a plain OS thread under
 * libgreen too, which posts while the waiter runs on. */
static sem_t request;
static sem_t *_Atomic target;

static void *poster(void *arg)
{
    (void)arg;
    for (;;) {
        while (sem_wait(&request) != 0)
            ;
        sem_post(atomic_load(&target));
    }
    return NULL;
}

__attribute__((constructor)) static void start_poster(void)
{
    pthread_t t;

    sem_init(&request, 0, 0);
    pthread_create(&t, NULL, poster, NULL);
}

static void one_use_semaphores_are_left_alone(void)
{
    union {
        sem_t sem;
        unsigned char bytes[sizeof(sem_t)];
    } *u = malloc(sizeof(*u));
    bool clean = true;

    for (int i = 0; i < ONE_USE_ROUNDS && clean; i++) {
        sem_init(&u->sem, 0, 0);
        atomic_store(&target, &u->sem);
        sem_post(&request);
        while (sem_wait(&u->sem) != 0)
            ;
        sem_destroy(&u->sem);
        memset(u->bytes, 0x01, sizeof(u->bytes));
        for (volatile int k = 0; k < 200; k++)
            ;
        for (size_t k = 0; k < sizeof(u->bytes); k++)
            clean = clean && u->bytes[k] == 0x01;
    }
    expect(clean, "a destroyed semaphore's memory was left alone");
    free(u);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    handler_rearms_while_main_changes_dispositions();
    one_shot_handler_reports_as_native();
    threads_end_inside_their_handler();
    one_use_semaphores_are_left_alone();
    return failures ? 1 : 0;
}
