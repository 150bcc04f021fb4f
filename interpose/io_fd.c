/*
 * interpose/io_fd.c: the calls that close or replace an fd number (close,
 * close_range, closefrom, fclose, dup2, dup3), the ones that copy
 * one (dup, F_DUPFD), and the program's own O_NONBLOCK changes (F_SETFL,
 * FIONBIO), which the fd table remembers.
 *
 * A number that green threads wait on is taken out of the workers' epolls
 * and its waiters are woken with EBADF before the real call, so no stale
 * registration outlives it and a reused number starts clean (fd.h).
 * libgreen's own fds survive a program that closes every fd it does not
 * know: close() on one says it worked and leaves it open, and dup2 onto one
 * fails with EBUSY. Runs on any thread.
 */
/* This file defines both names of the call (the 64-bit-offset one too),
 * which the build's _FILE_OFFSET_BITS=64 would make one. */
#undef _FILE_OFFSET_BITS

#include "interpose/io.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/ioctl.h>

G_EXPORT int close(int fd)
{
    int rc;

    hook_enter();
    if (g_fd_reserved(fd))
        return 0;
    g_fd_close_begin(fd);
    rc = real_close(fd);
    g_fd_close_end(fd);
    return rc;
}

/* Close [first, last] (last may be UINT_MAX) with the real calls, around
 * libgreen's own fds. */
static int close_spans(unsigned first, unsigned last)
{
    unsigned start = first;

    for (unsigned fd = first; fd < 1024 && fd <= last; fd++) {
        if (!g_fd_reserved((int)fd))
            continue;
        if (fd > start && real_close_range(start, fd - 1, 0) != 0)
            return -1;
        start = fd + 1;
    }
    if (start > last)
        return 0;
    return real_close_range(start, last, 0);
}

G_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
    int to = last > INT_MAX ? INT_MAX : (int)last;

    hook_enter();
    if (!real_close_range)
        return (int)g_ret(-ENOSYS);
    /* Marking close-on-exec closes nothing now; bad arguments and unknown
     * flags are the real call's to refuse, before anything is closed. */
    if ((flags & ~CLOSE_RANGE_UNSHARE) || first > last || first > INT_MAX)
        return real_close_range(first, last, flags);
    for (int fd = (int)first; (fd = g_fd_next_watched(fd, to)) >= 0; fd++)
        close(fd); /* one at a time, each under its lock */
    return close_spans(first, last);
}

G_EXPORT void closefrom(int lowfd)
{
    hook_enter();
    if (lowfd < 0)
        lowfd = 0;
    if (close_range((unsigned)lowfd, UINT_MAX, 0) != 0 && real_closefrom)
        real_closefrom(lowfd); /* a kernel without close_range */
}

/* Streams close their fd inside libc, where no hook sees it: forget it
 * first. (The real close follows; a wait the program starts on it
 * meanwhile races with its own fclose.) */
void g_hook_stream_closing(FILE *f)
{
    int fd = f ? fileno(f) : -1;

    if (fd >= 0) {
        g_fd_close_begin(fd);
        g_fd_close_end(fd);
    }
}

G_EXPORT int fclose(FILE *f)
{
    hook_enter();
    if (g_shell_popened(f))
        return pclose(f);
    g_hook_stream_closing(f);
    return real_fclose(f);
}

/* dup2 and dup3: fd2 changes hands like a close. */
static int replace(int fd, int fd2, int flags, bool three)
{
    int rc;

    if (g_fd_reserved(fd2))
        return (int)g_ret(-EBUSY);
    /* Nothing is replaced (the same number, or fd is not open: EBADF):
     * the real call says what it says, and fd2's waiters keep waiting. */
    if (fd == fd2 || real_fcntl(fd, F_GETFD) < 0)
        return three ? real_dup3(fd, fd2, flags) : real_dup2(fd, fd2);
    g_fd_close_begin(fd2);
    rc = three ? real_dup3(fd, fd2, flags) : real_dup2(fd, fd2);
    g_fd_close_end(fd2);
    if (rc >= 0)
        g_fd_forget(fd); /* its description is shared now */
    return rc;
}

G_EXPORT int dup2(int fd, int fd2)
{
    hook_enter();
    return replace(fd, fd2, 0, false);
}

G_EXPORT int dup3(int fd, int fd2, int flags)
{
    hook_enter();
    return replace(fd, fd2, flags, true);
}

/* fd2, a copy of fd: both share a description now. */
static int copied(int fd, int fd2)
{
    if (fd2 >= 0) {
        g_fd_forget(fd);
        g_fd_forget(fd2);
    }
    return fd2;
}

G_EXPORT int dup(int fd)
{
    hook_enter();
    return copied(fd, real_dup(fd));
}

/* fcntl's third argument, whatever its type, travels as a pointer-sized
 * value, as glibc's own fcntl reads it. */
static int do_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
    int rc;

    switch (cmd) {
    case F_GETFL: {
        int nonblock = g_fd_program_nonblock(fd);

        /* O_NONBLOCK as the program set it, where the fd table knows it:
         * the kernel's may show a green thread's span of it, ours or, on
         * a description shared across a fork, another process's. Where
         * the table does not (a description made elsewhere, or one the
         * parent of a fork shares), the kernel answers under the fd's
         * lock, which keeps out our own spans (g_fd_nonblocking). */
        if (nonblock < 0 && g_runtime_running()) {
            g_fd_lock(fd);
            rc = real(fd, cmd, arg);
            g_fd_unlock(fd);
            return rc;
        }
        rc = real(fd, cmd, arg);
        if (rc >= 0 && nonblock >= 0)
            rc = nonblock ? rc | O_NONBLOCK : rc & ~O_NONBLOCK;
        return rc;
    }
    case F_SETFL:
        g_fd_lock(fd);
        rc = real(fd, cmd, arg);
        if (rc == 0)
            g_fd_set_nonblock(fd, (long)arg & O_NONBLOCK);
        g_fd_unlock(fd);
        return rc;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        return copied(fd, real(fd, cmd, arg));
    case F_SETLKW:
    case F_OFD_SETLKW:
        /* Waits for another lock holder: off the worker. */
        return g_hook_lock_wait(real, fd, cmd, arg);
    default:
        return real(fd, cmd, arg);
    }
}

G_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    hook_enter();
    return do_fcntl(real_fcntl, fd, cmd, arg);
}

G_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    hook_enter();
    return do_fcntl(real_fcntl64, fd, cmd, arg);
}

G_EXPORT int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    void *arg;
    int rc;

    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);
    hook_enter();
    if (request != FIONBIO)
        return real_ioctl(fd, request, arg);
    g_fd_lock(fd);
    rc = real_ioctl(fd, request, arg);
    if (rc == 0)
        g_fd_set_nonblock(fd, arg && *(const int *)arg);
    g_fd_unlock(fd);
    return rc;
}
