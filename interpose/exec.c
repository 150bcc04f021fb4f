/*
 * interpose/exec.c: the exec family and posix_spawn.
 *
 * A program started from a thread inherits that thread's signal mask. A
 * green thread's mask is ours (shim/signal.c) and its worker's OS thread
 * blocks nothing, so for the span of each of these calls the OS thread
 * takes the green thread's mask: exec passes it on, and so do the children
 * of posix_spawn (glibc gives them the caller's mask; interpose/shell.c's
 * system and popen give theirs the same).
 * A failed exec puts the worker's own mask back. The calls themselves are
 * glibc's. Anywhere but on a green thread they pass through untouched.
 */
#include "interpose/interpose.h"

#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void g_hook_child_mask(struct g_thread *self, sigset_t *set)
{
    uint64_t w = g_sig_blocked(self) | g_sig_kernel_owned();

    sigemptyset(set);
    memcpy(set, &w, sizeof(w));
}

/* Give the OS thread self's mask; the worker's own goes to *old. */
static void take_mask(struct g_thread *self, sigset_t *old)
{
    sigset_t set;

    g_hook_child_mask(self, &set);
    real_pthread_sigmask(SIG_SETMASK, &set, old);
}

static void give_back(const sigset_t *old)
{
    int saved = errno;

    real_pthread_sigmask(SIG_SETMASK, old, NULL);
    errno = saved;
}

G_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    struct g_thread *self = hook_enter();
    sigset_t old;
    int rc;

    if (!self)
        return real_execve(path, argv, envp);
    take_mask(self, &old);
    rc = real_execve(path, argv, envp);
    give_back(&old);
    return rc;
}

G_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

G_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    struct g_thread *self = hook_enter();
    sigset_t old;
    int rc;

    if (!self)
        return real_execvpe(file, argv, envp);
    take_mask(self, &old);
    rc = real_execvpe(file, argv, envp);
    give_back(&old);
    return rc;
}

G_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

G_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    struct g_thread *self = hook_enter();
    sigset_t old;
    int rc;

    if (!self)
        return real_fexecve(fd, argv, envp);
    take_mask(self, &old);
    rc = real_fexecve(fd, argv, envp);
    give_back(&old);
    return rc;
}

/*
 * The execl family: their argument lists as an argv, then the calls
 * above. *envp gets the environment that follows the list's NULL if
 * with_env (execle). NULL with errno ENOMEM if there is no memory for it.
 */
static char **list_argv(const char *arg, va_list ap, bool with_env,
                        char ***envp)
{
    va_list count;
    size_t n = 1;
    char **argv;

    va_copy(count, ap);
    if (arg)
        while (va_arg(count, char *))
            n++;
    va_end(count);
    argv = malloc((n + 1) * sizeof(*argv));
    if (!argv)
        return NULL;
    argv[0] = (char *)arg;
    for (size_t i = 1; arg && i <= n; i++)
        argv[i] = va_arg(ap, char *);
    argv[n] = NULL;
    if (!arg)
        argv[0] = NULL;
    if (with_env)
        *envp = va_arg(ap, char **);
    return argv;
}

/* An execl: its list as an argv, for execve, or execvpe if search. */
static int exec_list(const char *file, const char *arg, va_list ap,
                     bool with_env, bool search)
{
    char **argv, **envp = environ;
    int rc;

    argv = list_argv(arg, ap, with_env, &envp);
    if (!argv)
        return -1;
    rc = search ? execvpe(file, argv, envp) : execve(file, argv, envp);
    free(argv);
    return rc;
}

G_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    int rc;

    va_start(ap, arg);
    rc = exec_list(path, arg, ap, false, false);
    va_end(ap);
    return rc;
}

G_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    int rc;

    va_start(ap, arg);
    rc = exec_list(path, arg, ap, true, false);
    va_end(ap);
    return rc;
}

G_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    int rc;

    va_start(ap, arg);
    rc = exec_list(file, arg, ap, false, true);
    va_end(ap);
    return rc;
}

G_EXPORT int posix_spawn(pid_t *pid, const char *path,
                         const posix_spawn_file_actions_t *actions,
                         const posix_spawnattr_t *attr, char *const argv[],
                         char *const envp[])
{
    struct g_thread *self = hook_enter();
    sigset_t old;
    int rc;

    if (!self)
        return real_posix_spawn(pid, path, actions, attr, argv, envp);
    take_mask(self, &old);
    rc = real_posix_spawn(pid, path, actions, attr, argv, envp);
    give_back(&old);
    return rc;
}

G_EXPORT int posix_spawnp(pid_t *pid, const char *file,
                          const posix_spawn_file_actions_t *actions,
                          const posix_spawnattr_t *attr, char *const argv[],
                          char *const envp[])
{
    struct g_thread *self = hook_enter();
    sigset_t old;
    int rc;

    if (!self)
        return real_posix_spawnp(pid, file, actions, attr, argv, envp);
    take_mask(self, &old);
    rc = real_posix_spawnp(pid, file, actions, attr, argv, envp);
    give_back(&old);
    return rc;
}
