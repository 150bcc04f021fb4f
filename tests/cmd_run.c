/*
 * cmd_run: command lines as child processes for the launcher tests; see
 * cmd_run.h. Runs in the Criterion test process, not under libgreen.
 */
#include "cmd_run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum {
    DEFAULT_TIMEOUT_MS = 30000,
    KILL_AFTER_MS = 5000, /* from the timeout's SIGTERM to SIGKILL */
    DRAIN_MS = 2000,      /* reading pipes that outlive the child */
};

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Our environment minus LD_PRELOAD and GREEN_*, plus extra. Only the array
 * is allocated; the strings are borrowed. */
static char **child_env(const char *const *extra)
{
    size_t n = 0, k = 0;
    char **env;

    for (char **e = environ; *e; e++)
        n++;
    for (const char *const *e = extra; e && *e; e++)
        n++;
    env = calloc(n + 1, sizeof(*env));
    if (!env)
        return NULL;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) != 0 && strncmp(*e, "GREEN_", 6))
            env[k++] = *e;
    for (const char *const *e = extra; e && *e; e++)
        env[k++] = (char *)*e;
    return env;
}

/* Appends what fd has to b, keeping it NUL-terminated. Returns the bytes
 * read, 0 at EOF, -1 on error. */
static ssize_t drain(int fd, struct buf *b)
{
    ssize_t n;

    if (b->cap - b->len < 4096 + 1) {
        size_t cap = b->cap ? b->cap * 2 : 8192;
        char *data = realloc(b->data, cap);

        if (!data)
            return -1;
        b->data = data;
        b->cap = cap;
    }
    do
        n = read(fd, b->data + b->len, b->cap - b->len - 1);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        b->len += (size_t)n;
    b->data[b->len] = '\0';
    return n;
}

/* In the child: its own group, default signals, the directory and the
 * three descriptors, then exec. Only async-signal-safe calls. */
static _Noreturn void child(const char *const *argv, const char *dir,
                            char **envp, int out_fd, int err_fd)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGHUP};
    sigset_t none;
    int null;

    setpgid(0, 0);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 ||
        dup2(err_fd, 2) < 0 || (dir && chdir(dir) < 0))
        _exit(126);
    execvpe(argv[0], (char *const *)argv, envp);
    _exit(127);
}

/* Reads both pipes while the child runs and until they reach EOF (or for
 * DRAIN_MS past its exit, if something it started still holds them);
 * signals its group on the way as opts and the timeout say. */
static void collect(struct cmd *c, const struct cmd_opts *opts, int pidfd,
                    int out_fd, int err_fd, struct buf *out, struct buf *err)
{
    struct pollfd fds[3] = {{.fd = pidfd, .events = POLLIN},
                            {.fd = out_fd, .events = POLLIN},
                            {.fd = err_fd, .events = POLLIN}};
    struct buf *bufs[3] = {NULL, out, err};
    int timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    int64_t deadline = now_ms() + timeout_ms, kill_at = 0, drain_until = 0;

    while (fds[1].fd >= 0 || fds[2].fd >= 0 || fds[0].fd >= 0) {
        int64_t now = now_ms(), next = deadline;
        int rc;

        if (kill_at && now >= kill_at) {
            kill(-c->pid, SIGKILL);
            kill_at = 0;
        }
        if (!c->timed_out && now >= deadline) {
            kill(-c->pid, SIGTERM);
            c->timed_out = true;
            kill_at = now + KILL_AFTER_MS;
        }
        if (drain_until && now >= drain_until)
            break;
        if (c->timed_out)
            next = kill_at ? kill_at : now + DRAIN_MS;
        if (drain_until && drain_until < next)
            next = drain_until;
        rc = poll(fds, 3, next > now ? (int)(next - now) : 0);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && fds[0].revents) {
            fds[0].fd = -1; /* exited; its output may still come */
            drain_until = now_ms() + DRAIN_MS;
        }
        for (int i = 1; i < 3 && rc > 0; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            if (drain(fds[i].fd, bufs[i]) <= 0)
                fds[i].fd = -1;
        }
        if (opts->signal_when && !c->signaled && err->data &&
            strstr(err->data, opts->signal_when)) {
            kill(-c->pid, opts->signal);
            c->signaled = true;
        }
    }
}

/* Whether process pid is still running (not a zombie). */
static bool running(pid_t pid)
{
    char path[64], stat[256], *paren;
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    n = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    if (n <= 0)
        return false;
    stat[n] = '\0';
    paren = strrchr(stat, ')'); /* the name may hold spaces */
    return paren && paren[1] == ' ' && paren[2] != 'Z';
}

/* Kills and reaps the children we got as a subreaper: processes that the
 * last command started and that outlived it. Exited ones are only
 * reaped. Returns whether any was still running. */
static bool reap_orphans(void)
{
    char path[320], list[4096];
    bool left = false;
    DIR *tasks = opendir("/proc/self/task");
    struct dirent *t;

    if (!tasks)
        return false;
    while ((t = readdir(tasks))) {
        ssize_t n;
        int fd;

        if (t->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/children", t->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        n = read(fd, list, sizeof(list) - 1);
        close(fd);
        list[n > 0 ? n : 0] = '\0';
        for (char *p = list, *end; *p; p = end) {
            pid_t pid = (pid_t)strtol(p, &end, 10);

            if (end == p)
                break;
            if (running(pid)) {
                left = true;
                kill(pid, SIGKILL);
            }
            waitpid(pid, NULL, 0);
        }
    }
    closedir(tasks);
    return left;
}

static char *finish(struct buf *b, size_t *len)
{
    if (!b->data)
        b->data = calloc(1, 1);
    *len = b->len;
    return b->data;
}

int cmd_run(const char *const *argv, const struct cmd_opts *opts, struct cmd *c)
{
    static const struct cmd_opts defaults;
    struct buf out = {0}, err = {0};
    int out_pipe[2], err_pipe[2], pidfd, rc = 0;
    char **envp;

    if (!opts)
        opts = &defaults;
    memset(c, 0, sizeof(*c));
    envp = child_env(opts->env);
    if (!envp)
        return -ENOMEM;
    if (pipe2(out_pipe, O_CLOEXEC) < 0) {
        rc = -errno;
        goto out_env;
    }
    if (pipe2(err_pipe, O_CLOEXEC) < 0) {
        rc = -errno;
        goto out_out_pipe;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    c->pid = fork();
    if (c->pid < 0) {
        rc = -errno;
        goto out_err_pipe;
    }
    if (c->pid == 0)
        child(argv, opts->dir, envp, out_pipe[1], err_pipe[1]);
    /* Also here, so that the group exists before we may signal it. */
    setpgid(c->pid, c->pid);
    close(out_pipe[1]);
    close(err_pipe[1]);
    pidfd = pidfd_open(c->pid, 0);
    collect(c, opts, pidfd, out_pipe[0], err_pipe[0], &out, &err);
    if (pidfd >= 0)
        close(pidfd);
    close(out_pipe[0]);
    close(err_pipe[0]);
    while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
        ;
    if (kill(-c->pid, 0) == 0) {
        c->left_behind = true;
        kill(-c->pid, SIGKILL);
    }
    c->left_behind |= reap_orphans();
    c->out = finish(&out, &c->out_len);
    c->err = finish(&err, &c->err_len);
    free(envp);
    return 0;

out_err_pipe:
    close(err_pipe[0]);
    close(err_pipe[1]);
out_out_pipe:
    close(out_pipe[0]);
    close(out_pipe[1]);
out_env:
    free(envp);
    return rc;
}

void cmd_free(struct cmd *c)
{
    free(c->out);
    free(c->err);
    memset(c, 0, sizeof(*c));
}

bool cmd_exited_with(const struct cmd *c, int code)
{
    return !c->timed_out && WIFEXITED(c->status) &&
           WEXITSTATUS(c->status) == code;
}

const char *cmd_describe(const struct cmd *c, char *buf, size_t len)
{
    if (c->timed_out)
        snprintf(buf, len, "stopped after the timeout");
    else if (WIFEXITED(c->status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(c->status));
    else if (WIFSIGNALED(c->status))
        snprintf(buf, len, "signal %d (%s)", WTERMSIG(c->status),
                 strsignal(WTERMSIG(c->status)));
    else
        snprintf(buf, len, "status 0x%x", c->status);
    return buf;
}

int cmd_lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

char *cmd_read_file(const char *path, size_t *len)
{
    struct buf b = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return NULL;
    while ((n = drain(fd, &b)) > 0)
        ;
    close(fd);
    if (n < 0) {
        free(b.data);
        return NULL;
    }
    if (len)
        *len = b.len;
    return finish(&b, &b.len);
}
