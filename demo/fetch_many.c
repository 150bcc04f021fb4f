/*
 * fetch_many: many threads each look up a host name of their own and
 * fetch a page from it, the classic program of green threads. A plain
 * pthread program that knows nothing of libgreen.
 *
 *   fetch_many THREADS DOMAIN
 *
 * Thread i resolves "host<i>.DOMAIN" with getaddrinfo, connects to the
 * address on the port of a small HTTP server this program runs on
 * 127.0.0.1 (so every name must resolve to 127.0.0.1: demo/fetch.zone),
 * sends a GET and reads the answer to its end. Prints how many pages came
 * back, the wall time, and the most OS threads the process had at once.
 * Exits 1 if a lookup or a fetch failed.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char page[] = "HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";

static char port[8];
static const char *domain;
static atomic_int fetched, failed, peak_threads;

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The Threads: line of /proc/self/status, kept if it is the highest. */
static void sample_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    int n, seen;

    while (f && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "Threads: %d", &n) == 1) {
            seen = atomic_load(&peak_threads);
            while (n > seen && !atomic_compare_exchange_weak(&peak_threads,
                                                             &seen, n))
                ;
        }
    }
    if (f)
        fclose(f);
}

/* One connection of the server: read the request, answer, close. */
static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    char buf[1024];

    if (read(fd, buf, sizeof(buf)) > 0)
        write(fd, page, sizeof(page) - 1);
    close(fd);
    return NULL;
}

static void *server(void *arg)
{
    int lfd = (int)(long)arg;

    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        pthread_t t;

        if (fd < 0)
            continue;
        if (pthread_create(&t, NULL, serve, (void *)(long)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
    return NULL;
}

/* Look host<i>.domain up, fetch its page; true if it came back whole. */
static int fetch(long i)
{
    struct addrinfo hints = {.ai_family = AF_INET,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    char host[256], request[320], buf[256];
    size_t got = 0;
    ssize_t n;
    int fd, ok;

    snprintf(host, sizeof(host), "host%ld.%s", i, domain);
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return 0;
    fd = socket(ai->ai_family, ai->ai_socktype, 0);
    ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    freeaddrinfo(ai);
    snprintf(request, sizeof(request), "GET / HTTP/1.0\r\nHost: %s\r\n\r\n",
             host);
    ok = ok && write(fd, request, strlen(request)) == (ssize_t)strlen(request);
    while (ok && (n = read(fd, buf, sizeof(buf))) > 0)
        got += (size_t)n;
    if (fd >= 0)
        close(fd);
    return ok && got == sizeof(page) - 1;
}

static void *client(void *arg)
{
    if (fetch((long)arg))
        atomic_fetch_add(&fetched, 1);
    else
        atomic_fetch_add(&failed, 1);
    sample_threads();
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    long threads = argc > 2 ? strtol(argv[1], NULL, 10) : 0, start;
    pthread_t srv, *t;
    int lfd;

    if (argc != 3 || threads < 1 || threads > 100000) {
        fprintf(stderr, "usage: fetch_many THREADS DOMAIN\n");
        return 2;
    }
    domain = argv[2];
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, len) != 0 ||
        listen(lfd, SOMAXCONN) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &len) != 0) {
        perror("fetch_many: listen");
        return 1;
    }
    snprintf(port, sizeof(port), "%u", ntohs(addr.sin_port));
    t = calloc((size_t)threads, sizeof(*t));
    if (!t || pthread_create(&srv, NULL, server, (void *)(long)lfd) != 0)
        return 1;
    start = now_ms();
    for (long i = 0; i < threads; i++) {
        if (pthread_create(&t[i], NULL, client, (void *)i) != 0) {
            perror("fetch_many: pthread_create");
            return 1;
        }
    }
    for (long i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    printf("fetched %d of %ld pages\n", atomic_load(&fetched), threads);
    printf("wall_ms=%ld\n", now_ms() - start);
    printf("os_threads_max=%d\n", atomic_load(&peak_threads));
    return atomic_load(&failed) ? 1 : 0;
}
