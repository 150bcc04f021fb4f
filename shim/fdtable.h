/*
 * shim/fdtable.h: the per-process record of each fd number, private to
 * shim/ (fdtable.c keeps it, fdwait.c registers waits in it).
 *
 * Records live in chunks mapped on first use and never unmapped, so a
 * pointer to one stays valid for the life of the process; no malloc, since
 * hooks such as write() may run in a signal handler.
 */
#ifndef G_FDTABLE_H
#define G_FDTABLE_H

#include <stdatomic.h>
#include <stdint.h>

#include "shim/fd.h"

/* Records per chunk, and chunks: fds up to 4 Mi, beyond Linux's default
 * nr_open (1 Mi). Larger fds have no record: they pass through. */
#define G_FD_CHUNK 1024
#define G_FD_CHUNKS 4096

struct g_fd {
    _Atomic int lock;          /* see g_fd_lock(); also orders registration
                                  against close (fdwait.c) */
    _Atomic uint32_t gen;      /* bumped each time the number is closed */
    _Atomic uint64_t watchers; /* bit w % 64: worker w registered it in its
                                  epoll; guarded by lock */
    _Atomic uint8_t kind;      /* enum g_fd_kind */
    _Atomic uint8_t mode;      /* enum g_fd_mode */
};

/*
 * What libgreen knows of the description's O_NONBLOCK flag and timeouts,
 * to spare a green thread about to wait the system calls that read them.
 * Known only for descriptions this process made (socket, accept, pipe...)
 * and not shared with another fd number since (dup forgets it); every
 * change the program makes goes through a hook that keeps it up to date.
 */
enum g_fd_mode {
    G_MODE_KNOWN = 1,    /* the bits below are true */
    G_MODE_NONBLOCK = 2, /* O_NONBLOCK is set */
    G_MODE_RCVTIMEO = 4, /* SO_RCVTIMEO is not zero */
    G_MODE_SNDTIMEO = 8, /* SO_SNDTIMEO is not zero */
    G_MODE_FORKED = 16,  /* made before a fork(): a child may change the
                            flags where we do not see it, so the parent
                            asks the kernel; a child still trusts the
                            copy it got of the rest */
    G_MODE_INHERITED = 32, /* in a forked child that keeps a runtime:
                              open at the fork, so the parent may change
                              the flags too, and the child asks the
                              kernel */
    G_MODE_KEPT_NONBLOCK = 64, /* a listener shared across a fork, which
                                  green accepts of every process sharing it
                                  leave non-blocking for good
                                  (g_fd_accept_nonblocking): the program's
                                  flag is the bit above, not the kernel's */
};

/* The record of fd, mapping its chunk if create; NULL if fd is out of
 * range, or (create false) was never looked at. */
struct g_fd *g_fd_record(int fd, bool create);

/* Mark fd as libgreen's own (g_fd_reserved), or no longer. */
void g_fd_reserve(int fd);
void g_fd_unreserve(int fd);

/* Map zeroed memory for a table chunk: NULL if the system has none. */
void *g_fd_chunk_map(size_t size);

#endif
