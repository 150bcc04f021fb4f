/*
 * diff_progs: the differential tests (DESIGN.md invariant 6). Each program
 * of tests/progs/ runs natively and under LD_PRELOAD=libgreen.so with
 * GREEN_LOOPS=2 (some also with 1); stdout and the way the process ended
 * must be identical. sleepers and sleeps also report on stderr how many OS
 * threads the green run used and how late its sleeps woke, which are bounded
 * here. Paths come from tests/meson.build.
 *
 * Runs the tests one at a time (jobs = 1 unless --jobs says otherwise),
 * since the timing bounds assume the machine is not busy with other tests.
 */
#include "diff_run.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GREEN_LIB_PATH
#error "tests/meson.build defines GREEN_LIB_PATH and PROG_<NAME>"
#endif

/* Per run. Criterion's per-test .timeout covers the several runs of one
 * test. */
enum { RUN_TIMEOUT_MS = 20000 };

/* stdout, stderr shown in a failure message are cut to this length. */
enum { SHOW = 3000 };

static const int loops_2[] = {2, 0};
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

/*
 * Runs prog natively (which must end with exit code expect) and then green
 * with each GREEN_LOOPS value of the 0-terminated list loops; each green run
 * must print the same stdout and end the same way. check, if not NULL, gets
 * every green run for further assertions.
 */
static void same_as_native(const char *prog, int expect, const int *loops,
                           void (*check)(const struct run *green, int loops))
{
    struct run native, green;
    char how[64], green_how[64];

    run_native(prog, &native);
    /* Criterion formats a message only when the assertion fails, so its
     * arguments must not be what fills how. */
    run_describe(&native, how, sizeof(how));
    cr_assert(run_exited_with(&native, expect),
              "%s natively: expected exit %d, got %s\nstderr:\n%.*s",
              run_name(prog), expect, how, SHOW, native.err);
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
        if (check)
            check(&green, *n);
        run_free(&green);
    }
    run_free(&native);
}

Test(diff, create_join_same_output, .timeout = 60)
{
    same_as_native(PROG_CREATE_JOIN, 0, loops_2_1, NULL);
}

Test(diff, detached_threads_finish_and_refuse_join, .timeout = 60)
{
    same_as_native(PROG_DETACHED, 0, loops_2, NULL);
}

Test(diff, exit_thread_values_reach_joiner, .timeout = 60)
{
    same_as_native(PROG_EXIT_THREAD, 0, loops_2, NULL);
}

Test(diff, exit_cleanup_handlers_run_as_native, .timeout = 60)
{
    same_as_native(PROG_EXIT_CLEANUP, 0, loops_2, NULL);
}

Test(diff, exit_main_waits_for_last_thread_and_runs_atexit, .timeout = 60)
{
    same_as_native(PROG_EXIT_MAIN, 0, loops_2_1, NULL);
}

Test(diff, join_main_gets_value_of_main_pthread_exit, .timeout = 60)
{
    same_as_native(PROG_JOIN_MAIN, 0, loops_2, NULL);
}

Test(diff, exit_from_thread_ends_process_with_status_3, .timeout = 60)
{
    same_as_native(PROG_EXIT_FROM_THREAD, 3, loops_2_1, NULL);
}

Test(diff, return_status_of_main_is_exit_status, .timeout = 60)
{
    same_as_native(PROG_RETURN_STATUS, 7, loops_2, NULL);
}

Test(diff, nested_tree_sums_same_output, .timeout = 60)
{
    same_as_native(PROG_NESTED, 0, loops_2_1, NULL);
}

Test(diff, cancel_runs_cleanup_handlers_and_joins_canceled, .timeout = 60)
{
    same_as_native(PROG_CANCEL, 0, loops_2_1, NULL);
}

Test(diff, deep_recursion_fits_default_and_asked_stacks, .timeout = 60)
{
    same_as_native(PROG_DEEP_STACK, 0, loops_2, NULL);
}

Test(diff, fork_from_thread_and_main_children_run_and_exit, .timeout = 60)
{
    same_as_native(PROG_FORK_CHILD, 0, loops_2_1, NULL);
}

/* A child forked while its parent had one thread keeps green threads: its
 * 2,000 sleepers fit on the workers and sleep at once. */
static void check_green_daemon(const struct run *green, int loops)
{
    long threads = run_stderr_value(green, "os_threads");
    long wall = run_stderr_value(green, "wall_ms");

    cr_expect(threads > 0 && threads <= loops + 3,
              "fork_daemon, GREEN_LOOPS=%d: the child had %ld OS threads, "
              "want 1..%d",
              loops, threads, loops + 3);
    cr_expect(wall >= 200 && wall < 2000,
              "fork_daemon, GREEN_LOOPS=%d: the child's sleepers took %ld "
              "ms, want 200..1999",
              loops, wall);
}

Test(diff, forked_daemon_and_prefork_children_run_green, .timeout = 90)
{
    same_as_native(PROG_FORK_DAEMON, 0, loops_2_1, check_green_daemon);
}

Test(diff, create_out_of_address_space_gives_eagain, .timeout = 60)
{
    same_as_native(PROG_CREATE_ENOMEM, 0, loops_2, NULL);
}

Test(diff, create_limit_unlimited_by_default, .timeout = 60)
{
    same_as_native(PROG_CREATE_LIMIT, 0, loops_2, NULL);
}

Test(diff, join_errors_same_codes, .timeout = 60)
{
    same_as_native(PROG_JOIN_ERRORS, 0, loops_2, NULL);
}

Test(diff, errno_stays_per_thread_across_switches, .timeout = 60)
{
    same_as_native(PROG_ERRNO_ISOLATION, 0, loops_2_1, NULL);
}

Test(diff, self_equal_ids_unique_and_match_creator, .timeout = 60)
{
    same_as_native(PROG_SELF_EQUAL, 0, loops_2, NULL);
}

Test(diff, misc_ids_same_answers, .timeout = 60)
{
    same_as_native(PROG_MISC_IDS, 0, loops_2, NULL);
}

/* Green sleeps must not wake early (the program checks that) nor late:
 * the median under 5 ms and the worst under 20 ms. */
static void check_oversleep(const struct run *green, int loops)
{
    long median = run_stderr_value(green, "median_oversleep_us");
    long max = run_stderr_value(green, "max_oversleep_us");

    cr_expect(median >= 0 && median < 5000,
              "sleeps, GREEN_LOOPS=%d: median oversleep %ld us, want < 5000",
              loops, median);
    cr_expect(max >= 0 && max < 20000,
              "sleeps, GREEN_LOOPS=%d: max oversleep %ld us, want < 20000",
              loops, max);
}

Test(diff, sleeps_last_long_enough_and_wake_on_time, .timeout = 60)
{
    same_as_native(PROG_SLEEPS, 0, loops_2, check_oversleep);
}

/* Sleeping green threads fit on the workers plus a few other OS threads
 * (main's own, helpers), and sleep at once: the run takes about one sleep
 * of sleep_ms. */
static void expect_green_sleepers(const char *prog, const struct run *green,
                                  int loops, long sleep_ms)
{
    long threads = run_stderr_value(green, "os_threads");
    long wall = run_stderr_value(green, "wall_ms");

    cr_expect(threads > 0 && threads <= loops + 3,
              "%s, GREEN_LOOPS=%d: %ld OS threads, want 1..%d", prog, loops,
              threads, loops + 3);
    cr_expect(wall >= sleep_ms && wall < 3000,
              "%s, GREEN_LOOPS=%d: took %ld ms, want %ld..2999", prog, loops,
              wall, sleep_ms);
}

/* 10,000 threads sleep 200 ms. */
static void check_green_sleepers(const struct run *green, int loops)
{
    expect_green_sleepers("sleepers", green, loops, 200);
}

Test(diff, sleepers_are_few_os_threads_sleeping_at_once, .timeout = 60)
{
    same_as_native(PROG_SLEEPERS, 0, loops_2_1, check_green_sleepers);
}

/* 8 threads each wait for system("sleep 0.3") at once: they overlap
 * (one after another on a worker, they took 2.5 s). */
static void check_green_shell(const struct run *green, int loops)
{
    long wall = run_stderr_value(green, "system_wall_ms");

    cr_expect(wall >= 300 && wall < 1500,
              "shell_calls, GREEN_LOOPS=%d: 8 system calls at once took %ld "
              "ms, want 300..1499",
              loops, wall);
}

Test(diff, system_popen_and_pclose_leave_the_worker_free, .timeout = 90)
{
    same_as_native(PROG_SHELL_CALLS, 0, loops_2_1, check_green_shell);
}

/* A wait for one child parks on its pidfd: signals and cancels reach it
 * as natively. */
Test(diff, waitpid_for_one_child_takes_signals_and_cancels, .timeout = 60)
{
    same_as_native(PROG_WAIT_CHILD, 0, loops_2_1, NULL);
}

/* C11's thrd_create makes green threads too: 1,000 sleep 300 ms. */
static void check_green_c11(const struct run *green, int loops)
{
    expect_green_sleepers("c11_threads", green, loops, 300);
}

Test(diff, c11_threads_are_green_threads, .timeout = 60)
{
    same_as_native(PROG_C11_THREADS, 0, loops_2_1, check_green_c11);
}

/*
 * Green only: natively 100,000 threads pass the kernel's pid_max (32,768
 * here). 100,000 default (8 MiB) stacks alive at once, beyond the 32,000
 * that two mappings per stack allowed under vm.max_map_count, on the
 * workers' OS threads alone.
 */
Test(diff, hundred_thousand_threads_alive_at_once_green, .timeout = 120)
{
    static const char want[] = "created 100000, alive at once 100000\n"
                               "joined 100000 with their own return value\n";

    for (const int *loops = loops_2_1; *loops; loops++) {
        struct run green;
        long threads, wall;
        int rc = run_prog_green(PROG_MANY_ALIVE, *loops, 60000, &green);

        cr_assert_eq(rc, 0, "cannot start many_alive: %s", strerror(-rc));
        cr_assert(!green.timed_out && WIFEXITED(green.status) &&
                      WEXITSTATUS(green.status) == 0,
                  "many_alive, GREEN_LOOPS=%d: did not exit 0\nstderr:\n%s",
                  *loops, green.err);
        cr_expect_str_eq(green.out, want, "GREEN_LOOPS=%d", *loops);
        threads = run_stderr_value(&green, "os_threads");
        wall = run_stderr_value(&green, "wall_ms");
        cr_expect(threads > 0 && threads <= *loops + 3,
                  "many_alive, GREEN_LOOPS=%d: %ld OS threads, want 1..%d",
                  *loops, threads, *loops + 3);
        cr_log_info("many_alive, GREEN_LOOPS=%d: %ld ms", *loops, wall);
        run_free(&green);
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
