/*
 * shim/fdwait.c: green threads waiting for fds to become ready.
 *
 * Each worker has an epoll instance of its own, watched by one uv_poll_t of
 * its loop; an fd a green thread of the worker waits on is added to it
 * once, edge-triggered for every event, and stays there until the fd is
 * closed through libgreen (fdtable.c), so a keep-alive connection costs no
 * epoll_ctl per request. Edge-triggered is enough because every wait
 * follows a try of the call that came back "would block": readiness that
 * comes after that try is a new edge, which finds the waiter linked.
 *
 * Why not a uv_poll_t per fd: uv_poll_init() makes the fd non-blocking,
 * and that flag belongs to the program's file description (fd.h); and libuv
 * allows one uv_poll_t per fd per loop, while several green threads of one
 * worker (or a poll() over many fds) wait on one fd.
 *
 * A worker's watch records are its own, but a close on any thread wakes
 * their waiters, so each has a spinlock. Lock order: the fd's record
 * (fdtable.c), then a watch.
 */
#include "shim/fdtable.h"
#include "shim/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One worker's state for one fd number. */
struct g_fdwatch {
    _Atomic int lock;
    bool registered;        /* in the worker's epoll ... */
    bool drained;           /* no input since a short read (fd.h) */
    bool ended;             /* a hang-up, error or urgent data was seen:
                               never drained again */
    uint32_t gen;           /* ... for this generation of the number */
    struct g_queue waiters; /* struct interest.node; zeroed until first use */
};

/* One fd of one wait. */
struct interest {
    struct g_queue node;     /* on watch->waiters while linked */
    struct g_fdwatch *watch; /* NULL: not attached */
    struct g_waiter *w;
    short events; /* POLLIN, POLLOUT, POLLPRI, with POLLERR | POLLHUP */
    bool exclusive; /* G_WAIT_EXCLUSIVE */
};

/* Interests of one wait kept on the stack; more are mapped. */
#define SMALL_WAIT 16
/* Events taken from the epoll per epoll_wait in the scheduler. */
#define DISPATCH_BATCH 64

void g_fdwait_init(struct g_worker *wk)
{
    wk->watches = g_fd_chunk_map(G_FD_CHUNKS * sizeof(*wk->watches));
    wk->fd_epoll = epoll_create1(EPOLL_CLOEXEC);
}

int g_fdwait_forked(struct g_worker *wk)
{
    /* The epoll instance is the parent's too: a new one, under the same
     * number, which the loop's uv_poll_t watches. */
    long fresh = syscall(SYS_epoll_create1, EPOLL_CLOEXEC);

    if (fresh < 0 || syscall(SYS_dup3, fresh, wk->fd_epoll, O_CLOEXEC) < 0)
        return -errno;
    syscall(SYS_close, fresh);
    for (unsigned i = 0; i < G_FD_CHUNKS; i++) {
        struct g_fdwatch *chunk =
            atomic_load_explicit(&wk->watches[i], memory_order_relaxed);

        for (unsigned j = 0; chunk && j < G_FD_CHUNK; j++) {
            struct g_fdwatch *watch = &chunk[j];

            atomic_store_explicit(&watch->lock, 0, memory_order_relaxed);
            watch->registered = false;
            watch->drained = false;
            watch->ended = false;
            watch->waiters.next = NULL; /* zeroed: none, as at first use */
        }
    }
    return 0;
}

static struct g_fdwatch *watch_of(struct g_worker *wk, int fd, bool create)
{
    unsigned i = (unsigned)fd / G_FD_CHUNK;
    struct g_fdwatch *chunk;

    if (fd < 0 || i >= G_FD_CHUNKS)
        return NULL;
    chunk = atomic_load_explicit(&wk->watches[i], memory_order_acquire);
    /* Only the owner worker creates its chunks; others only read them. */
    if (!chunk && create) {
        chunk = g_fd_chunk_map(G_FD_CHUNK * sizeof(*chunk));
        if (!chunk)
            return NULL;
        atomic_store_explicit(&wk->watches[i], chunk, memory_order_release);
    }
    return chunk ? &chunk[fd % G_FD_CHUNK] : NULL;
}

static uint64_t worker_bit(const struct g_worker *wk)
{
    return (uint64_t)1 << (wk->index < 63 ? wk->index : 63);
}

/* Under rec's and watch's locks: put fd in the worker's epoll. */
static int register_fd(struct g_worker *wk, int fd, struct g_fd *rec,
                       struct g_fdwatch *watch)
{
    uint32_t gen = atomic_load_explicit(&rec->gen, memory_order_relaxed);
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET,
        .data.u64 = (uint32_t)fd | (uint64_t)gen << 32,
    };

    if (watch->registered && watch->gen == gen)
        return 0; /* another thread of this worker did it meanwhile */
    if (epoll_ctl(wk->fd_epoll, EPOLL_CTL_ADD, fd, &ev) != 0 &&
        (errno != EEXIST ||
         epoll_ctl(wk->fd_epoll, EPOLL_CTL_MOD, fd, &ev) != 0)) {
        watch->registered = false;
        return -errno; /* EPERM: a regular file; EBADF: not open */
    }
    watch->registered = true;
    watch->drained = false;
    watch->ended = false;
    watch->gen = gen;
    atomic_fetch_or_explicit(&rec->watchers, worker_bit(wk),
                             memory_order_relaxed);
    return 0;
}

/* poll(2)'s events as the epoll reports them, errors always included. */
static short wanted(short events)
{
    short want = POLLERR | POLLHUP;

    if (events & (POLLIN | POLLRDNORM | POLLRDBAND))
        want |= POLLIN | POLLRDHUP;
    if (events & (POLLOUT | POLLWRNORM | POLLWRBAND))
        want |= POLLOUT;
    if (events & POLLPRI)
        want |= POLLPRI;
    return want;
}

static int attach(struct g_worker *wk, int fd, int events,
                  struct interest *it, struct g_waiter *w)
{
    struct g_fd *rec = g_fd_record(fd, true);
    struct g_fdwatch *watch;

    if (!rec)
        return fd < 0 ? -EBADF : -EPERM; /* beyond the table: poll */
    watch = watch_of(wk, fd, true);
    if (!watch)
        return -ENOMEM;
    g_spin_acquire(&watch->lock);
    if (!watch->waiters.next)
        g_queue_init(&watch->waiters);
    if (!watch->registered ||
        watch->gen != atomic_load_explicit(&rec->gen, memory_order_relaxed)) {
        int rc;

        /* Registering takes the fd's lock first, so that no close runs
         * between reading the generation and the epoll_ctl. */
        g_spin_release(&watch->lock);
        g_spin_acquire(&rec->lock);
        g_spin_acquire(&watch->lock);
        rc = register_fd(wk, fd, rec, watch);
        g_spin_release(&rec->lock);
        if (rc < 0) {
            g_spin_release(&watch->lock);
            return rc;
        }
    }
    it->watch = watch;
    it->w = w;
    it->events = wanted((short)events);
    it->exclusive = events & G_WAIT_EXCLUSIVE;
    g_queue_insert_tail(&watch->waiters, &it->node);
    g_spin_release(&watch->lock);
    return 0;
}

static void detach(struct interest *it)
{
    struct g_fdwatch *watch = it->watch;

    if (!watch)
        return;
    g_spin_acquire(&watch->lock);
    if (g_queue_linked(&it->node))
        g_queue_remove(&it->node);
    g_spin_release(&watch->lock);
}

/* g_wait_fds, with exclusive (G_WAIT_EXCLUSIVE) for every fd, counted
 * under reason; a signal ends it if interruptible. */
static int wait_fds(const struct pollfd *fds, int n, int64_t deadline,
                    int exclusive, int reason, bool interruptible)
{
    struct g_thread *self = g_self();
    struct interest small[SMALL_WAIT], *its = small;
    size_t size = (size_t)n * sizeof(*its);
    struct g_waiter w;
    int rc = 0, i;

    if (n > SMALL_WAIT) {
        its = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (its == MAP_FAILED)
            return -ENOMEM;
    }
    /* From the first attach to the last detach a handler must not run
     * here (and maybe jump away): it waits for the end. */
    g_sig_critical_begin(self);
    for (i = 0; i < n; i++) {
        its[i].watch = NULL;
        g_queue_init(&its[i].node);
    }
    g_waiter_init(&w, true);
    w.reason = (unsigned char)reason;
    w.interruptible = interruptible;
    for (i = 0; i < n; i++) {
        if (fds[i].fd < 0)
            continue; /* poll(2) skips negative fds */
        rc = attach(self->worker, fds[i].fd, fds[i].events | exclusive,
                    &its[i], &w);
        if (rc < 0)
            break;
    }
    if (rc == 0) {
        rc = g_wait(&w, deadline);
    } else {
        /* An fd already attached may have woken w: end the wait ourselves
         * and consume the one wake-up, whoever won it. */
        g_wake(&w, rc);
        g_wait(&w, G_NEVER);
    }
    for (i = 0; i < n; i++)
        detach(&its[i]);
    if (its != small)
        munmap(its, size);
    g_sig_critical_end(self);
    return rc > 0 ? 0 : rc;
}

int g_wait_fds(const struct pollfd *fds, int n, int64_t deadline)
{
    return wait_fds(fds, n, deadline, 0, G_PARK_FD, true);
}

int g_wait_fds_for(const struct pollfd *fds, int n, int64_t deadline,
                   int reason)
{
    return wait_fds(fds, n, deadline, 0, reason, false);
}

int g_wait_fd(int fd, int events, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = (short)events};

    return wait_fds(&pfd, 1, deadline, events & G_WAIT_EXCLUSIVE, G_PARK_FD,
                    events & G_WAIT_EINTR);
}

/* Under watch's lock: wake its first exclusive waiter for revents (one
 * whose wait already ended is passed over). */
static bool wake_first_exclusive(struct g_fdwatch *watch, short revents)
{
    struct g_queue *q, *next;

    for (q = watch->waiters.next; q != &watch->waiters; q = next) {
        struct interest *it = g_queue_data(q, struct interest, node);

        next = q->next;
        if (it->exclusive && (revents & it->events)) {
            g_queue_remove(q);
            if (g_wake(it->w, revents))
                return true;
        }
    }
    return false;
}

/* This worker's watch of fd, if it has fd in its epoll now. */
static struct g_fdwatch *registered_watch(int fd)
{
    struct g_fdwatch *watch = watch_of(g_self()->worker, fd, false);
    struct g_fd *rec = g_fd_record(fd, false);

    if (!watch || !rec || !watch->registered ||
        watch->gen != atomic_load_explicit(&rec->gen, memory_order_relaxed))
        return NULL;
    return watch;
}

/* The marks are the worker's own: set by its green threads, read and
 * cleared by its dispatch, all on its OS thread, so no lock. */
void g_fd_set_drained(int fd)
{
    struct g_fdwatch *watch = registered_watch(fd);

    if (watch && !watch->ended)
        watch->drained = true;
}

bool g_fd_drained(int fd)
{
    struct g_fdwatch *watch = registered_watch(fd);

    return watch && watch->drained;
}

void g_fd_pass_turn(int fd, short events)
{
    struct g_fdwatch *watch = watch_of(g_self()->worker, fd, false);
    bool waiting;

    if (!watch)
        return;
    /* Unlocked peek first: the common single acceptor costs no poll. */
    g_spin_acquire(&watch->lock);
    waiting = watch->waiters.next && !g_queue_empty(&watch->waiters);
    g_spin_release(&watch->lock);
    if (!waiting || !g_fd_ready(fd, events))
        return;
    g_spin_acquire(&watch->lock);
    waiting = watch->waiters.next && wake_first_exclusive(watch, events);
    g_spin_release(&watch->lock);
    if (waiting)
        g_yield(g_self());
}

void g_fdwait_forget(struct g_worker *wk, int fd)
{
    struct g_fdwatch *watch = watch_of(wk, fd, false);
    struct g_queue *q;

    if (!watch)
        return;
    g_spin_acquire(&watch->lock);
    if (watch->registered) {
        /* Before the real close: afterwards the number may be another
         * file's, and a description that lives on in a dup would keep
         * reporting to this epoll. */
        epoll_ctl(wk->fd_epoll, EPOLL_CTL_DEL, fd, NULL);
        watch->registered = false;
    }
    while (watch->waiters.next && (q = g_queue_pop(&watch->waiters))) {
        struct interest *it = g_queue_data(q, struct interest, node);

        g_wake(it->w, -EBADF);
    }
    g_spin_release(&watch->lock);
}

/* Wake the waiters of one reported fd whose events came. */
static void dispatch_one(struct g_worker *wk, const struct epoll_event *ev)
{
    int fd = (int)(uint32_t)ev->data.u64;
    uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
    struct g_fdwatch *watch = watch_of(wk, fd, false);
    short revents = (short)(ev->events & 0xffff);
    struct g_queue *q, *next;
    bool woke_exclusive = false;

    if (ev->events & EPOLLRDHUP)
        revents |= POLLIN;
    if (!watch)
        return;
    g_spin_acquire(&watch->lock);
    /* A stale report: the number was closed since (and maybe reused). */
    if (watch->registered && watch->gen == gen) {
        if (revents & (POLLIN | POLLERR | POLLHUP))
            watch->drained = false;
        if (ev->events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP | EPOLLPRI))
            watch->ended = true;
        for (q = watch->waiters.next; q != &watch->waiters; q = next) {
            struct interest *it = g_queue_data(q, struct interest, node);

            next = q->next;
            if (!(revents & it->events))
                continue;
            /* One exclusive waiter per event, unless it is an error; one
             * whose wait already ended (a timeout, a cancel) does not
             * count. */
            if (it->exclusive && !(revents & (POLLERR | POLLHUP))) {
                if (woke_exclusive)
                    continue;
                g_queue_remove(q);
                woke_exclusive = g_wake(it->w, revents);
                continue;
            }
            g_queue_remove(q);
            g_wake(it->w, revents);
        }
    }
    g_spin_release(&watch->lock);
}

void g_fdwait_dispatch(struct g_worker *wk)
{
    struct epoll_event evs[DISPATCH_BATCH];
    long n;

    do {
        /* The raw call: libc's epoll_wait is our own hook. */
        n = syscall(SYS_epoll_wait, wk->fd_epoll, evs, DISPATCH_BATCH, 0);
        for (long i = 0; i < n; i++)
            dispatch_one(wk, &evs[i]);
    } while (n == DISPATCH_BATCH);
}
