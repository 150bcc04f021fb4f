/*
 * interpose/io_batch.c: the calls that move many messages or a whole file:
 * recvmmsg, sendmmsg, sendfile (and sendfile64, its other name).
 *
 * On a green thread each is a loop of non-blocking tries with waits between
 * (g_io_block): recvmmsg waits, as natively, until vlen messages came
 * (MSG_WAITFORONE: one) and checks its timeout only after each message;
 * sendmmsg sends them all, and on a stream socket each one whole, as
 * blocking sendmsg calls would (a try that sent part of one stops there,
 * and io_run sends the rest). sendfile has no per-call non-blocking flag, so
 * each try sets O_NONBLOCK on the output for the span of the real call,
 * under the fd's lock (fd.h). Runs on any thread.
 */
/* This file defines both names of the call (the 64-bit-offset one too),
 * which the build's _FILE_OFFSET_BITS=64 would make one. */
#undef _FILE_OFFSET_BITS

#include "interpose/io.h"

#include <sys/sendfile.h>

struct mmsg_call {
    int fd;
    struct mmsghdr *vec;
    unsigned vlen;
    int flags;
    int64_t until; /* recvmmsg's timeout as a deadline, or G_NEVER */
    unsigned done; /* messages moved so far */
    bool stream;   /* sendmmsg on a stream socket */
    bool partial;  /* ... whose last message counted went out in part */
};

/* After some messages, an error ends the call with their count. */
static long progress_or(struct mmsg_call *c, long err)
{
    return err != -EAGAIN && c->done ? (long)c->done : err;
}

static long try_recvmmsg(void *arg)
{
    struct mmsg_call *c = arg;

    while (c->done < c->vlen) {
        int rc = real_recvmmsg(c->fd, c->vec + c->done, c->vlen - c->done,
                               c->flags | MSG_DONTWAIT, NULL);

        if (rc < 0)
            return progress_or(c, -errno);
        c->done += (unsigned)rc;
        if ((c->flags & MSG_WAITFORONE) || g_now() >= c->until)
            break;
    }
    return c->done;
}

G_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen,
                      int flags, struct timespec *timeout)
{
    struct mmsg_call c = {
        .fd = fd, .vec = vec, .vlen = vlen, .flags = flags, .until = G_NEVER};
    enum g_fd_kind kind;
    long rc;

    if (!io_enter(fd, &kind) || !g_fd_is_socket(kind) ||
        (timeout && g_deadline_after(timeout, &c.until) != 0))
        return real_recvmmsg(fd, vec, vlen, flags, timeout);
    rc = flags & MSG_DONTWAIT
             ? try_recvmmsg(&c)
             : g_io_block(fd, POLLIN, SO_RCVTIMEO, try_recvmmsg, &c);
    if (rc < 0 && c.done)
        rc = c.done;
    if (rc >= 0 && timeout) {
        /* Linux writes back the time that was left. */
        int64_t left = c.until - g_now();

        left = left > 0 ? left : 0;
        timeout->tv_sec = left / 1000000000;
        timeout->tv_nsec = left % 1000000000;
    }
    return (int)g_ret(rc);
}

static size_t msg_bytes(const struct msghdr *m)
{
    size_t n = 0;

    for (size_t i = 0; i < m->msg_iovlen; i++)
        n += m->msg_iov[i].iov_len;
    return n;
}

static long try_sendmmsg(void *arg)
{
    struct mmsg_call *c = arg;

    while (c->done < c->vlen) {
        int rc = real_sendmmsg(c->fd, c->vec + c->done, c->vlen - c->done,
                               c->flags | MSG_DONTWAIT);

        if (rc < 0)
            return progress_or(c, -errno);
        c->done += (unsigned)rc;
        /* The next message must not follow part of this one. */
        if (c->stream && rc > 0 &&
            c->vec[c->done - 1].msg_len <
                msg_bytes(&c->vec[c->done - 1].msg_hdr)) {
            c->partial = true;
            break;
        }
    }
    return c->done;
}

/* May park. The rest of the message a try sent in part, as the blocking
 * sendmsg it stands for sends it: whole, unless an error stops it. */
static void finish_message(struct mmsg_call *c, enum g_fd_kind kind)
{
    struct mmsghdr *m = &c->vec[c->done - 1];
    struct io_op op = {.fd = c->fd,
                       .kind = kind,
                       .write = true,
                       .flags = c->flags,
                       .msg = &m->msg_hdr,
                       .skip = m->msg_len};
    long rc = io_run(&op);

    if (rc > 0)
        m->msg_len = (unsigned)rc;
    c->partial = m->msg_len < msg_bytes(&m->msg_hdr);
}

G_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen,
                      int flags)
{
    struct mmsg_call c = {
        .fd = fd, .vec = vec, .vlen = vlen, .flags = flags, .until = G_NEVER};
    enum g_fd_kind kind;
    long rc;

    if (!io_enter(fd, &kind) || !g_fd_is_socket(kind))
        return real_sendmmsg(fd, vec, vlen, flags);
    c.stream = g_fd_is_stream(kind);
    if (flags & MSG_DONTWAIT)
        rc = try_sendmmsg(&c);
    else
        for (;;) {
            c.partial = false;
            rc = g_io_block(fd, POLLOUT, SO_SNDTIMEO, try_sendmmsg, &c);
            /* A non-blocking socket's call ends with the part, as natively. */
            if (rc < 0 || !c.partial || !g_fd_blocking(fd))
                break;
            finish_message(&c, kind);
            if (c.partial || c.done == vlen)
                break;
        }
    if (rc < 0 && c.done)
        rc = c.done;
    return (int)g_ret(rc);
}

struct sendfile_call {
    int out, in;
    off_t *offset;
    size_t left;
    size_t done;
};

/* One real sendfile with the output non-blocking: its result or -errno.
 * *blocking says whether the program has the output blocking. */
static long sendfile_real(void *arg)
{
    struct sendfile_call *c = arg;
    long rc = real_sendfile(c->out, c->in, c->offset, c->left);

    return rc < 0 ? -errno : rc;
}

static long sendfile_once(struct sendfile_call *c, bool *blocking)
{
    return g_fd_nonblocking(c->out, sendfile_real, c, blocking);
}

static long try_sendfile(void *arg)
{
    struct sendfile_call *c = arg;
    bool blocking = true;

    /* A blocking sendfile sends everything; a non-blocking one, once. */
    while (c->left > 0 && blocking) {
        long rc = sendfile_once(c, &blocking);

        if (rc < 0)
            return rc != -EAGAIN && c->done ? (long)c->done : rc;
        if (rc == 0)
            break; /* the input ended */
        c->done += (size_t)rc;
        c->left -= (size_t)rc;
    }
    return (long)c->done;
}

G_EXPORT ssize_t sendfile(int out, int in, off_t *offset, size_t count)
{
    struct sendfile_call c = {out, in, offset, count, 0};
    enum g_fd_kind kind;
    long rc;

    if (!io_enter(out, &kind))
        return real_sendfile(out, in, offset, count);
    rc = g_io_block(out, POLLOUT, g_fd_is_socket(kind) ? SO_SNDTIMEO : 0,
                    try_sendfile, &c);
    if (rc < 0 && c.done)
        rc = (long)c.done;
    return g_ret(rc);
}

G_EXPORT ssize_t sendfile64(int out, int in, off64_t *offset, size_t count)
{
    return sendfile(out, in, (off_t *)offset, count);
}
