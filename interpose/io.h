/*
 * interpose/io.h: one blocking read or write of a green thread, shared by
 * the hooks of interpose/io_*.c.
 *
 * A hook describes its call as a struct io_op; io_run() makes it as a loop
 * of non-blocking tries of the real functions, waiting in between
 * (g_io_block). Reads and writes of every call go through a msghdr, which is
 * what the socket calls take; pipes and other files use only its iov.
 */
#ifndef G_IO_H
#define G_IO_H

#include <sys/socket.h>
#include <sys/uio.h>

#include "interpose/interpose.h"
#include "shim/fd.h"

struct io_op {
    int fd;
    enum g_fd_kind kind; /* g_fd_kind(fd), never G_FD_FILE */
    bool write;
    int flags;           /* MSG_* of a socket call */
    struct msghdr *msg;  /* the call's: iov, and name and control */
    bool plain;          /* one buffer and no msg_flags to report: a
                            socket try may use recvfrom/sendto, which
                            copy no msghdr in */
    size_t skip;         /* a stream write: bytes of msg already sent (by
                            sendmmsg); the count includes them */

    /* Filled in by io_run. */
    bool all;            /* blocking writes write everything; MSG_WAITALL */
    struct msghdr *work; /* msg, or a copy whose iov is advanced */
    size_t done;         /* bytes moved by tries that moved some */
};

/* May park. The call op describes: its count or -errno. */
long io_run(struct io_op *op);

/* The start of every I/O hook: NULL if the call passes through (not a
 * green thread, or a file that is always ready); else acts on a pending
 * cancel, as at any cancellation point, and gives fd's kind. */
struct g_thread *io_enter_as(const char *call, int fd, enum g_fd_kind *kind);
#define io_enter(fd, kind) io_enter_as(__func__, fd, kind)

#endif
