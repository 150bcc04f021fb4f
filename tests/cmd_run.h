/*
 * cmd_run: runs a command line (the green launcher, meson, man) as a child
 * process in a process group of its own, collects its stdout and stderr,
 * and waits for it with a timeout. For the launcher tests
 * (tests/launcher_*.c); runs in the Criterion test process, never under
 * libgreen. Unlike tests/diff_run.h it passes arguments and a directory,
 * can signal the child's group when stderr shows a given text, and ends a
 * child that runs over with SIGTERM first, so that `green compare` can
 * stop the servers it started before SIGKILL comes.
 */
#ifndef GREEN_TESTS_CMD_RUN_H
#define GREEN_TESTS_CMD_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How to run one command. Zero means the default for each field. */
struct cmd_opts {
    const char *const *env;  /* "NAME=value" strings added, NULL-terminated */
    const char *dir;         /* working directory (default: ours) */
    int timeout_ms;          /* then SIGTERM to the group (default 30 s) */
    const char *signal_when; /* once stderr contains this text... */
    int signal;              /* ...send this signal to the child's group */
};

/* What one run left behind. */
struct cmd {
    char *out; /* all of stdout, NUL-terminated */
    size_t out_len;
    char *err; /* all of stderr, NUL-terminated */
    size_t err_len;
    pid_t pid;        /* the child, and the id of its process group */
    int status;       /* as waitpid reported it */
    bool timed_out;   /* it ran past the timeout and was stopped */
    bool signaled;    /* opts->signal was sent */
    bool left_behind; /* something it started outlived it (and was then
                         killed) */
};

/*
 * Runs argv (argv[0] looked up in PATH if it has no slash) with stdin from
 * /dev/null and signals at their defaults. The environment is ours without
 * LD_PRELOAD and GREEN_*, plus opts->env. The child leads a new process
 * group, and the calling process becomes a child subreaper, so that what
 * the child starts and leaves behind becomes our child. After the child has
 * exited and its output has been read, any process still in its group or
 * left to us is noted in left_behind and killed: the child started it.
 * Returns 0 and fills c (free it with cmd_free), or -errno if the child
 * could not be started.
 */
int cmd_run(const char *const *argv, const struct cmd_opts *opts,
            struct cmd *c);

void cmd_free(struct cmd *c);

/* Whether c exited normally with the given code. */
bool cmd_exited_with(const struct cmd *c, int code);

/* How c ended, in words, written into buf of len bytes; returns buf. */
const char *cmd_describe(const struct cmd *c, char *buf, size_t len);

/* The number of '\n' in s. */
int cmd_lines(const char *s);

/* Reads the whole file at path into a NUL-terminated string (free it), or
 * returns NULL. */
char *cmd_read_file(const char *path, size_t *len);

#endif
