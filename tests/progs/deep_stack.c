/*
 * deep_stack: threads and main() get the stack depth a native program has:
 * the default thread (RLIMIT_STACK, 8 MiB here) and main recurse through
 * 6 MiB of frames; a thread asking for 1 MiB uses 900 KiB of it.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Each level keeps 4 KiB live on the stack. */
static long recurse(int depth)
{
    volatile char frame[4096];

    memset((char *)frame, depth & 0xff, sizeof(frame));
    if (depth == 0)
        return frame[0];
    return recurse(depth - 1) + frame[100];
}

static void *deep(void *arg)
{
    int levels = (int)(long)arg;

    return (void *)recurse(levels);
}

int main(void)
{
    pthread_attr_t attr;
    pthread_t t;
    void *ret;

    printf("main 6 MiB: %ld\n", recurse(6 * 256));
    pthread_create(&t, NULL, deep, (void *)(long)(6 * 256));
    pthread_join(t, &ret);
    printf("default thread 6 MiB: %ld\n", (long)ret);

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    pthread_create(&t, &attr, deep, (void *)(long)225);
    pthread_join(t, &ret);
    printf("1 MiB thread 900 KiB: %ld\n", (long)ret);
    pthread_attr_destroy(&attr);
    return 0;
}
