/*
 * dns_parallel: N threads (argv[1], 200 by default, at most 512) each
 * resolve a different name at the same moment, through a DNS server that
 * answers each query 300 ms after it comes. Each must get exactly its own
 * name's two addresses (10.77.x.y and 2001:db8:77::i, from tests/dns/zone),
 * whatever the others get. Prints how many did; on stderr, how long all
 * the lookups took together ("wall_ms=N") and the most OS threads seen
 * while they ran ("os_threads_max=N"), which the runner bounds.
 *
 * Meant to run under tests/dns/netns.c with fakedns serving tests/dns/zone.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PROG_NAME "dns_parallel"
#include "progs.h"

#include "dns.h"

enum { DEFAULT_THREADS = 200, MAX_THREADS = 512, WAIT_LIMIT_MS = 30000 };

static pthread_barrier_t start;
static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int finished, correct;

static void sample(void)
{
    check_rc(pthread_mutex_lock(&sample_lock), "pthread_mutex_lock");
    sample_threads();
    check_rc(pthread_mutex_unlock(&sample_lock), "pthread_mutex_unlock");
}

/* Whether res holds exactly the two addresses of name i, once each. */
static int is_own(const struct addrinfo *res, int i)
{
    struct in_addr want4;
    struct in6_addr want6;
    char text[64];
    int got4 = 0, got6 = 0, other = 0;

    snprintf(text, sizeof(text), "10.77.%d.%d", i / 256, i % 256);
    inet_pton(AF_INET, text, &want4);
    snprintf(text, sizeof(text), "2001:db8:77::%d", i);
    inet_pton(AF_INET6, text, &want6);
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET &&
            ((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr ==
                want4.s_addr)
            got4++;
        else if (ai->ai_family == AF_INET6 &&
                 memcmp(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
                        &want6, sizeof(want6)) == 0)
            got6++;
        else
            other++;
    }
    return got4 == 1 && got6 == 1 && other == 0;
}

static void *resolve(void *arg)
{
    int i = (int)(intptr_t)arg, rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char name[64];

    snprintf(name, sizeof(name), "n%d.par.test.lan", i);
    rc = pthread_barrier_wait(&start);
    check(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD,
          "pthread_barrier_wait");
    rc = getaddrinfo(name, NULL, &hints, &res);
    sample();
    if (rc != 0) {
        fprintf(stderr, PROG_NAME ": %s: %s\n", name, eai_name(rc));
    } else {
        if (is_own(res, i))
            atomic_fetch_add(&correct, 1);
        else
            fprintf(stderr, PROG_NAME ": %s: not its own addresses\n", name);
        freeaddrinfo(res);
    }
    atomic_fetch_add(&finished, 1);
    return NULL;
}

int main(int argc, char *argv[])
{
    int n = argc > 1 ? atoi(argv[1]) : DEFAULT_THREADS;
    pthread_t *threads;
    int64_t began, waited_ms = 0;
    int rc;

    check(n > 0 && n <= MAX_THREADS, "1 <= threads <= 512");
    threads = calloc((size_t)n, sizeof(*threads));
    check(threads != NULL, "calloc");
    check_rc(pthread_barrier_init(&start, NULL, (unsigned)n + 1),
             "pthread_barrier_init");
    for (int i = 0; i < n; i++)
        check_rc(
            pthread_create(&threads[i], NULL, resolve, (void *)(intptr_t)i),
            "pthread_create");
    sample();
    rc = pthread_barrier_wait(&start);
    check(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD,
          "pthread_barrier_wait");
    began = now_ns(CLOCK_MONOTONIC);
    /* Watch the thread count while the lookups are in flight: a resolver
     * that grows a thread per lookup shows here. */
    while (atomic_load(&finished) < n && waited_ms < WAIT_LIMIT_MS) {
        sample();
        nap_ms(5);
        waited_ms += 5;
    }
    for (int i = 0; i < n; i++)
        check_rc(pthread_join(threads[i], NULL), "pthread_join");
    fprintf(stderr, "wall_ms=%lld os_threads_max=%d\n",
            (long long)((now_ns(CLOCK_MONOTONIC) - began) / 1000000),
            os_threads_max);
    printf("resolved %d names, %d with exactly their own addresses\n",
           atomic_load(&finished), atomic_load(&correct));
    free(threads);
    return atomic_load(&correct) == n ? 0 : 1;
}
