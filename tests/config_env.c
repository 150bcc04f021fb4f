/*
 * config_env: libgreen's configuration from the environment. A bad
 * GREEN_LOOPS (an integer 1..1024) or GREEN_STACK_SIZE (16K..1G: a number
 * with an optional K, M or G suffix in either case, each a factor of 1024)
 * must stop the program before main with exit status 2, nothing on stdout,
 * and exactly one line on stderr naming the variable and the bad value.
 * Good values must let the program run as it does natively, silently.
 * The program is tests/progs/return_status (prints, returns 7).
 */
#include "diff_run.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GREEN_LIB_PATH
#error "tests/meson.build defines GREEN_LIB_PATH and PROG_RETURN_STATUS"
#endif

enum { RUN_TIMEOUT_MS = 10000 };

static void run_prog_with(const char *prog, const char *var,
                          const char *value, struct run *r)
{
    char preload[4096], setting[256];
    const char *env[] = {preload, setting, NULL};
    int rc;

    cr_assert_eq(access(GREEN_LIB_PATH, R_OK), 0,
                 "%s is not built: run ninja -C build first", GREEN_LIB_PATH);
    snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", GREEN_LIB_PATH);
    snprintf(setting, sizeof(setting), "%s=%s", var, value);
    rc = run_prog(prog, env, RUN_TIMEOUT_MS, r);
    cr_assert_eq(rc, 0, "cannot start %s: %s", prog, strerror(-rc));
}

static void run_with(const char *var, const char *value, struct run *r)
{
    run_prog_with(PROG_RETURN_STATUS, var, value, r);
}

static int count_lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void expect_rejected(const char *var, const char *value)
{
    struct run r;
    char how[64];

    run_with(var, value, &r);
    cr_expect(run_exited_with(&r, 2), "%s=\"%s\": expected exit 2, got %s", var,
              value, run_describe(&r, how, sizeof(how)));
    cr_expect_eq(r.out_len, 0, "%s=\"%s\": stdout not empty:\n%s", var, value,
                 r.out);
    cr_expect(count_lines(r.err) == 1 && r.err[r.err_len - 1] == '\n',
              "%s=\"%s\": want exactly one line on stderr, got:\n%s", var,
              value, r.err);
    cr_expect(strstr(r.err, var) != NULL,
              "%s=\"%s\": stderr does not name %s:\n%s", var, value, var,
              r.err);
    cr_expect(strstr(r.err, value) != NULL,
              "%s=\"%s\": stderr does not show the value:\n%s", var, value,
              r.err);
    run_free(&r);
}

static void expect_accepted(const char *var, const char *value)
{
    struct run native, green;
    char how[64];
    int rc;

    rc = run_prog(PROG_RETURN_STATUS, NULL, RUN_TIMEOUT_MS, &native);
    cr_assert_eq(rc, 0, "cannot start return_status: %s", strerror(-rc));
    cr_assert(run_exited_with(&native, 7), "return_status natively: %s",
              run_describe(&native, how, sizeof(how)));
    run_with(var, value, &green);
    cr_expect(run_exited_with(&green, 7), "%s=%s: expected exit 7, got %s\n%s",
              var, value, run_describe(&green, how, sizeof(how)), green.err);
    cr_expect_str_eq(green.out, native.out, "%s=%s: stdout differs:\n%s", var,
                     value, green.out);
    cr_expect_eq(green.err_len, 0, "%s=%s: stderr not empty:\n%s", var, value,
                 green.err);
    run_free(&green);
    run_free(&native);
}

Test(config, bad_loops_exit_2_with_one_line_naming_it, .timeout = 60)
{
    static const char *const bad[] = {"abc", "0",    "99999", "-1",
                                      "",    "1025", "2x"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_rejected("GREEN_LOOPS", bad[i]);
}

Test(config, bad_stack_size_exit_2_with_one_line_naming_it, .timeout = 60)
{
    static const char *const bad[] = {"1Q",    "0",   "abc", "1K",    "",
                                      "16383", "15k", "2G",  "1025M", "-64K"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_rejected("GREEN_STACK_SIZE", bad[i]);
}

Test(config, good_loops_run_normally, .timeout = 60)
{
    expect_accepted("GREEN_LOOPS", "1");
    expect_accepted("GREEN_LOOPS", "2");
}

Test(config, loops_upper_bound_1024_runs_normally, .timeout = 60)
{
    expect_accepted("GREEN_LOOPS", "1024");
}

Test(config, good_stack_sizes_run_normally, .timeout = 60)
{
    static const char *const good[] = {"64K", "1M", "262144", "2m", "64k"};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        expect_accepted("GREEN_STACK_SIZE", good[i]);
}

Test(config, stack_size_bounds_16K_and_1G_run_normally, .timeout = 60)
{
    expect_accepted("GREEN_STACK_SIZE", "16K");
    expect_accepted("GREEN_STACK_SIZE", "16384");
    expect_accepted("GREEN_STACK_SIZE", "1G");
    expect_accepted("GREEN_STACK_SIZE", "1g");
}

Test(config, bad_max_threads_exit_2_with_one_line_naming_it, .timeout = 60)
{
    const char *bad[] = {"abc", "0", "-5", "", "1000000001", "10k"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_rejected("GREEN_MAX_THREADS", bad[i]);
}

Test(config, max_threads_makes_create_fail_with_eagain, .timeout = 60)
{
    struct run r;
    char how[64];

    /* main() is one of the 50: 49 more can be created, then EAGAIN. */
    run_prog_with(PROG_CREATE_LIMIT, "GREEN_MAX_THREADS", "50", &r);
    cr_assert(run_exited_with(&r, 0), "create_limit: %s\n%s",
              run_describe(&r, how, sizeof(how)), r.err);
    cr_assert_str_eq(r.out, "created 49, then EAGAIN\n");
    run_free(&r);
}
