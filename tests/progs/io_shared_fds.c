/*
 * io_shared_fds: descriptors that more than one thread, or more than one
 * use of the same number, depend on.
 *
 *  - Six consumer threads read one EFD_SEMAPHORE eventfd that a producer
 *    signals 2,000 times: each signal is read exactly once, and a reader
 *    that loses the race for one waits for the next instead of blocking
 *    whatever else shares its OS thread.
 *  - A socket accepted from a listener with SO_RCVTIMEO has the same
 *    timeout (Linux copies it): a read with no data ends with EAGAIN after
 *    it, not before, and does not wait for ever.
 *  - A read on a number that is closed fails with EBADF; the number, given
 *    next to an eventfd, then reads and writes as an eventfd.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#define PROG_NAME "io_shared_fds"
#include "progs.h"

enum { SIGNALS = 2000, CONSUMERS = 6 };

static int efd;
static atomic_int consumed;

static void *consume(void *arg)
{
    uint64_t v;

    (void)arg;
    while (atomic_load(&consumed) < SIGNALS) {
        check(read(efd, &v, sizeof(v)) == sizeof(v), "eventfd read");
        if (atomic_fetch_add(&consumed, 1) + 1 >= SIGNALS) {
            /* Let the other consumers out: one extra signal each. */
            uint64_t more = CONSUMERS;

            check(write(efd, &more, sizeof(more)) == sizeof(more),
                  "eventfd write");
        }
    }
    return NULL;
}

static void shared_eventfd(void)
{
    pthread_t c[CONSUMERS];
    uint64_t one = 1;

    efd = eventfd(0, EFD_SEMAPHORE);
    check(efd >= 0, "eventfd");
    for (int i = 0; i < CONSUMERS; i++)
        check_rc(pthread_create(&c[i], NULL, consume, NULL), "pthread_create");
    for (int i = 0; i < SIGNALS; i++) {
        check(write(efd, &one, sizeof(one)) == sizeof(one), "eventfd write");
        if (i % 100 == 0)
            nap_ms(1);
    }
    for (int i = 0; i < CONSUMERS; i++)
        check_rc(pthread_join(c[i], NULL), "pthread_join");
    printf("eventfd: %d signals consumed by %d readers\n",
           atomic_load(&consumed) >= SIGNALS ? SIGNALS : -1, CONSUMERS);
    close(efd);
}

static void accepted_timeout(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    struct timeval tv = {0, 200000};
    int l = socket(AF_INET, SOCK_STREAM, 0), c, s;
    int64_t start, took;
    char buf[8];
    ssize_t n;

    check(l >= 0, "socket");
    check_errno(bind(l, (struct sockaddr *)&addr, len), "bind");
    check_errno(listen(l, 4), "listen");
    check_errno(getsockname(l, (struct sockaddr *)&addr, &len), "getsockname");
    check_errno(setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
                "setsockopt");
    c = socket(AF_INET, SOCK_STREAM, 0);
    check_errno(connect(c, (struct sockaddr *)&addr, sizeof(addr)), "connect");
    s = accept(l, NULL, NULL);
    check(s >= 0, "accept");
    start = now_ns(CLOCK_MONOTONIC);
    n = read(s, buf, sizeof(buf));
    took = now_ns(CLOCK_MONOTONIC) - start;
    printf("accepted socket: read %s after the listener's 200 ms: %s\n",
           n < 0 ? ename(errno) : "data", took >= 190000000 ? "yes" : "no");
    close(s);
    close(c);
    close(l);
}

static void *signal_later(void *arg)
{
    uint64_t one = 1;

    nap_ms(20);
    check(write(*(int *)arg, &one, sizeof(one)) == sizeof(one),
          "eventfd write");
    return NULL;
}

static void reused_number(void)
{
    int fd = eventfd(0, 0), again;
    uint64_t v;
    pthread_t t;
    char c;

    check(fd >= 0, "eventfd");
    close(fd);
    printf("read on a closed number: %s\n",
           read(fd, &c, 1) < 0 ? ename(errno) : "data");
    again = eventfd(0, 0);
    printf("a new eventfd got the number: %s\n", again == fd ? "yes" : "no");
    check_rc(pthread_create(&t, NULL, signal_later, &again), "pthread_create");
    check(read(again, &v, sizeof(v)) == sizeof(v) && v == 1, "eventfd read");
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("it read the value written 20 ms later: %llu\n",
           (unsigned long long)v);
    close(again);
}

int main(void)
{
    shared_eventfd();
    accepted_timeout();
    reused_number();
    return 0;
}
