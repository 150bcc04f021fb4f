/*
 * io_close: close() and dup2() on a socket another thread is blocked
 * reading. Linux leaves such a reader blocked on the file description
 * (which its read still holds) until something else ends the read; libgreen
 * instead wakes it with EBADF, as its documentation says. So this program
 * is not diffed: it prints what it saw, and tests/diff_io_faults.c compares
 * its stdout with the text expected natively and the text expected green.
 *
 * close: a reader blocks in read(fd); main keeps a dup of fd, closes fd,
 * and at once makes a new socket, which gets the lowest free number: fd's.
 * Main then waits up to 500 ms for the reader and prints whether it
 * returned (and with what) or is still blocked. A second reader blocks in
 * read() on the new socket, whose peer then sends "fresh": it must get
 * exactly that (the closed socket's wait must not linger on the number).
 * If the first reader is still blocked, shutdown() of the dup ends its
 * read with 0.
 *
 * dup2: a reader blocks in read(fd); main keeps a dup of fd and dup2()s
 * another connected socket onto fd; same wait of 500 ms. A new reader of fd
 * must then get what the other socket's peer sends, and a still blocked
 * first reader is released by shutdown() of the dup.
 *
 * Every wait is bounded: a reader that should have returned and did not
 * makes the program print so and exit 1. Nothing goes to stderr unless a
 * check fails.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "io_close"
#include "progs.h"

enum {
    OBSERVE_MS = 500, /* how long a reader may take to notice a close */
    WAIT_MS = 2000,   /* for a reader that must return */
    ASLEEP_MS = 1000, /* for a reader to block */
};

static struct sockaddr_in addr;
static int listen_fd;

/* --- sockets ------------------------------------------------------------ */

static void listen_local(void)
{
    socklen_t len = sizeof(addr);

    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check_errno(listen_fd < 0, "socket");
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check_errno(bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)),
                "bind");
    check_errno(listen(listen_fd, 16), "listen");
    check_errno(getsockname(listen_fd, (struct sockaddr *)&addr, &len),
                "getsockname");
}

/* Connects the socket fd to the listener; returns the accepted end. */
static int connect_local(int fd)
{
    int server;

    check_errno(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), "connect");
    server = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    check_errno(server < 0, "accept4");
    return server;
}

static int new_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    check_errno(fd < 0, "socket");
    return fd;
}

static void send_str(int fd, const char *s)
{
    check(send(fd, s, strlen(s), 0) == (ssize_t)strlen(s), "send");
}

/* --- readers ------------------------------------------------------------ */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

/* A thread doing one read(), and how it went, under lock. */
struct reader {
    pthread_t thread;
    int fd;
    pid_t tid;   /* its OS thread, once started */
    int started; /* about to call read() */
    int done;
    ssize_t rc;
    int err;
    char buf[32];
};

static void *do_read(void *arg)
{
    struct reader *r = arg;
    ssize_t rc;
    int err;

    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    r->tid = (pid_t)syscall(SYS_gettid);
    r->started = 1;
    check_rc(pthread_cond_broadcast(&cond), "pthread_cond_broadcast");
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    rc = read(r->fd, r->buf, sizeof(r->buf) - 1);
    err = errno;
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    r->rc = rc;
    r->err = err;
    if (rc > 0)
        r->buf[rc] = '\0';
    r->done = 1;
    check_rc(pthread_cond_broadcast(&cond), "pthread_cond_broadcast");
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    return NULL;
}

/* Whether OS thread tid is asleep (state S in /proc); -1 if it cannot be
 * seen. */
static int asleep(pid_t tid)
{
    char path[64], line[512], *p = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (fgets(line, sizeof(line), f))
        p = strrchr(line, ')'); /* the name may hold spaces */
    fclose(f);
    return p && p[1] == ' ' && p[2] == 'S';
}

/* Starts a reader of fd and returns once it is blocked in read(): once it
 * has said it is about to read and its OS thread is asleep. (Natively
 * nothing else puts it to sleep; a green reader's OS thread sleeps once it
 * has nothing to run. If it is our own OS thread, or cannot be seen, a
 * short nap stands in.) */
static void start_reader(struct reader *r, int fd)
{
    int64_t give_up = now_ns(CLOCK_MONOTONIC) + ASLEEP_MS * 1000000LL;
    pid_t tid;

    memset(r, 0, sizeof(*r));
    r->fd = fd;
    check_rc(pthread_create(&r->thread, NULL, do_read, r), "pthread_create");
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    while (!r->started)
        check_rc(pthread_cond_wait(&cond, &lock), "pthread_cond_wait");
    tid = r->tid;
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    if (tid == (pid_t)syscall(SYS_gettid)) {
        nap_ms(50);
        return;
    }
    while (asleep(tid) == 0 && now_ns(CLOCK_MONOTONIC) < give_up)
        nap_ms(1);
    nap_ms(10);
}

/* Waits up to ms for r to return; returns whether it has. */
static int reader_returns_within(struct reader *r, long ms)
{
    struct timespec deadline = after_ms(CLOCK_REALTIME, ms);
    int rc = 0, done;

    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    while (!r->done && rc == 0)
        rc = pthread_cond_timedwait(&cond, &lock, &deadline);
    done = r->done;
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    return done;
}

/* Joins r, which must return within WAIT_MS. */
static void join_reader(struct reader *r, const char *what)
{
    if (!reader_returns_within(r, WAIT_MS)) {
        printf("%s: reader still blocked after %d ms\n", what, WAIT_MS);
        exit(1);
    }
    check_rc(pthread_join(r->thread, NULL), "pthread_join");
}

/* What r's read() gave: "returned -1 EBADF", "returned 0", or the text. */
static const char *outcome(const struct reader *r)
{
    static char text[64];

    if (r->rc < 0)
        snprintf(text, sizeof(text), "returned -1 %s", ename(r->err));
    else if (r->rc == 0)
        snprintf(text, sizeof(text), "returned 0");
    else
        snprintf(text, sizeof(text), "got \"%s\"", r->buf);
    return text;
}

/* Prints whether r returned within OBSERVE_MS of what was done to its fd;
 * returns whether it did. */
static int observe(struct reader *r, const char *what)
{
    int done = reader_returns_within(r, OBSERVE_MS);

    if (done)
        printf("%s: reader %s\n", what, outcome(r));
    else
        printf("%s: reader still blocked after %d ms\n", what, OBSERVE_MS);
    return done;
}

/* Ends r, still blocked on the description dup_fd also refers to, with
 * shutdown(), and prints what its read() returned. */
static void release(struct reader *r, int dup_fd, const char *what)
{
    check_errno(shutdown(dup_fd, SHUT_RDWR), "shutdown");
    join_reader(r, what);
    printf("%s: shutdown() of a dup released the reader: %s\n", what,
           outcome(r));
}

/* --- close -------------------------------------------------------------- */

static void close_while_reading(void)
{
    struct reader old, fresh;
    int fd = new_socket();
    int peer = connect_local(fd);
    int dup_fd, new_fd, new_peer, done;

    start_reader(&old, fd);
    dup_fd = dup(fd);
    check_errno(dup_fd < 0, "dup");
    check_errno(close(fd), "close");
    new_fd = new_socket();
    printf("close: a new socket got the closed number: %s\n",
           new_fd == fd ? "yes" : "no");
    done = observe(&old, "close");

    new_peer = connect_local(new_fd);
    start_reader(&fresh, new_fd);
    send_str(new_peer, "fresh");
    join_reader(&fresh, "reuse");
    printf("reuse: reader of the new socket %s\n", outcome(&fresh));

    if (done)
        check_rc(pthread_join(old.thread, NULL), "pthread_join");
    else
        release(&old, dup_fd, "close");
    close(dup_fd);
    close(peer);
    close(new_fd);
    close(new_peer);
}

/* --- dup2 --------------------------------------------------------------- */

static void dup2_while_reading(void)
{
    struct reader old, fresh;
    int fd = new_socket();
    int peer = connect_local(fd);
    int other = new_socket();
    int other_peer = connect_local(other);
    int dup_fd, done;

    start_reader(&old, fd);
    dup_fd = dup(fd);
    check_errno(dup_fd < 0, "dup");
    check_errno(dup2(other, fd) != fd, "dup2");
    done = observe(&old, "dup2");

    start_reader(&fresh, fd);
    send_str(other_peer, "other");
    join_reader(&fresh, "dup2");
    printf("dup2: a new reader of the number %s\n", outcome(&fresh));

    if (done)
        check_rc(pthread_join(old.thread, NULL), "pthread_join");
    else
        release(&old, dup_fd, "dup2");
    close(dup_fd);
    close(fd);
    close(peer);
    close(other);
    close(other_peer);
}

int main(void)
{
    listen_local();
    close_while_reading();
    dup2_while_reading();
    close(listen_fd);
    return 0;
}
