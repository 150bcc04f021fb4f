/*
 * interpose/shell.c: system, popen and pclose on green threads.
 *
 * glibc waits for the shell inside system and pclose, and a popen
 * stream reads and writes its pipe inside libc: no hook sees those calls,
 * so each would block its worker, and every green thread on it, for as
 * long as the command runs. On a green thread they are ours, made as
 * glibc makes them (posix_spawn of sh -c), with our waitpid (it parks on
 * the child's pidfd) and our fdopen (the stream's reads and writes park).
 * Elsewhere system and popen are glibc's, and pclose knows whose a stream
 * is. Any thread.
 */
#include "interpose/interpose.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Our popen streams and their children. */
struct popened {
    FILE *stream;
    int fd; /* the stream's, for later children to close */
    pid_t pid;
    struct popened *next;
};

/* Guards popened, and the SIGINT and SIGQUIT dispositions system sets
 * aside; a mutex of ours, so a green thread waiting for it parks. */
static pthread_mutex_t shell_lock = PTHREAD_MUTEX_INITIALIZER;
static struct popened *popened;
static _Atomic bool any_popened; /* popened != NULL, for fclose's look */
static int in_system; /* system calls between ignore and restore */
static struct sigaction saved_int, saved_quit;

static char *shell_argv(const char *command, char *argv[4])
{
    argv[0] = "sh";
    argv[1] = "-c";
    argv[2] = (char *)command;
    argv[3] = NULL;
    return "/bin/sh";
}

/*
 * While any system call runs, SIGINT and SIGQUIT are ignored in the
 * caller, as POSIX asks; the first call sets them aside and the last puts
 * them back. *dflt gets those of the two the child should have at their
 * default (not ignored before).
 */
static void ignore_interrupts(sigset_t *dflt)
{
    struct sigaction ignore = {.sa_handler = SIG_IGN};

    sigemptyset(&ignore.sa_mask);
    sigemptyset(dflt);
    pthread_mutex_lock(&shell_lock);
    if (in_system++ == 0) {
        sigaction(SIGINT, &ignore, &saved_int);
        sigaction(SIGQUIT, &ignore, &saved_quit);
    }
    if (saved_int.sa_handler != SIG_IGN)
        sigaddset(dflt, SIGINT);
    if (saved_quit.sa_handler != SIG_IGN)
        sigaddset(dflt, SIGQUIT);
    pthread_mutex_unlock(&shell_lock);
}

static void restore_interrupts(void)
{
    pthread_mutex_lock(&shell_lock);
    if (--in_system == 0) {
        sigaction(SIGINT, &saved_int, NULL);
        sigaction(SIGQUIT, &saved_quit, NULL);
    }
    pthread_mutex_unlock(&shell_lock);
}

/* The child's wait status, or -1. Not interrupted by signals. */
static int wait_child(pid_t pid)
{
    int status;
    pid_t rc;

    do
        rc = waitpid(pid, &status, 0);
    while (rc < 0 && errno == EINTR);
    return rc == pid ? status : -1;
}

/* A thread that leaves system while it waits (a cancel, a jump out of a
 * signal handler): the command is killed and reaped, and SIGINT and
 * SIGQUIT put back, as glibc's cleanup does. */
static void system_left(void *pid)
{
    int cancel_state;

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    syscall(SYS_kill, *(pid_t *)pid, SIGKILL); /* not a program's kill */
    wait_child(*(pid_t *)pid);
    restore_interrupts();
    pthread_setcancelstate(cancel_state, NULL); /* a jump goes on */
}

/* A cancellation point only while it waits for the command. */
static int green_system(struct g_thread *self, const char *command)
{
    struct g_unwind left;
    posix_spawnattr_t attr;
    sigset_t chld, old, mask, dflt;
    char *argv[4], *path = shell_argv(command, argv);
    int cancel_state, status, rc;
    pid_t pid;

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    ignore_interrupts(&dflt);
    g_hook_child_mask(self, &mask);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, &old);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &mask);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETSIGMASK);
    rc = real_posix_spawn(&pid, path, NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (rc == 0) {
        g_unwind_push(self, &left, system_left, &pid);
        pthread_setcancelstate(cancel_state, NULL);
        status = wait_child(pid); /* our waitpid: a cancellation point */
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        g_unwind_pop(self, &left);
    } else {
        /* POSIX: a shell that cannot run is one that exited with 127. */
        status = W_EXITCODE(127, 0);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    restore_interrupts();
    pthread_setcancelstate(cancel_state, NULL);
    if (rc != 0)
        errno = rc;
    return status;
}

G_EXPORT int system(const char *command)
{
    struct g_thread *self = hook_enter();

    if (!self)
        return real_system(command);
    if (!command) /* is there a shell? */
        return green_system(self, "exit 0") == 0;
    return green_system(self, command);
}

/* popen's type: "r" or "w", and "e" for close-on-exec, in any order. */
static bool popen_type(const char *type, bool *reading, bool *cloexec)
{
    bool writing = false;

    *reading = *cloexec = false;
    for (; *type; type++) {
        if (*type == 'r')
            *reading = true;
        else if (*type == 'w')
            writing = true;
        else if (*type == 'e')
            *cloexec = true;
        else
            return false;
    }
    return *reading != writing;
}

/*
 * Under shell_lock, so that no other popen's child inherits this pipe
 * and every earlier stream is closed in this child (POSIX). The child's
 * end goes to its stdin or stdout; if it is that number already, it moves
 * to another first, as dup2 onto itself would keep close-on-exec set.
 */
static int spawn_popen_child(pid_t *pid, int *child, int child_std,
                             const char *command)
{
    posix_spawn_file_actions_t fa;
    char *argv[4], *path = shell_argv(command, argv);
    int rc;

    if (*child == child_std) {
        int moved = fcntl(*child, F_DUPFD_CLOEXEC, 0);

        if (moved < 0)
            return errno;
        close(*child);
        *child = moved;
    }
    posix_spawn_file_actions_init(&fa);
    rc = posix_spawn_file_actions_adddup2(&fa, *child, child_std);
    for (struct popened *p = popened; p && rc == 0; p = p->next)
        if (p->fd != child_std)
            rc = posix_spawn_file_actions_addclose(&fa, p->fd);
    if (rc == 0) /* our hook: the child gets this thread's mask */
        rc = posix_spawn(pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

static FILE *green_popen(const char *command, const char *type)
{
    struct popened *p;
    bool reading, cloexec, spawned;
    int fds[2], parent, child, rc;

    if (!popen_type(type, &reading, &cloexec)) {
        errno = EINVAL;
        return NULL;
    }
    if (!(p = malloc(sizeof(*p))))
        return NULL;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        free(p);
        return NULL;
    }
    parent = fds[reading ? 0 : 1];
    child = fds[reading ? 1 : 0];
    pthread_mutex_lock(&shell_lock);
    rc = spawn_popen_child(&p->pid, &child, reading ? 1 : 0, command);
    spawned = rc == 0;
    close(child);
    if (spawned && !cloexec)
        fcntl(parent, F_SETFD, 0);
    p->stream = spawned ? fdopen(parent, reading ? "r" : "w") : NULL;
    if (p->stream) {
        p->fd = parent;
        p->next = popened;
        popened = p;
        atomic_store_explicit(&any_popened, true, memory_order_relaxed);
    } else if (spawned) {
        rc = errno; /* fdopen's */
    }
    pthread_mutex_unlock(&shell_lock);
    if (p->stream)
        return p->stream; /* ours (interpose/stdio.c): its calls park */
    close(parent);
    if (spawned) /* it reads an end of file, or writes into EPIPE */
        wait_child(p->pid);
    free(p);
    errno = rc;
    return NULL;
}

G_EXPORT FILE *popen(const char *command, const char *type)
{
    if (!hook_enter())
        return real_popen(command, type);
    return green_popen(command, type);
}

/* Ours: taken off the list. NULL for a stream glibc's popen made. */
static struct popened *take_popened(FILE *f)
{
    struct popened **at, *p = NULL;

    pthread_mutex_lock(&shell_lock);
    for (at = &popened; *at; at = &(*at)->next)
        if ((*at)->stream == f) {
            p = *at;
            *at = p->next;
            atomic_store_explicit(&any_popened, popened != NULL,
                                  memory_order_relaxed);
            break;
        }
    pthread_mutex_unlock(&shell_lock);
    return p;
}

bool g_shell_popened(FILE *f)
{
    bool found = false;

    if (!atomic_load_explicit(&any_popened, memory_order_relaxed))
        return false;
    pthread_mutex_lock(&shell_lock);
    for (struct popened *p = popened; p && !found; p = p->next)
        found = p->stream == f;
    pthread_mutex_unlock(&shell_lock);
    return found;
}

G_EXPORT int pclose(FILE *f)
{
    struct popened *p;
    int cancel_state, status;

    hook_enter();
    if (!(p = take_popened(f))) {
        g_hook_stream_closing(f);
        return real_pclose(f);
    }
    /* Not a cancellation point while it waits, as glibc's is not. */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    fclose(f);
    status = wait_child(p->pid);
    free(p);
    pthread_setcancelstate(cancel_state, NULL);
    return status;
}

void g_shell_forked(void)
{
    /* A thread left in the parent may have held it. */
    static const pthread_mutex_t unlocked = PTHREAD_MUTEX_INITIALIZER;

    memcpy(&shell_lock, &unlocked, sizeof(shell_lock));
}
