/*
 * sync_sem_signal: signal handlers that post semaphores, as POSIX allows
 * (sem_post is async-signal-safe), and that leave by siglongjmp.
 *
 * 1. main waits on a semaphore that only a SIGALRM handler posts, 100 ms
 *    on: it must wake then, not when something else happens to wake the
 *    process (its sem_timedwait gives up after 5 s).
 * 2. A storm: for a second, SIGALRM every 200 us posts a semaphore that
 *    producer and consumer threads pass items through at full speed (a
 *    second one counts free slots), so that handlers land inside the
 *    semaphore's own critical sections. Every unit posted, by a
 *    thread or a handler, is taken exactly once.
 * 3. A handler that leaves by siglongjmp: afterwards, 200 threads that each
 *    sleep 100 ms still sleep at once; stderr carries "os_threads_max=N",
 *    sampled while they sleep (the runner bounds it for green runs).
 * 4. sigaction and signal report the handler the program set.
 *
 * Prints what it checked; exits 1 on a mismatch.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "sync_sem_signal"
#include "progs.h"

#define PRODUCERS 2
#define CONSUMERS 4
#define STORM_SECONDS 1.0
#define SLOTS 64
#define SLEEPERS 200

static sem_t alarm_sem, storm, slots;
static atomic_long handled, produced, taken;
static atomic_bool storm_over;
static sigjmp_buf back;
static int failures;

static void expect(int ok, const char *what)
{
    printf("%s: %s\n", what, ok ? "yes" : "NO");
    if (!ok)
        failures++;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void arm(long first_us, long every_us)
{
    struct itimerval it = {
        .it_value = {first_us / 1000000, first_us % 1000000},
        .it_interval = {every_us / 1000000, every_us % 1000000},
    };

    setitimer(ITIMER_REAL, &it, NULL);
}

static void post_alarm_sem(int sig)
{
    (void)sig;
    sem_post(&alarm_sem);
}

static void post_storm(int sig)
{
    int saved = errno;

    (void)sig;
    if (sem_post(&storm) == 0)
        atomic_fetch_add(&handled, 1);
    errno = saved;
}

static void jump_back(int sig)
{
    siglongjmp(back, sig);
}

static void handler_wakes_idle_waiter(void)
{
    struct timespec deadline;
    double t0 = now(), waited;
    int rc;

    sem_init(&alarm_sem, 0, 0);
    signal(SIGALRM, post_alarm_sem);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    arm(100000, 0);
    while ((rc = sem_timedwait(&alarm_sem, &deadline)) != 0 && errno == EINTR)
        ;
    waited = now() - t0;
    expect(rc == 0, "the handler's post woke main");
    expect(waited < 1.0, "main woke within a second of the alarm");
    fprintf(stderr, "alarm_wait_ms=%.0f\n", waited * 1000);
}

static void *producer(void *arg)
{
    double until = now() + STORM_SECONDS;

    (void)arg;
    do {
        for (int i = 0; i < 1000; i++) {
            while (sem_wait(&slots) != 0)
                ;
            sem_post(&storm);
        }
        atomic_fetch_add(&produced, 1000);
    } while (now() < until);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        if (sem_timedwait(&storm, &ts) == 0) {
            atomic_fetch_add(&taken, 1);
            sem_post(&slots);
        } else if (errno == ETIMEDOUT && atomic_load(&storm_over))
            return NULL;
    }
}

static void handlers_post_into_a_busy_semaphore(void)
{
    pthread_t producers[PRODUCERS], consumers[CONSUMERS];
    int value;

    sem_init(&storm, 0, 0);
    sem_init(&slots, 0, SLOTS);
    signal(SIGALRM, post_storm);
    arm(200, 200);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_create(&consumers[i], NULL, consumer, NULL);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&producers[i], NULL, producer, NULL);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(producers[i], NULL);
    arm(0, 0);
    atomic_store(&storm_over, true);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_join(consumers[i], NULL);
    sem_getvalue(&storm, &value);
    expect(atomic_load(&taken) ==
                  atomic_load(&produced) + atomic_load(&handled) &&
              value == 0,
          "every unit posted by threads and handlers taken once");
    expect(atomic_load(&handled) > 0, "handlers posted");
    fprintf(stderr, "storm_handler_posts=%ld\n", atomic_load(&handled));
}

static void *sleeper(void *arg)
{
    (void)arg;
    usleep(100000);
    return NULL;
}

static void threads_sleep_at_once_after_a_jump(void)
{
    pthread_t t[SLEEPERS];
    double t0;

    signal(SIGUSR1, jump_back);
    if (sigsetjmp(back, 1) == 0) {
        raise(SIGUSR1);
        expect(0, "the handler jumped back");
        return;
    }
    t0 = now();
    for (int i = 0; i < SLEEPERS; i++)
        pthread_create(&t[i], NULL, sleeper, NULL);
    sample_threads();
    for (int i = 0; i < SLEEPERS; i++)
        pthread_join(t[i], NULL);
    expect(now() - t0 < 2.0, "after siglongjmp, 200 threads slept at once");
}

static void handlers_are_reported_as_set(void)
{
    struct sigaction act = {.sa_handler = post_storm}, old;

    sigemptyset(&act.sa_mask);
    sigaction(SIGUSR2, &act, NULL);
    sigaction(SIGUSR2, NULL, &old);
    expect(old.sa_handler == post_storm && !(old.sa_flags & SA_SIGINFO),
          "sigaction reports the handler set, without SA_SIGINFO");
    expect(signal(SIGUSR2, SIG_IGN) == post_storm,
          "signal returns the handler set before");
    expect(signal(SIGUSR2, SIG_DFL) == SIG_IGN, "then SIG_IGN");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    handler_wakes_idle_waiter();
    handlers_post_into_a_busy_semaphore();
    threads_sleep_at_once_after_a_jump();
    handlers_are_reported_as_set();
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return failures ? 1 : 0;
}
