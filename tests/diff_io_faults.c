/*
 * diff_io_faults: the differential tests of blocking I/O's failures and
 * edges (issue 5, DESIGN.md invariant 6). io_errors (refused connect,
 * SO_RCVTIMEO and SO_SNDTIMEO, EPIPE and SIGPIPE, ECONNRESET), io_emfile
 * (a server out of descriptors) and io_accept (16 threads in accept() on
 * one socket) run natively and under LD_PRELOAD=libgreen.so with
 * GREEN_LOOPS=2 and 1; stdout and the way the process ended must be
 * identical, and stderr's "max_late_us", "os_threads_max" and
 * "acceptors_used" are bounded for green runs.
 *
 * Two programs are not diffed. io_close closes (and dup2()s over) a socket
 * another thread is blocked reading: natively the reader stays blocked,
 * green it gets EBADF, as libgreen documents, so each run's stdout is
 * compared with the text expected for it. io_stdio reads its stdin and
 * writes its stdout from several threads; this runner gives it pipes (and a
 * socket) whose descriptions it shares, and checks that they never have
 * O_NONBLOCK (libgreen must not change a flag that other holders of the
 * description see) and that every record came back once.
 *
 * Runs the tests one at a time (jobs = 1 unless --jobs says otherwise),
 * since the timing bounds assume the machine is not busy with other tests.
 */
#include "diff_same.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GREEN_LIB_PATH
#error "tests/meson.build defines GREEN_LIB_PATH and PROG_IO_<NAME>"
#endif

/* Per run: each program takes about a second at most, natively or green.
 * Criterion's per-test .timeout covers the several runs of one test and is
 * longer than their sum, so that a hung program is killed by its runner,
 * not left behind. */
enum { RUN_TIMEOUT_MS = 10000 };

/* stdout, stderr shown in a failure message are cut to this length. */
enum { SHOW = 3000 };

static const int loops_2_1[] = {2, 1, 0};

static void run_native(const char *prog, struct run *r)
{
    int rc = run_prog(prog, NULL, RUN_TIMEOUT_MS, r);

    cr_assert_eq(rc, 0, "cannot start %s: %s", prog, strerror(-rc));
}

static void run_green(const char *prog, int loops, struct run *r)
{
    int rc = run_prog_green(prog, loops, RUN_TIMEOUT_MS, r);

    cr_assert_eq(rc, 0, "cannot start %s green: %s (is %s built?)", prog,
                 strerror(-rc), GREEN_LIB_PATH);
}

/* --- diffed programs (diff_same.c), with checks of their own ------------ */

/* io_errors: libgreen's deadlines are exact, so no green timeout ends
 * early at all ("max_early_us"). */
static void never_early(const struct run *green, int loops)
{
    long early = run_stderr_value(green, "max_early_us");

    cr_expect(early == 0,
              "io_errors, GREEN_LOOPS=%d: a timed-out call returned %ld us "
              "before its timeout\ngreen stderr:\n%.*s",
              loops, early, SHOW, green->err);
}

/* io_accept: connections reach more than one acceptor. */
static void spread(const struct run *green, int loops)
{
    long used = run_stderr_value(green, "acceptors_used");

    cr_expect(used >= 2,
              "io_accept, GREEN_LOOPS=%d: %ld acceptors got connections, "
              "want 2 or more\ngreen stderr:\n%.*s",
              loops, used, SHOW, green->err);
}

/* prog natively and green with GREEN_LOOPS 2 and 1: same stdout, same end,
 * checks (enum diff_checks) and extra of each green run. */
static void same_as_native(const char *prog, int checks,
                           void (*extra)(const struct run *, int))
{
    diff_same(&(struct diff_case){.prog = prog,
                                  .loops = loops_2_1,
                                  .checks = checks,
                                  .timeout_ms = RUN_TIMEOUT_MS,
                                  .extra = extra});
}

/* io_errors' stdout says "EARLY" for a timeout that ended more than 10 ms
 * early, as a kernel that counts in jiffies might (natively it has not, so
 * far); libgreen's deadlines are exact, so green runs must never end one
 * early at all. Timed-out calls may return up to 20 ms late green. */
Test(diff_io_faults, errors_and_timeouts_are_as_native_and_on_time,
     .timeout = 60)
{
    same_as_native(PROG_IO_ERRORS, DIFF_ON_TIME, never_early);
}

/* Readers sharing one eventfd, an accepted socket's inherited timeout, a
 * closed number reused by an eventfd: on one worker, a read that blocked
 * its OS thread would stop the program. */
Test(diff_io_faults, shared_and_reused_fds_behave_as_native, .timeout = 60)
{
    same_as_native(PROG_IO_SHARED_FDS, DIFF_NO_CHECK, NULL);
}

Test(diff_io_faults, server_out_of_fds_retries_and_serves_each_once,
     .timeout = 60)
{
    same_as_native(PROG_IO_EMFILE, DIFF_FEW_OS_THREADS, NULL);
}

Test(diff_io_faults, many_acceptors_accept_each_connection_once, .timeout = 60)
{
    same_as_native(PROG_IO_ACCEPT, DIFF_FEW_OS_THREADS, spread);
}

/* --- io_close: expected texts ------------------------------------------- */

/* Linux: a read() blocked on a socket outlives close() and dup2() of its
 * descriptor, since it holds the file description; shutdown() of a dup
 * ends it. */
static const char close_native[] =
    "close: a new socket got the closed number: yes\n"
    "close: reader still blocked after 500 ms\n"
    "reuse: reader of the new socket got \"fresh\"\n"
    "close: shutdown() of a dup released the reader: returned 0\n"
    "dup2: reader still blocked after 500 ms\n"
    "dup2: a new reader of the number got \"other\"\n"
    "dup2: shutdown() of a dup released the reader: returned 0\n";

/* libgreen: close() and dup2() wake a green thread waiting on the
 * descriptor with EBADF; the number is free for reuse at once. */
static const char close_green[] =
    "close: a new socket got the closed number: yes\n"
    "close: reader returned -1 EBADF\n"
    "reuse: reader of the new socket got \"fresh\"\n"
    "dup2: reader returned -1 EBADF\n"
    "dup2: a new reader of the number got \"other\"\n";

static void expect_output(const char *how_run, const struct run *r,
                          const char *expected)
{
    char how[64];

    run_describe(r, how, sizeof(how));
    cr_expect(run_exited_with(r, 0),
              "io_close %s: expected exit 0, got %s\nstdout:\n%.*s"
              "stderr:\n%.*s",
              how_run, how, SHOW, r->out, SHOW, r->err);
    cr_expect_str_eq(r->out, expected,
                     "io_close %s: stdout differs\n--- expected\n%s"
                     "--- got (%s)\n%.*s--- stderr\n%.*s",
                     how_run, expected, how, SHOW, r->out, SHOW, r->err);
}

Test(diff_io_faults, close_and_dup2_natively_leave_a_reader_blocked,
     .timeout = 30)
{
    struct run native;

    run_native(PROG_IO_CLOSE, &native);
    expect_output("natively", &native, close_native);
    run_free(&native);
}

Test(diff_io_faults, close_and_dup2_green_wake_a_reader_with_ebadf,
     .timeout = 60)
{
    for (const int *n = loops_2_1; *n; n++) {
        struct run green;
        char how_run[32];

        run_green(PROG_IO_CLOSE, *n, &green);
        snprintf(how_run, sizeof(how_run), "GREEN_LOOPS=%d", *n);
        expect_output(how_run, &green, close_green);
        run_free(&green);
    }
}

/* --- io_stdio: shared descriptions -------------------------------------- */

/* Records io_stdio gets on stdin, "%07d\n" each: more than a pipe holds. */
enum { RECORDS = 20000, RECORD = 8 };

static char *stdio_input(void)
{
    char *input = malloc((size_t)RECORDS * RECORD + 1);

    cr_assert_not_null(input);
    for (int i = 0; i < RECORDS; i++)
        snprintf(input + (size_t)i * RECORD, RECORD + 1, "%07d\n", i);
    return input;
}

/* Whether out is every record once, in any order, then the summary;
 * describes the first problem in why. */
static bool echoed_once(const char *out, size_t len, char *why, size_t size)
{
    static const char summary[] =
        "records=20000 sum=199990000\n"
        "stdin O_NONBLOCK: no, stdout O_NONBLOCK: no\n";
    static unsigned char seen[RECORDS];
    size_t at = 0;
    int count = 0;

    memset(seen, 0, sizeof(seen));
    for (; at < len && out[at] >= '0' && out[at] <= '9'; at += RECORD) {
        char *end;
        long v = strtol(out + at, &end, 10);

        if (end != out + at + RECORD - 1 || *end != '\n' || v < 0 ||
            v >= RECORDS || seen[v]++) {
            snprintf(why, size, "bad or repeated record at byte %zu", at);
            return false;
        }
        count++;
    }
    if (count != RECORDS) {
        snprintf(why, size, "%d of %d records came back", count, RECORDS);
        return false;
    }
    if (strcmp(out + at, summary) != 0) {
        snprintf(why, size, "the summary is not \"%s\"", summary);
        return false;
    }
    return true;
}

/* Runs io_stdio natively (loops 0) or green with stdout as given, and
 * checks what came out and the flags of the descriptions. */
static void stdio_run(int loops, enum run_stdout stdout_kind)
{
    static const char *kinds[] = {"pipe", "socket"};
    char preload[4096], loops_env[32], how[64], why[128], what[64];
    const char *green_env[] = {preload, loops_env, NULL};
    char *input = stdio_input();
    struct run r;
    int flags, rc;

    snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", GREEN_LIB_PATH);
    snprintf(loops_env, sizeof(loops_env), "GREEN_LOOPS=%d", loops);
    if (loops)
        snprintf(what, sizeof(what), "io_stdio, stdout a %s, GREEN_LOOPS=%d",
                 kinds[stdout_kind], loops);
    else
        snprintf(what, sizeof(what), "io_stdio, stdout a %s, natively",
                 kinds[stdout_kind]);
    cr_assert(!loops || access(GREEN_LIB_PATH, R_OK) == 0, "%s: no %s", what,
              GREEN_LIB_PATH);

    rc = run_prog_stdio(PROG_IO_STDIO, loops ? green_env : NULL, stdout_kind,
                        input, (size_t)RECORDS * RECORD, RUN_TIMEOUT_MS, &r,
                        &flags);
    free(input);
    cr_assert_eq(rc, 0, "%s: cannot start it: %s", what, strerror(-rc));
    run_describe(&r, how, sizeof(how));
    cr_expect(run_exited_with(&r, 0),
              "%s: expected exit 0, got %s\nstderr:\n%.*s", what, how, SHOW,
              r.err);
    cr_expect(!(flags & O_NONBLOCK),
              "%s: O_NONBLOCK seen on the stdin, stdout or stderr description "
              "it shares with the runner\nstderr:\n%.*s",
              what, SHOW, r.err);
    cr_expect(echoed_once(r.out, r.out_len, why, sizeof(why)),
              "%s: %s\nstdout ends:\n%.*s\nstderr:\n%.*s", what, why, 200,
              r.out_len > 200 ? r.out + r.out_len - 200 : r.out, SHOW, r.err);
    run_free(&r);
}

Test(diff_io_faults, inherited_pipe_and_socket_stay_blocking_natively,
     .timeout = 30)
{
    stdio_run(0, RUN_STDOUT_PIPE);
    stdio_run(0, RUN_STDOUT_SOCKET);
}

Test(diff_io_faults, inherited_pipe_and_socket_stay_blocking_green,
     .timeout = 60)
{
    for (const int *n = loops_2_1; *n; n++) {
        stdio_run(*n, RUN_STDOUT_PIPE);
        stdio_run(*n, RUN_STDOUT_SOCKET);
    }
}

int main(int argc, char *argv[])
{
    struct criterion_test_set *tests = criterion_initialize();
    int result = 0;

    criterion_options.jobs = 1; /* --jobs on the command line still wins */
    if (criterion_handle_args(argc, argv, true))
        result = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return result;
}
