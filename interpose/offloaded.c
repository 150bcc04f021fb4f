/*
 * interpose/offloaded.c: blocking calls that have no non-blocking form to
 * retry and no fd to wait on: waiting for a child (wait, waitpid, wait4,
 * waitid) and flock. On a green thread, unless the call asks not to wait
 * (WNOHANG, LOCK_NB), the real call runs on libuv's thread pool while the
 * green thread parks (g_run_blocking), so the rest of its worker, perhaps
 * the thread the wait is for, runs on. Everywhere else they pass through.
 */
#include "interpose/interpose.h"

#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>

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

G_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *usage)
{
    struct wait4_call c = {pid, status, options, usage, 0, 0};

    if (!hook_enter() || (options & WNOHANG))
        return real_wait4(pid, status, options, usage);
    g_run_blocking(run_wait4, &c, G_PARK_OTHER);
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

G_EXPORT int waitid(idtype_t type, id_t id, siginfo_t *info, int options)
{
    struct waitid_call c = {type, id, info, options, 0, 0};

    if (!hook_enter() || (options & WNOHANG))
        return real_waitid((int)type, id, info, options);
    g_run_blocking(run_waitid, &c, G_PARK_OTHER);
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

    if (!hook_enter() || (op & LOCK_NB) || (op & LOCK_UN))
        return real_flock(fd, op);
    g_run_blocking(run_flock, &c, G_PARK_OTHER);
    if (c.rc < 0)
        errno = c.err;
    return c.rc;
}
