/*
 * interpose/start.c: main() as a green thread.
 *
 * We take __libc_start_main and hand glibc our own main, which reads the
 * configuration, starts the workers and runs the program's main() as the
 * first green thread on worker 0 (the process's original OS thread). Its
 * return value goes to exit(), as glibc would do with it. Runs on the
 * process's first thread, before and as main().
 */
#include "interpose/interpose.h"
#include "shim/fd.h"

#include <stdlib.h>
#include <unistd.h>

static struct {
    g_main_fn main;
    int argc;
    char **argv;
    char **envp;
} program;

static void *run_main(void *arg)
{
    (void)arg;
    exit(program.main(program.argc, program.argv, program.envp));
}

/* Set around the fork that stands for a vfork: its child execs. */
static __thread bool vforking;

/*
 * A child forked while the program had a single green thread (a daemon
 * that forks before it starts threads, a prefork server's master) goes on
 * green: the fork's thread is its main thread, on workers and loops of
 * its own. Otherwise, or for a vfork, whose child only execs, it goes on
 * as a plain process: the forking thread alone, every call passed through.
 */
static void forked_child(void)
{
    g_fork_hold_stdio();
    g_shell_forked();
    if (!vforking && g_runtime_fork_child())
        return;
    g_signals_forked();
    g_runtime_forked();
}

static void forked_parent(void)
{
    g_fd_forked();
}

/*
 * A vfork child shares our memory until it execs, and the closes and dup2s
 * it makes before that (CPython's subprocess, for one) would go through our
 * hooks into the parent's descriptor table: end the parent's waits on those
 * numbers with EBADF, take its fds out of the epolls. POSIX lets vfork be
 * fork, whose child has its own copy and passes every call through
 * (forked_child).
 */
static pid_t fork_for_vfork(void)
{
    pid_t pid;

    vforking = true;
    pid = fork();
    vforking = false;
    return pid;
}

G_EXPORT pid_t vfork(void)
{
    return fork_for_vfork();
}

G_EXPORT pid_t __vfork(void)
{
    return fork_for_vfork();
}

static int green_main(int argc, char **argv, char **envp)
{
    program.argc = argc;
    program.argv = argv;
    program.envp = envp;
    g_config_load();
    pthread_atfork(NULL, forked_parent, forked_child);
    if (g_config.stats)
        atexit(g_stats_report);
    g_signals_start();
    g_runtime_run(run_main, NULL);
}

G_EXPORT int __libc_start_main(g_main_fn main, int argc, char **argv,
                               void (*init)(void), void (*fini)(void),
                               void (*rtld_fini)(void), void *stack_end)
{
    hook_enter();
    program.main = main;
    return real___libc_start_main(green_main, argc, argv, init, fini, rtld_fini,
                                  stack_end);
}
