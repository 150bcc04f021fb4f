/*
 * io_emfile: a thread-per-connection server that runs out of file
 * descriptors. The program lowers its RLIMIT_NOFILE to 64, then, twice,
 * opens 40 client connections to its own listener before the server
 * accepts any. The server's one acceptor thread accepts them and starts a
 * handler thread for each; the handlers read the client's 4-byte id but
 * hold their reply until the acceptor's accept() has failed with EMFILE
 * (or it has accepted all 40), so that the limit is certainly reached. On
 * EMFILE the acceptor naps 2 ms and tries again: each client thread, once
 * it has its reply, closes its connection, its handler closes its end, and
 * that frees descriptors for the connections still waiting. Every
 * connection must be served exactly once, and the server must keep working
 * for the second round.
 *
 * stdout shows the counts. stderr carries "emfile_retries=N", how many
 * times accept() failed with EMFILE (the number depends on the scheduler),
 * and "os_threads_max=N", sampled when the limit is first reached in a
 * round and once all of its clients have started (natively 20 to 60,
 * depending on how far the threads have got: the runner bounds it for green
 * runs). The acceptor keeps a spare descriptor (/dev/null) to close for
 * the moment it reads /proc/self/status at the limit.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_io_faults.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "io_emfile"
#include "progs.h"

enum {
    FD_LIMIT = 64,
    ROUNDS = 2,
    CONNS = 40, /* per round, all open before the server accepts */
    RETRY_MS = 2,
    WAIT_MS = 10000, /* for anything that should happen */
};

static struct sockaddr_in addr;
static int listen_fd;
static int spare_fd; /* /dev/null, closed for a moment to read /proc */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready_round; /* the last round whose clients have connected */
static int open_round;  /* the last round whose handlers may reply */
static int saw_emfile[ROUNDS + 1]; /* per round: accept failed with EMFILE */
static long emfile_retries;
static int accepted, handled;      /* in all rounds */
static int served[ROUNDS * CONNS]; /* times each id was served */
static pthread_t handlers[ROUNDS * CONNS];

static void lock_all(void)
{
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
}

static void unlock_all(void)
{
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
}

/* Waits on cond, with lock held, until *value >= want; exits 1 after
 * WAIT_MS, since the program could then block forever. */
static void wait_for(const int *value, int want, const char *what)
{
    struct timespec deadline = after_ms(CLOCK_REALTIME, WAIT_MS);

    while (*value < want)
        if (pthread_cond_timedwait(&cond, &lock, &deadline) == ETIMEDOUT) {
            printf("%s: stuck at %d of %d after %d ms\n", what, *value, want,
                   WAIT_MS);
            exit(1);
        }
}

static void set_value(int *value, int v)
{
    lock_all();
    *value = v;
    check_rc(pthread_cond_broadcast(&cond), "pthread_cond_broadcast");
    unlock_all();
}

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

/* --- server ------------------------------------------------------------- */

static void *handler(void *arg)
{
    int fd = (int)(long)arg;
    int32_t id;
    char c;

    check(read_full(fd, &id, sizeof(id)) == 0, "handler: read the id");
    check(id >= 0 && id < ROUNDS * CONNS, "handler: a known id");
    lock_all();
    wait_for(&open_round, id / CONNS + 1, "handler: waiting to reply");
    unlock_all();
    check(write(fd, &id, sizeof(id)) == sizeof(id), "handler: reply");
    /* Hold the descriptor until the client is done with it. */
    check(read(fd, &c, 1) == 0, "handler: EOF from the client");
    check_errno(close(fd), "close");
    lock_all();
    served[id]++;
    handled++;
    check_rc(pthread_cond_broadcast(&cond), "pthread_cond_broadcast");
    unlock_all();
    return NULL;
}

/* Accepts the next connection, napping while descriptors run out; returns
 * it. */
static int accept_retrying(int round)
{
    int64_t give_up = now_ns(CLOCK_MONOTONIC) + WAIT_MS * 1000000LL;

    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (fd >= 0)
            return fd;
        check_errno(errno != EMFILE, "accept4");
        if (!saw_emfile[round]) {
            /* Reading /proc takes a descriptor, and none is left. */
            check_errno(close(spare_fd), "close");
            sample_threads();
            spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            check_errno(spare_fd < 0, "open /dev/null");
            saw_emfile[round] = 1;
            set_value(&open_round, round); /* the limit is reached */
        }
        emfile_retries++;
        if (now_ns(CLOCK_MONOTONIC) > give_up) {
            printf("accept: still EMFILE after %d ms\n", WAIT_MS);
            exit(1);
        }
        nap_ms(RETRY_MS);
    }
}

static void *acceptor(void *arg)
{
    (void)arg;
    for (int round = 1; round <= ROUNDS; round++) {
        lock_all();
        wait_for(&ready_round, round, "acceptor: waiting for clients");
        unlock_all();
        for (int i = 0; i < CONNS; i++) {
            int fd = accept_retrying(round);

            check_rc(pthread_create(&handlers[accepted], NULL, handler,
                                    (void *)(long)fd),
                     "pthread_create");
            set_value(&accepted, accepted + 1);
        }
        if (!saw_emfile[round])
            set_value(&open_round, round); /* never reached: reply anyway */
    }
    return NULL;
}

/* --- clients ------------------------------------------------------------ */

struct client {
    pthread_t thread;
    int fd;
    int32_t id;
    int replied; /* the reply was the id */
};

static void *client(void *arg)
{
    struct client *c = arg;
    int32_t reply = -1;

    check(write(c->fd, &c->id, sizeof(c->id)) == sizeof(c->id),
          "client: write the id");
    c->replied = read_full(c->fd, &reply, sizeof(reply)) == 0 && reply == c->id;
    check_errno(close(c->fd), "close");
    return NULL;
}

/* Opens CONNS connections at once, then lets the server accept them and
 * the clients talk; returns when all are served. */
static void run_round(int round)
{
    static struct client clients[CONNS];
    struct timeval timeo = {WAIT_MS / 1000, 0};
    int replied = 0, once = 0;

    for (int i = 0; i < CONNS; i++) {
        struct client *c = &clients[i];

        c->id = (round - 1) * CONNS + i;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        check_errno(c->fd < 0, "socket");
        /* A reply that never comes fails the program, not hangs it. */
        check_errno(
            setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &timeo, sizeof(timeo)),
            "setsockopt SO_RCVTIMEO");
        check_errno(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)),
                    "connect");
    }
    set_value(&ready_round, round);
    for (int i = 0; i < CONNS; i++)
        check_rc(pthread_create(&clients[i].thread, NULL, client, &clients[i]),
                 "pthread_create");
    sample_threads();
    for (int i = 0; i < CONNS; i++) {
        check_rc(pthread_join(clients[i].thread, NULL), "pthread_join");
        replied += clients[i].replied;
    }

    lock_all();
    wait_for(&accepted, round * CONNS, "acceptor");
    wait_for(&handled, round * CONNS, "handlers");
    unlock_all();
    for (int i = (round - 1) * CONNS; i < round * CONNS; i++) {
        check_rc(pthread_join(handlers[i], NULL), "pthread_join");
        once += served[i] == 1;
    }
    printf("round %d: %d connections, accept saw EMFILE: %s, %d got their "
           "reply, %d served exactly once\n",
           round, CONNS, saw_emfile[round] ? "yes" : "no", replied, once);
}

int main(void)
{
    struct rlimit lim;
    socklen_t len = sizeof(addr);
    pthread_t t;

    check_errno(getrlimit(RLIMIT_NOFILE, &lim), "getrlimit");
    lim.rlim_cur = FD_LIMIT;
    check_errno(setrlimit(RLIMIT_NOFILE, &lim), "setrlimit");
    printf("RLIMIT_NOFILE: %d\n", FD_LIMIT);

    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check_errno(listen_fd < 0, "socket");
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check_errno(bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)),
                "bind");
    check_errno(listen(listen_fd, CONNS), "listen");
    check_errno(getsockname(listen_fd, (struct sockaddr *)&addr, &len),
                "getsockname");

    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    check_errno(spare_fd < 0, "open /dev/null");
    check_rc(pthread_create(&t, NULL, acceptor, NULL), "pthread_create");
    for (int round = 1; round <= ROUNDS; round++)
        run_round(round);
    check_rc(pthread_join(t, NULL), "pthread_join");
    close(listen_fd);
    close(spare_fd);
    printf("server accepted %d connections and served %d\n", accepted, handled);
    fprintf(stderr, "emfile_retries=%ld\n", emfile_retries);
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
