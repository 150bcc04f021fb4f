/*
 * return_status: main prints, joins one thread, and returns 7; the runner
 * compares the exit status as well as stdout. Also the program that
 * tests/config_env.c starts under good and bad libgreen settings.
 *
 * A plain POSIX program that knows nothing of libgreen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void *five(void *arg)
{
    (void)arg;
    return (void *)(uintptr_t)5;
}

int main(void)
{
    pthread_t t;
    void *ret = NULL;
    int rc;

    printf("main started\n");
    rc = pthread_create(&t, NULL, five, NULL);
    if (rc == 0)
        rc = pthread_join(t, &ret);
    if (rc != 0) {
        fprintf(stderr, "return_status: %s\n", strerror(rc));
        return 1;
    }
    printf("thread returned %d\n", (int)(uintptr_t)ret);
    printf("main returns 7\n");
    return 7;
}
