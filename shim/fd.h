/*
 * shim/fd.h: what libgreen knows of the program's file descriptors, and
 * waiting for one to be ready.
 *
 * libgreen never leaves the O_NONBLOCK flag changed on a file description
 * the program uses, because that flag belongs to the description: dup()ed
 * fds, fork()ed children and a shell's terminal share it. A green thread's
 * blocking call is instead a loop of non-blocking tries (MSG_DONTWAIT,
 * RWF_NOWAIT, or the flag set for the span of one call under the fd's
 * lock: accept, connect, sendfile, eventfds, ttys) and waits for readiness
 * between them (shim/io.c). Functions return 0, a count or -errno, as in
 * shim.h.
 */
#ifndef G_FD_H
#define G_FD_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* What a descriptor refers to, for the way a green thread waits on it. */
enum g_fd_kind {
    G_FD_UNKNOWN, /* not looked at yet (or closed since) */
    G_FD_STREAM,  /* SOCK_STREAM socket: blocking sends write everything */
    G_FD_TCP,     /* the same over AF_INET or AF_INET6, where a short read
                     also takes all the data there was (g_fd_drained) */
    G_FD_SOCKET,  /* any other socket */
    G_FD_FIFO,    /* pipe or FIFO: RWF_NOWAIT tries */
    G_FD_POLL,    /* other pollable file (eventfd, tty, ...): poll, then call */
    G_FD_FILE,    /* regular file, directory, block device, or not an open
                     fd: always ready, every call passes through */
};

static inline bool g_fd_is_stream(enum g_fd_kind kind)
{
    return kind == G_FD_STREAM || kind == G_FD_TCP;
}

static inline bool g_fd_is_socket(enum g_fd_kind kind)
{
    return g_fd_is_stream(kind) || kind == G_FD_SOCKET;
}

/* The kind of a socket from socket(2)'s arguments. */
static inline enum g_fd_kind g_fd_socket_kind(int domain, int type)
{
    if ((type & 0xf) != SOCK_STREAM)
        return G_FD_SOCKET;
    return domain == AF_INET || domain == AF_INET6 ? G_FD_TCP : G_FD_STREAM;
}

/* --- the per-process fd table (shim/fdtable.c); any thread --- */

/* The kind of fd, looked up once (fstat, SO_TYPE) and remembered until the
 * fd is closed through libgreen. G_FD_FILE for a closed fd. */
enum g_fd_kind g_fd_kind(int fd);
/* A call made fd with a new description (socket, accept, pipe): remember
 * its kind and O_NONBLOCK flag. */
void g_fd_made(int fd, enum g_fd_kind kind, bool nonblock);
/* accept made fd from listener: its kind, and its timeouts, which Linux
 * copies from the listener. */
void g_fd_accepted(int fd, int listener, bool nonblock);
/* fd now refers to a description another number may share (dup), or to
 * one libgreen did not see made: forget what was remembered of it. */
void g_fd_forget(int fd);
/* The program changed fd's O_NONBLOCK flag (under g_fd_lock) or one of its
 * timeouts (opt: SO_RCVTIMEO or SO_SNDTIMEO) to zero or not. */
void g_fd_set_nonblock(int fd, bool nonblock);
void g_fd_set_timeout(int fd, int opt, bool set);
/*
 * Around a real close (or a dup2 onto fd): begin forgets fd's kind, takes
 * it out of every worker's epoll and wakes its waiters with -EBADF; end
 * lets new waits register again. Between the two, fd's lock is held, so no
 * wait registers the number while it changes hands.
 */
void g_fd_close_begin(int fd);
void g_fd_close_end(int fd);
/* The first fd in [from, to] that some worker has registered for
 * waiting, or -1: what a close_range must take out of the epolls. */
int g_fd_next_watched(int from, int to);
/* Whether fd is one of libgreen's own (a worker's epoll or eventfd), which
 * the program must not close or replace. */
bool g_fd_reserved(int fd);

/*
 * The lock of fd's O_NONBLOCK flag: held while a call turns the flag on for
 * its own span, by the program's own F_SETFL/FIONBIO, and while a green
 * thread reads the flag, so that none of them sees another's temporary
 * value. Never held across a park.
 */
void g_fd_lock(int fd);
void g_fd_unlock(int fd);
/*
 * call(arg) with O_NONBLOCK set on fd's description for its span only,
 * under fd's lock, for a call with no per-call non-blocking flag (accept,
 * connect, sendfile, read of an eventfd or tty). *blocking tells whether
 * the program has the description blocking (then the flag was set and put
 * back). Returns call's result.
 */
long g_fd_nonblocking(int fd, long (*call)(void *), void *arg, bool *blocking);
/*
 * g_fd_nonblocking for accept: but on a listener shared across a fork (in
 * a parent, or a child that keeps a runtime) whose program's flag the
 * table knows, O_NONBLOCK is set and left set (G_MODE_KEPT_NONBLOCK), and
 * the program's flag is the table's from then on. Two processes each
 * putting the flag back after their span would leave each other's real
 * accept blocking its worker. Plain threads and plain children see the
 * flag, and their accept takes it in its stride (interpose/io_socket.c).
 */
long g_fd_accept_nonblocking(int fd, long (*call)(void *), void *arg);
/* Whether the program has fd's description in blocking mode; takes the
 * lock. */
bool g_fd_blocking(int fd);
/* In the parent, after fork(): every description is the child's too, which
 * may change its flags where no hook of ours sees it, so the parent asks
 * the kernel from now on (G_MODE_FORKED). */
void g_fd_forked(void);
/* In a child that keeps a runtime (g_runtime_fork_child): no fd is in any
 * worker's epoll or locked any more, and every description the table has
 * is shared with the parent (G_MODE_INHERITED). */
void g_fd_forked_runtime(void);
/*
 * What the program last set of fd's O_NONBLOCK (1 set, 0 clear), if this
 * process made the description and saw every change since (in a parent,
 * made after its last fork()); else -1. Read
 * without the lock, by plain threads and forked children, whose real flags
 * may show a green thread's span of O_NONBLOCK (g_fd_nonblocking) in this
 * process or, for a child, in its parent.
 */
int g_fd_program_nonblock(int fd);
/* Whether fd has an SO_RCVTIMEO set, as far as the table knows (false if
 * it does not know). */
bool g_fd_has_rcvtimeo(int fd);
/* The deadline SO_RCVTIMEO or SO_SNDTIMEO (opt) sets for a call that starts
 * now, or G_NEVER. */
int64_t g_fd_sock_deadline(int fd, int opt);

/* --- waiting (shim/fdwait.c); green threads only --- */

/*
 * May park. Wait until one of fds[0..n) may be ready for its events (POLLIN,
 * POLLOUT, POLLPRI; errors and hang-ups always count) or deadline passes.
 * Readiness is a hint: the caller tries its call again. Returns 0 (ready),
 * -ETIMEDOUT, -EBADF if one of the fds was closed meanwhile, -EPERM if one
 * of them cannot be waited for (a regular file: call it directly),
 * -ECANCELED if the thread was canceled, or -EINTR if a signal came for
 * it (then g_sig_restart says whether its call goes on).
 */
int g_wait_fds(const struct pollfd *fds, int n, int64_t deadline);
/* g_wait_fds, counted by GREEN_STATS under reason (enum g_park_reason)
 * instead of fd, and never ended by a signal: a lookup's sockets. */
int g_wait_fds_for(const struct pollfd *fds, int n, int64_t deadline,
                   int reason);
/*
 * g_wait_fds for one fd. events may include G_WAIT_EXCLUSIVE, for accept:
 * an event then wakes only the first such waiter of the worker (with every
 * other waiter), as the kernel wakes one thread blocked in accept per
 * connection; the woken one passes the turn on with g_fd_pass_turn.
 */
#define G_WAIT_EXCLUSIVE 0x10000
/* For g_io_block: wait before the first try (g_fd_drained says it would
 * find nothing). */
#define G_WAIT_FIRST 0x20000
/* For g_wait_fd: a signal ends the wait with -EINTR (g_wait_fds: always;
 * g_wait_fds_for: never). */
#define G_WAIT_EINTR 0x40000
int g_wait_fd(int fd, int events, int64_t deadline);
/* May switch. Wake the first exclusive waiter of fd on the calling green
 * thread's worker, if there is one and fd is ready for events, and let it
 * run first: one that took a connection and sees more queued hands the
 * next to a waiting acceptor, as a native one would take it at the same
 * time on another CPU. */
void g_fd_pass_turn(int fd, short events);

/*
 * A read that came back short on a TCP socket took all the data there was,
 * and data that comes later is a new edge on the epolls that have the fd.
 * So, until the calling green thread's worker sees such an edge, a blocking
 * read on that worker may skip the try that would only say EAGAIN and wait
 * at once: one system call less per request of a keep-alive connection, as
 * libuv saves by not reading until EAGAIN. Not after the peer's FIN, a
 * reset or urgent data (the worker has seen them): an end of file is a
 * state, not an edge, and a read stops short at the urgent mark. Only for
 * an fd the worker has in its epoll; its dispatch clears the mark.
 */
void g_fd_set_drained(int fd);
bool g_fd_drained(int fd);


/*
 * May park. A green thread's blocking call on fd as non-blocking tries
 * (shim/io.c): try(arg) makes one and returns its result, or -EAGAIN for
 * "would block". Between tries the thread waits for events on fd, if the
 * program has the description in blocking mode, until the deadline that
 * timeo sets (SO_RCVTIMEO or SO_SNDTIMEO; 0: none). Returns try's result,
 * -EAGAIN if the description is non-blocking or the timeout passed,
 * -EBADF if fd was closed meanwhile, or -EINTR if a signal's handler ran
 * and the call does not restart (signal(7): no SA_RESTART, or the socket
 * has a timeout). A cancel acts while it waits. Signals pending for the
 * thread are delivered first.
 */
long g_io_block(int fd, int events, int timeo, long (*try)(void *),
                void *arg);
/* Whether fd is ready for events now (poll with a zero timeout). */
bool g_fd_ready(int fd, short events);

#endif
