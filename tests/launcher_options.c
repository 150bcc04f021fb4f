/*
 * launcher_options: the command line of `green` (build/green, from
 * scripts/green.in). Good options become GREEN_* variables and libgreen
 * goes first in LD_PRELOAD; everything from the program on is the
 * program's. A bad option or value, or no program, exits 2 with exactly one
 * line on stderr, nothing on stdout, and the program never started: the
 * program of those runs is `touch MARKER`, and the marker must not exist.
 * The limits and their wording are those of shim/config.c (see
 * tests/config_env.c for the same values given as variables).
 */
#include "cmd_run.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef GREEN_PATH
#error "tests/meson.build defines GREEN_PATH, GREEN_LIB_PATH, GREEN_VERSION"
#endif

#define LOOPS_ALLOWED "expected a whole number of worker threads from 1 to 1024"
#define STACK_ALLOWED                                                          \
    "expected a size from 16K to 1G, in bytes or with a K, M or G suffix "     \
    "(e.g. 256K, 8M)"

enum { MAX_ARGS = 16 };

/* A fresh directory for one test's files; removed by the test. */
static void make_dir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/green-options-XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
}

static void remove_dir(const char *dir)
{
    char cmd[PATH_MAX + 16];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* Runs green with args (NULL-terminated) and the extra env. */
static void green(const char *const *args, const char *const *env,
                  const char *dir, struct cmd *c)
{
    const char *argv[MAX_ARGS + 2] = {GREEN_PATH};
    struct cmd_opts opts = {.env = env, .dir = dir, .timeout_ms = 20000};
    size_t n = 1;
    int rc;

    for (; args[n - 1]; n++) {
        cr_assert_lt(n, MAX_ARGS, "too many arguments");
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    rc = cmd_run(argv, &opts, c);
    cr_assert_eq(rc, 0, "cannot start %s: %s", GREEN_PATH, strerror(-rc));
}

/* What green printed, for messages: its arguments joined. */
static const char *joined(const char *const *args, char *buf, size_t len)
{
    size_t at = 0;

    buf[0] = '\0';
    for (; *args && at < len; args++)
        at += (size_t)snprintf(buf + at, len - at, "%s\"%s\"", at ? " " : "",
                               *args);
    return buf;
}

/*
 * green args... -- touch DIR/started must exit 2 with one line on stderr
 * that starts with "green: " and contains each of the NULL-terminated
 * texts, print nothing on stdout and not run touch. With no_program, args
 * are given as they are (for the errors that need no program).
 */
static void expect_usage_error(const char *const *args, bool no_program,
                               const char *const *texts)
{
    const char *argv[MAX_ARGS];
    char dir[64], marker[96], how[64], what[512];
    struct cmd c;
    size_t n = 0;

    make_dir(dir, sizeof(dir));
    snprintf(marker, sizeof(marker), "%s/started", dir);
    for (; args[n]; n++)
        argv[n] = args[n];
    if (!no_program) {
        argv[n++] = "--";
        argv[n++] = "touch";
        argv[n++] = marker;
    }
    argv[n] = NULL;
    joined(args, what, sizeof(what));
    green(argv, NULL, dir, &c);
    cr_expect(cmd_exited_with(&c, 2), "green %s: expected exit 2, got %s", what,
              cmd_describe(&c, how, sizeof(how)));
    cr_expect_eq(c.out_len, 0, "green %s: stdout not empty:\n%s", what, c.out);
    cr_expect(cmd_lines(c.err) == 1 && c.err[c.err_len - 1] == '\n',
              "green %s: want exactly one line on stderr, got:\n%s", what,
              c.err);
    cr_expect(strncmp(c.err, "green: ", 7) == 0,
              "green %s: the error does not start with \"green: \":\n%s", what,
              c.err);
    for (; *texts; texts++)
        cr_expect(strstr(c.err, *texts) != NULL,
                  "green %s: the error does not say \"%s\":\n%s", what, *texts,
                  c.err);
    cr_expect_neq(access(marker, F_OK), 0, "green %s: the program ran", what);
    cmd_free(&c);
    remove_dir(dir);
}

/* Each bad value of option, as "OPTION VALUE" and as "OPTION=VALUE". */
static void expect_bad_values(const char *option, const char *const *values,
                              size_t n, const char *allowed)
{
    for (size_t i = 0; i < n; i++) {
        char joined_opt[128], quoted[64];
        const char *separate[] = {option, values[i], NULL};
        const char *together[] = {joined_opt, NULL};
        const char *texts[] = {option, quoted, allowed, NULL};

        snprintf(joined_opt, sizeof(joined_opt), "%s=%s", option, values[i]);
        snprintf(quoted, sizeof(quoted), "\"%s\"", values[i]);
        expect_usage_error(separate, false, texts);
        expect_usage_error(together, false, texts);
    }
}

/* The line of env(1)'s output that starts with name=, or NULL. */
static char *env_line(const char *out, const char *name, char *buf, size_t len)
{
    size_t n = strlen(name);

    for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            const char *end = strchrnul(p, '\n');

            snprintf(buf, len, "%.*s", (int)(end - p), p);
            return buf;
        }
    return NULL;
}

static const char *lib_path(void)
{
    static char path[PATH_MAX];

    cr_assert_not_null(realpath(GREEN_LIB_PATH, path), "%s is not built",
                       GREEN_LIB_PATH);
    return path;
}

Test(launcher_options, version_prints_name_and_version, .timeout = 30)
{
    const char *args[] = {"--version", NULL};
    struct cmd c;

    green(args, NULL, NULL, &c);
    cr_expect(cmd_exited_with(&c, 0));
    cr_expect_str_eq(c.out, "green (libgreen) " GREEN_VERSION "\n");
    cr_expect_eq(c.err_len, 0, "stderr: %s", c.err);
    cmd_free(&c);
}

Test(launcher_options, help_lists_every_option_and_exits_0, .timeout = 30)
{
    static const char *const want[] = {
        "usage: green", "--loops", "--stack-size",  "--stats",
        "--version",    "--help",  "green compare", "libgreen.so",
    };
    const char *args[] = {"--help", NULL};
    struct cmd c;

    green(args, NULL, NULL, &c);
    cr_expect(cmd_exited_with(&c, 0));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_expect(strstr(c.out, want[i]) != NULL, "--help lacks \"%s\":\n%s",
                  want[i], c.out);
    cr_expect_eq(c.err_len, 0, "stderr: %s", c.err);
    cmd_free(&c);
}

Test(launcher_options, bad_loops_exit_2_with_one_line_before_the_program,
     .timeout = 60)
{
    static const char *const bad[] = {
        "0", "1025", "abc", "", "-1", "2x", " 1", "+1", "99999999999999999999",
    };

    expect_bad_values("--loops", bad, sizeof(bad) / sizeof(bad[0]),
                      LOOPS_ALLOWED);
}

Test(launcher_options, bad_stack_size_exit_2_with_one_line_before_the_program,
     .timeout = 60)
{
    static const char *const bad[] = {
        "1Q",  "0",  "abc",   "1K",   "",     "16383",
        "15k", "2G", "1025M", "-64K", "64KB", "99999999999999999999K",
    };

    expect_bad_values("--stack-size", bad, sizeof(bad) / sizeof(bad[0]),
                      STACK_ALLOWED);
}

Test(launcher_options, unknown_option_exits_2_with_one_line_naming_it,
     .timeout = 60)
{
    static const char *const unknown[] = {"--frobnicate", "-x", "--loop",
                                          "--stats-file=x"};

    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        char name[64];
        const char *args[] = {unknown[i], NULL};
        const char *texts[] = {"unknown option", name, NULL};

        snprintf(name, sizeof(name), "%.*s", (int)strcspn(unknown[i], "="),
                 unknown[i]);
        expect_usage_error(args, false, texts);
    }
}

Test(launcher_options, missing_value_or_program_exits_2_with_one_line,
     .timeout = 60)
{
    const char *loops[] = {"--loops", NULL};
    const char *stack[] = {"--stack-size", NULL};
    const char *none[] = {NULL};
    const char *dashes[] = {"--", NULL};
    const char *only_options[] = {"--loops", "2", "--stats", NULL};
    const char *empty_stats[] = {"--stats=", NULL};
    const char *needs[] = {"--loops", "needs a value", NULL};
    const char *needs_stack[] = {"--stack-size", "needs a value", NULL};
    const char *no_program[] = {"no program", NULL};
    const char *stats_file[] = {"--stats", "file", NULL};

    expect_usage_error(loops, true, needs);
    expect_usage_error(stack, true, needs_stack);
    expect_usage_error(none, true, no_program);
    expect_usage_error(dashes, true, no_program);
    expect_usage_error(only_options, true, no_program);
    expect_usage_error(empty_stats, false, stats_file);
}

Test(launcher_options, options_become_green_variables_and_preload_goes_first,
     .timeout = 30)
{
    const char *args[] = {
        "--loops", "3", "--stack-size=64k", "--stats=report", "--",
        "env",     NULL};
    const char *env[] = {"LD_PRELOAD=/nonexistent/other.so", NULL};
    char dir[64], buf[PATH_MAX * 2], want[PATH_MAX * 2], report[128];
    struct cmd c;

    make_dir(dir, sizeof(dir));
    green(args, env, dir, &c);
    cr_expect(cmd_exited_with(&c, 0), "stderr: %s", c.err);
    cr_expect_str_eq(env_line(c.out, "GREEN_LOOPS", buf, sizeof(buf)),
                     "GREEN_LOOPS=3");
    cr_expect_str_eq(env_line(c.out, "GREEN_STACK_SIZE", buf, sizeof(buf)),
                     "GREEN_STACK_SIZE=64k");
    /* Made absolute against green's directory. */
    snprintf(want, sizeof(want), "GREEN_STATS=%s/report", dir);
    cr_expect_str_eq(env_line(c.out, "GREEN_STATS", buf, sizeof(buf)), want);
    snprintf(want, sizeof(want), "LD_PRELOAD=%s:/nonexistent/other.so",
             lib_path());
    cr_expect_str_eq(env_line(c.out, "LD_PRELOAD", buf, sizeof(buf)), want);
    /* env ran green: libgreen wrote the report where it was told. */
    snprintf(report, sizeof(report), "%s/report", dir);
    cr_expect_eq(access(report, R_OK), 0, "no report at %s", report);
    cmd_free(&c);
    remove_dir(dir);
}

Test(launcher_options, without_options_only_ld_preload_is_set, .timeout = 30)
{
    const char *args[] = {"env", NULL};
    char buf[PATH_MAX * 2], want[PATH_MAX * 2];
    struct cmd c;

    green(args, NULL, NULL, &c);
    cr_expect(cmd_exited_with(&c, 0), "stderr: %s", c.err);
    snprintf(want, sizeof(want), "LD_PRELOAD=%s", lib_path());
    cr_expect_str_eq(env_line(c.out, "LD_PRELOAD", buf, sizeof(buf)), want);
    cr_expect_null(strstr(c.out, "\nGREEN_"), "a GREEN_ variable is set:\n%s",
                   c.out);
    cmd_free(&c);
}

Test(launcher_options, arguments_from_the_program_on_are_the_programs,
     .timeout = 30)
{
    const char *after_program[] = {"echo", "--loops", "0", "--frob", NULL};
    /* echo takes --version as its own only when it is alone. */
    const char *after_dashes[] = {"--loops",   "1",       "--", "echo",
                                  "--version", "--loops", NULL};
    struct cmd c;

    green(after_program, NULL, NULL, &c);
    cr_expect(cmd_exited_with(&c, 0), "stderr: %s", c.err);
    cr_expect_str_eq(c.out, "--loops 0 --frob\n");
    cmd_free(&c);
    green(after_dashes, NULL, NULL, &c);
    cr_expect(cmd_exited_with(&c, 0), "stderr: %s", c.err);
    cr_expect_str_eq(c.out, "--version --loops\n");
    cmd_free(&c);
}

/* green OPTION VALUE -- return_status runs it as natively: stdout, exit 7,
 * nothing on stderr. */
static void expect_runs(const char *option, const char *value)
{
    const char *native_argv[] = {PROG_RETURN_STATUS, NULL};
    const char *args[] = {option, value, "--", PROG_RETURN_STATUS, NULL};
    struct cmd native, c;
    char how[64];

    cr_assert_eq(cmd_run(native_argv, NULL, &native), 0);
    green(args, NULL, NULL, &c);
    cr_expect(cmd_exited_with(&c, 7), "%s %s: expected exit 7, got %s\n%s",
              option, value, cmd_describe(&c, how, sizeof(how)), c.err);
    cr_expect_str_eq(c.out, native.out, "%s %s: stdout differs", option, value);
    cr_expect_eq(c.err_len, 0, "%s %s: stderr: %s", option, value, c.err);
    cmd_free(&c);
    cmd_free(&native);
}

Test(launcher_options, bounds_and_suffixes_run_the_program, .timeout = 60)
{
    static const char *const loops[] = {"1", "1024", "01"};
    static const char *const sizes[] = {"16K", "16384", "1G",
                                        "1g",  "0064k", "2m"};

    for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++)
        expect_runs("--loops", loops[i]);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        expect_runs("--stack-size", sizes[i]);
}

Test(launcher_options, missing_or_unrunnable_program_exits_127_or_126,
     .timeout = 30)
{
    char dir[64], plain[96], how[64];
    const char *missing[] = {"/nonexistent/program", NULL};
    const char *not_in_path[] = {"no-such-program-anywhere", NULL};
    const char *not_executable[] = {plain, NULL};
    struct cmd c;
    FILE *f;

    make_dir(dir, sizeof(dir));
    snprintf(plain, sizeof(plain), "%s/plain", dir);
    f = fopen(plain, "w");
    cr_assert_not_null(f);
    fclose(f);

    green(missing, NULL, NULL, &c);
    cr_expect(cmd_exited_with(&c, 127), "%s",
              cmd_describe(&c, how, sizeof(how)));
    cr_expect_eq(cmd_lines(c.err), 1, "stderr: %s", c.err);
    cmd_free(&c);
    green(not_in_path, NULL, NULL, &c);
    cr_expect(cmd_exited_with(&c, 127), "%s",
              cmd_describe(&c, how, sizeof(how)));
    cr_expect_eq(cmd_lines(c.err), 1, "stderr: %s", c.err);
    cmd_free(&c);
    green(not_executable, NULL, NULL, &c);
    cr_expect(cmd_exited_with(&c, 126), "%s",
              cmd_describe(&c, how, sizeof(how)));
    cr_expect_eq(cmd_lines(c.err), 1, "stderr: %s", c.err);
    cmd_free(&c);
    remove_dir(dir);
}
