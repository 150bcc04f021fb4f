/*
 * interpose/stdio.c: fdopen.
 *
 * A stream reads and writes its fd inside libc, where no hook sees the
 * calls: fgets on an fdopen()ed socket, the way many old servers read a
 * request line, would block its worker until the client spoke. So fdopen
 * of a socket, pipe or terminal makes the stream with fopencookie, whose
 * reads and writes call read and write, our hooks: a green thread parks
 * there like any other. fileno() still gives the fd (the stream's _fileno
 * is set), and fclose closes it. Regular files keep glibc's own streams.
 * Streams libc makes itself (stdin on a socket under inetd, popen) are
 * still glibc's.
 */
#include "interpose/interpose.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim/fd.h"

static int fd_of(void *cookie)
{
    return (int)(intptr_t)cookie;
}

static ssize_t stream_read(void *cookie, char *buf, size_t len)
{
    return read(fd_of(cookie), buf, len);
}

/* A short count marks the stream's error; fopencookie wants no negative
 * one (errno says what failed). */
static ssize_t stream_write(void *cookie, const char *buf, size_t len)
{
    ssize_t n = write(fd_of(cookie), buf, len);

    return n < 0 ? 0 : n;
}

/* Sockets, pipes and terminals do not seek: ESPIPE, as glibc's own
 * streams say. */
static int stream_seek(void *cookie, off64_t *pos, int whence)
{
    off64_t at = lseek64(fd_of(cookie), *pos, whence);

    if (at < 0)
        return -1;
    *pos = at;
    return 0;
}

/* fclose has forgotten the fd already (io_fd.c): the real close. */
static int stream_close(void *cookie)
{
    return real_close(fd_of(cookie));
}

/* Whether the stream mode suits the fd's access mode, as glibc checks. */
static bool mode_fits(int fd, const char *mode)
{
    int flags = real_fcntl(fd, F_GETFL);
    int access = flags & O_ACCMODE;
    bool reads = mode[0] == 'r' || strchr(mode, '+');
    bool writes = mode[0] != 'r' || strchr(mode, '+');

    if (flags < 0)
        return false; /* EBADF from fcntl */
    if ((reads && access == O_WRONLY) || (writes && access == O_RDONLY)) {
        errno = EINVAL;
        return false;
    }
    return true;
}

G_EXPORT FILE *fdopen(int fd, const char *mode)
{
    static const cookie_io_functions_t io = {
        .read = stream_read,
        .write = stream_write,
        .seek = stream_seek,
        .close = stream_close,
    };
    FILE *f;

    hook_enter();
    if (!mode || !strchr("rwa", mode[0]) || g_fd_kind(fd) == G_FD_FILE)
        return real_fdopen(fd, mode);
    if (!mode_fits(fd, mode))
        return NULL;
    f = fopencookie((void *)(intptr_t)fd, mode, io);
    if (!f)
        return NULL;
    f->_fileno = fd;
    /* glibc line-buffers a stream on a terminal, which it sees by fstat;
     * a cookie stream has no fd to look at. */
    if (isatty(fd))
        setvbuf(f, NULL, _IOLBF, 0);
    return f;
}
