/*
 * switch_ring: N threads in a ring pass a token through semaphores, each
 * waking the next, so that every hand-off lands on another thread's stack.
 * For scripts/bench-ring: what a hand-off costs as the threads, and the
 * memory their stacks spread over, grow. A plain pthread program.
 *
 *   switch_ring N ROUNDS [STACK_BYTES]
 *
 * Prints "ns_per_handoff=X": the wall time of ROUNDS trips of the token
 * round the ring, per hand-off. STACK_BYTES: each thread's stack size
 * attribute (default: the system's, RLIMIT_STACK).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int threads, rounds;
static sem_t *sems;

static void *pass(void *arg)
{
    long i = (long)arg;

    for (int r = 0; r < rounds; r++) {
        while (sem_wait(&sems[i]) != 0 && errno == EINTR)
            ;
        sem_post(&sems[(i + 1) % threads]);
    }
    return NULL;
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    pthread_attr_t attr;
    pthread_t *t;
    double start;
    int rc;

    if (argc < 3 || (threads = atoi(argv[1])) < 2 ||
        (rounds = atoi(argv[2])) < 1) {
        fprintf(stderr, "usage: switch_ring N ROUNDS [STACK_BYTES]\n");
        return 2;
    }
    sems = calloc((size_t)threads, sizeof(*sems));
    t = calloc((size_t)threads, sizeof(*t));
    if (!sems || !t) {
        fprintf(stderr, "switch_ring: out of memory\n");
        return 1;
    }
    pthread_attr_init(&attr);
    if (argc > 3 &&
        (rc = pthread_attr_setstacksize(&attr, strtoul(argv[3], NULL, 0)))) {
        fprintf(stderr, "switch_ring: stack size: %s\n", strerror(rc));
        return 2;
    }
    for (int i = 0; i < threads; i++)
        sem_init(&sems[i], 0, 0);
    for (long i = 0; i < threads; i++) {
        rc = pthread_create(&t[i], &attr, pass, (void *)i);
        if (rc != 0) {
            fprintf(stderr, "switch_ring: thread %ld: %s\n", i, strerror(rc));
            return 1;
        }
    }
    start = now_ns();
    sem_post(&sems[0]);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    printf("ns_per_handoff=%.1f\n",
           (now_ns() - start) / ((double)threads * rounds));
    return 0;
}
