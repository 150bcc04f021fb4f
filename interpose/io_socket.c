/*
 * interpose/io_socket.c: the calls that make fds (socket, socketpair, pipe,
 * pipe2, accept, accept4) and connect.
 *
 * Making an fd tells the fd table its kind and O_NONBLOCK flag at once, on
 * any thread; so does setsockopt of a timeout. A green thread's accept and
 * connect are the two blocking socket calls with no per-call non-blocking
 * flag: each sets O_NONBLOCK for the span of the real call only, under the
 * fd's lock (g_fd_nonblocking), so green threads of several workers
 * accepting on one socket never block their worker on a connection another
 * one took; connect then waits for the handshake. On a listener shared
 * across a fork, accept leaves the flag set (g_fd_accept_nonblocking).
 */
#include "interpose/io.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

G_EXPORT int socket(int domain, int type, int protocol)
{
    int fd;

    hook_enter();
    fd = real_socket(domain, type, protocol);
    if (fd >= 0)
        g_fd_made(fd, g_fd_socket_kind(domain, type), type & SOCK_NONBLOCK);
    return fd;
}

G_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
    int rc;

    hook_enter();
    rc = real_socketpair(domain, type, protocol, sv);
    if (rc == 0) {
        g_fd_made(sv[0], g_fd_socket_kind(domain, type), type & SOCK_NONBLOCK);
        g_fd_made(sv[1], g_fd_socket_kind(domain, type), type & SOCK_NONBLOCK);
    }
    return rc;
}

G_EXPORT int pipe2(int fds[2], int flags)
{
    int rc;

    hook_enter();
    rc = real_pipe2(fds, flags);
    if (rc == 0) {
        g_fd_made(fds[0], G_FD_FIFO, flags & O_NONBLOCK);
        g_fd_made(fds[1], G_FD_FIFO, flags & O_NONBLOCK);
    }
    return rc;
}

G_EXPORT int pipe(int fds[2])
{
    return pipe2(fds, 0);
}

G_EXPORT int setsockopt(int fd, int level, int opt, const void *val,
                        socklen_t len)
{
    int rc;

    hook_enter();
    rc = real_setsockopt(fd, level, opt, val, len);
    if (rc == 0 && level == SOL_SOCKET &&
        (opt == SO_RCVTIMEO || opt == SO_SNDTIMEO) && len >= sizeof(long)) {
        /* Both timeval layouts start with a seconds word; any non-zero
         * part means the calls time out. */
        const unsigned char *p = val;
        bool set = false;

        for (socklen_t i = 0; i < len; i++)
            set |= p[i] != 0;
        g_fd_set_timeout(fd, opt, set);
    }
    return rc;
}

struct accept_call {
    int fd;
    struct sockaddr *addr;
    socklen_t *addrlen;
    int flags;
};

static long accept_once(void *arg)
{
    struct accept_call *c = arg;
    long rc = real_accept4(c->fd, c->addr, c->addrlen, c->flags);

    return rc < 0 ? -errno : rc;
}

/* One try: take a queued connection, with the listener non-blocking for
 * the span of the call, or for good on one shared across a fork
 * (acceptors of other workers or processes may take it first). */
static long try_accept(void *arg)
{
    struct accept_call *c = arg;

    return g_fd_accept_nonblocking(c->fd, accept_once, c);
}

/*
 * A plain thread's accept, or a forked child's (where every call passes
 * through). Its listener may be non-blocking just now, for a green
 * thread's try in this process, or for good, if a green process that
 * shares it across a fork accepts there too. An EAGAIN on a listener the
 * program has blocking (and without a timeout) is that span's, not the
 * program's: wait for a connection and try again, as the blocking call
 * would have, and end with EINTR where it would have: when a handler set
 * without SA_RESTART ran meanwhile. A cancellation point, as accept is.
 */
static int accept_plain(int fd, struct sockaddr *addr, socklen_t *addrlen,
                        int flags)
{
    for (;;) {
        unsigned interrupts = g_tls_interrupts;
        int rc = real_accept4(fd, addr, addrlen, flags);
        struct pollfd p = {.fd = fd, .events = POLLIN};

        if (rc >= 0 || errno != EAGAIN || g_fd_program_nonblock(fd) != 0 ||
            g_fd_has_rcvtimeo(fd))
            return rc;
        /* Raw: libc's poll is our own hook. */
        if (syscall(SYS_ppoll, &p, 1, NULL, NULL, 0) < 0 && errno == EINTR) {
            pthread_testcancel();
            if (g_tls_interrupts != interrupts)
                return -1; /* errno is EINTR */
        }
    }
}

G_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen,
                     int flags)
{
    struct accept_call c = {fd, addr, addrlen, flags};
    enum g_fd_kind kind;
    long rc;

    if (!io_enter(fd, &kind)) {
        rc = accept_plain(fd, addr, addrlen, flags);
    } else {
        /* SO_RCVTIMEO bounds a blocking accept too. Acceptors of a worker
         * take turns, as the kernel's exclusive waiters rotate: an event
         * wakes the first, which, having taken a connection, wakes the
         * next and lets it go first if more are queued, and waits again at
         * the end of the line. A single acceptor never waits for its turn. */
        rc = g_ret(g_io_block(fd, POLLIN | G_WAIT_EXCLUSIVE, SO_RCVTIMEO,
                              try_accept, &c));
        if (rc >= 0)
            g_fd_pass_turn(fd, POLLIN);
    }
    /* A new description, of the listener's type and with its timeouts;
     * Linux does not pass the listener's O_NONBLOCK on. */
    if (rc >= 0)
        g_fd_accepted((int)rc, fd, flags & SOCK_NONBLOCK);
    return (int)rc;
}

G_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    return accept4(fd, addr, addrlen, 0);
}

struct connect_call {
    int fd;
    const struct sockaddr *addr;
    socklen_t len;
};

static long connect_real(void *arg)
{
    struct connect_call *c = arg;

    return real_connect(c->fd, c->addr, c->len) == 0 ? 0 : -errno;
}

/* The real connect with O_NONBLOCK set for its span: 0 or -errno.
 * *blocking says whether the program had the description blocking. */
static int connect_once(int fd, const struct sockaddr *addr, socklen_t len,
                        bool *blocking)
{
    struct connect_call c = {fd, addr, len};

    return (int)g_fd_nonblocking(fd, connect_real, &c, blocking);
}

/* May park. The rest of a blocking connect that came back EINPROGRESS. */
static int finish_connect(int fd)
{
    int64_t deadline = g_fd_sock_deadline(fd, SO_SNDTIMEO);
    int err = 0;
    socklen_t len = sizeof(err);

    while (!g_fd_ready(fd, POLLOUT)) {
        int rc = g_wait_fd(fd, POLLOUT | G_WAIT_EINTR, deadline);

        if (rc == -ETIMEDOUT)
            return -EINPROGRESS; /* what SO_SNDTIMEO gives */
        if (rc == -ECANCELED)
            g_cancel_act(g_self());
        /* Restarted, a connect goes on waiting; else EINTR, and the
         * connection goes on without it (EALREADY, then EISCONN). */
        if (rc == -EINTR && g_sig_restart(g_self(), true))
            continue;
        if (rc < 0 && rc != -EPERM)
            return rc;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return -errno;
    return -err;
}

G_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    enum g_fd_kind kind;
    bool blocking;
    int rc;

    if (!io_enter(fd, &kind) || !g_fd_is_socket(kind))
        return real_connect(fd, addr, len);
    rc = connect_once(fd, addr, len, &blocking);
    /* A full AF_UNIX backlog: natively a blocking connect waits for room,
     * which no event announces. */
    for (int64_t pause = 50000; blocking && rc == -EAGAIN;
         pause = pause < 2000000 ? pause * 2 : pause) {
        if (g_sleep_until(g_now() + pause) == -ECANCELED)
            g_cancel_act(g_self());
        rc = connect_once(fd, addr, len, &blocking);
    }
    if (blocking && rc == -EINPROGRESS)
        rc = finish_connect(fd);
    return (int)g_ret(rc);
}
