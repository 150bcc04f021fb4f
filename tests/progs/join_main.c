/*
 * join_main: main ends with pthread_exit(value); a thread it created joins
 * the main thread (allowed by POSIX, since main is joinable) and receives
 * that value, then the process exits 0 when that thread ends.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_progs.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_t main_thread;

static void *joiner(void *arg)
{
    void *ret = NULL;
    int rc;

    (void)arg;
    rc = pthread_join(main_thread, &ret);
    printf("join of main: %s, value %d\n", rc ? strerror(rc) : "0",
           (int)(intptr_t)ret);
    return NULL;
}

static void at_exit(void)
{
    printf("atexit handler ran\n");
}

int main(void)
{
    pthread_t t;
    int rc;

    main_thread = pthread_self();
    if (atexit(at_exit) != 0)
        return 1;
    rc = pthread_create(&t, NULL, joiner, NULL);
    if (rc != 0) {
        fprintf(stderr, "join_main: pthread_create: %s\n", strerror(rc));
        return 1;
    }
    printf("main calls pthread_exit(42)\n");
    pthread_exit((void *)(intptr_t)42);
}
