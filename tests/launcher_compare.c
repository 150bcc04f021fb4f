/*
 * launcher_compare: `green compare` on the demo's thread-per-connection
 * server (build/demo/http_threaded PORT), on 127.0.0.1 only. A small run
 * (10 and 50 connections, 2 s each) must print the table, write a CSV with
 * one plausible row per run and a PNG that is a real chart: both series
 * drawn in their colours, on both panels. Bad options stop it before any
 * server starts; a server that never listens fails its runs and is
 * stopped; Ctrl-C (SIGINT to the whole process group, as a terminal sends
 * it) stops every process it started. Each green compare runs in a process
 * group of its own, with this process as its subreaper (tests/cmd_run.c),
 * and no process it started may outlive it.
 */
#include "cmd_run.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef GREEN_PATH
#error "tests/meson.build defines GREEN_PATH and HTTP_THREADED_PATH"
#endif

/* The colours scripts/green.in gives the two series. */
#define THREADED_RGB 0xd95f02
#define GREEN_RGB 0x1b9e77

enum { MAX_ARGS = 24 };

static void make_dir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/green-compare-XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
}

static void remove_dir(const char *dir)
{
    char cmd[PATH_MAX + 16];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* Runs green compare ARGS... with the options given. */
static void compare(const char *const *args, struct cmd_opts *opts,
                    struct cmd *c)
{
    const char *argv[MAX_ARGS] = {GREEN_PATH, "compare"};
    size_t n = 2;

    for (; *args; args++) {
        cr_assert_lt(n, MAX_ARGS - 1);
        argv[n++] = *args;
    }
    argv[n] = NULL;
    cr_assert_eq(cmd_run(argv, opts, c), 0, "cannot start green");
    cr_expect_not(c->left_behind,
                  "green compare left processes behind (killed now)");
}

static int count_of(const char *haystack, const char *needle)
{
    int n = 0;

    for (const char *p = haystack; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* One data row of the CSV. */
struct row {
    char mode[16];
    long conns;
    double rps, p50, p99;
    long rss_kb, threads;
    char error[256];
};

/* Splits the CSV text into rows after checking its header; returns the
 * number of rows. */
static int parse_csv(char *text, struct row *rows, int max)
{
    static const char header[] =
        "mode,connections,rps,p50_ms,p99_ms,peak_rss_kb,peak_threads,error";
    char *save, *line;
    int n = 0;

    line = strtok_r(text, "\n", &save);
    cr_assert_not_null(line, "empty CSV");
    cr_assert_str_eq(line, header);
    while ((line = strtok_r(NULL, "\n", &save))) {
        struct row *r = &rows[n];

        cr_assert_lt(n, max, "too many rows");
        memset(r, 0, sizeof(*r));
        if (sscanf(line, "%15[^,],%ld,%lf,%lf,%lf,%ld,%ld,", r->mode, &r->conns,
                   &r->rps, &r->p50, &r->p99, &r->rss_kb, &r->threads) != 7) {
            /* A failed run: mode, count, six empty cells, the error. */
            cr_assert_eq(sscanf(line, "%15[^,],%ld,,,,,,%255[^\n]", r->mode,
                                &r->conns, r->error),
                         3, "bad row: %s", line);
        } else {
            cr_expect_eq(line[strlen(line) - 1], ',',
                         "a successful run has an error: %s", line);
        }
        n++;
    }
    return n;
}

/* Pixels of exactly one colour in the top and bottom halves of an image. */
struct pixels {
    unsigned width, height;
    long threaded[2], green[2], other;
};

static void count_pixels(const char *path, struct pixels *px)
{
    png_image img;
    png_bytep buf;

    memset(&img, 0, sizeof(img));
    memset(px, 0, sizeof(*px));
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&img, path), "%s: %s", path,
              img.message);
    img.format = PNG_FORMAT_RGB;
    buf = malloc(PNG_IMAGE_SIZE(img));
    cr_assert_not_null(buf);
    cr_assert(png_image_finish_read(&img, NULL, buf, 0, NULL), "%s: %s", path,
              img.message);
    px->width = img.width;
    px->height = img.height;
    for (unsigned y = 0; y < img.height; y++)
        for (unsigned x = 0; x < img.width; x++) {
            png_bytep p = buf + 3 * ((size_t)y * img.width + x);
            unsigned rgb = (unsigned)p[0] << 16 | p[1] << 8 | p[2];
            int half = y >= img.height / 2;

            if (rgb == THREADED_RGB)
                px->threaded[half]++;
            else if (rgb == GREEN_RGB)
                px->green[half]++;
            else if (rgb != 0xffffff)
                px->other++;
        }
    free(buf);
}

Test(launcher_compare, small_run_prints_table_and_writes_csv_and_chart,
     .timeout = 120)
{
    char dir[64], prefix[96], csv[128], png[128], want[256], how[64];
    const char *env[] = {"GREEN_LOOPS=2", NULL};
    struct cmd_opts opts = {.env = env, .timeout_ms = 90000};
    const char *args[] = {
        "--connections", "10,50", "--duration",       "2s",     "--output",
        prefix,          "--",    HTTP_THREADED_PATH, "{port}", NULL};
    static const char *const runs[] = {
        "[run 1/4] threaded, 10 connections",
        "[run 2/4] green, 10 connections",
        "[run 3/4] threaded, 50 connections",
        "[run 4/4] green, 50 connections",
    };
    static const char *const measures[] = {
        "req/s", "p50 latency", "p99 latency", "peak RSS", "peak OS threads"};
    struct row rows[8];
    struct pixels px;
    struct stat st;
    struct cmd c;
    char *text;

    make_dir(dir, sizeof(dir));
    snprintf(prefix, sizeof(prefix), "%s/cmp", dir);
    snprintf(csv, sizeof(csv), "%s.csv", prefix);
    snprintf(png, sizeof(png), "%s.png", prefix);
    opts.dir = dir;
    compare(args, &opts, &c);
    cr_assert(cmd_exited_with(&c, 0), "%s\nstdout:\n%s\nstderr:\n%s",
              cmd_describe(&c, how, sizeof(how)), c.out, c.err);

    /* Progress: each run, its connection count, and time left. */
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
        cr_expect(strstr(c.err, runs[i]) != NULL, "no \"%s\" in:\n%s", runs[i],
                  c.err);
    cr_expect_eq(count_of(c.err, " s left"), 4, "stderr:\n%s", c.err);
    /* The table: every measure for both counts, and the two paths. */
    cr_expect(strstr(c.out, "green/threaded") != NULL, "%s", c.out);
    for (size_t i = 0; i < sizeof(measures) / sizeof(measures[0]); i++)
        cr_expect_eq(count_of(c.out, measures[i]), 2, "\"%s\" in:\n%s",
                     measures[i], c.out);
    snprintf(want, sizeof(want), "csv:   %s\n", csv);
    cr_expect(strstr(c.out, want) != NULL, "no \"%s\" in:\n%s", want, c.out);
    snprintf(want, sizeof(want), "chart: %s\n", png);
    cr_expect(strstr(c.out, want) != NULL, "no \"%s\" in:\n%s", want, c.out);

    /* The CSV: one row per run, in the order they ran, each plausible. */
    text = cmd_read_file(csv, NULL);
    cr_assert_not_null(text, "no %s", csv);
    cr_assert_eq(parse_csv(text, rows, 8), 4);
    for (int i = 0; i < 4; i++) {
        struct row *r = &rows[i];
        bool threaded = i % 2 == 0;

        cr_expect_str_eq(r->mode, threaded ? "threaded" : "green");
        cr_expect_eq(r->conns, i < 2 ? 10 : 50);
        cr_expect_str_empty(r->error, "run %d failed", i + 1);
        cr_expect_gt(r->rps, 100, "run %d", i + 1);
        cr_expect_gt(r->p50, 0, "run %d", i + 1);
        cr_expect_geq(r->p99, r->p50, "run %d", i + 1);
        cr_expect_gt(r->rss_kb, 100, "run %d", i + 1);
        if (threaded) /* main, and one thread per connection */
            cr_expect_geq(r->threads, r->conns + 1, "run %d", i + 1);
        else /* two workers, and perhaps a helper or two of libuv's */
            cr_expect(r->threads >= 1 && r->threads <= 4, "run %d: %ld", i + 1,
                      r->threads);
    }
    free(text);

    /* The PNG: its signature and size, then what is drawn. gnuplot's
     * 900x800 canvas with nothing plotted is under 6 KiB; this chart,
     * with axes, labels and four series, is 20 to 45 KiB. */
    cr_assert_eq(stat(png, &st), 0, "no %s", png);
    cr_expect_gt(st.st_size, 16 * 1024, "%s is only %lld bytes", png,
                 (long long)st.st_size);
    text = cmd_read_file(png, NULL);
    cr_assert_not_null(text);
    cr_expect_eq(memcmp(text, "\x89PNG\r\n\x1a\n", 8), 0, "not a PNG");
    free(text);
    count_pixels(png, &px);
    cr_expect_eq(px.width, 900);
    cr_expect_eq(px.height, 800);
    /* In each panel (top half: req/s, bottom: RSS), a series with data
     * is its two points, the line between them and its key sample: some
     * 600 to 850 pixels of its exact colour. A series with no valid point
     * draws none, not even its key. */
    for (int half = 0; half < 2; half++) {
        cr_expect_gt(px.threaded[half], 300, "threaded, half %d: %ld", half,
                     px.threaded[half]);
        cr_expect_gt(px.green[half], 300, "green, half %d: %ld", half,
                     px.green[half]);
    }
    cr_expect_gt(px.other, 5000, "hardly anything else drawn: %ld", px.other);
    cmd_free(&c);
    remove_dir(dir);
}

/* Whether dir has a file whose name starts with prefix. */
static bool has_file(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;

    cr_assert_not_null(d);
    while ((e = readdir(d)))
        found |= strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return found;
}

Test(launcher_compare, bad_options_exit_2_before_any_server_starts,
     .timeout = 60)
{
    struct bad {
        const char *args[8];
        const char *says;
    };
    /* The server, were it started, would leave DIR/started-PORT. */
    static const struct bad bad[] = {
        {{"--connections", "0"}, "--connections \"0\""},
        {{"--connections", "10,,20"}, "--connections \"10,,20\""},
        {{"--connections", "10,10"}, "appears twice"},
        {{"--connections=abc"}, "--connections \"abc\""},
        {{"--duration", "0"}, "--duration \"0\""},
        {{"--duration", "2x"}, "--duration \"2x\""},
        {{"--url", "index.html"}, "--url \"index.html\""},
        {{"--output="}, "--output \"\""},
        {{"--frobnicate"}, "unknown option --frobnicate"},
        {{"--duration"}, "--duration needs a value"},
    };
    char dir[64], server_arg[96], how[64];
    struct cmd_opts opts = {.timeout_ms = 20000};
    struct cmd c;

    make_dir(dir, sizeof(dir));
    opts.dir = dir;
    snprintf(server_arg, sizeof(server_arg), "%s/started-{port}", dir);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *args[16];
        size_t n = 0;

        for (; bad[i].args[n]; n++)
            args[n] = bad[i].args[n];
        if (strcmp(bad[i].says, "--duration needs a value") != 0) {
            args[n++] = "--";
            args[n++] = "touch";
            args[n++] = server_arg;
        }
        args[n] = NULL;
        compare(args, &opts, &c);
        cr_expect(cmd_exited_with(&c, 2), "%s: %s", bad[i].args[0],
                  cmd_describe(&c, how, sizeof(how)));
        cr_expect_eq(cmd_lines(c.err), 1, "%s: stderr:\n%s", bad[i].args[0],
                     c.err);
        cr_expect(strstr(c.err, bad[i].says) != NULL, "want \"%s\" in: %s",
                  bad[i].says, c.err);
        cr_expect_eq(c.out_len, 0, "stdout: %s", c.out);
        cmd_free(&c);
    }

    /* The command: no {port}, nothing after --, no -- at all. */
    const char *no_port[] = {"--", "touch", "x", NULL};
    const char *no_server[] = {"--", NULL};
    const char *no_dashes[] = {"touch", server_arg, NULL};
    const char *const *cases[] = {no_port, no_server, no_dashes};
    const char *says[] = {"{port}", "no server command", "put --"};

    for (size_t i = 0; i < 3; i++) {
        compare(cases[i], &opts, &c);
        cr_expect(cmd_exited_with(&c, 2), "%s: %s", says[i],
                  cmd_describe(&c, how, sizeof(how)));
        cr_expect_eq(cmd_lines(c.err), 1, "stderr:\n%s", c.err);
        cr_expect(strstr(c.err, says[i]) != NULL, "want \"%s\" in: %s", says[i],
                  c.err);
        cmd_free(&c);
    }
    cr_expect_not(has_file(dir, "started-"), "a server was started");
    cr_expect_not(has_file(dir, "x"), "a server was started");
    cr_expect_not(has_file(dir, "green-compare-"), "results were written");
    remove_dir(dir);
}

Test(launcher_compare, server_that_never_listens_fails_and_is_stopped,
     .timeout = 60)
{
    /* sleep PORT: a server that never listens, for longer than the test. */
    char dir[64], prefix[96], csv[128], png[128];
    const char *env[] = {"HTTP_START_TIMEOUT=1", NULL};
    struct cmd_opts opts = {.env = env, .timeout_ms = 40000};
    const char *args[] = {"--connections", "5",    "--duration", "1s",
                          "--output",      prefix, "--",         "sleep",
                          "{port}",        NULL};
    struct row rows[4];
    struct cmd c;
    char how[64], *text;

    make_dir(dir, sizeof(dir));
    opts.dir = dir;
    snprintf(prefix, sizeof(prefix), "%s/never", dir);
    snprintf(csv, sizeof(csv), "%s.csv", prefix);
    snprintf(png, sizeof(png), "%s.png", prefix);
    compare(args, &opts, &c);
    cr_expect(cmd_exited_with(&c, 1), "%s\n%s",
              cmd_describe(&c, how, sizeof(how)), c.err);
    cr_expect(strstr(c.err, "did not start listening") != NULL, "%s", c.err);
    cr_expect_eq(count_of(c.out, "failed"), 10, "five measures twice:\n%s",
                 c.out);
    text = cmd_read_file(csv, NULL);
    cr_assert_not_null(text, "no %s", csv);
    cr_assert_eq(parse_csv(text, rows, 4), 2);
    cr_expect_str_eq(rows[0].mode, "threaded");
    cr_expect_str_eq(rows[1].mode, "green");
    for (int i = 0; i < 2; i++)
        cr_expect(strstr(rows[i].error, "did not start listening") != NULL,
                  "row %d: %s", i, rows[i].error);
    cr_expect_neq(access(png, F_OK), 0, "a chart of no data");
    free(text);
    cmd_free(&c);
    remove_dir(dir);
}

Test(launcher_compare, ctrl_c_stops_every_process_it_started, .timeout = 60)
{
    char dir[64], prefix[96], csv[128], how[64];
    struct cmd_opts opts = {
        .timeout_ms = 40000,
        .signal_when = "[run 2/2]", /* the green server is running */
        .signal = SIGINT,
    };
    const char *args[] = {
        "--connections", "20", "--duration",       "5s",     "--output",
        prefix,          "--", HTTP_THREADED_PATH, "{port}", NULL};
    struct cmd c;

    make_dir(dir, sizeof(dir));
    opts.dir = dir;
    snprintf(prefix, sizeof(prefix), "%s/int", dir);
    snprintf(csv, sizeof(csv), "%s.csv", prefix);
    compare(args, &opts, &c);
    cr_assert(c.signaled, "never reached run 2:\n%s", c.err);
    /* bash exits 130 from its INT trap, after stopping the runs. */
    cr_expect(cmd_exited_with(&c, 130), "%s\n%s",
              cmd_describe(&c, how, sizeof(how)), c.err);
    cr_expect_neq(access(csv, F_OK), 0, "results of an interrupted run");
    cmd_free(&c);
    remove_dir(dir);
}
