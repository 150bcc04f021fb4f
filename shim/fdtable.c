/*
 * shim/fdtable.c: what libgreen remembers of each fd number.
 *
 * A record holds the fd's kind (looked up once), the lock of its O_NONBLOCK
 * flag, and which workers registered it in their epoll for waiting, so that
 * a close from any thread can take it out of all of them before the number
 * is reused. The O_NONBLOCK flag and the socket timeouts are remembered
 * only for a description this process made and no other fd number shares
 * (enum g_fd_mode); for any other, the kernel's answer is read when a green
 * thread is about to wait, so an inherited terminal or a dup()ed fd can
 * change under us at will. Any thread; only system calls, no allocation
 * beyond mmap (hooks may run in signal handlers).
 */
#include "shim/fdtable.h"
#include "shim/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct g_fd *_Atomic chunks[G_FD_CHUNKS];

/* libgreen's own fds (below 1024; they are opened at start). */
static _Atomic uint64_t reserved[1024 / 64];

void *g_fd_chunk_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

struct g_fd *g_fd_record(int fd, bool create)
{
    struct g_fd *chunk, *fresh = NULL;
    unsigned i = (unsigned)fd / G_FD_CHUNK;

    if (fd < 0 || i >= G_FD_CHUNKS)
        return NULL;
    chunk = atomic_load_explicit(&chunks[i], memory_order_acquire);
    if (!chunk && create) {
        fresh = g_fd_chunk_map(G_FD_CHUNK * sizeof(*chunk));
        if (!fresh)
            return NULL;
        if (atomic_compare_exchange_strong_explicit(&chunks[i], &chunk, fresh,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire))
            chunk = fresh;
        else
            munmap(fresh, G_FD_CHUNK * sizeof(*chunk)); /* another won */
    }
    return chunk ? &chunk[fd % G_FD_CHUNK] : NULL;
}

static enum g_fd_kind kind_of_socket(int fd)
{
    int type, domain;
    socklen_t len = sizeof(type);

    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return G_FD_SOCKET;
    len = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
        domain = AF_UNSPEC;
    return g_fd_socket_kind(domain, type);
}

static enum g_fd_kind look_up_kind(int fd)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return G_FD_UNKNOWN; /* not open: the real call says EBADF */
    if (S_ISSOCK(st.st_mode))
        return kind_of_socket(fd);
    if (S_ISFIFO(st.st_mode))
        return G_FD_FIFO;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
        return G_FD_FILE;
    return G_FD_POLL;
}

enum g_fd_kind g_fd_kind(int fd)
{
    struct g_fd *rec = g_fd_record(fd, true);
    enum g_fd_kind kind;

    kind = rec ? atomic_load_explicit(&rec->kind, memory_order_relaxed)
               : G_FD_UNKNOWN;
    if (kind != G_FD_UNKNOWN)
        return kind;
    kind = look_up_kind(fd);
    /* Not open now: the real call says EBADF, and nothing is remembered,
     * since the number's next file may come from a call without a hook. */
    if (kind == G_FD_UNKNOWN)
        return G_FD_FILE;
    if (rec)
        atomic_store_explicit(&rec->kind, kind, memory_order_relaxed);
    return kind;
}

void g_fd_made(int fd, enum g_fd_kind kind, bool nonblock)
{
    struct g_fd *rec = g_fd_record(fd, true);

    if (!rec)
        return;
    atomic_store_explicit(&rec->kind, kind, memory_order_relaxed);
    atomic_store_explicit(&rec->mode,
                          G_MODE_KNOWN | (nonblock ? G_MODE_NONBLOCK : 0),
                          memory_order_relaxed);
}

/* fd's mode, 0 if not known. */
static uint8_t mode_of(int fd)
{
    struct g_fd *rec = g_fd_record(fd, false);

    return rec ? atomic_load_explicit(&rec->mode, memory_order_relaxed) : 0;
}

void g_fd_accepted(int fd, int listener, bool nonblock)
{
    struct g_fd *rec = g_fd_record(fd, true);
    uint8_t from;

    g_fd_made(fd, g_fd_kind(listener), nonblock);
    from = mode_of(listener);
    if (!rec)
        return;
    if (!(from & G_MODE_KNOWN))
        atomic_store_explicit(&rec->mode, 0, memory_order_relaxed); /* ask */
    else
        atomic_fetch_or_explicit(&rec->mode,
                                 from & (G_MODE_RCVTIMEO | G_MODE_SNDTIMEO),
                                 memory_order_relaxed);
}

void g_fd_forked(void)
{
    for (unsigned i = 0; i < G_FD_CHUNKS; i++) {
        struct g_fd *chunk =
            atomic_load_explicit(&chunks[i], memory_order_acquire);

        for (unsigned j = 0; chunk && j < G_FD_CHUNK; j++)
            atomic_fetch_or_explicit(&chunk[j].mode, G_MODE_FORKED,
                                     memory_order_relaxed);
    }
}

void g_fd_forked_runtime(void)
{
    /* The child has none of its parent's epoll registrations, and a lock
     * held by a thread the fork left behind would never be let go. Every
     * description is shared with the parent now (table_knows_flag). */
    for (unsigned i = 0; i < G_FD_CHUNKS; i++) {
        struct g_fd *chunk =
            atomic_load_explicit(&chunks[i], memory_order_acquire);

        for (unsigned j = 0; chunk && j < G_FD_CHUNK; j++) {
            atomic_store_explicit(&chunk[j].lock, 0, memory_order_relaxed);
            atomic_store_explicit(&chunk[j].watchers, 0, memory_order_relaxed);
            /* Marked by a parent that forked before: the child's copy of
             * the flags is its own from now on. */
            uint8_t mode = atomic_load_explicit(&chunk[j].mode,
                                                memory_order_relaxed);

            atomic_store_explicit(&chunk[j].mode,
                                  (mode & ~G_MODE_FORKED) | G_MODE_INHERITED,
                                  memory_order_relaxed);
        }
    }
}

void g_fd_forget(int fd)
{
    struct g_fd *rec = g_fd_record(fd, false);

    if (!rec)
        return;
    atomic_store_explicit(&rec->kind, G_FD_UNKNOWN, memory_order_relaxed);
    atomic_store_explicit(&rec->mode, 0, memory_order_relaxed);
}

/* Set or clear bit in fd's mode, if its mode is known. */
static void set_mode(int fd, uint8_t bit, bool on)
{
    struct g_fd *rec = g_fd_record(fd, false);
    uint8_t mode;

    if (!rec)
        return;
    mode = atomic_load_explicit(&rec->mode, memory_order_relaxed);
    do {
        if (!(mode & G_MODE_KNOWN))
            return;
    } while (!atomic_compare_exchange_weak_explicit(
        &rec->mode, &mode, on ? mode | bit : mode & ~bit, memory_order_relaxed,
        memory_order_relaxed));
}

void g_fd_set_nonblock(int fd, bool nonblock)
{
    set_mode(fd, G_MODE_NONBLOCK, nonblock);
}

void g_fd_set_timeout(int fd, int opt, bool set)
{
    set_mode(fd, opt == SO_RCVTIMEO ? G_MODE_RCVTIMEO : G_MODE_SNDTIMEO, set);
}


void g_fd_reserve(int fd)
{
    if (fd >= 0 && fd < 1024)
        atomic_fetch_or(&reserved[fd / 64], (uint64_t)1 << (fd % 64));
}

void g_fd_unreserve(int fd)
{
    if (fd >= 0 && fd < 1024)
        atomic_fetch_and(&reserved[fd / 64], ~((uint64_t)1 << (fd % 64)));
}

int g_fd_next_watched(int from, int to)
{
    for (int fd = from < 0 ? 0 : from; fd >= 0 && fd <= to;) {
        unsigned i = (unsigned)fd / G_FD_CHUNK;
        struct g_fd *chunk;

        if (i >= G_FD_CHUNKS)
            break;
        chunk = atomic_load_explicit(&chunks[i], memory_order_acquire);
        if (!chunk) {
            fd = (int)((i + 1) * G_FD_CHUNK); /* the next chunk */
            continue;
        }
        if (atomic_load_explicit(&chunk[fd % G_FD_CHUNK].watchers,
                                 memory_order_relaxed))
            return fd;
        fd++;
    }
    return -1;
}

bool g_fd_reserved(int fd)
{
    /* A forked child's copies are only inherited fds. */
    return g_runtime_live && fd >= 0 && fd < 1024 &&
           (atomic_load_explicit(&reserved[fd / 64], memory_order_relaxed) &
            ((uint64_t)1 << (fd % 64)));
}

/* Locks are only needed while the workers run: before, no green thread
 * toggles a flag; in a forked child, one may have been held by a thread
 * that is gone. */
/* A green thread holds an fd's lock in a signal-critical section: a
 * handler that jumped from inside would leave the lock held. */
static void lock_rec(struct g_fd *rec)
{
    if (g_self_to_park())
        g_sig_critical_begin(g_self());
    g_spin_acquire(&rec->lock);
}

static void unlock_rec(struct g_fd *rec)
{
    g_spin_release(&rec->lock);
    if (g_self_to_park())
        g_sig_critical_end(g_self());
}

void g_fd_lock(int fd)
{
    struct g_fd *rec = g_runtime_live ? g_fd_record(fd, true) : NULL;

    if (rec)
        lock_rec(rec);
}

void g_fd_unlock(int fd)
{
    struct g_fd *rec = g_runtime_live ? g_fd_record(fd, false) : NULL;

    if (rec)
        unlock_rec(rec);
}

long g_fd_nonblocking(int fd, long (*call)(void *), void *arg, bool *blocking)
{
    long flags, rc;

    g_fd_lock(fd);
    /* Raw fcntl: libc's is our own hook, which takes this lock. */
    flags = syscall(SYS_fcntl, fd, F_GETFL);
    *blocking = flags >= 0 && !(flags & O_NONBLOCK);
    if (*blocking)
        syscall(SYS_fcntl, fd, F_SETFL, flags | O_NONBLOCK);
    rc = call(arg);
    if (*blocking) {
        int saved = errno;

        syscall(SYS_fcntl, fd, F_SETFL, flags);
        errno = saved;
    }
    g_fd_unlock(fd);
    return rc;
}

/* Whether mode is of a description shared across a fork whose program's
 * flag we know. */
static bool shared_known(uint8_t mode)
{
    return (mode & G_MODE_KNOWN) &&
           (mode & (G_MODE_FORKED | G_MODE_INHERITED));
}

long g_fd_accept_nonblocking(int fd, long (*call)(void *), void *arg)
{
    uint8_t mode = mode_of(fd);
    bool blocking;
    long flags;

    if (!shared_known(mode))
        return g_fd_nonblocking(fd, call, arg, &blocking);
    if (!(mode & G_MODE_NONBLOCK)) {
        /* Asked each time: the program may have cleared it since, here or
         * in another process. */
        set_mode(fd, G_MODE_KEPT_NONBLOCK, true);
        flags = syscall(SYS_fcntl, fd, F_GETFL);
        if (flags >= 0 && !(flags & O_NONBLOCK))
            syscall(SYS_fcntl, fd, F_SETFL, flags | O_NONBLOCK);
    }
    return call(arg);
}

/*
 * Whether the table's copy of the program's O_NONBLOCK is the one to
 * believe. Not on a description shared across a fork, whose flags another
 * process may change where no hook of ours sees it; except on a listener,
 * whose kernel flag green accepts of every process that shares it leave
 * set (g_fd_accept_nonblocking).
 */
static bool table_knows_flag(int fd, uint8_t mode)
{
    int listening = 0;
    socklen_t len = sizeof(listening);

    if (!(mode & G_MODE_KNOWN))
        return false;
    if (!(mode & (G_MODE_FORKED | G_MODE_INHERITED)) ||
        (mode & G_MODE_KEPT_NONBLOCK))
        return true;
    if (!g_fd_is_socket(g_fd_kind(fd)) ||
        syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
                &len) != 0 ||
        !listening)
        return false;
    set_mode(fd, G_MODE_KEPT_NONBLOCK, true);
    return true;
}

int g_fd_program_nonblock(int fd)
{
    uint8_t mode = mode_of(fd);

    /* A plain child trusts its copy, as it must: its parent's green
     * threads may make the kernel's flag theirs for a span. */
    if (!(mode & G_MODE_KNOWN) ||
        (g_runtime_live && !table_knows_flag(fd, mode)))
        return -1;
    return (mode & G_MODE_NONBLOCK) != 0;
}

bool g_fd_has_rcvtimeo(int fd)
{
    return (mode_of(fd) & (G_MODE_KNOWN | G_MODE_RCVTIMEO)) ==
           (G_MODE_KNOWN | G_MODE_RCVTIMEO);
}

bool g_fd_blocking(int fd)
{
    uint8_t mode = mode_of(fd);
    long flags;

    if (table_knows_flag(fd, mode))
        return !(mode & G_MODE_NONBLOCK);
    /* The raw call: libc's fcntl is our own hook. */
    g_fd_lock(fd);
    flags = syscall(SYS_fcntl, fd, F_GETFL);
    g_fd_unlock(fd);
    return flags >= 0 && !(flags & O_NONBLOCK);
}

int64_t g_fd_sock_deadline(int fd, int opt)
{
    uint8_t mode = mode_of(fd);
    struct timeval tv;
    socklen_t len = sizeof(tv);

    if ((mode & G_MODE_KNOWN) &&
        !(mode & (opt == SO_RCVTIMEO ? G_MODE_RCVTIMEO : G_MODE_SNDTIMEO)))
        return G_NEVER;
    if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0 ||
        (tv.tv_sec == 0 && tv.tv_usec == 0))
        return G_NEVER;
    return g_now() + (int64_t)tv.tv_sec * 1000000000 +
           (int64_t)tv.tv_usec * 1000;
}

void g_fd_close_begin(int fd)
{
    /* Created if need be, so that begin and end agree on the lock. */
    struct g_fd *rec = g_fd_record(fd, true);
    uint64_t mask;

    if (!rec)
        return;
    if (!g_runtime_live) { /* see g_fd_lock */
        atomic_store_explicit(&rec->kind, G_FD_UNKNOWN, memory_order_relaxed);
        atomic_store_explicit(&rec->mode, 0, memory_order_relaxed);
        return;
    }
    lock_rec(rec); /* g_fd_close_end unlocks */
    atomic_store_explicit(&rec->kind, G_FD_UNKNOWN, memory_order_relaxed);
    atomic_store_explicit(&rec->mode, 0, memory_order_relaxed);
    mask = atomic_exchange_explicit(&rec->watchers, 0, memory_order_relaxed);
    /* A forked child's workers are gone, and the epoll instances it
     * inherited are its parent's: it must not touch them. */
    if (!mask || !g_runtime_live)
        return;
    atomic_fetch_add_explicit(&rec->gen, 1, memory_order_relaxed);
    for (int i = 0; i < g_nworkers; i++) {
        /* Bit 63 stands for every worker from 63 on. */
        if (mask & ((uint64_t)1 << (i < 63 ? i : 63)))
            g_fdwait_forget(&g_workers[i], fd);
    }
}

void g_fd_close_end(int fd)
{
    g_fd_unlock(fd);
}
