/*
 * create_enomem: with the address space limited to 4 GiB, threads asking
 * for 512 MiB stacks run out of room: pthread_create then fails with EAGAIN
 * (not a crash), the threads already made still run and join, a thread
 * with a small stack can be created again afterwards, and the joined
 * threads' stacks give their address space back (a 3 GiB mapping fits).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static void *nap(void *arg)
{
    usleep(50000);
    return arg;
}

int main(void)
{
    struct rlimit rl = {4UL << 30, 4UL << 30};
    pthread_attr_t big;
    pthread_t t[64];
    int n, rc = 0;
    void *ret, *big_block;

    if (setrlimit(RLIMIT_AS, &rl) != 0) {
        perror("setrlimit");
        return 1;
    }
    pthread_attr_init(&big);
    pthread_attr_setstacksize(&big, 512UL << 20);
    for (n = 0; n < 64; n++)
        if ((rc = pthread_create(&t[n], &big, nap, (void *)(long)n)) != 0)
            break;
    printf("some created: %s\n", n > 0 ? "yes" : "no");
    printf("then: %s\n", rc == EAGAIN ? "EAGAIN" : strerror(rc));
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], &ret);
        if ((long)ret != i)
            printf("thread %d returned %ld\n", i, (long)ret);
    }
    rc = pthread_create(&t[0], NULL, nap, (void *)7L);
    pthread_join(t[0], &ret);
    printf("small thread after: %d, %ld\n", rc, (long)ret);
    /* The joined threads' stacks gave their address space back. */
    big_block = mmap(NULL, 3UL << 30, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    printf("3 GiB mapping after: %s\n",
           big_block != MAP_FAILED ? "ok" : strerror(errno));
    pthread_attr_destroy(&big);
    return 0;
}
