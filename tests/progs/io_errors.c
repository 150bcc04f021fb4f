/*
 * io_errors: the errors of blocking TCP calls over 127.0.0.1. A blocking
 * connect to a port nobody listens on is refused (ECONNREFUSED); recv and
 * read on a socket with SO_RCVTIMEO give EAGAIN once the timeout has passed,
 * and data that comes in time is returned; send with SO_SNDTIMEO into a
 * full buffer (the peer does not read) returns a partial count or EAGAIN
 * once the timeout has passed, and the peer later reads every byte the
 * counts said were sent. Writing to a socket whose peer closed gives EPIPE
 * with a SIGPIPE handler (one signal), with MSG_NOSIGNAL (no signal) and
 * with SIGPIPE ignored, and kills a forked child that keeps the default
 * disposition. A peer that closes with SO_LINGER {1, 0} resets the
 * connection: recv gives ECONNRESET (then 0), also to a thread already
 * blocked in recv, and to a thread blocked in the middle of reading a large
 * transfer. Last, O_NONBLOCK is the program's own: F_GETFL shows exactly
 * what it set, before and after a blocking or a non-blocking connect (0 or
 * EINPROGRESS, then SO_ERROR 0, or ECONNREFUSED for a closed port), and
 * recv and read on a non-blocking socket without data give EAGAIN.
 *
 * stdout shows results only ("ok" for a timeout that did not end early).
 * stderr carries "max_late_us=N", how long after its timeout the latest
 * timed-out call returned, and "max_early_us=N", how long before it the
 * earliest did (0 if none did). The kernel counts SO_RCVTIMEO and
 * SO_SNDTIMEO in jiffies and might end a wait up to a jiffy early (it has
 * not in our runs: it ends them a jiffy late), so "EARLY" is printed only
 * for a call that ends more than EARLY_SLACK_MS before its timeout; the
 * runner holds green runs to max_early_us=0.
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
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "io_errors"
#include "progs.h"

enum {
    TIMEO_MS = 100,      /* the SO_RCVTIMEO and SO_SNDTIMEO under test */
    EARLY_SLACK_MS = 10, /* one jiffy at HZ=100 */
    SMALL_BUF = 64 * 1024,
    BIG = 1 << 20,      /* one send into a full buffer; the part sent */
    TRANSFER = 8 * BIG, /* what the reader of a reset transfer expects */
    CHUNK = 64 * 1024,  /* one recv of that reader */
    WRITES_MAX = 200,   /* writes to a closed peer before giving up */
    WAIT_MS = 5000,     /* for a thread that should return */
};

static unsigned char big[BIG];    /* sent by the SO_SNDTIMEO and reset tests */
static unsigned char sink[CHUNK]; /* what one reader at a time reads into */

/* --- sockets ------------------------------------------------------------ */

/* A TCP socket listening on 127.0.0.1, on a port the kernel picks, whose
 * connections get a receive buffer of rcvbuf bytes (0: the default). */
static int listen_local(struct sockaddr_in *addr, int rcvbuf)
{
    socklen_t len = sizeof(*addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    check_errno(fd < 0, "socket");
    if (rcvbuf)
        check_errno(
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)),
            "setsockopt SO_RCVBUF");
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check_errno(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), "bind");
    check_errno(listen(fd, 16), "listen");
    check_errno(getsockname(fd, (struct sockaddr *)addr, &len), "getsockname");
    return fd;
}

/* A connection to the listener lfd at addr: *client connected with a send
 * buffer of sndbuf bytes (0: the default), *server accepted. */
static void tcp_pair(int lfd, const struct sockaddr_in *addr, int sndbuf,
                     int *client, int *server)
{
    *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check_errno(*client < 0, "socket");
    if (sndbuf)
        check_errno(
            setsockopt(*client, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)),
            "setsockopt SO_SNDBUF");
    check_errno(connect(*client, (const struct sockaddr *)addr, sizeof(*addr)),
                "connect");
    *server = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    check_errno(*server < 0, "accept4");
}

static void set_timeo(int fd, int opt, long ms)
{
    struct timeval tv = {ms / 1000, ms % 1000 * 1000};

    check_errno(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)),
                "setsockopt SO_RCVTIMEO/SO_SNDTIMEO");
}

/* Closes fd so that its peer gets a reset rather than an orderly end. */
static void reset_close(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};

    check_errno(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)),
                "setsockopt SO_LINGER");
    check_errno(close(fd), "close");
}

/* --- timeouts ----------------------------------------------------------- */

static long max_early_us;

/* "ok" unless a call that started at start (CLOCK_MONOTONIC, ns) with a
 * timeout of ms ended more than EARLY_SLACK_MS early; keeps its lateness
 * or earliness for stderr. */
static const char *on_time(int64_t start, long ms)
{
    long late = (long)((now_ns(CLOCK_MONOTONIC) - start) / 1000) - ms * 1000;

    if (late > max_late_us)
        max_late_us = late;
    if (-late > max_early_us)
        max_early_us = -late;
    return late >= -EARLY_SLACK_MS * 1000L ? "ok" : "EARLY";
}

/* Prints what a call that should have timed out ended with: "EAGAIN ok",
 * or the count or error it gave. */
static void print_timeout(const char *what, ssize_t n, int64_t start, long ms)
{
    if (n < 0 && errno == EAGAIN)
        printf("%s: EAGAIN %s\n", what, on_time(start, ms));
    else if (n < 0)
        printf("%s: %s\n", what, ename(errno));
    else
        printf("%s: returned %zd\n", what, n);
}

/* --- threads that must return ------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

/* A thread and what it reports back, under lock. */
struct job {
    pthread_t thread;
    int fd;
    long progress; /* bytes read so far */
    ssize_t rc;    /* its last call's answer */
    int err;       /* errno after it, if rc < 0 */
    int done;
};

static void job_report(struct job *j, ssize_t rc, int err, int done)
{
    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    if (rc > 0)
        j->progress += rc;
    j->rc = rc;
    j->err = err;
    j->done = done;
    check_rc(pthread_cond_broadcast(&cond), "pthread_cond_broadcast");
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
}

/* Waits up to WAIT_MS until j is done or has read at least progress bytes;
 * exits 1 if it is not, since it could then block the program forever. */
static void job_wait(struct job *j, long progress, const char *what)
{
    struct timespec deadline = after_ms(CLOCK_REALTIME, WAIT_MS);
    int rc = 0;

    check_rc(pthread_mutex_lock(&lock), "pthread_mutex_lock");
    while (!j->done && j->progress < progress && rc == 0)
        rc = pthread_cond_timedwait(&cond, &lock, &deadline);
    check_rc(pthread_mutex_unlock(&lock), "pthread_mutex_unlock");
    if (rc != 0) {
        printf("%s: still blocked after %d ms\n", what, WAIT_MS);
        exit(1);
    }
}

static void job_join(struct job *j, const char *what)
{
    job_wait(j, LONG_MAX, what);
    check_rc(pthread_join(j->thread, NULL), "pthread_join");
}

/* --- connect refused ---------------------------------------------------- */

/* A socket bound to a port of 127.0.0.1 (its address in *addr) but not
 * listening: connections to it are refused, and nobody else can take the
 * port while we hold it. */
static int closed_port(struct sockaddr_in *addr)
{
    socklen_t len = sizeof(*addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    check_errno(fd < 0, "socket");
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check_errno(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), "bind");
    check_errno(getsockname(fd, (struct sockaddr *)addr, &len), "getsockname");
    return fd;
}

static void connect_refused(void)
{
    struct sockaddr_in addr;
    int bound = closed_port(&addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc;

    check_errno(fd < 0, "socket");
    rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    printf("connect to a closed port: %s\n", rc == 0 ? "0" : ename(errno));
    close(fd);
    close(bound);
}

/* --- SO_RCVTIMEO -------------------------------------------------------- */

static void *send_hello_later(void *arg)
{
    int fd = *(int *)arg;

    nap_ms(20);
    check(send(fd, "hello", 5, 0) == 5, "send hello");
    return NULL;
}

static void rcvtimeo(int lfd, const struct sockaddr_in *addr)
{
    char buf[16];
    pthread_t t;
    int64_t start;
    ssize_t n;
    int c, s;

    tcp_pair(lfd, addr, 0, &c, &s);
    set_timeo(c, SO_RCVTIMEO, TIMEO_MS);
    start = now_ns(CLOCK_MONOTONIC);
    n = recv(c, buf, sizeof(buf), 0);
    print_timeout("recv, SO_RCVTIMEO 100 ms, no data", n, start, TIMEO_MS);
    start = now_ns(CLOCK_MONOTONIC);
    n = read(c, buf, sizeof(buf));
    print_timeout("read, SO_RCVTIMEO 100 ms, no data", n, start, TIMEO_MS);

    set_timeo(c, SO_RCVTIMEO, 2000);
    check_rc(pthread_create(&t, NULL, send_hello_later, &s), "pthread_create");
    n = recv(c, buf, sizeof(buf), 0);
    if (n < 0)
        printf("recv, SO_RCVTIMEO 2 s, data after 20 ms: %s\n", ename(errno));
    else
        printf("recv, SO_RCVTIMEO 2 s, data after 20 ms: \"%.*s\"\n", (int)n,
               buf);
    check_rc(pthread_join(t, NULL), "pthread_join");
    close(c);
    close(s);
}

/* --- SO_SNDTIMEO -------------------------------------------------------- */

/* Sends big into c, which has SO_SNDTIMEO, and prints how it ended; a
 * partial count or EAGAIN both mean the call timed out. Returns the bytes
 * sent. */
static long send_into_full(int c, const char *what)
{
    int64_t start = now_ns(CLOCK_MONOTONIC);
    ssize_t n = send(c, big, sizeof(big), 0);

    if ((n < 0 && errno == EAGAIN) || (n > 0 && n < (ssize_t)sizeof(big)))
        printf("%s: timed out %s\n", what, on_time(start, TIMEO_MS));
    else if (n < 0)
        printf("%s: %s\n", what, ename(errno));
    else
        printf("%s: all %zd bytes sent\n", what, n);
    return n > 0 ? n : 0;
}

static void sndtimeo(void)
{
    struct sockaddr_in addr;
    int lfd = listen_local(&addr, SMALL_BUF);
    long sent = 0, received = 0;
    ssize_t n;
    int c, s;

    /* Small buffers that do not grow, so that one send fills them. */
    tcp_pair(lfd, &addr, SMALL_BUF, &c, &s);
    close(lfd);
    set_timeo(c, SO_SNDTIMEO, TIMEO_MS);
    sent += send_into_full(c, "send, SO_SNDTIMEO 100 ms, peer not reading");
    sent += send_into_full(c, "send again, buffer full");

    check_errno(shutdown(c, SHUT_WR), "shutdown");
    set_timeo(s, SO_RCVTIMEO, WAIT_MS);
    while ((n = recv(s, sink, sizeof(sink), 0)) > 0)
        received += n;
    check_errno(n < 0, "recv");
    printf("peer read every byte the sends counted: %s\n",
           received == sent ? "yes" : "no");
    if (received != sent)
        fprintf(stderr, "sent %ld, received %ld\n", sent, received);
    close(c);
    close(s);
}

/* --- EPIPE and SIGPIPE -------------------------------------------------- */

static volatile sig_atomic_t sigpipes;

static void count_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

/* Writes one byte at a time to fd, whose peer has closed, until a write
 * fails, and returns its errno (0 if WRITES_MAX writes succeeded). The
 * first write succeeds: the peer answers it with a reset, after which
 * writes fail. flags < 0: write(); else send() with flags. */
static int write_until_error(int fd, int flags)
{
    for (int i = 0; i < WRITES_MAX; i++) {
        ssize_t n = flags < 0 ? write(fd, "x", 1) : send(fd, "x", 1, flags);

        if (n < 0)
            return errno;
        nap_ms(1);
    }
    return 0;
}

/* A connection whose server side is already closed: returns the client. */
static int peer_closed(int lfd, const struct sockaddr_in *addr)
{
    int c, s;

    tcp_pair(lfd, addr, 0, &c, &s);
    check_errno(close(s), "close");
    return c;
}

static void epipe(int lfd, const struct sockaddr_in *addr)
{
    struct sigaction sa;
    int status, c, e;
    pid_t pid;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = count_sigpipe;
    check_errno(sigaction(SIGPIPE, &sa, NULL), "sigaction");
    c = peer_closed(lfd, addr);
    e = write_until_error(c, -1);
    printf("write, peer closed, SIGPIPE handled: %s, %d SIGPIPE\n", ename(e),
           (int)sigpipes);
    close(c);

    sigpipes = 0;
    c = peer_closed(lfd, addr);
    e = write_until_error(c, MSG_NOSIGNAL);
    printf("send MSG_NOSIGNAL, peer closed: %s, %d SIGPIPE\n", ename(e),
           (int)sigpipes);
    close(c);

    signal(SIGPIPE, SIG_IGN);
    c = peer_closed(lfd, addr);
    e = write_until_error(c, -1);
    printf("write, peer closed, SIGPIPE ignored: %s\n", ename(e));
    close(c);

    c = peer_closed(lfd, addr);
    fflush(stdout);
    pid = fork();
    check_errno(pid < 0, "fork");
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        write_until_error(c, -1);
        _exit(3); /* it should not get here */
    }
    close(c);
    check_errno(waitpid(pid, &status, 0) != pid, "waitpid");
    if (WIFSIGNALED(status))
        printf("write, peer closed, in a child with SIGPIPE default: "
               "child killed by signal %d\n",
               WTERMSIG(status));
    else
        printf("write, peer closed, in a child with SIGPIPE default: "
               "child exited %d\n",
               WEXITSTATUS(status));
}

/* --- ECONNRESET --------------------------------------------------------- */

/* Reads from j->fd until it has TRANSFER bytes, EOF or an error,
 * reporting each read. */
static void *read_transfer(void *arg)
{
    struct job *j = arg;
    long total = 0;

    for (;;) {
        ssize_t n = recv(j->fd, sink, sizeof(sink), 0);
        int err = errno;

        if (n > 0)
            total += n;
        if (n <= 0 || total >= TRANSFER) {
            job_report(j, n, err, 1);
            return NULL;
        }
        job_report(j, n, 0, 0);
    }
}

/* How j's last call ended: its errno's name, or what it returned. */
static const char *job_end(const struct job *j)
{
    static char buf[32];

    if (j->rc < 0)
        return ename(j->err);
    snprintf(buf, sizeof(buf), "returned %zd", j->rc);
    return buf;
}

static void econnreset(int lfd, const struct sockaddr_in *addr)
{
    struct job j;
    char buf[16];
    ssize_t n;
    int c, s;

    tcp_pair(lfd, addr, 0, &c, &s);
    reset_close(s);
    n = recv(c, buf, sizeof(buf), 0);
    printf("recv after the peer reset: %s", n < 0 ? ename(errno) : "no error");
    n = recv(c, buf, sizeof(buf), 0);
    printf(", then %s\n", n < 0 ? ename(errno) : n == 0 ? "0" : "data");
    close(c);

    /* The reader is most likely blocked when the reset comes; the answer
     * is the same if it is not. */
    tcp_pair(lfd, addr, 0, &c, &s);
    memset(&j, 0, sizeof(j));
    j.fd = c;
    check_rc(pthread_create(&j.thread, NULL, read_transfer, &j),
             "pthread_create");
    nap_ms(50);
    reset_close(s);
    job_join(&j, "blocked recv, peer resets");
    printf("blocked recv, peer resets: %s\n", job_end(&j));
    close(c);

    /* The peer sends BIG bytes of a TRANSFER, waits until the reader has
     * them all and is blocked waiting for more, then resets. */
    tcp_pair(lfd, addr, 0, &c, &s);
    memset(&j, 0, sizeof(j));
    j.fd = c;
    check_rc(pthread_create(&j.thread, NULL, read_transfer, &j),
             "pthread_create");
    for (size_t off = 0; off < sizeof(big);) {
        n = send(s, big + off, sizeof(big) - off, 0);
        check_errno(n < 0, "send");
        off += (size_t)n;
    }
    job_wait(&j, BIG, "reader of a transfer");
    nap_ms(50);
    reset_close(s);
    job_join(&j, "reader of a transfer");
    printf("reset in the middle of a transfer: reader got %ld of %d bytes, "
           "then %s\n",
           j.progress, TRANSFER, job_end(&j));
    close(c);
}

/* --- the program's own O_NONBLOCK --------------------------------------- */

/* Waits up to WAIT_MS for a non-blocking connect on fd to finish; returns
 * its outcome (SO_ERROR) as a name. */
static const char *connect_outcome(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    socklen_t len = sizeof(int);
    int err = 0;

    if (poll(&p, 1, WAIT_MS) != 1)
        return "not finished";
    check_errno(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len),
                "getsockopt SO_ERROR");
    return ename(err);
}

/* "0 or EINPROGRESS" for a non-blocking connect that answered either,
 * since which one it is may depend on timing. */
static const char *connect_started(int rc)
{
    if (rc == 0 || errno == EINPROGRESS)
        return "0 or EINPROGRESS";
    return ename(errno);
}

static void own_nonblock(int lfd, const struct sockaddr_in *addr)
{
    struct sockaddr_in closed;
    char buf[16];
    int fd, s, rc, bound;

    /* A blocking connect leaves the flags as they were. */
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check_errno(fd < 0, "socket");
    check_errno(connect(fd, (const struct sockaddr *)addr, sizeof(*addr)),
                "connect");
    printf("blocking socket after connect: F_GETFL %#o\n", fcntl(fd, F_GETFL));
    s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    check_errno(s < 0, "accept4");
    printf("accepted socket: F_GETFL %#o\n", fcntl(s, F_GETFL));
    close(s);
    close(fd);

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check_errno(fd < 0, "socket");
    check_errno(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK),
                "fcntl F_SETFL");
    printf("non-blocking socket: F_GETFL %#o\n", fcntl(fd, F_GETFL));
    rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
    printf("non-blocking connect: %s, then %s\n", connect_started(rc),
           connect_outcome(fd));
    printf("non-blocking socket after connect: F_GETFL %#o\n",
           fcntl(fd, F_GETFL));
    s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    check_errno(s < 0, "accept4");
    rc = (int)recv(fd, buf, sizeof(buf), 0);
    printf("non-blocking recv, no data: %s\n",
           rc < 0 ? ename(errno) : "returned");
    rc = (int)read(fd, buf, sizeof(buf));
    printf("non-blocking read, no data: %s\n",
           rc < 0 ? ename(errno) : "returned");
    close(s);
    close(fd);

    bound = closed_port(&closed);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    check_errno(fd < 0, "socket");
    /* Refused at once or after EINPROGRESS, depending on timing. */
    rc = connect(fd, (struct sockaddr *)&closed, sizeof(closed));
    printf("non-blocking connect to a closed port: ends in %s\n",
           rc < 0 && errno == ECONNREFUSED   ? "ECONNREFUSED"
           : rc == 0 || errno == EINPROGRESS ? connect_outcome(fd)
                                             : ename(errno));
    close(fd);
    close(bound);
}

int main(void)
{
    struct sockaddr_in addr;
    int lfd = listen_local(&addr, 0);

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 7);
    connect_refused();
    rcvtimeo(lfd, &addr);
    sndtimeo();
    epipe(lfd, &addr);
    econnreset(lfd, &addr);
    own_nonblock(lfd, &addr);
    close(lfd);
    fprintf(stderr, "max_late_us=%ld\n", max_late_us);
    fprintf(stderr, "max_early_us=%ld\n", max_early_us);
    return 0;
}
