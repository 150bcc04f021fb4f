/*
 * diff_sync: the differential tests of the synchronization objects (issue
 * 4, DESIGN.md invariant 6). Each tests/progs/sync_*.c program runs natively
 * and under LD_PRELOAD=libgreen.so with GREEN_LOOPS=2 (the stress, the
 * producer/consumer and the spinlock ones also with 1); stdout and the way
 * the process ended must be identical. The programs also report on stderr
 * how many OS threads they saw at their busiest ("os_threads_max"), which
 * for a green run must stay near the loop count wherever the program has
 * many threads, and the worst lateness of their timed waits
 * ("max_late_us"), which is bounded here. Paths come from tests/meson.build.
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
#error "tests/meson.build defines GREEN_LIB_PATH and PROG_SYNC_<NAME>"
#endif

/* Per run, and longer for sync_stress: natively its chain of 20,000 mutex
 * hand-offs slows down a lot on a busy machine (under a second idle, 15 to
 * 30 s beside one busy process on two cores). Criterion's per-test
 * .timeout covers the several runs of one test and is longer than their
 * sum, so that a hung program is killed by its runner, not left behind. */
enum { RUN_TIMEOUT_MS = 20000, STRESS_TIMEOUT_MS = 60000 };

/* stdout, stderr shown in a failure message are cut to this length. */
enum { SHOW = 3000 };

/* A timed wait may end this late, green, and no later (natively it is
 * well under 1 ms on an idle machine). */
enum { MAX_LATE_US = 20000 };

static const int loops_2[] = {2, 0};
static const int loops_2_1[] = {2, 1, 0};

static void run_native(const char *prog, int timeout_ms, struct run *r)
{
    int rc = run_prog(prog, NULL, timeout_ms, r);

    cr_assert_eq(rc, 0, "cannot start %s: %s", prog, strerror(-rc));
}

static void run_green(const char *prog, int loops, int timeout_ms,
                      struct run *r)
{
    int rc = run_prog_green(prog, loops, timeout_ms, r);

    cr_assert_eq(rc, 0, "cannot start %s green: %s (is %s built?)", prog,
                 strerror(-rc), GREEN_LIB_PATH);
}

/* What to check of a green run besides stdout and the exit status. */
enum checks {
    NO_CHECK = 0,
    FEW_OS_THREADS = 1, /* os_threads_max <= loops + 3 */
    ON_TIME = 2,        /* max_late_us < MAX_LATE_US */
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
                  "%s, GREEN_LOOPS=%d: a timed wait ended %ld us after its "
                  "deadline, want < %d\ngreen stderr:\n%.*s",
                  name, loops, late, MAX_LATE_US, SHOW, green->err);
    }
}

/*
 * Runs prog natively (which must exit 0) and then green with each
 * GREEN_LOOPS value of the 0-terminated list loops, each run killed after
 * timeout_ms; each green run must print the same stdout, end the same way,
 * and pass checks.
 */
static void same_as_native_within(const char *prog, const int *loops,
                                  int checks, int timeout_ms)
{
    struct run native, green;
    char how[64], green_how[64];

    run_native(prog, timeout_ms, &native);
    /* Criterion formats a message only when the assertion fails, so its
     * arguments must not be what fills how. */
    run_describe(&native, how, sizeof(how));
    cr_assert(run_exited_with(&native, 0),
              "%s natively: expected exit 0, got %s\nstderr:\n%.*s", run_name(prog),
              how, SHOW, native.err);
    for (const int *n = loops; *n; n++) {
        run_green(prog, *n, timeout_ms, &green);
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

static void same_as_native(const char *prog, const int *loops, int checks)
{
    same_as_native_within(prog, loops, checks, RUN_TIMEOUT_MS);
}

Test(diff_sync, prodcons_condvars_and_semaphores_move_every_item_once,
     .timeout = 90)
{
    same_as_native(PROG_SYNC_PRODCONS, loops_2_1, FEW_OS_THREADS);
}

/* At most three threads live at once: no OS thread bound. */
Test(diff_sync, mutex_types_give_glibc_answers_and_time_out_on_time,
     .timeout = 60)
{
    same_as_native(PROG_SYNC_MUTEX_TYPES, loops_2, ON_TIME);
}

Test(diff_sync, cond_wakes_without_loss_and_times_out_on_time, .timeout = 60)
{
    same_as_native(PROG_SYNC_COND, loops_2, FEW_OS_THREADS | ON_TIME);
}

Test(diff_sync, rwlock_excludes_writers_and_prefers_them_when_asked,
     .timeout = 60)
{
    same_as_native(PROG_SYNC_RWLOCK, loops_2, FEW_OS_THREADS | ON_TIME);
}

Test(diff_sync, barrier_rounds_have_one_serial_thread_each, .timeout = 60)
{
    same_as_native(PROG_SYNC_BARRIER, loops_2, FEW_OS_THREADS);
}

/* A handful of threads: no OS thread bound. With one loop, the spinners
 * must let the holder that sleeps run. */
Test(diff_sync, spin_counts_exactly_and_spinners_let_a_sleeping_holder_run,
     .timeout = 90)
{
    same_as_native(PROG_SYNC_SPIN, loops_2_1, NO_CHECK);
}

Test(diff_sync, once_runs_a_blocking_init_once_for_all_callers, .timeout = 60)
{
    same_as_native(PROG_SYNC_ONCE, loops_2, FEW_OS_THREADS);
}

Test(diff_sync, shared_objects_work_with_another_process, .timeout = 60)
{
    same_as_native(PROG_SYNC_PSHARED, loops_2_1, NO_CHECK);
}

Test(diff_sync, keys_are_per_thread_and_destructors_run_at_exit, .timeout = 60)
{
    same_as_native(PROG_SYNC_KEYS, loops_2, FEW_OS_THREADS);
}

Test(diff_sync, sem_answers_as_glibc_and_named_one_is_posted_by_child,
     .timeout = 60)
{
    same_as_native(PROG_SYNC_SEM, loops_2, FEW_OS_THREADS | ON_TIME);
}

/* The constructor's thread is a real OS thread: one of the three extra
 * threads the bound allows. */
Test(diff_sync, sem_posts_racing_leaving_waiters_lose_no_unit, .timeout = 60)
{
    same_as_native(PROG_SYNC_SEM_RACE, loops_2_1, FEW_OS_THREADS);
}

/* sem_post is async-signal-safe: a handler's post wakes a worker asleep in
 * its loop, and one that lands inside the semaphore's own lock on its own
 * thread does not spin there forever. */
Test(diff_sync, signal_handlers_post_and_jump_as_natively, .timeout = 90)
{
    same_as_native(PROG_SYNC_SEM_SIGNAL, loops_2_1, FEW_OS_THREADS);
}

/* What a handler may do (re-arm itself, end its thread) and what sigaction
 * reports afterwards; a post leaves a semaphore alone once its unit is out,
 * so that the waiter may destroy it at once. */
Test(diff_sync, handlers_rearm_and_exit_and_posts_leave_the_semaphore,
     .timeout = 90)
{
    same_as_native(PROG_SIGNAL_HANDLERS, loops_2_1, NO_CHECK);
}

/* A signal ends the blocking call of the thread it is for with EINTR, or
 * lets it go on under SA_RESTART, call by call as signal(7) lists; the
 * handler runs on that thread; masks are per thread (a call's own too);
 * sigwait takes what every thread blocks. The previous library hangs in
 * the first case: a green read was never interrupted. */
Test(diff_sync, signals_end_blocking_calls_as_natively, .timeout = 90)
{
    same_as_native(PROG_SIGNAL_EINTR, loops_2_1, NO_CHECK);
}

/* Signals for threads that are ready or computing, sigwait under a flood
 * of a blocked SIG_DFL signal, a taker only the workers' threads lists
 * know, one-shot handlers, dispositions changed while a signal is
 * pending, SIGCHLD that must not end pause, siglongjmp's masks and an
 * itimer whose handler jumps out of a read 2,000 times, a signalfd, the
 * masks exec and posix_spawn pass on, a forked child's poll. The build
 * reviewed first hangs in its first case. */
Test(diff_sync, signals_reach_ready_computing_and_waiting_threads,
     .timeout = 90)
{
    same_as_native(PROG_SIGNAL_EDGES, loops_2_1, NO_CHECK);
}

/* sigsetmask, sighold, sigpause, sigset, sigignore, siginterrupt: glibc
 * makes them where no hook sees them, so they are ours too. */
Test(diff_sync, bsd_and_system_v_signal_calls_act_on_green_threads,
     .timeout = 60)
{
    same_as_native(PROG_SIGNAL_LEGACY, loops_2_1, FEW_OS_THREADS);
}

Test(diff_sync, mixed_os_and_green_waiters_wake_each_other, .timeout = 60)
{
    same_as_native(PROG_SYNC_MIXED, loops_2, FEW_OS_THREADS);
}

Test(diff_sync, stress_10000_threads_on_one_mutex_exact_totals, .timeout = 200)
{
    same_as_native_within(PROG_SYNC_STRESS, loops_2_1, FEW_OS_THREADS,
                          STRESS_TIMEOUT_MS);
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
