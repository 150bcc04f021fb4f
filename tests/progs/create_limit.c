/*
 * create_limit: creates up to 100 threads that each sleep 200 ms, stopping
 * at the first error, and prints how many were created and the error. Under
 * GREEN_MAX_THREADS the green run stops early with EAGAIN.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void *nap(void *arg)
{
    (void)arg;
    usleep(200000);
    return NULL;
}

int main(void)
{
    pthread_t t[100];
    int n, rc = 0;

    for (n = 0; n < 100; n++)
        if ((rc = pthread_create(&t[n], NULL, nap, NULL)) != 0)
            break;
    printf("created %d, then %s\n", n,
           rc == EAGAIN ? "EAGAIN"
           : rc         ? strerror(rc)
                        : "no error");
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    return 0;
}
