/*
 * interpose/io_poll.c: poll, ppoll, select, pselect, epoll_wait,
 * epoll_pwait, epoll_pwait2, and the _FORTIFY_SOURCE variants of the polls.
 *
 * On a green thread each is a loop: look with a zero timeout (the real
 * call, so sets, counts and revents are exactly the kernel's), and if
 * nothing is ready and time is left, park until one of the fds reports an
 * event (an epoll fd reports when its own list has one), then look again.
 * Regular files are always ready, so the first look returns them. A signal
 * handled on the thread ends the wait with EINTR, as natively (these calls
 * never restart); the signal mask of ppoll, pselect and epoll_pwait is the
 * thread's for the span of the call, so a signal it unblocks, pending or
 * arriving, ends it. Runs on any thread.
 */
#include "interpose/io.h"

#include <string.h>
#include <sys/mman.h>

/* Interest lists of select() kept on the stack; more are mapped. */
#define SMALL_SET 64
/* Longest nap between looks when the epoll refuses one of the fds. */
#define NAP_NS 1000000

/* One zero-timeout look: a count, 0, or -1 with errno. */
typedef int (*look_fn)(void *arg);

/*
 * A poll that returns at once still lets the rest of its worker run now and
 * then: natively a thread that polls in a loop (an event loop with work
 * queued, a thread watching a child with WNOHANG) only burns a CPU, while
 * here it would keep the thread it waits for, and the worker's timers and
 * I/O, from ever running.
 */
static int returned_at_once(int rc)
{
    g_yield_now_and_then(g_self());
    return rc;
}

/* May park. Look until something is ready or deadline (0: look once;
 * G_NEVER: no limit) has passed, waiting on fds[0..n) between looks, or
 * until a handler has run on the thread (-1, EINTR). masked: the call's
 * own mask is in force, and pending signals it lets through end it. */
static int look_until(look_fn look, void *arg, const struct pollfd *fds,
                      int n, int64_t deadline, bool masked)
{
    struct g_thread *self = g_self();
    bool waited = false;

    if (!masked && g_sig_due(self))
        g_sig_deliver(self); /* what came before the call */
    for (;;) {
        int rc = look(arg), w;
        int64_t now;

        if (rc != 0 || deadline == 0 || (now = g_now()) >= deadline)
            return waited ? rc : returned_at_once(rc);
        if (masked && !waited && (g_sig_deliver(self) & G_SIG_RAN))
            return (int)g_ret(-EINTR);
        waited = true;
        w = g_wait_fds(fds, n, deadline);
        if (w == -EINTR && !g_sig_restart(self, false))
            return (int)g_ret(-EINTR);
        /* An fd the epoll refuses (EPERM), or no room to watch it
         * (ENOSPC, ENOMEM): look again after a nap. */
        if (w < 0 && w != -ETIMEDOUT && w != -EBADF && w != -ECANCELED &&
            w != -EINTR)
            w = g_sleep_until(deadline - now < NAP_NS ? deadline
                                                      : now + NAP_NS);
        if (w == -ECANCELED)
            g_cancel_act(self);
        /* Otherwise ready, timed out, or an fd closed: look again. */
    }
}

/* May park. look_until with sigmask (if not NULL) as the thread's mask
 * for the call, set and restored as one step with the wait: a signal it
 * lets through ends the call even if it comes before the thread parks. */
static int look_masked(look_fn look, void *arg, const struct pollfd *fds,
                       int n, int64_t deadline, const sigset_t *sigmask)
{
    struct g_thread *self = g_self();
    struct g_sig_window win;
    uint64_t mask;
    int rc, saved;

    if (sigmask) {
        memcpy(&mask, sigmask, sizeof(mask));
        g_signals_hide(mask);
        g_sig_window_begin(self, &mask, &win);
    }
    rc = look_until(look, arg, fds, n, deadline, sigmask != NULL);
    saved = errno;
    if (sigmask)
        g_sig_window_end(self, &win);
    if (g_sig_due(self))
        g_sig_deliver(self); /* came as the call ended */
    errno = saved;
    return rc;
}

/* A relative timeout as a deadline: 0 for none, G_NEVER for NULL; -1 if
 * invalid (the real call then reports it). */
static int64_t deadline_ts(const struct timespec *ts)
{
    int64_t d;

    if (!ts)
        return G_NEVER;
    if (ts->tv_sec == 0 && ts->tv_nsec == 0)
        return 0;
    return g_deadline_after(ts, &d) == 0 ? d : -1;
}

static int64_t deadline_ms(int ms)
{
    if (ms < 0)
        return G_NEVER;
    return ms == 0 ? 0 : g_now() + (int64_t)ms * 1000000;
}

/* --- poll --- */

struct poll_call {
    struct pollfd *fds;
    nfds_t n;
};

static int look_poll(void *arg)
{
    struct poll_call *c = arg;

    return real_poll(c->fds, c->n, 0);
}

static int green_poll(struct pollfd *fds, nfds_t n, int64_t deadline,
                      const sigset_t *sigmask)
{
    struct poll_call c = {fds, n};

    g_testcancel();
    if (n > INT32_MAX)
        return real_poll(fds, n, 0); /* EINVAL */
    return look_masked(look_poll, &c, fds, (int)n, deadline, sigmask);
}

G_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (!hook_enter())
        return real_poll(fds, n, timeout);
    return green_poll(fds, n, deadline_ms(timeout), NULL);
}

G_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout,
                        size_t fdslen)
{
    if (!hook_enter() || fdslen / sizeof(*fds) < n)
        return real___poll_chk(fds, n, timeout, fdslen);
    return green_poll(fds, n, deadline_ms(timeout), NULL);
}

G_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                   const sigset_t *sigmask)
{
    int64_t deadline = deadline_ts(ts);

    if (!hook_enter() || deadline < 0)
        return real_ppoll(fds, n, ts, sigmask);
    return green_poll(fds, n, deadline, sigmask);
}

G_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n,
                         const struct timespec *ts, const sigset_t *sigmask,
                         size_t fdslen)
{
    int64_t deadline = deadline_ts(ts);

    if (!hook_enter() || deadline < 0 || fdslen / sizeof(*fds) < n)
        return real___ppoll_chk(fds, n, ts, sigmask, fdslen);
    return green_poll(fds, n, deadline, sigmask);
}

/* --- select --- */

struct select_call {
    int nfds;
    fd_set *sets[3];    /* read, write, except: the program's, or NULL */
    fd_set asked[3];    /* what it asked for, restored before each look */
    struct pollfd *fds; /* the same, as a poll list */
    int n;
};

static int look_select(void *arg)
{
    struct select_call *c = arg;
    struct timeval zero = {0, 0};

    for (int i = 0; i < 3; i++) {
        if (c->sets[i])
            *c->sets[i] = c->asked[i];
    }
    return real_select(c->nfds, c->sets[0], c->sets[1], c->sets[2], &zero);
}

/* The poll list of c's sets, in fds (room for SMALL_SET) or mapped. */
static int select_interest(struct select_call *c, struct pollfd *small)
{
    static const short events[3] = {POLLIN, POLLOUT, POLLPRI};
    int n = 0;

    for (int fd = 0; fd < c->nfds; fd++) {
        for (int i = 0; i < 3; i++)
            n += c->sets[i] && FD_ISSET(fd, &c->asked[i]);
    }
    c->fds = small;
    if (n > SMALL_SET) {
        c->fds = mmap(NULL, (size_t)n * sizeof(*c->fds),
                      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                      0);
        if (c->fds == MAP_FAILED)
            return -ENOMEM;
    }
    c->n = 0;
    for (int fd = 0; fd < c->nfds; fd++) {
        for (int i = 0; i < 3; i++) {
            if (c->sets[i] && FD_ISSET(fd, &c->asked[i]))
                c->fds[c->n++] = (struct pollfd){.fd = fd, .events = events[i]};
        }
    }
    return 0;
}

static int green_select(int nfds, fd_set *r, fd_set *w, fd_set *e,
                        int64_t deadline, const sigset_t *sigmask)
{
    struct select_call c = {.nfds = nfds, .sets = {r, w, e}};
    struct pollfd small[SMALL_SET];
    int rc;

    g_testcancel();
    for (int i = 0; i < 3; i++) {
        if (c.sets[i])
            c.asked[i] = *c.sets[i];
    }
    rc = look_select(&c);
    if (rc != 0 || deadline == 0)
        return returned_at_once(rc);
    if ((rc = select_interest(&c, small)) < 0)
        return (int)g_ret(rc);
    rc = look_masked(look_select, &c, c.fds, c.n, deadline, sigmask);
    if (c.fds != small)
        munmap(c.fds, (size_t)c.n * sizeof(*c.fds));
    return rc;
}

static bool bad_select(int nfds, int64_t deadline)
{
    return nfds < 0 || nfds > FD_SETSIZE || deadline < 0;
}

G_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e,
                    struct timeval *tv)
{
    int64_t deadline = G_NEVER;
    int rc, saved;

    if (tv) {
        struct timespec ts = {tv->tv_sec, tv->tv_usec * 1000};

        deadline = tv->tv_usec < 0 || tv->tv_usec >= 1000000
                       ? -1
                       : deadline_ts(&ts);
    }
    if (!hook_enter() || bad_select(nfds, deadline))
        return real_select(nfds, r, w, e, tv);
    rc = green_select(nfds, r, w, e, deadline, NULL);
    if (tv && deadline != 0) {
        /* Linux writes back the time that was left. */
        int64_t left = deadline - g_now();

        saved = errno;
        left = left > 0 ? left : 0;
        tv->tv_sec = left / 1000000000;
        tv->tv_usec = left % 1000000000 / 1000;
        errno = saved;
    }
    return rc;
}

G_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
                     const struct timespec *ts, const sigset_t *sigmask)
{
    int64_t deadline = deadline_ts(ts);

    if (!hook_enter() || bad_select(nfds, deadline))
        return real_pselect(nfds, r, w, e, ts, sigmask);
    return green_select(nfds, r, w, e, deadline, sigmask);
}

/* --- epoll --- */

struct epoll_call {
    int epfd;
    struct epoll_event *ev;
    int max;
};

static int look_epoll(void *arg)
{
    struct epoll_call *c = arg;

    return real_epoll_wait(c->epfd, c->ev, c->max, 0);
}

static int green_epoll(int epfd, struct epoll_event *ev, int max,
                       int64_t deadline, const sigset_t *sigmask)
{
    struct epoll_call c = {epfd, ev, max};
    struct pollfd pfd = {.fd = epfd, .events = POLLIN};

    g_testcancel();
    return look_masked(look_epoll, &c, &pfd, 1, deadline, sigmask);
}

G_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
    if (!hook_enter())
        return real_epoll_wait(epfd, ev, max, timeout);
    return green_epoll(epfd, ev, max, deadline_ms(timeout), NULL);
}

G_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max,
                         int timeout, const sigset_t *sigmask)
{
    if (!hook_enter())
        return real_epoll_pwait(epfd, ev, max, timeout, sigmask);
    return green_epoll(epfd, ev, max, deadline_ms(timeout), sigmask);
}

G_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max,
                          const struct timespec *ts, const sigset_t *sigmask)
{
    int64_t deadline = deadline_ts(ts);
    struct g_thread *self = hook_enter();

    if (!real_epoll_pwait2)
        return (int)g_ret(-ENOSYS);
    if (!self || deadline < 0)
        return real_epoll_pwait2(epfd, ev, max, ts, sigmask);
    return green_epoll(epfd, ev, max, deadline, sigmask);
}
