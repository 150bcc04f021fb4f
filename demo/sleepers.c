/*
 * sleepers: many threads that each sleep, for scripts/demo.
 *
 *   sleepers [THREADS [MS]]    (defaults: 10000 threads, 1000 ms)
 *
 * Starts THREADS threads with 64 KiB stacks (so that the native run fits in
 * memory and under vm.max_map_count), each sleeps MS milliseconds with
 * nanosleep, and main joins them all, then prints "N threads slept". A plain
 * pthread program that knows nothing of libgreen.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct timespec nap;

static void *sleeper(void *arg)
{
    struct timespec left = nap;

    /* A signal may cut the sleep short; sleep the rest. */
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
    return arg;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    long ms = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
    pthread_attr_t attr;
    pthread_t *t;
    int rc;

    if (n < 1 || ms < 0) {
        fprintf(stderr, "usage: sleepers [THREADS [MS]]\n");
        return 2;
    }
    nap.tv_sec = ms / 1000;
    nap.tv_nsec = ms % 1000 * 1000000;
    t = calloc(n, sizeof(*t));
    if (!t) {
        perror("sleepers: calloc");
        return 1;
    }
    pthread_attr_init(&attr);
    rc = pthread_attr_setstacksize(&attr, 64 * 1024);
    if (rc != 0) {
        fprintf(stderr, "sleepers: setstacksize: %s\n", strerror(rc));
        return 1;
    }
    for (long i = 0; i < n; i++) {
        rc = pthread_create(&t[i], &attr, sleeper, NULL);
        if (rc != 0) {
            fprintf(stderr, "sleepers: pthread_create #%ld: %s\n", i,
                    strerror(rc));
            return 1;
        }
    }
    pthread_attr_destroy(&attr);
    for (long i = 0; i < n; i++) {
        rc = pthread_join(t[i], NULL);
        if (rc != 0) {
            fprintf(stderr, "sleepers: pthread_join #%ld: %s\n", i,
                    strerror(rc));
            return 1;
        }
    }
    free(t);
    printf("%ld threads slept\n", n);
    return 0;
}
