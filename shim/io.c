/*
 * shim/io.c: a blocking call as a loop of non-blocking tries and waits.
 *
 * The hooks of interpose/ know how to make one try of their call without
 * blocking; this loop decides what "would block" means for the program
 * (EAGAIN if it made the description non-blocking, a wait otherwise),
 * applies the socket's SO_RCVTIMEO/SO_SNDTIMEO, and parks the green thread
 * on the worker's epoll (fdwait.c) until another try may succeed.
 */
#include "shim/fd.h"
#include "shim/shim.h"

#include <errno.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How long to sleep between tries on an fd the epoll refuses (EPERM):
 * files a hook did not recognise as always ready, or fds past the table. */
#define UNPOLLABLE_NS 1000000

bool g_fd_ready(int fd, short events)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    struct timespec zero = {0, 0};

    /* The raw call: libc's poll is our own hook. */
    return syscall(SYS_ppoll, &pfd, 1, &zero, NULL, 0) > 0;
}

/* May park. Instead of a wait the epoll refused: 0, -ETIMEDOUT once
 * deadline has passed, or -ECANCELED. */
static int nap(int64_t deadline)
{
    int64_t now = g_now();

    if (now >= deadline)
        return -ETIMEDOUT;
    return g_sleep_until(deadline - now < UNPOLLABLE_NS ? deadline
                                                        : now + UNPOLLABLE_NS);
}

static long io_block(int fd, int events, int timeo, long (*try)(void *),
                     void *arg)
{
    int64_t deadline = 0; /* 0: not looked up yet */
    bool skip = events & G_WAIT_FIRST;
    long rc;

    for (;;) {
        rc = skip ? -EAGAIN : try(arg);
        skip = false;
        if (rc != -EAGAIN)
            return rc;
        if (deadline == 0) {
            /* Read once per call, when it would first block. */
            if (!g_fd_blocking(fd))
                return -EAGAIN;
            deadline = timeo ? g_fd_sock_deadline(fd, timeo) : G_NEVER;
        }
        rc = g_wait_fd(fd, (events & ~G_WAIT_FIRST) | G_WAIT_EINTR, deadline);
        /* A signal: the call restarts unless the socket has a timeout
         * (signal(7)) or a handler without SA_RESTART ran. */
        if (rc == -EINTR && g_sig_restart(g_self(), deadline == G_NEVER))
            continue;
        /* An fd the epoll refuses (EPERM: a file it cannot watch) or has
         * no room for (ENOSPC, ENOMEM): try again after a nap. */
        if (rc < 0 && rc != -ETIMEDOUT && rc != -EBADF && rc != -ECANCELED &&
            rc != -EINTR)
            rc = nap(deadline);
        if (rc == -ETIMEDOUT)
            return -EAGAIN; /* what SO_RCVTIMEO/SO_SNDTIMEO give */
        if (rc == -ECANCELED)
            g_cancel_act(g_self());
        if (rc < 0)
            return rc;
    }
}

long g_io_block(int fd, int events, int timeo, long (*try)(void *),
                void *arg)
{
    struct g_thread *self = g_self();
    long rc;

    /* Signals delivered at the call's start and end, as a system call's
     * entry and return would: then nothing of its waits is linked. */
    if (g_sig_due(self))
        g_sig_deliver(self);
    rc = io_block(fd, events, timeo, try, arg);
    if (g_sig_due(self))
        g_sig_deliver(self);
    return rc;
}
