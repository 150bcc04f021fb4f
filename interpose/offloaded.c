/*
 * interpose/offloaded.c: waits for children (wait, waitpid, wait4,
 * waitid) and file locks (flock, fcntl's F_SETLKW and F_OFD_SETLKW,
 * lockf's F_LOCK), on a green thread, unless the call asks not to wait
 * (WNOHANG, LOCK_NB, F_SETLK, F_TLOCK). Everywhere else they pass through.
 *
 * A wait for children tries the call with WNOHANG and parks in between:
 * on the child's pidfd (Linux 5.3), readable once it exits, when it waits
 * for one child's end; otherwise with a growing sleep (50 us to 2 ms), as
 * nothing else tells a child's change. Like any park, a signal ends it
 * with EINTR or restarts it under SA_RESTART, a cancel acts at once, and
 * a handler may jump out of it.
 *
 * A lock has no such try that keeps its semantics (the kernel's queue of
 * waiters, EDEADLK): the real call runs on an OS thread of its own while
 * the green thread waits on a semaphore, so the rest of its worker,
 * perhaps the thread holding the lock, runs on.
 *
 * Not libuv's thread pool (g_run_blocking): these calls last as long as
 * the program pleases (a child's life, another lock holder's), and would
 * hold its few threads; and a pool started before a fork() is joined by
 * libuv's destructor in a child that exits, where its threads are gone.
 *
 * A signal cannot end such a lock wait with EINTR (it reaches the worker,
 * not the helper). So a program with one green thread, which blocks nobody
 * by waiting in its worker, keeps the real calls: the old timeout pattern,
 * alarm() then flock() and EINTR, works there as natively.
 */
/* lockf and lockf64 are two names of ours: undefined here, the option
 * would redirect the first to the second. */
#undef _FILE_OFFSET_BITS
#include "interpose/interpose.h"

#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "shim/fd.h"
#include "shim/sync.h"

/* Its stack: the real calls need little. */
#define HELPER_STACK (64 * 1024)

struct helper_call {
    void (*fn)(void *);
    void *arg;
    sem_t done;
};

static void *helper(void *arg)
{
    struct helper_call *c = arg;

    c->fn(c->arg);
    g_sem_post(&c->done); /* touches c no more once the unit is out */
    return NULL;
}

/*
 * May park. fn(arg) on a new detached OS thread that takes no signals, or
 * right here if none can be made (blocking the worker, as the call blocks
 * a thread natively). As a cancellation point (cancel_point), it acts on a
 * cancel only before the call and after it: fn's arguments are on our
 * stack, so the wait itself cannot end early.
 */
static void run_on_helper(void (*fn)(void *), void *arg, bool cancel_point)
{
    struct helper_call c = {.fn = fn, .arg = arg};
    pthread_attr_t attr;
    sigset_t all;
    pthread_t t;
    int cancel_state;

    if (cancel_point)
        pthread_testcancel();
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    g_sem_init(&c.done, false, 0);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, HELPER_STACK);
    sigfillset(&all);
    pthread_attr_setsigmask_np(&attr, &all);
    if (real_pthread_create(&t, &attr, helper, &c) != 0)
        fn(arg);
    else
        /* The helper cannot be stopped halfway (a child it reaped would be
         * lost): a signal's handlers run, and the wait goes on. */
        while (g_sem_wait(&c.done, G_NEVER) != 0)
            g_sig_deliver(g_self());
    pthread_attr_destroy(&attr);
    pthread_setcancelstate(cancel_state, NULL);
    if (cancel_point)
        pthread_testcancel();
}

struct wait4_call {
    pid_t pid;
    int *status;
    int options;
    struct rusage *usage;
};

/* The answer of park_on_pidfd when there is no pidfd to park on (an old
 * kernel, no such process): the wait polls then. */
#define NO_PIDFD (-2)

/* The growing sleep between tries of a wait with nothing to park on. */
#define POLL_MIN_NS 50000
#define POLL_MAX_NS 2000000

/*
 * One try of a wait that parks between tries. A signal that comes during
 * the try is kept for its end (a critical section), as it would have come
 * while the call blocked: 1 if its handler ran and the call is to end
 * with EINTR; the try's answer goes to *rc.
 */
static bool try_interrupted(struct g_thread *self, int (*attempt)(void *),
                            void *arg, int *rc)
{
    g_sig_critical_begin(self);
    *rc = attempt(arg);
    self->sig_ran = 0;
    g_sig_critical_end(self); /* runs what came meanwhile */
    return *rc == 0 && self->sig_ran && !g_sig_restart(self, true);
}

/* May park. attempt(arg) (as for park_on_pidfd) until it is done, with a
 * growing sleep in between. A cancellation point. */
static int poll_children(int (*attempt)(void *), void *arg)
{
    struct g_thread *self = g_self();
    int64_t pause = POLL_MIN_NS;
    int rc, w;

    g_testcancel();
    while (!try_interrupted(self, attempt, arg, &rc)) {
        if (rc != 0)
            return rc;
        w = g_sleep_interruptible(g_now() + pause);
        if (w == -ECANCELED)
            g_cancel_act(self);
        /* A signal handed over as the sleep timed out runs as it ends. */
        if ((w == -EINTR || self->sig_ran) && !g_sig_restart(self, true))
            break;
        pause = pause * 2 < POLL_MAX_NS ? pause * 2 : POLL_MAX_NS;
    }
    errno = EINTR;
    return -1;
}

/*
 * May park. Calls attempt(arg) (the call with WNOHANG: > 0 done, < 0 its
 * error, 0 not yet) until it is done, parking on pid's pidfd in between.
 * A cancellation point.
 */
static void close_pidfd(void *fd)
{
    close(*(int *)fd);
}

static int park_on_pidfd(pid_t pid, int (*attempt)(void *), void *arg)
{
    struct g_thread *self = g_self();
    struct pollfd p = {.fd = (int)syscall(SYS_pidfd_open, pid, 0),
                       .events = POLLIN};
    struct g_unwind left;
    int rc, w, saved;

    if (p.fd < 0)
        return NO_PIDFD;
    /* A cancel, or a handler that jumps out of the wait, closes it. */
    g_unwind_push(self, &left, close_pidfd, &p.fd);
    g_testcancel();
    for (;;) {
        if (try_interrupted(self, attempt, arg, &rc)) {
            errno = EINTR;
            rc = -1;
        }
        if (rc != 0)
            break;
        w = g_wait_fds(&p, 1, G_NEVER);
        if (w == -ECANCELED)
            g_cancel_act(self);
        if (w == -EINTR && !g_sig_restart(self, true)) {
            errno = EINTR;
            rc = -1;
            break;
        }
        if (w < 0 && w != -EINTR) /* no room to watch it: look again */
            g_sleep_until(g_now() + 1000000);
    }
    g_unwind_pop(self, &left);
    saved = errno;
    close(p.fd);
    errno = saved;
    return rc;
}

/* For a wait of pid, the options park_on_pidfd can keep: only the end. */
static bool pidfd_fits(pid_t pid, int options)
{
    return pid > 0 && (options & ~(__WALL | WEXITED)) == 0;
}

static int attempt_wait4(void *arg)
{
    struct wait4_call *c = arg;
    pid_t rc = real_wait4(c->pid, c->status, c->options | WNOHANG, c->usage);

    return rc < 0 ? -1 : rc;
}

G_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *usage)
{
    struct wait4_call c = {pid, status, options, usage};
    int rc;

    if (!hook_enter() || (options & WNOHANG) || g_threads_alive() < 2)
        return real_wait4(pid, status, options, usage);
    if (!pidfd_fits(pid, options) ||
        (rc = park_on_pidfd(pid, attempt_wait4, &c)) == NO_PIDFD)
        rc = poll_children(attempt_wait4, &c);
    return rc;
}

G_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
    return wait4(pid, status, options, NULL);
}

G_EXPORT pid_t wait(int *status)
{
    return wait4(-1, status, 0, NULL);
}

struct waitid_call {
    idtype_t type;
    id_t id;
    siginfo_t *info;
    int options;
};

/* waitid says "not yet" with a zero si_pid. */
static int attempt_waitid(void *arg)
{
    struct waitid_call *c = arg;

    c->info->si_pid = 0;
    if (real_waitid((int)c->type, c->id, c->info, c->options | WNOHANG) != 0)
        return -1;
    return c->info->si_pid != 0;
}

G_EXPORT int waitid(idtype_t type, id_t id, siginfo_t *info, int options)
{
    struct waitid_call c = {type, id, info, options};
    int rc;

    if (!hook_enter() || (options & WNOHANG) || g_threads_alive() < 2)
        return real_waitid((int)type, id, info, options);
    if (!info) /* the kernel's answer, EFAULT or a wait */
        return real_waitid((int)type, id, info, options);
    if (type != P_PID || !pidfd_fits((pid_t)id, options) ||
        (rc = park_on_pidfd((pid_t)id, attempt_waitid, &c)) == NO_PIDFD)
        rc = poll_children(attempt_waitid, &c);
    return rc < 0 ? -1 : 0;
}

struct flock_call {
    int fd;
    int op;
    int rc;
    int err;
};

static void run_flock(void *arg)
{
    struct flock_call *c = arg;

    c->rc = real_flock(c->fd, c->op);
    c->err = errno;
}

G_EXPORT int flock(int fd, int op)
{
    struct flock_call c = {fd, op, 0, 0};

    if (!hook_enter() || (op & (LOCK_NB | LOCK_UN)) || g_threads_alive() < 2)
        return real_flock(fd, op);
    run_on_helper(run_flock, &c, false);
    if (c.rc < 0)
        errno = c.err;
    return c.rc;
}

/* A record lock is the process's (an OFD lock its open file
 * description's), so a helper thread of the process takes it as well. */
struct lock_call {
    int (*real)(int, int, ...);
    int fd;
    int cmd;
    void *arg;
    int rc;
    int err;
};

static void run_lock(void *arg)
{
    struct lock_call *c = arg;

    c->rc = c->real(c->fd, c->cmd, c->arg);
    c->err = errno;
}

int g_hook_lock_wait(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
    struct lock_call c = {real, fd, cmd, arg, 0, 0};

    if (!g_self_to_park() || g_threads_alive() < 2)
        return real(fd, cmd, arg);
    run_on_helper(run_lock, &c, true);
    if (c.rc < 0)
        errno = c.err;
    return c.rc;
}

struct lockf_call {
    int fd;
    int cmd;
    off_t len;
    int rc;
    int err;
};

static void run_lockf(void *arg)
{
    struct lockf_call *c = arg;

    c->rc = real_lockf(c->fd, c->cmd, c->len);
    c->err = errno;
}

/* glibc's lockf takes its lock with the fcntl inside libc, where no hook
 * sees it. */
G_EXPORT int lockf(int fd, int cmd, off_t len)
{
    struct lockf_call c = {fd, cmd, len, 0, 0};

    if (!hook_enter() || cmd != F_LOCK || g_threads_alive() < 2)
        return real_lockf(fd, cmd, len);
    run_on_helper(run_lockf, &c, true);
    if (c.rc < 0)
        errno = c.err;
    return c.rc;
}

/* The same function: off_t is 64 bits here. */
G_EXPORT int lockf64(int fd, int cmd, off_t len)
{
    return lockf(fd, cmd, len);
}
