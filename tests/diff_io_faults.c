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
#include "diff_run.h"

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

/* A timed-out call may return this late, green, and no later (natively
 * up to a jiffy or two, 4 to 8 ms at HZ=250). */
enum { MAX_LATE_US = 20000 };

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

/* --- diffed programs ---------------------------------------------------- */

/* What to check of a green run besides stdout and the exit status. */
enum checks {
    NO_CHECK = 0,
    FEW_OS_THREADS = 1, /* os_threads_max <= loops + 3 */
    ON_TIME = 2,        /* max_late_us < MAX_LATE_US */
    SPREAD = 4,         /* acceptors_used >= 2 */
    NEVER_EARLY = 8,    /* max_early_us == 0 */
};

static void check_green(const char *name, const struct run *green, int loops,
                        int checks)
{
    if (checks & FEW_OS_THREADS) {
        long threads = run_stderr_value(green, "os_threads_max");

        cr_expect(threads > 0 && threads <= loops + 3,
                  "%s, GREEN_LOOPS=%d: %ld OS threads at its busiest, "
                  "want 1..%d\ngreen stderr:\n%.*s",
                  name, loops, threads, loops + 3, SHOW, green->err);
    }
    if (checks & ON_TIME) {
        long late = run_stderr_value(green, "max_late_us");

        cr_expect(late >= 0 && late < MAX_LATE_US,
                  "%s, GREEN_LOOPS=%d: a timed-out call returned %ld us after "
                  "its timeout, want < %d\ngreen stderr:\n%.*s",
                  name, loops, late, MAX_LATE_US, SHOW, green->err);
    }
    if (checks & NEVER_EARLY) {
        long early = run_stderr_value(green, "max_early_us");

        cr_expect(early == 0,
                  "%s, GREEN_LOOPS=%d: a timed-out call returned %ld us "
                  "before its timeout\ngreen stderr:\n%.*s",
                  name, loops, early, SHOW, green->err);
    }
    if (checks & SPREAD) {
        long used = run_stderr_value(green, "acceptors_used");

        cr_expect(used >= 2,
                  "%s, GREEN_LOOPS=%d: %ld acceptors got connections, want "
                  "2 or more\ngreen stderr:\n%.*s",
                  name, loops, used, SHOW, green->err);
    }
}

/*
 * Runs prog natively (which must exit 0) and then green with each
 * GREEN_LOOPS value of the 0-terminated list loops; each green run must
 * print the same stdout, end the same way, and pass checks.
 */
static void same_as_native(const char *prog, const int *loops, int checks)
{
    struct run native, green;
    char how[64], green_how[64];

    run_native(prog, &native);
    /* Criterion formats a message only when the assertion fails, so its
     * arguments must not be what fills how. */
    run_describe(&native, how, sizeof(how));
    cr_assert(run_exited_with(&native, 0),
              "%s natively: expected exit 0, got %s\nstdout:\n%.*s"
              "stderr:\n%.*s",
              run_name(prog), how, SHOW, native.out, SHOW, native.err);
    for (const int *n = loops; *n; n++) {
        run_green(prog, *n, &green);
        run_describe(&green, green_how, sizeof(green_how));
        cr_expect(run_same_end(&native, &green),
                  "%s, GREEN_LOOPS=%d: natively %s, green %s\n"
                  "green stderr:\n%.*s",
                  run_name(prog), *n, how, green_how, SHOW, green.err);
        cr_expect_str_eq(green.out, native.out,
                         "%s, GREEN_LOOPS=%d: stdout differs\n"
                         "--- native\n%.*s--- green (%s)\n%.*s"
                         "--- green stderr\n%.*s",
                         run_name(prog), *n, SHOW, native.out, green_how, SHOW,
                         green.out, SHOW, green.err);
        check_green(run_name(prog), &green, *n, checks);
        run_free(&green);
    }
    run_free(&native);
}

/* io_errors' stdout says "EARLY" for a timeout that ended more than 10 ms
 * early, as a kernel that counts in jiffies might (natively it has not, so
 * far); libgreen's deadlines are exact, so green runs must never end one
 * early at all. */
Test(diff_io_faults, errors_and_timeouts_are_as_native_and_on_time,
     .timeout = 60)
{
    same_as_native(PROG_IO_ERRORS, loops_2_1, ON_TIME | NEVER_EARLY);
}

/* Readers sharing one eventfd, an accepted socket's inherited timeout, a
 * closed number reused by an eventfd: on one worker, a read that blocked
 * its OS thread would stop the program. */
Test(diff_io_faults, shared_and_reused_fds_behave_as_native, .timeout = 60)
{
    same_as_native(PROG_IO_SHARED_FDS, loops_2_1, NO_CHECK);
}

Test(diff_io_faults, server_out_of_fds_retries_and_serves_each_once,
     .timeout = 60)
{
    same_as_native(PROG_IO_EMFILE, loops_2_1, FEW_OS_THREADS);
}

Test(diff_io_faults, many_acceptors_accept_each_connection_once, .timeout = 60)
{
    same_as_native(PROG_IO_ACCEPT, loops_2_1, FEW_OS_THREADS | SPREAD);
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
