/*
 * diff_run: child processes for the differential and configuration tests;
 * see diff_run.h. Runs in the Criterion test process, not under libgreen.
 */
#include "diff_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* How long to keep reading a killed child's pipes before giving up. */
enum { DRAIN_MS = 2000 };

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

static bool inherited(const char *entry)
{
    return strncmp(entry, "LD_PRELOAD=", 11) != 0 &&
           strncmp(entry, "GREEN_", 6) != 0;
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
        if (inherited(*e))
            env[k++] = *e;
    for (const char *const *e = extra; e && *e; e++)
        env[k++] = (char *)*e;
    env[k] = NULL;
    return env;
}

/* Appends what fd has to b. Returns bytes read, 0 at EOF, -1 on error. */
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
    return n;
}

/* Reads both pipes until both reach EOF; kills pid once at the deadline. */
static void collect(pid_t pid, int out_fd, int err_fd, int timeout_ms,
                    struct buf *out, struct buf *err, bool *timed_out)
{
    struct pollfd fds[2] = {{.fd = out_fd, .events = POLLIN},
                            {.fd = err_fd, .events = POLLIN}};
    struct buf *bufs[2] = {out, err};
    int64_t deadline = now_ms() + timeout_ms;
    int open = 2;

    while (open > 0) {
        int64_t left = deadline - now_ms();
        int rc;

        if (left <= 0) {
            if (*timed_out)
                break; /* a killed child still holds a pipe: give up */
            kill(pid, SIGKILL);
            *timed_out = true;
            deadline = now_ms() + DRAIN_MS;
            continue;
        }
        rc = poll(fds, 2, (int)left);
        if (rc < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2 && rc > 0; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            if (drain(fds[i].fd, bufs[i]) <= 0) {
                fds[i].fd = -1;
                open--;
            }
        }
    }
}

static char *finish(struct buf *b, size_t *len)
{
    if (!b->data)
        b->data = calloc(1, 1);
    else
        b->data[b->len] = '\0';
    *len = b->len;
    return b->data;
}

int run_prog(const char *path, const char *const *env, int timeout_ms,
             struct run *r)
{
    char *const argv[] = {(char *)path, NULL};
    struct buf out = {0}, err = {0};
    int out_pipe[2], err_pipe[2];
    char **envp;
    pid_t pid;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    envp = child_env(env);
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
    pid = fork();
    if (pid < 0) {
        rc = -errno;
        goto out_err_pipe;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);

        if (null < 0 || dup2(null, 0) < 0 || dup2(out_pipe[1], 1) < 0 ||
            dup2(err_pipe[1], 2) < 0)
            _exit(126);
        execve(path, argv, envp);
        _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    collect(pid, out_pipe[0], err_pipe[0], timeout_ms, &out, &err,
            &r->timed_out);
    close(out_pipe[0]);
    close(err_pipe[0]);
    while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
        ;
    r->out = finish(&out, &r->out_len);
    r->err = finish(&err, &r->err_len);
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

int run_prog_green(const char *path, int loops, int timeout_ms,
                   struct run *r)
{
    char preload[4096], loops_env[32];
    const char *env[] = {preload, loops_env, NULL};

    if (access(GREEN_LIB_PATH, R_OK) != 0)
        return -errno;
    snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", GREEN_LIB_PATH);
    snprintf(loops_env, sizeof(loops_env), "GREEN_LOOPS=%d", loops);
    return run_prog(path, env, timeout_ms, r);
}

const char *run_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

bool run_same_end(const struct run *a, const struct run *b)
{
    if (a->timed_out || b->timed_out)
        return false;
    if (WIFEXITED(a->status) && WIFEXITED(b->status))
        return WEXITSTATUS(a->status) == WEXITSTATUS(b->status);
    if (WIFSIGNALED(a->status) && WIFSIGNALED(b->status))
        return WTERMSIG(a->status) == WTERMSIG(b->status);
    return false;
}

bool run_exited_with(const struct run *r, int code)
{
    return !r->timed_out && WIFEXITED(r->status) &&
           WEXITSTATUS(r->status) == code;
}

const char *run_describe(const struct run *r, char *buf, size_t len)
{
    if (r->timed_out)
        snprintf(buf, len, "killed after timeout");
    else if (WIFEXITED(r->status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(r->status));
    else if (WIFSIGNALED(r->status))
        snprintf(buf, len, "signal %d (%s)", WTERMSIG(r->status),
                 strsignal(WTERMSIG(r->status)));
    else
        snprintf(buf, len, "status 0x%x", r->status);
    return buf;
}

long run_stderr_value(const struct run *r, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = r->err; (p = strstr(p, name)) != NULL; p += len) {
        bool starts_word = p == r->err || p[-1] == '\n' || p[-1] == ' ';

        if (starts_word && p[len] == '=')
            return strtol(p + len + 1, NULL, 10);
    }
    return -1;
}
