/*
 * io_accept: many threads blocked in accept() on one listening socket. Each
 * of 16 acceptor threads accepts, reads the 4-byte id the client sends,
 * records it and closes the connection; 8 client threads make 2,000
 * connections between them, one at a time each, and send their ids. Every
 * id must be accepted exactly once. Then main makes 16 more connections
 * whose id says "stop": an acceptor that reads one returns, so each
 * acceptor gets exactly one, and every acceptor must return.
 *
 * stdout shows the totals. stderr carries "acceptors_used=N", how many
 * acceptors got at least one of the 2,000 (which depends on the scheduler:
 * the runner only asks for 2 or more), and "os_threads_max=N", sampled
 * while all threads run (25 natively: the runner bounds it for green runs).
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_io_faults.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "io_accept"
#include "progs.h"

enum {
    ACCEPTORS = 16,
    CLIENTS = 8,
    CONNS = 2000, /* CONNS / CLIENTS each */
    STOP = -1,    /* the id that tells an acceptor to return */
    WAIT_MS = 10000,
};

static struct sockaddr_in addr;
static int listen_fd;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int seen[CONNS];             /* times each id was accepted */
static int per_acceptor[ACCEPTORS]; /* connections each one accepted */
static int bad_ids;
static int stopped; /* acceptors that returned */

/* Reads exactly len bytes of fd into buf; returns 0, or -1 at EOF or on an
 * error. */
static int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = read(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *acceptor(void *arg)
{
    int me = (int)(long)arg;

    for (;;) {
        int32_t id;
        int fd = accept(listen_fd, NULL, NULL);

        check_errno(fd < 0, "accept");
        check(read_full(fd, &id, sizeof(id)) == 0, "read the client's id");
        check_errno(close(fd), "close");
        check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
        if (id == STOP) {
            stopped++;
            check_rc(pthread_cond_signal(&cond), "pthread_cond_signal");
        } else if (id >= 0 && id < CONNS) {
            seen[id]++;
            if (++per_acceptor[me] % 50 == 0)
                sample_threads();
        } else {
            bad_ids++;
        }
        check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
        if (id == STOP)
            return NULL;
    }
}

/* Connects to the listener and sends id. */
static void send_id(int32_t id)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    check_errno(fd < 0, "socket");
    check_errno(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), "connect");
    check(write(fd, &id, sizeof(id)) == sizeof(id), "write the id");
    check_errno(close(fd), "close");
}

static void *client(void *arg)
{
    int first = (int)(long)arg * (CONNS / CLIENTS);

    for (int i = 0; i < CONNS / CLIENTS; i++)
        send_id(first + i);
    return NULL;
}

int main(void)
{
    pthread_t acceptors[ACCEPTORS], clients[CLIENTS];
    struct timespec deadline;
    socklen_t len = sizeof(addr);
    int once = 0, total = 0, used = 0, rc = 0;

    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check_errno(listen_fd < 0, "socket");
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check_errno(bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)),
                "bind");
    /* Room for every connection, so that none waits for a SYN retry. */
    check_errno(listen(listen_fd, CONNS + ACCEPTORS), "listen");
    check_errno(getsockname(listen_fd, (struct sockaddr *)&addr, &len),
                "getsockname");

    for (long i = 0; i < ACCEPTORS; i++)
        check_rc(pthread_create(&acceptors[i], NULL, acceptor, (void *)i),
                 "pthread_create");
    for (long i = 0; i < CLIENTS; i++)
        check_rc(pthread_create(&clients[i], NULL, client, (void *)i),
                 "pthread_create");
    sample_threads();
    for (int i = 0; i < CLIENTS; i++)
        check_rc(pthread_join(clients[i], NULL), "pthread_join");

    /* Accepting is first come, first served: the stops come after every
     * client's connection. */
    for (int i = 0; i < ACCEPTORS; i++)
        send_id(STOP);
    deadline = after_ms(CLOCK_REALTIME, WAIT_MS);
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    while (stopped < ACCEPTORS && rc == 0)
        rc = pthread_cond_timedwait(&cond, &lock, &deadline);
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    if (rc != 0) {
        printf("only %d of %d acceptors returned within %d ms\n", stopped,
               ACCEPTORS, WAIT_MS);
        return 1;
    }
    for (int i = 0; i < ACCEPTORS; i++)
        check_rc(pthread_join(acceptors[i], NULL), "pthread_join");
    close(listen_fd);

    for (int i = 0; i < CONNS; i++) {
        total += seen[i];
        once += seen[i] == 1;
    }
    for (int i = 0; i < ACCEPTORS; i++)
        used += per_acceptor[i] > 0;
    printf("%d clients made %d connections; %d acceptors accepted %d\n",
           CLIENTS, CONNS, ACCEPTORS, total);
    printf("ids accepted exactly once: %d of %d%s\n", once, CONNS,
           once == CONNS ? ", each once" : "");
    printf("unknown ids: %d\n", bad_ids);
    printf("acceptors that returned: %d\n", stopped);
    fprintf(stderr, "acceptors_used=%d\n", used);
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
