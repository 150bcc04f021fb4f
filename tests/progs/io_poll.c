/*
 * io_poll: the six readiness waits, poll, ppoll, select, pselect,
 * epoll_wait and epoll_pwait, each asked the same questions:
 *  - about a dozen fds of which only some are ready: pipes empty, with
 *    data, full, or whose writer closed (POLLHUP); a socketpair without
 *    data, with data, or whose peer closed; a listening socket with a
 *    pending connection and one without; a regular file (always ready, and
 *    refused by epoll_ctl with EPERM); an fd of -1 (poll ignores it);
 *  - fds none of which is ready, with a timeout of 0, of 50 ms (which must
 *    not end early), of 5 s with another thread writing after 20 ms, and
 *    with no timeout and the other thread writing after 20 ms;
 * then waits with no timeout that another thread ends by connecting to the
 * listening socket or by closing the pipe's write end; select writing back
 * the time left (less than it was; zero once it timed out) and pselect and
 * ppoll leaving theirs alone (glibc passes the kernel a copy); epoll with a
 * maxevents smaller than the ready count, and edge triggering.
 *
 * stdout shows each wait's count and which fd reported what, the same
 * natively and green (epoll's events are sorted, since the kernel does not
 * promise an order). stderr carries "max_late_us=N", the worst lateness of
 * a wait that timed out, and "os_threads_max=N".
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_io.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROG_NAME "io_poll"
#include "progs.h"

enum { INFINITE = -1, MAX_FDS = 16 };

/* --- the fds ------------------------------------------------------------ */

enum {
    EMPTY_R,        /* read end of an empty pipe */
    EMPTY_W,        /* its write end */
    DATA_R,         /* read end of a pipe holding one byte */
    HUP_R,          /* read end of an empty pipe whose writer closed */
    HUPDATA_R,      /* read end of a pipe with a byte, whose writer closed */
    FULL_W,         /* write end of a full pipe */
    SP_EMPTY,       /* a socketpair end with nothing to read */
    SP_DATA,        /* its peer, with a byte to read */
    SP_PEERGONE,    /* a socketpair end whose peer closed */
    LISTEN_PENDING, /* a listening socket with a connection to accept */
    LISTEN_IDLE,    /* a listening socket without one */
    REGULAR,        /* a regular file */
    NO_FD,          /* -1 */
    N_FIXTURES
};

struct fixture {
    const char *name;
    int fd;
    short events; /* asked for: POLLIN, POLLOUT or both */
};

static struct fixture fx[N_FIXTURES] = {
    [EMPTY_R] = {"empty_pipe.r", -1, POLLIN},
    [EMPTY_W] = {"empty_pipe.w", -1, POLLOUT},
    [DATA_R] = {"data_pipe.r", -1, POLLIN},
    [HUP_R] = {"hup_pipe.r", -1, POLLIN},
    [HUPDATA_R] = {"hup_data_pipe.r", -1, POLLIN},
    [FULL_W] = {"full_pipe.w", -1, POLLOUT},
    [SP_EMPTY] = {"sp_empty", -1, POLLIN | POLLOUT},
    [SP_DATA] = {"sp_data", -1, POLLIN | POLLOUT},
    [SP_PEERGONE] = {"sp_peer_gone", -1, POLLIN | POLLOUT},
    [LISTEN_PENDING] = {"listen_pending", -1, POLLIN},
    [LISTEN_IDLE] = {"listen_idle", -1, POLLIN},
    [REGULAR] = {"regular_file", -1, POLLIN | POLLOUT},
    [NO_FD] = {"minus_one", -1, POLLIN},
};

static int pending_client;           /* the connection LISTEN_PENDING holds */
static struct sockaddr_in idle_addr; /* where LISTEN_IDLE listens */

static void must_fd(int fd, const char *call)
{
    check_errno(fd < 0 ? -1 : 0, call);
}

static int listener(struct sockaddr_in *addr)
{
    socklen_t len = sizeof(*addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    must_fd(fd, "socket");
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check_errno(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), "bind");
    check_errno(listen(fd, 16), "listen");
    check_errno(getsockname(fd, (struct sockaddr *)addr, &len), "getsockname");
    return fd;
}

static int connect_to(const struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    must_fd(fd, "socket");
    check_errno(connect(fd, (const struct sockaddr *)addr, sizeof(*addr)),
                "connect");
    return fd;
}

/* Waits up to 5 s for fd to be readable, so that a connection the kernel
 * completes asynchronously is in the accept queue before the test. */
static void settle_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    check(poll(&p, 1, 5000) == 1, "settle: the fd became readable");
}

static void make_fixtures(void)
{
    char path[] = "/tmp/io_poll.XXXXXX";
    struct sockaddr_in addr;
    int p[2], sp[2];

    check_errno(pipe(p), "pipe");
    fx[EMPTY_R].fd = p[0];
    fx[EMPTY_W].fd = p[1];

    check_errno(pipe(p), "pipe");
    check(write(p[1], "d", 1) == 1, "write 1 byte");
    fx[DATA_R].fd = p[0]; /* p[1] stays open, so no POLLHUP */

    check_errno(pipe(p), "pipe");
    check_errno(close(p[1]), "close");
    fx[HUP_R].fd = p[0];

    check_errno(pipe(p), "pipe");
    check(write(p[1], "h", 1) == 1, "write 1 byte");
    check_errno(close(p[1]), "close");
    fx[HUPDATA_R].fd = p[0];

    /* Filled page by page until the pipe refuses more; the read end stays
     * open and unread. */
    check_errno(pipe2(p, O_NONBLOCK), "pipe2");
    for (;;) {
        static const char page[4096];
        ssize_t n = write(p[1], page, sizeof(page));

        if (n < 0 && errno == EAGAIN)
            break;
        check(n > 0, "write to the pipe being filled");
    }
    fx[FULL_W].fd = p[1];

    check_errno(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), "socketpair");
    check(write(sp[0], "s", 1) == 1, "write 1 byte");
    fx[SP_EMPTY].fd = sp[0];
    fx[SP_DATA].fd = sp[1];

    check_errno(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), "socketpair");
    check_errno(close(sp[1]), "close");
    fx[SP_PEERGONE].fd = sp[0];

    fx[LISTEN_PENDING].fd = listener(&addr);
    pending_client = connect_to(&addr);
    settle_readable(fx[LISTEN_PENDING].fd);
    fx[LISTEN_IDLE].fd = listener(&idle_addr);

    fx[REGULAR].fd = mkstemp(path);
    must_fd(fx[REGULAR].fd, "mkstemp");
    check_errno(unlink(path), "unlink");
    check(write(fx[REGULAR].fd, "regular", 7) == 7, "write 7 bytes");
}

/* --- printing ----------------------------------------------------------- */

/* revents as "IN|OUT|HUP", or "-" for none. */
static const char *event_names(unsigned ev)
{
    static const struct {
        unsigned bit;
        const char *name;
    } bits[] = {{POLLIN, "IN"},      {POLLPRI, "PRI"}, {POLLOUT, "OUT"},
                {POLLERR, "ERR"},    {POLLHUP, "HUP"}, {POLLNVAL, "NVAL"},
                {POLLRDHUP, "RDHUP"}};
    static char buf[64];
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        if (!(ev & bits[i].bit))
            continue;
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
                                len ? "|" : "", bits[i].name);
        ev &= ~bits[i].bit;
    }
    if (ev)
        snprintf(buf + len, sizeof(buf) - len, "%s0x%x", len ? "|" : "", ev);
    return len || ev ? buf : "-";
}

/* --- the six waits ------------------------------------------------------ */

enum api { POLL, PPOLL, SELECT, PSELECT, EPOLL_WAIT, EPOLL_PWAIT, N_APIS };

static const char *const api_names[N_APIS] = {
    "poll", "ppoll", "select", "pselect", "epoll_wait", "epoll_pwait"};

/* What the last wait_on did to its timeout argument (select, pselect and
 * ppoll): 1 if it was left as it was. */
static int timeout_unchanged;
/* For select: 1 if the time left is less than was given, and 2 if it is
 * zero. */
static int timeout_decreased;

static int wait_poll(enum api api, const int *which, int n, int ms,
                     short *revents)
{
    struct pollfd p[MAX_FDS];
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000L}, given = ts;
    sigset_t none;
    int rc;

    for (int i = 0; i < n; i++)
        p[i] = (struct pollfd){fx[which[i]].fd, fx[which[i]].events, 0};
    if (api == POLL) {
        rc = poll(p, (nfds_t)n, ms);
    } else {
        sigemptyset(&none);
        rc = ppoll(p, (nfds_t)n, ms < 0 ? NULL : &ts, &none);
        timeout_unchanged =
            ts.tv_sec == given.tv_sec && ts.tv_nsec == given.tv_nsec;
    }
    check_errno(rc < 0 ? -1 : 0, api_names[api]);
    for (int i = 0; i < n; i++)
        revents[i] = p[i].revents;
    return rc;
}

static int wait_select(enum api api, const int *which, int n, int ms,
                       short *revents)
{
    struct timeval tv = {ms / 1000, ms % 1000 * 1000L}, tv_given = tv;
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000L}, ts_given = ts;
    fd_set rd, wr;
    sigset_t none;
    int maxfd = -1, rc;

    FD_ZERO(&rd);
    FD_ZERO(&wr);
    for (int i = 0; i < n; i++) {
        int fd = fx[which[i]].fd;

        if (fx[which[i]].events & POLLIN)
            FD_SET(fd, &rd);
        if (fx[which[i]].events & POLLOUT)
            FD_SET(fd, &wr);
        if (fd > maxfd)
            maxfd = fd;
    }
    if (api == SELECT) {
        rc = select(maxfd + 1, &rd, &wr, NULL, ms < 0 ? NULL : &tv);
        timeout_decreased =
            tv.tv_sec == 0 && tv.tv_usec == 0 ? 2
            : tv.tv_sec < tv_given.tv_sec || (tv.tv_sec == tv_given.tv_sec &&
                                              tv.tv_usec < tv_given.tv_usec)
                ? 1
                : 0;
    } else {
        sigemptyset(&none);
        rc = pselect(maxfd + 1, &rd, &wr, NULL, ms < 0 ? NULL : &ts, &none);
        timeout_unchanged =
            ts.tv_sec == ts_given.tv_sec && ts.tv_nsec == ts_given.tv_nsec;
    }
    check_errno(rc < 0 ? -1 : 0, api_names[api]);
    for (int i = 0; i < n; i++) {
        int fd = fx[which[i]].fd;

        revents[i] = (short)((FD_ISSET(fd, &rd) ? POLLIN : 0) |
                             (FD_ISSET(fd, &wr) ? POLLOUT : 0));
    }
    return rc;
}

static int wait_epoll(enum api api, const int *which, int n, int ms,
                      short *revents, int maxevents)
{
    struct epoll_event ev[MAX_FDS];
    sigset_t none;
    int ep = epoll_create1(EPOLL_CLOEXEC), rc;

    must_fd(ep, "epoll_create1");
    for (int i = 0; i < n; i++) {
        struct epoll_event e = {.events = (unsigned)fx[which[i]].events,
                                .data.u32 = (unsigned)i};

        check_errno(epoll_ctl(ep, EPOLL_CTL_ADD, fx[which[i]].fd, &e),
                    "epoll_ctl");
        revents[i] = 0;
    }
    if (api == EPOLL_WAIT) {
        rc = epoll_wait(ep, ev, maxevents, ms);
    } else {
        sigemptyset(&none);
        rc = epoll_pwait(ep, ev, maxevents, ms, &none);
    }
    check_errno(rc < 0 ? -1 : 0, api_names[api]);
    /* Filling revents by index sorts the events. */
    for (int i = 0; i < rc; i++)
        revents[ev[i].data.u32] = (short)ev[i].events;
    check_errno(close(ep), "close");
    return rc;
}

/* Waits with api for the fixtures which[0..n) (epoll gets no regular file
 * and no -1: the caller leaves them out), ms milliseconds or INFINITE;
 * returns the count the call returned and its answer per fd in revents. */
static int wait_on(enum api api, const int *which, int n, int ms,
                   short *revents)
{
    check(n <= MAX_FDS, "at most MAX_FDS fds");
    switch (api) {
    case POLL:
    case PPOLL:
        return wait_poll(api, which, n, ms, revents);
    case SELECT:
    case PSELECT:
        return wait_select(api, which, n, ms, revents);
    default:
        return wait_epoll(api, which, n, ms, revents, MAX_FDS);
    }
}

static void print_wait(const char *what, enum api api, const int *which, int n,
                       int rc, const short *revents)
{
    printf("%s %s: %d\n", api_names[api], what, rc);
    for (int i = 0; i < n; i++)
        printf("  %s: %s\n", fx[which[i]].name,
               event_names((unsigned short)revents[i]));
}

/* --- another thread, later ---------------------------------------------- */

enum action { WRITE_BYTE, CLOSE_FD, CONNECT };

struct later {
    pthread_t thread;
    enum action action;
    int fd;
    int made; /* CONNECT: the client socket */
};

static void *act(void *arg)
{
    struct later *l = arg;

    nap_ms(20);
    switch (l->action) {
    case WRITE_BYTE:
        check(write(l->fd, "w", 1) == 1, "write 1 byte");
        break;
    case CLOSE_FD:
        check_errno(close(l->fd), "close");
        break;
    case CONNECT:
        l->made = connect_to(&idle_addr);
        break;
    }
    return NULL;
}

/* Starts a thread that does action on fd 20 ms from now. */
static void start_later(struct later *l, enum action action, int fd)
{
    l->action = action;
    l->fd = fd;
    l->made = -1;
    check_rc(pthread_create(&l->thread, NULL, act, l), "pthread_create");
    sample_threads();
}

static void finish_later(struct later *l)
{
    check_rc(pthread_join(l->thread, NULL), "pthread_join");
}

/* Takes back the byte a WRITE_BYTE put in the empty pipe. */
static void drain_empty_pipe(void)
{
    char c;

    check(read(fx[EMPTY_R].fd, &c, 1) == 1, "read 1 byte");
}

/* --- the questions ------------------------------------------------------ */

/* All fixtures, for poll; without -1 for select; without -1 and the regular
 * file for epoll. */
static int all_for(enum api api, int *which)
{
    int n = 0;

    for (int i = 0; i < N_FIXTURES; i++) {
        if (i == NO_FD && api != POLL && api != PPOLL)
            continue;
        if (i == REGULAR && (api == EPOLL_WAIT || api == EPOLL_PWAIT))
            continue;
        which[n++] = i;
    }
    return n;
}

static const int none_ready[] = {EMPTY_R, FULL_W, LISTEN_IDLE};
enum { N_NONE_READY = 3 };

static void some_ready(enum api api)
{
    int which[N_FIXTURES];
    short revents[N_FIXTURES];
    int n = all_for(api, which);
    int rc = wait_on(api, which, n, 0, revents);

    print_wait("of all fds, timeout 0", api, which, n, rc, revents);
    /* Ready fds end even a wait without a timeout at once. */
    rc = wait_on(api, which, n, INFINITE, revents);
    print_wait("of all fds, no timeout", api, which, n, rc, revents);
}

static void none_ready_timeouts(enum api api)
{
    short revents[N_NONE_READY];
    struct timespec deadline;
    struct later l;
    int rc;

    rc = wait_on(api, none_ready, N_NONE_READY, 0, revents);
    printf("%s of none ready, timeout 0: %d\n", api_names[api], rc);

    deadline = after_ms(CLOCK_MONOTONIC, 50);
    rc = wait_on(api, none_ready, N_NONE_READY, 50, revents);
    printf("%s of none ready, timeout 50 ms: %d, %s\n", api_names[api], rc,
           reached(CLOCK_MONOTONIC, &deadline) ? "not early" : "EARLY");
    if (api == SELECT)
        printf("  select's timeout after it: %s\n",
               timeout_decreased == 2 ? "zero" : "NOT ZERO");

    start_later(&l, WRITE_BYTE, fx[EMPTY_W].fd);
    rc = wait_on(api, none_ready, N_NONE_READY, 5000, revents);
    finish_later(&l);
    print_wait("of none ready, timeout 5 s, written after 20 ms", api,
               none_ready, N_NONE_READY, rc, revents);
    if (api == SELECT)
        printf("  select's timeout after it: %s\n",
               timeout_decreased == 1 ? "decreased, not zero"
                                      : "NOT decreased or zero");
    if (api == PSELECT || api == PPOLL)
        printf("  %s's timeout after it: %s\n", api_names[api],
               timeout_unchanged ? "unchanged" : "CHANGED");
    drain_empty_pipe();

    start_later(&l, WRITE_BYTE, fx[EMPTY_W].fd);
    rc = wait_on(api, none_ready, N_NONE_READY, INFINITE, revents);
    finish_later(&l);
    print_wait("of none ready, no timeout, written after 20 ms", api,
               none_ready, N_NONE_READY, rc, revents);
    drain_empty_pipe();
}

/* poll without a timeout, ended by a connection to a listening socket, and
 * by the close of a pipe's only write end. */
static void woken_by_connect_and_close(void)
{
    struct pollfd p = {.fd = fx[LISTEN_IDLE].fd, .events = POLLIN};
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = 7}, out[2];
    struct later l;
    int fds[2], conn, ep, rc;

    start_later(&l, CONNECT, -1);
    rc = poll(&p, 1, INFINITE);
    finish_later(&l);
    printf("poll of an idle listener, connected to after 20 ms: %d, %s\n", rc,
           event_names((unsigned short)p.revents));
    conn = accept(fx[LISTEN_IDLE].fd, NULL, NULL);
    must_fd(conn, "accept");
    check_errno(close(conn), "close");
    check_errno(close(l.made), "close");

    check_errno(pipe(fds), "pipe");
    p = (struct pollfd){.fd = fds[0], .events = POLLIN};
    start_later(&l, CLOSE_FD, fds[1]);
    rc = poll(&p, 1, INFINITE);
    finish_later(&l);
    printf("poll of a pipe whose writer closes after 20 ms: %d, %s\n", rc,
           event_names((unsigned short)p.revents));
    check_errno(close(fds[0]), "close");

    check_errno(pipe(fds), "pipe");
    ep = epoll_create1(0);
    must_fd(ep, "epoll_create1");
    check_errno(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &e), "epoll_ctl");
    start_later(&l, CLOSE_FD, fds[1]);
    rc = epoll_wait(ep, out, 2, INFINITE);
    finish_later(&l);
    printf("epoll_wait of a pipe whose writer closes after 20 ms: %d, "
           "data %u, %s\n",
           rc, rc > 0 ? out[0].data.u32 : 0,
           event_names(rc > 0 ? out[0].events : 0));
    check_errno(close(ep), "close");
    check_errno(close(fds[0]), "close");
}

/* epoll refuses a regular file, returns no more than maxevents, and with
 * EPOLLET reports a pipe's data once. */
static void epoll_specifics(void)
{
    int which[N_FIXTURES];
    short revents[N_FIXTURES];
    struct epoll_event e = {.events = EPOLLIN}, out[4];
    int n = all_for(EPOLL_WAIT, which), ep, rc, fds[2];

    ep = epoll_create1(0);
    must_fd(ep, "epoll_create1");
    rc = epoll_ctl(ep, EPOLL_CTL_ADD, fx[REGULAR].fd, &e);
    printf("epoll_ctl ADD of a regular file: %d %s\n", rc,
           ename(rc < 0 ? errno : 0));
    check_errno(close(ep), "close");

    rc = wait_epoll(EPOLL_WAIT, which, n, 0, revents, 1);
    printf("epoll_wait of all fds, maxevents 1: %d\n", rc);

    check_errno(pipe(fds), "pipe");
    ep = epoll_create1(0);
    must_fd(ep, "epoll_create1");
    e = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u32 = 1};
    check_errno(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &e), "epoll_ctl");
    check(write(fds[1], "ab", 2) == 2, "write 2 bytes");
    rc = epoll_wait(ep, out, 4, 0);
    printf("epoll_wait EPOLLET after a write: %d, %s\n", rc,
           event_names(rc > 0 ? out[0].events : 0));
    rc = epoll_wait(ep, out, 4, 0);
    printf("epoll_wait EPOLLET again, no new write: %d\n", rc);
    check(write(fds[1], "c", 1) == 1, "write 1 byte");
    rc = epoll_wait(ep, out, 4, 0);
    printf("epoll_wait EPOLLET after another write: %d, %s\n", rc,
           event_names(rc > 0 ? out[0].events : 0));
    check_errno(close(ep), "close");
    check_errno(close(fds[0]), "close");
    check_errno(close(fds[1]), "close");
}

int main(void)
{
    make_fixtures();
    for (int api = 0; api < N_APIS; api++)
        some_ready((enum api)api);
    for (int api = 0; api < N_APIS; api++)
        none_ready_timeouts((enum api)api);
    woken_by_connect_and_close();
    epoll_specifics();
    check_errno(close(pending_client), "close");
    for (int i = 0; i < N_FIXTURES; i++)
        if (fx[i].fd >= 0)
            check_errno(close(fx[i].fd), "close");
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    fprintf(stderr, "max_late_us=%ld\n", max_late_us);
    return 0;
}
