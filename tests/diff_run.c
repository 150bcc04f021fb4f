/*
 * diff_run: child processes for the differential and configuration tests;
 * see diff_run.h. Runs in the Criterion test process, not under libgreen.
 */
#include "diff_run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* How long to keep reading a killed child's pipes before giving up. */
enum { DRAIN_MS = 2000 };

/* run_prog_stdio looks at the shared descriptions' flags this often at
 * least, to catch a child that sets O_NONBLOCK for a while. */
enum { SAMPLE_MS = 1 };

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

/* --- a child on shared descriptions (run_prog_stdio) -------------------- */

/* The child's stdin, stdout and stderr (child[i]) and the runner's other
 * end of each (ours[i]); -1 once closed. */
struct stdio_fds {
    int child[3];
    int ours[3];
};

static void close_stdio(struct stdio_fds *f)
{
    for (int i = 0; i < 3; i++) {
        if (f->child[i] >= 0)
            close(f->child[i]);
        if (f->ours[i] >= 0)
            close(f->ours[i]);
        f->child[i] = f->ours[i] = -1;
    }
}

static int open_stdio(struct stdio_fds *f, enum run_stdout out)
{
    int in_pipe[2], out_pair[2], err_pipe[2], rc;

    for (int i = 0; i < 3; i++)
        f->child[i] = f->ours[i] = -1;
    if (pipe2(in_pipe, O_CLOEXEC) < 0)
        return -errno;
    f->child[0] = in_pipe[0];
    f->ours[0] = in_pipe[1];
    rc = out == RUN_STDOUT_SOCKET
             ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out_pair)
             : pipe2(out_pair, O_CLOEXEC);
    if (rc < 0)
        goto out_close;
    f->ours[1] = out_pair[0];
    f->child[1] = out_pair[1];
    if (pipe2(err_pipe, O_CLOEXEC) < 0)
        goto out_close;
    f->ours[2] = err_pipe[0];
    f->child[2] = err_pipe[1];
    /* Our ends are file descriptions of their own: the child never sees
     * these flags. */
    for (int i = 0; i < 3; i++)
        if (fcntl(f->ours[i], F_SETFL, O_NONBLOCK) < 0)
            goto out_close;
    return 0;

out_close:
    rc = -errno;
    close_stdio(f);
    return rc;
}

static int shared_flags_now(const struct stdio_fds *f)
{
    int flags = 0;

    for (int i = 0; i < 3; i++) {
        int fl = fcntl(f->child[i], F_GETFL);

        if (fl > 0)
            flags |= fl;
    }
    return flags;
}

/* Writes the next piece of input to the child's stdin, closing it once
 * all is written (or the pipe fails). */
static void feed(struct stdio_fds *f, const char *input, size_t len,
                 size_t *sent)
{
    size_t chunk = len - *sent < PIPE_BUF ? len - *sent : PIPE_BUF;
    ssize_t n = chunk ? write(f->ours[0], input + *sent, chunk) : 0;

    if (n > 0)
        *sent += (size_t)n;
    if (*sent == len || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close(f->ours[0]);
        f->ours[0] = -1;
    }
}

/* Feeds input and reads stdout and stderr until the child (pidfd) has
 * exited and nothing is left to read; kills pid once at the deadline. */
static void collect_stdio(pid_t pid, int pidfd, struct stdio_fds *f,
                          const char *input, size_t len, int timeout_ms,
                          struct buf *out, struct buf *err, int *flags,
                          bool *timed_out)
{
    struct buf *bufs[3] = {NULL, out, err};
    int64_t deadline = now_ms() + timeout_ms;
    bool exited = false;
    size_t sent = 0;

    if (len == 0)
        feed(f, input, len, &sent);
    for (;;) {
        struct pollfd fds[4] = {{.fd = pidfd, .events = POLLIN},
                                {.fd = f->ours[1], .events = POLLIN},
                                {.fd = f->ours[2], .events = POLLIN},
                                {.fd = f->ours[0], .events = POLLOUT}};
        int64_t left = deadline - now_ms();
        int wait_ms, rc;

        *flags |= shared_flags_now(f);
        if (left <= 0) {
            if (*timed_out)
                break; /* killed, and still not gone: give up */
            kill(pid, SIGKILL);
            *timed_out = true;
            deadline = now_ms() + DRAIN_MS;
            continue;
        }
        if (exited)
            fds[0].fd = -1;
        wait_ms = left < SAMPLE_MS ? (int)left : SAMPLE_MS;
        rc = poll(fds, 4, exited ? 0 : wait_ms);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc == 0 && exited)
            break; /* it has gone and left nothing more */
        if (rc <= 0)
            continue;
        if (fds[0].revents)
            exited = true;
        for (int i = 1; i < 3; i++)
            if (fds[i].revents && drain(fds[i].fd, bufs[i]) == 0) {
                close(f->ours[i]); /* EOF: cannot happen, but would spin */
                f->ours[i] = -1;
            }
        if (fds[3].revents && f->ours[0] >= 0)
            feed(f, input, len, &sent);
    }
}

int run_prog_stdio(const char *path, const char *const *env,
                   enum run_stdout out, const char *input, size_t len,
                   int timeout_ms, struct run *r, int *shared_flags)
{
    char *const argv[] = {(char *)path, NULL};
    struct buf out_buf = {0}, err_buf = {0};
    struct stdio_fds f;
    int pidfd, rc;
    char **envp;
    pid_t pid;

    memset(r, 0, sizeof(*r));
    *shared_flags = 0;
    envp = child_env(env);
    if (!envp)
        return -ENOMEM;
    rc = open_stdio(&f, out);
    if (rc < 0)
        goto out_env;
    pid = fork();
    if (pid < 0) {
        rc = -errno;
        goto out_fds;
    }
    if (pid == 0) {
        for (int i = 0; i < 3; i++)
            if (dup2(f.child[i], i) < 0)
                _exit(126);
        execve(path, argv, envp);
        _exit(127);
    }
    pidfd = pidfd_open(pid, 0);
    if (pidfd < 0) {
        rc = -errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        goto out_fds;
    }
    collect_stdio(pid, pidfd, &f, input, len, timeout_ms, &out_buf, &err_buf,
                  shared_flags, &r->timed_out);
    close(pidfd);
    while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
        ;
    *shared_flags |= shared_flags_now(&f);
    r->out = finish(&out_buf, &r->out_len);
    r->err = finish(&err_buf, &r->err_len);

out_fds:
    close_stdio(&f);
out_env:
    free(envp);
    return rc;
}
