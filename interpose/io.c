/*
 * interpose/io.c: the tries of one blocking read or write (io.h).
 *
 * Each try is non-blocking without touching the file description's flags:
 * MSG_DONTWAIT on sockets, RWF_NOWAIT on pipes, and for other pollable
 * files (eventfd, tty) O_NONBLOCK for the span of the real call, under the
 * fd's lock. A blocking
 * write on a stream socket or a pipe writes everything, as natively, so a
 * try that moved part of it advances a copy of the iov and the loop goes
 * on; so does a read with MSG_WAITALL. Green threads only.
 */
#include "interpose/io.h"

#include <string.h>
#include <sys/mman.h>

/* iov entries copied on the stack; more are mapped. */
#define SMALL_IOV 8

struct g_thread *io_enter_as(const char *call, int fd, enum g_fd_kind *kind)
{
    struct g_thread *self = hook_enter_as(call);

    if (!self)
        return NULL;
    g_testcancel();
    *kind = g_fd_kind(fd);
    return *kind == G_FD_FILE ? NULL : self;
}

/* Step work's iov past n bytes; true when nothing is left. */
static bool advance(struct msghdr *work, size_t n)
{
    /* Ancillary data and the address go with the first bytes only. */
    work->msg_control = NULL;
    work->msg_controllen = 0;
    while (work->msg_iovlen > 0 && n >= work->msg_iov->iov_len) {
        n -= work->msg_iov->iov_len;
        work->msg_iov++;
        work->msg_iovlen--;
    }
    if (work->msg_iovlen > 0) {
        work->msg_iov->iov_base = (char *)work->msg_iov->iov_base + n;
        work->msg_iov->iov_len -= n;
    }
    while (work->msg_iovlen > 0 && work->msg_iov->iov_len == 0) {
        work->msg_iov++;
        work->msg_iovlen--;
    }
    return work->msg_iovlen == 0;
}

/* After a try of an op that moves everything moved n bytes: step past them,
 * true when the op is done. A read with MSG_WAITALL that brought ancillary
 * data ends there, as the kernel's read of a unix socket ends with the
 * bytes that carried fds: recvmsg reports it with the bytes before. */
static bool advance_or_stop(struct io_op *op, size_t n)
{
    if (!op->write && op->work->msg_control && op->work->msg_controllen > 0)
        return true;
    return advance(op->work, n);
}

/* Whether a short read of op takes all the data there was (fd.h). */
static bool drains(const struct io_op *op)
{
    return !op->write && op->kind == G_FD_TCP &&
           !(op->flags & (MSG_PEEK | MSG_OOB));
}

static long readv_once(void *arg)
{
    struct io_op *op = arg;
    ssize_t rc = real_readv(op->fd, op->work->msg_iov,
                            (int)op->work->msg_iovlen);

    return rc < 0 ? -errno : rc;
}

static long writev_once(void *arg)
{
    struct io_op *op = arg;
    ssize_t rc = real_writev(op->fd, op->work->msg_iov,
                             (int)op->work->msg_iovlen);

    return rc < 0 ? -errno : rc;
}

static long try_once(struct io_op *op)
{
    struct msghdr *m = op->work;
    int cnt = (int)m->msg_iovlen;
    ssize_t rc;

    switch (op->kind) {
    case G_FD_STREAM:
    case G_FD_TCP:
    case G_FD_SOCKET:
        if (op->plain && op->write)
            rc = real_sendto(op->fd, m->msg_iov->iov_base, m->msg_iov->iov_len,
                             op->flags | MSG_DONTWAIT, m->msg_name,
                             m->msg_namelen);
        else if (op->plain)
            rc = real_recvfrom(op->fd, m->msg_iov->iov_base,
                               m->msg_iov->iov_len, op->flags | MSG_DONTWAIT,
                               m->msg_name,
                               m->msg_name ? &m->msg_namelen : NULL);
        else if (op->write)
            rc = real_sendmsg(op->fd, m, op->flags | MSG_DONTWAIT);
        else
            rc = real_recvmsg(op->fd, m, op->flags | MSG_DONTWAIT);
        if (op->plain && rc > 0 && (size_t)rc < m->msg_iov->iov_len &&
            drains(op))
            g_fd_set_drained(op->fd);
        break;
    case G_FD_FIFO:
        if (real_preadv2 && real_pwritev2) {
            rc = op->write ? real_pwritev2(op->fd, m->msg_iov, cnt, -1,
                                           RWF_NOWAIT)
                           : real_preadv2(op->fd, m->msg_iov, cnt, -1,
                                          RWF_NOWAIT);
            if (rc >= 0 || errno != EOPNOTSUPP)
                break;
        }
        op->kind = G_FD_POLL; /* a kernel without RWF_NOWAIT on pipes */
        /* fall through */
    default: {
        /* No per-call flag: O_NONBLOCK for the span of the call. A poll
         * first would not do: another worker's thread may take what it
         * saw, and the real call would then block this worker. */
        bool blocking;

        return g_fd_nonblocking(op->fd, op->write ? writev_once : readv_once,
                                op, &blocking);
    }
    }
    return rc < 0 ? -errno : rc;
}

static long io_try(void *arg)
{
    struct io_op *op = arg;

    for (;;) {
        long rc = try_once(op);

        if (rc < 0) /* after some progress, an error ends the call */
            return rc != -EAGAIN && op->done ? (long)op->done : rc;
        if (!op->all)
            return rc;
        op->done += (size_t)rc;
        if (rc == 0 || advance_or_stop(op, (size_t)rc))
            return (long)op->done; /* EOF, or everything moved */
    }
}

/* What op waits for. A blocking read of a drained TCP socket waits
 * before it tries; a non-blocking one must try, since only the try can say
 * EAGAIN exactly. */
static int events_of(const struct io_op *op)
{
    if (op->write)
        return POLLOUT;
    if (op->plain && drains(op) && g_fd_drained(op->fd) &&
        g_fd_blocking(op->fd))
        return POLLIN | G_WAIT_FIRST;
    return POLLIN;
}

long io_run(struct io_op *op)
{
    bool sock = g_fd_is_socket(op->kind);
    struct iovec small[SMALL_IOV], *iov = small;
    size_t size = op->msg->msg_iovlen * sizeof(*iov);
    struct msghdr copy;
    long rc;

    op->done = op->skip;
    op->all = op->write ? g_fd_is_stream(op->kind) || op->kind == G_FD_FIFO
                        : g_fd_is_stream(op->kind) && (op->flags & MSG_WAITALL);
    op->work = op->msg;
    if (op->all) {
        if (op->msg->msg_iovlen > SMALL_IOV) {
            iov = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (iov == MAP_FAILED)
                return -ENOMEM;
        }
        memcpy(iov, op->msg->msg_iov, size);
        copy = *op->msg;
        copy.msg_iov = iov;
        op->work = &copy;
        if (op->skip)
            advance(op->work, op->skip);
    }
    if (op->flags & MSG_DONTWAIT)
        rc = io_try(op); /* the program's own non-blocking call */
    else
        rc = g_io_block(op->fd, events_of(op),
                        sock ? (op->write ? SO_SNDTIMEO : SO_RCVTIMEO) : 0,
                        io_try, op);
    if (rc < 0 && op->done)
        rc = (long)op->done; /* a timeout or a close after some progress */
    if (op->all && !op->write) {
        /* What recvmsg reports: the sender's address, the ancillary data
         * of the try that brought some (which ended the op) or none, and
         * the flags of the last try. */
        op->msg->msg_namelen = copy.msg_namelen;
        op->msg->msg_controllen = copy.msg_controllen;
        op->msg->msg_flags = copy.msg_flags;
    }
    if (iov != small)
        munmap(iov, size);
    return rc;
}
