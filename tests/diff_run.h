/*
 * diff_run: starts one of the programs of tests/progs/ as a child process
 * with a chosen environment, collects all of its stdout and stderr, and
 * waits for it with a timeout, killing only that child if it runs over.
 * Shared by the runners tests/diff_progs.c and tests/config_env.c; it runs
 * on an ordinary (Criterion) process, never under libgreen itself.
 * run_prog_stdio, for tests/diff_io_faults.c, also feeds the child's stdin
 * and watches the flags of the descriptions it shares with the child.
 */
#ifndef GREEN_TESTS_DIFF_RUN_H
#define GREEN_TESTS_DIFF_RUN_H

#include <stdbool.h>
#include <stddef.h>

/* What one run of a program left behind. */
struct run {
    char *out; /* all of stdout, NUL-terminated */
    size_t out_len;
    char *err; /* all of stderr, NUL-terminated */
    size_t err_len;
    int status;     /* as waitpid reported it */
    bool timed_out; /* it ran past the timeout and was killed */
};

/*
 * Runs path without arguments, stdin from /dev/null. Its environment is ours
 * without LD_PRELOAD and without any GREEN_* variable, plus env: a
 * NULL-terminated list of "NAME=value" strings, or NULL. Kills the child
 * with SIGKILL after timeout_ms. Returns 0 and fills r (free it with
 * run_free), or -errno if the child could not be started.
 */
int run_prog(const char *path, const char *const *env, int timeout_ms,
             struct run *r);

/* run_prog under LD_PRELOAD=GREEN_LIB_PATH (a define of the test
 * executable) with GREEN_LOOPS=loops. */
int run_prog_green(const char *path, int loops, int timeout_ms,
                   struct run *r);

/* The file name of path, for messages. */
const char *run_name(const char *path);

/* Releases what run_prog allocated in r. */
void run_free(struct run *r);

/* Whether a and b ended the same way: same exit code, or same signal. */
bool run_same_end(const struct run *a, const struct run *b);

/* Whether r exited normally with the given code. */
bool run_exited_with(const struct run *r, int code);

/* How r ended, in words ("exit 3", "signal 11", "killed after timeout"),
 * written into buf of len bytes; returns buf. */
const char *run_describe(const struct run *r, char *buf, size_t len);

/* The number after the first "name=" in r's stderr, or -1 if there is
 * none. */
long run_stderr_value(const struct run *r, const char *name);

/* What run_prog_stdio gives the child as its stdout. */
enum run_stdout {
    RUN_STDOUT_PIPE,
    RUN_STDOUT_SOCKET, /* one end of an AF_UNIX stream socketpair */
};

/*
 * Runs path like run_prog, env included, but with stdin a pipe that gets
 * the len bytes of input (in writes of at most PIPE_BUF bytes, each atomic,
 * then EOF), stdout a pipe or a socket as out says, and stderr a pipe. The
 * runner keeps descriptors of the child's own ends too, that is of the same
 * open file descriptions, so that it can see what the child does to them:
 * their F_GETFL flags, read every millisecond or so while the child runs
 * and once after it has exited, are ORed into *shared_flags (0 if none
 * could be read). The run ends when the child exits (not at EOF,
 * which never comes while the runner holds the write ends) or is killed
 * after timeout_ms. Returns 0 and fills r, or -errno.
 */
int run_prog_stdio(const char *path, const char *const *env,
                   enum run_stdout out, const char *input, size_t len,
                   int timeout_ms, struct run *r, int *shared_flags);

#endif
