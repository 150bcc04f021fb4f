/*
 * interpose/io_rw.c: read, write, readv, writev and the socket calls that
 * move one message: recv, recvfrom, recvmsg, send, sendto, sendmsg, and
 * the _FORTIFY_SOURCE variants a program built with it calls instead.
 *
 * On a green thread each becomes an io_op (io.h); elsewhere, and on regular
 * files, the real call runs unchanged. Runs on any thread.
 */
#include "interpose/io.h"

#include <limits.h>

/* A call on one buffer as an op: read/write (flags 0) or a socket call. */
static long run_buffer(int fd, enum g_fd_kind kind, bool write, void *buf,
                       size_t n, int flags, struct sockaddr *addr,
                       socklen_t *addrlen)
{
    struct iovec iov = {.iov_base = buf, .iov_len = n};
    struct msghdr msg = {
        .msg_name = addr,
        .msg_namelen = addrlen ? *addrlen : 0,
        .msg_iov = &iov,
        .msg_iovlen = 1,
    };
    struct io_op op = {.fd = fd,
                       .kind = kind,
                       .write = write,
                       .flags = flags,
                       .msg = &msg,
                       .plain = true};
    long rc = io_run(&op);

    if (rc >= 0 && addr && addrlen && !write)
        *addrlen = msg.msg_namelen;
    return rc;
}

static long run_iov(int fd, enum g_fd_kind kind, bool write,
                    const struct iovec *iov, int iovcnt)
{
    struct msghdr msg = {.msg_iov = (struct iovec *)iov,
                         .msg_iovlen = (size_t)iovcnt};
    struct io_op op = {.fd = fd, .kind = kind, .write = write, .msg = &msg};

    if (iovcnt < 0 || iovcnt > IOV_MAX)
        return -EINVAL;
    return io_run(&op);
}

/* read and readv of nothing from a socket return 0 at once natively, with
 * no datagram taken; a recv of nothing would wait for one. */
static bool reads_nothing(enum g_fd_kind kind, const struct iovec *iov,
                          int iovcnt)
{
    size_t n = 0;

    if (!g_fd_is_socket(kind))
        return false;
    for (int i = 0; i < iovcnt && n == 0; i++)
        n += iov[i].iov_len;
    return n == 0;
}

G_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    enum g_fd_kind kind;

    if (!io_enter(fd, &kind) || (n == 0 && g_fd_is_socket(kind)))
        return real_read(fd, buf, n);
    return g_ret(run_buffer(fd, kind, false, buf, n, 0, NULL, NULL));
}

G_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    enum g_fd_kind kind;

    /* An overflow is glibc's to report (it aborts the program). */
    if (n > buflen || !io_enter(fd, &kind) || (n == 0 && g_fd_is_socket(kind)))
        return real___read_chk(fd, buf, n, buflen);
    return g_ret(run_buffer(fd, kind, false, buf, n, 0, NULL, NULL));
}

G_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    enum g_fd_kind kind;

    if (!io_enter(fd, &kind))
        return real_write(fd, buf, n);
    return g_ret(run_buffer(fd, kind, true, (void *)buf, n, 0, NULL, NULL));
}

G_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    enum g_fd_kind kind;

    if (!io_enter(fd, &kind) ||
        (iovcnt >= 0 && iovcnt <= IOV_MAX && reads_nothing(kind, iov, iovcnt)))
        return real_readv(fd, iov, iovcnt);
    return g_ret(run_iov(fd, kind, false, iov, iovcnt));
}

G_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    enum g_fd_kind kind;

    if (!io_enter(fd, &kind))
        return real_writev(fd, iov, iovcnt);
    return g_ret(run_iov(fd, kind, true, iov, iovcnt));
}

G_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    enum g_fd_kind kind;

    if (!io_enter(fd, &kind) || !g_fd_is_socket(kind))
        return real_recv(fd, buf, n, flags);
    return g_ret(run_buffer(fd, kind, false, buf, n, flags, NULL, NULL));
}

G_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen,
                            int flags)
{
    enum g_fd_kind kind;

    if (n > buflen || !io_enter(fd, &kind) || !g_fd_is_socket(kind))
        return real___recv_chk(fd, buf, n, buflen, flags);
    return g_ret(run_buffer(fd, kind, false, buf, n, flags, NULL, NULL));
}

G_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
                          struct sockaddr *addr, socklen_t *addrlen)
{
    enum g_fd_kind kind;

    if (!io_enter(fd, &kind) || !g_fd_is_socket(kind))
        return real_recvfrom(fd, buf, n, flags, addr, addrlen);
    return g_ret(run_buffer(fd, kind, false, buf, n, flags, addr, addrlen));
}

G_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
                                int flags, struct sockaddr *addr,
                                socklen_t *addrlen)
{
    enum g_fd_kind kind;

    if (n > buflen || !io_enter(fd, &kind) || !g_fd_is_socket(kind))
        return real___recvfrom_chk(fd, buf, n, buflen, flags, addr, addrlen);
    return g_ret(run_buffer(fd, kind, false, buf, n, flags, addr, addrlen));
}

G_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    enum g_fd_kind kind;
    struct io_op op = {.fd = fd, .write = false, .flags = flags, .msg = msg};

    if (!io_enter(fd, &kind) || !g_fd_is_socket(kind))
        return real_recvmsg(fd, msg, flags);
    op.kind = kind;
    return g_ret(io_run(&op));
}

G_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    enum g_fd_kind kind;

    if (!io_enter(fd, &kind) || !g_fd_is_socket(kind))
        return real_send(fd, buf, n, flags);
    return g_ret(run_buffer(fd, kind, true, (void *)buf, n, flags, NULL, NULL));
}

G_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                        const struct sockaddr *addr, socklen_t addrlen)
{
    enum g_fd_kind kind;

    if (!io_enter(fd, &kind) || !g_fd_is_socket(kind))
        return real_sendto(fd, buf, n, flags, addr, addrlen);
    return g_ret(run_buffer(fd, kind, true, (void *)buf, n, flags,
                            (struct sockaddr *)addr, &addrlen));
}

G_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    enum g_fd_kind kind;
    struct io_op op = {
        .fd = fd, .write = true, .flags = flags, .msg = (struct msghdr *)msg};

    if (!io_enter(fd, &kind) || !g_fd_is_socket(kind))
        return real_sendmsg(fd, msg, flags);
    op.kind = kind;
    return g_ret(io_run(&op));
}
