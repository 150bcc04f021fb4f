/*
 * interpose/offloaded.c: blocking calls that have no non-blocking form to
 * retry and no fd to wait on: waiting for a child (wait, waitpid, wait4,
 * waitid) and file locks (flock, fcntl's F_SETLKW and F_OFD_SETLKW,
 * lockf's F_LOCK). On a green thread, unless the call asks not to wait
 * (WNOHANG, LOCK_NB, F_SETLK, F_TLOCK), the real call runs on an OS thread
 * of its own while
 * the green thread waits on a semaphore, so the rest of its worker,
 * perhaps the thread the wait is for, runs on. Everywhere else they pass
 * through.
 *
 * Not libuv's thread pool (g_run_blocking): these calls last as long as
 * the program pleases (a child's life, another lock holder's), and would
 * hold its few threads; and a pool started before a fork() is joined by
 * libuv's destructor in a child that exits, where its threads are gone.
 *
 * A signal cannot end such a wait with EINTR (it reaches the worker, not
 * the helper). So a program with one green thread, which blocks nobody by
 * waiting in its worker, keeps the real call: the old timeout pattern,
 * alarm() then waitpid() or flock() and EINTR, works there as natively.
 *
 * The most common wait has an fd after all: a wait for one child that
 * only asks for its end parks on the child's pidfd (Linux 5.3), which
 * becomes readable when it exits, like any fd wait: a signal ends it with
 * EINTR or restarts it under SA_RESTART, and a cancel acts at once.
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
    pid_t rc;
    int err;
};

static void run_wait4(void *arg)
{
    struct wait4_call *c = arg;

    c->rc = real_wait4(c->pid, c->status, c->options, c->usage);
    c->err = errno;
}

/* The answer of park_on_pidfd when there is no pidfd to park on (an old
 * kernel, no such process): the helper waits then. */
#define NO_PIDFD (-2)

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
    while ((rc = attempt(arg)) == 0) {
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
    struct wait4_call c = {pid, status, options, usage, 0, 0};
    int rc;

    if (!hook_enter() || (options & WNOHANG) || g_threads_alive() < 2)
        return real_wait4(pid, status, options, usage);
    if (pidfd_fits(pid, options) &&
        (rc = park_on_pidfd(pid, attempt_wait4, &c)) != NO_PIDFD)
        return rc;
    run_on_helper(run_wait4, &c, true);
    if (c.rc < 0)
        errno = c.err;
    return c.rc;
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
    int rc;
    int err;
};

static void run_waitid(void *arg)
{
    struct waitid_call *c = arg;

    c->rc = real_waitid((int)c->type, c->id, c->info, c->options);
    c->err = errno;
}

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
    struct waitid_call c = {type, id, info, options, 0, 0};
    int rc;

    if (!hook_enter() || (options & WNOHANG) || g_threads_alive() < 2)
        return real_waitid((int)type, id, info, options);
    if (type == P_PID && info && pidfd_fits((pid_t)id, options) &&
        (rc = park_on_pidfd((pid_t)id, attempt_waitid, &c)) != NO_PIDFD)
        return rc < 0 ? -1 : 0;
    run_on_helper(run_waitid, &c, true);
    if (c.rc < 0)
        errno = c.err;
    return c.rc;
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
