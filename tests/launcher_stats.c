/*
 * launcher_stats: `green --stats` and `--stats=FILE`, the GREEN_STATS
 * report of shim/stats.c asked for through the launcher. The report of a
 * known program must have every field, in order, with values that fit
 * what the program does: tests/progs/create_join makes 10,000 threads one
 * at a time and then 10 batches of 1,000, so 20,001 green threads with
 * main; tests/progs/sleepers makes 10,000 threads that each sleep once;
 * tests/progs/return_status makes one.
 */
#include "cmd_run.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GREEN_PATH
#error "tests/meson.build defines GREEN_PATH and the PROG_* paths"
#endif

enum { MAX_FIELDS = 64 };

/* A report split into its title and its "name value" lines. */
struct report {
    char title[128];
    int n;
    char names[MAX_FIELDS][48];
    char values[MAX_FIELDS][48];
};

/* Splits text into r; fails the test if a line is not "name value". */
static void parse_report(const char *text, struct report *r)
{
    const char *p = text, *end;

    memset(r, 0, sizeof(*r));
    end = strchr(p, '\n');
    cr_assert_not_null(end, "no report:\n%s", text);
    snprintf(r->title, sizeof(r->title), "%.*s", (int)(end - p), p);
    for (p = end + 1; *p; p = end + 1) {
        end = strchr(p, '\n');
        cr_assert_not_null(end, "unfinished line in:\n%s", text);
        cr_assert_lt(r->n, MAX_FIELDS, "too many lines:\n%s", text);
        cr_assert_eq(sscanf(p, "%47s %47s", r->names[r->n], r->values[r->n]), 2,
                     "not \"name value\": %.*s", (int)(end - p), p);
        r->n++;
    }
}

/* The value of name as a number; fails the test if it is missing or not a
 * whole number. */
static long long field(const struct report *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0) {
            char *end;
            long long v = strtoll(r->values[i], &end, 10);

            cr_assert(*end == '\0' && v >= 0, "%s is \"%s\"", name,
                      r->values[i]);
            return v;
        }
    cr_assert_fail("the report has no %s", name);
    return -1;
}

/* The fields of a report with loops workers, in the order of
 * shim/stats.c, checked against r; every number non-negative. */
static void expect_fields(const struct report *r, int loops)
{
    static const char *const head[] = {
        "threads_created", "threads_peak", "switches",
        "parks_fd",        "parks_timer",  "parks_mutex",
        "parks_cond",      "parks_sem",    "parks_join",
        "parks_dns",       "parks_other",  "wakeups_cross_worker",
    };
    size_t nhead = sizeof(head) / sizeof(head[0]);
    int i = 0;

    cr_assert_eq(r->n, (int)nhead + 3 * loops, "%d lines for %d loops", r->n,
                 loops);
    for (; i < (int)nhead; i++) {
        cr_expect_str_eq(r->names[i], head[i], "line %d", i + 2);
        field(r, head[i]);
    }
    for (int w = 0; w < loops; w++) {
        static const char *const per_loop[] = {"iterations", "longest_us",
                                               "longest_call"};

        for (int k = 0; k < 3; k++, i++) {
            char want[48];

            snprintf(want, sizeof(want), "loop%d_%s", w, per_loop[k]);
            cr_expect_str_eq(r->names[i], want, "line %d", i + 2);
            if (k < 2)
                field(r, want);
        }
    }
}

static void green(const char *const *argv_tail, const char *dir, struct cmd *c)
{
    const char *argv[16] = {GREEN_PATH};
    struct cmd_opts opts = {.dir = dir, .timeout_ms = 60000};
    int i = 0;

    for (; argv_tail[i]; i++)
        argv[i + 1] = argv_tail[i];
    argv[i + 1] = NULL;
    cr_assert_eq(cmd_run(argv, &opts, c), 0, "cannot start green");
}

Test(launcher_stats, stats_counts_every_thread_create_join_makes, .timeout = 60)
{
    const char *native_argv[] = {PROG_CREATE_JOIN, NULL};
    const char *args[] = {"--loops", "2", "--stats", PROG_CREATE_JOIN, NULL};
    struct cmd native, c;
    struct report r;
    char title[128], how[64];

    cr_assert_eq(cmd_run(native_argv, NULL, &native), 0);
    green(args, NULL, &c);
    cr_assert(cmd_exited_with(&c, 0), "%s\n%s",
              cmd_describe(&c, how, sizeof(how)), c.err);
    cr_expect_str_eq(c.out, native.out);
    parse_report(c.err, &r);
    /* green execs the program: the report's pid is the one we started. */
    snprintf(title, sizeof(title), "libgreen stats: pid %d, 2 loops",
             (int)c.pid);
    cr_expect_str_eq(r.title, title);
    expect_fields(&r, 2);

    cr_expect_eq(field(&r, "threads_created"), 10000 + 10 * 1000 + 1);
    /* At most a batch and main alive at once; at least a thread and main. */
    cr_expect_geq(field(&r, "threads_peak"), 2);
    cr_expect_leq(field(&r, "threads_peak"), 1000 + 1);
    /* Every thread was switched to at least once. */
    cr_expect_geq(field(&r, "switches"), 20001);
    /* Only main joins, so it parks at most once per join; some joins find
     * their thread gone (batches are joined in reverse), some wait. */
    cr_expect_geq(field(&r, "parks_join"), 1);
    cr_expect_leq(field(&r, "parks_join"), 20000);
    /* It never sleeps, resolves names or waits on a descriptor. */
    cr_expect_eq(field(&r, "parks_timer"), 0);
    cr_expect_eq(field(&r, "parks_dns"), 0);
    cr_expect_eq(field(&r, "parks_fd"), 0);
    cr_expect_leq(field(&r, "parks_join") + field(&r, "parks_mutex") +
                      field(&r, "parks_cond") + field(&r, "parks_sem") +
                      field(&r, "parks_other"),
                  field(&r, "switches"), "more parks than switches");
    /* main waited for threads: a worker went back to its loop. */
    cr_expect_geq(field(&r, "loop0_iterations") + field(&r, "loop1_iterations"),
                  1);
    cmd_free(&c);
    cmd_free(&native);
}

Test(launcher_stats, stats_counts_a_timer_park_per_sleeper, .timeout = 60)
{
    const char *args[] = {"--loops=1", "--stats", "--", PROG_SLEEPERS, NULL};
    struct cmd c;
    struct report r;
    char how[64];

    green(args, NULL, &c);
    cr_assert(cmd_exited_with(&c, 0), "%s\n%s",
              cmd_describe(&c, how, sizeof(how)), c.err);
    cr_expect_str_eq(c.out, "10000 slept\n");
    /* sleepers prints os_threads= and wall_ms= before the report. */
    const char *report = strstr(c.err, "libgreen stats:");
    cr_assert_not_null(report, "no report:\n%s", c.err);
    parse_report(report, &r);
    expect_fields(&r, 1);
    cr_expect_eq(field(&r, "threads_created"), 10001);
    /* All 10,000 sleep at once, with main. */
    cr_expect_eq(field(&r, "threads_peak"), 10001);
    /* Each sleeper sleeps once; main naps until they all are about to. */
    cr_expect_geq(field(&r, "parks_timer"), 10000);
    cr_expect_eq(field(&r, "parks_dns"), 0);
    /* One worker: nobody else can wake a thread of it. */
    cr_expect_eq(field(&r, "wakeups_cross_worker"), 0);
    cmd_free(&c);
}

Test(launcher_stats, stats_file_gets_the_report_and_stderr_stays_empty,
     .timeout = 60)
{
    /* "1" is a file name here, not "stderr" as in GREEN_STATS=1. */
    static const char *const names[] = {"report.txt", "1"};
    char dir[64] = "/tmp/green-stats-XXXXXX", path[128], opt[64], how[64];

    cr_assert_not_null(mkdtemp(dir));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *args[] = {opt, PROG_RETURN_STATUS, NULL};
        struct report r;
        struct cmd c;
        char *text;

        snprintf(opt, sizeof(opt), "--stats=%s", names[i]);
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        green(args, dir, &c);
        cr_expect(cmd_exited_with(&c, 7), "%s: %s", opt,
                  cmd_describe(&c, how, sizeof(how)));
        cr_expect_eq(c.err_len, 0, "%s: stderr: %s", opt, c.err);
        text = cmd_read_file(path, NULL);
        cr_assert_not_null(text, "%s: no file %s", opt, path);
        parse_report(text, &r);
        cr_expect(strncmp(r.title, "libgreen stats: pid ", 20) == 0, "%s",
                  r.title);
        /* main and the one thread it joins. */
        cr_expect_eq(field(&r, "threads_created"), 2, "%s", opt);
        cr_expect_eq(field(&r, "threads_peak"), 2, "%s", opt);
        free(text);
        unlink(path);
        cmd_free(&c);
    }
    rmdir(dir);
}
