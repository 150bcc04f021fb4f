/*
 * diff_real: the differential tests (DESIGN.md invariant 6) with real,
 * unmodified programs rather than our own small ones. tests/real/ holds
 * scripts run by an interpreter of the system; the interpreter, large and
 * threaded and built without a thought of libgreen, is the program under
 * test. Each runs natively and under LD_PRELOAD=libgreen.so with
 * GREEN_LOOPS=2 and 1; stdout and the way the process ended must be
 * identical, and what the script reports on stderr is bounded here. Paths
 * come from tests/meson.build.
 *
 * Runs the tests one at a time (jobs = 1 unless --jobs says otherwise),
 * since the timing bounds assume the machine is not busy with other tests.
 */
#include "diff_same.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GREEN_LIB_PATH
#error "tests/meson.build defines GREEN_LIB_PATH and REAL_<NAME>"
#endif

/* The interpreter named by the scripts' shebang lines. scripts/test
 * installs it (scripts/lib.sh), so a missing one is a failure, not a
 * skip: a skip would let CI pass without ever running a real program. */
#define PYTHON3 "/usr/bin/python3"

/* Per run; py_threads takes about 3 s natively on two cores. Criterion's
 * per-test .timeout covers the three runs of one test and is longer than
 * their sum, so that a hung run is killed by its runner. */
enum { RUN_TIMEOUT_MS = 25000 };

/* stdout, stderr shown in a failure message are cut to this length. */
enum { SHOW = 3000 };

/* Natively py_threads has 200 clients and up to 200 connection threads
 * alive at once: fewer than this many OS threads would mean that the
 * count, and with it the green bound, proves nothing. */
enum { NATIVE_MIN_OS_THREADS = 100 };

/* 1,000 sleeps of 300 ms at once take 300 ms and a little; one after
 * another, or a few at a time on the workers, far more. */
enum { SLEEP_MS = 300, MAX_SLEEP_WALL_MS = 2000 };

static const int loops_2_1[] = {2, 1, 0};

/*
 * Runs the script prog natively (which must exit 0) and then green with
 * GREEN_LOOPS 2 and 1: same stdout, same end (tests/diff_same.c).
 * check_native and check_green, if not NULL, get the native run and every
 * green run for further assertions.
 */
static void same_as_native(const char *prog,
                           void (*check_native)(const struct run *native),
                           void (*check_green)(const struct run *green,
                                               int loops))
{
    struct diff_case c = {
        .prog = prog,
        .loops = loops_2_1,
        .timeout_ms = RUN_TIMEOUT_MS,
        .extra = check_green,
        .native_extra = check_native,
    };

    cr_assert_eq(access(PYTHON3, X_OK), 0,
                 "%s is missing: install python3 (scripts/test does)", PYTHON3);
    diff_same(&c);
}

/* Natively every Python thread is an OS thread: the count the green bound
 * relies on must be able to exceed it. */
static void check_native_py_threads(const struct run *native)
{
    long threads = run_stderr_value(native, "os_threads");
    long wall = run_stderr_value(native, "sleep_wall_ms");

    cr_expect(threads > NATIVE_MIN_OS_THREADS,
              "py_threads natively: %ld OS threads with the clients alive, "
              "want > %d\nstderr:\n%.*s",
              threads, NATIVE_MIN_OS_THREADS, SHOW, native->err);
    cr_log_info("py_threads natively: os_threads=%ld sleep_wall_ms=%ld",
                threads, wall);
}

/* The 200 clients and their connection threads fit on the workers plus a
 * few other OS threads (main's own, helpers), and the 1,000 sleepers sleep
 * at once. */
static void check_green_py_threads(const struct run *green, int loops)
{
    long threads = run_stderr_value(green, "os_threads");
    long wall = run_stderr_value(green, "sleep_wall_ms");

    cr_expect(threads > 0 && threads <= loops + 3,
              "py_threads, GREEN_LOOPS=%d: %ld OS threads, want 1..%d", loops,
              threads, loops + 3);
    cr_expect(wall >= SLEEP_MS && wall < MAX_SLEEP_WALL_MS,
              "py_threads, GREEN_LOOPS=%d: 1,000 sleepers took %ld ms, "
              "want %d..%d",
              loops, wall, SLEEP_MS, MAX_SLEEP_WALL_MS - 1);
    cr_log_info("py_threads, GREEN_LOOPS=%d: os_threads=%ld "
                "sleep_wall_ms=%ld",
                loops, threads, wall);
}

Test(diff_real, python_threads_run_as_native_on_few_os_threads, .timeout = 120)
{
    same_as_native(REAL_PY_THREADS, check_native_py_threads,
                   check_green_py_threads);
}

/*
 * CPython starts a subprocess with vfork(); before exec, the child closes
 * the fds it does not pass on, in the parent's memory. Those closes are
 * the child's: threads of the parent waiting on the same numbers must go on
 * waiting, and get their data: libgreen makes vfork a fork. Before, the
 * parent's waits ended with EBADF (see tests/real/py_subprocess.py).
 */
Test(diff_real, python_subprocess_closes_leave_parent_waiters_alone,
     .timeout = 90)
{
    same_as_native(REAL_PY_SUBPROCESS, NULL, NULL);
}

/*
 * asyncio with threads: executor jobs, call_soon_threadsafe, a signal
 * handler whose C half writes to the loop's wakeup fd from whichever OS
 * thread the signal hits, streams and subprocesses; each must wake the
 * loop's epoll_wait. Also a loop per thread in 10 threads.
 */
Test(diff_real, python_asyncio_loop_wakes_for_threads_and_signals,
     .timeout = 90)
{
    same_as_native(REAL_PY_ASYNCIO, NULL, NULL);
}

/*
 * Sockets and the poll family from thread pools: ECONNREFUSED four ways,
 * socket timeouts (CPython waits them out in poll), select/poll/epoll
 * timeouts, readiness and hang-ups, shutdown() ending another thread's
 * accept and recv, and ThreadingHTTPServer under urllib from 64 threads.
 */
Test(diff_real, python_sockets_and_polls_from_threads_run_as_native,
     .timeout = 90)
{
    same_as_native(REAL_PY_NET, NULL, NULL);
}

/*
 * Signal handlers (run by CPython in the main thread) for os.kill from
 * threads, itimers and SIGCHLD; threading.Timer; timed waits that nobody
 * ends must last their timeout.
 */
Test(diff_real, python_signals_and_timed_waits_run_as_native, .timeout = 90)
{
    same_as_native(REAL_PY_SIGNALS, NULL, NULL);
}

/*
 * Signals that end blocking calls: Ctrl-C in sleep, select, accept, recv
 * and read; an itimer whose handler raises; pause(); SIGTERM taken by a
 * sigwait() thread while every thread blocks it; sigtimedwait, sigpending,
 * sigwaitinfo; pthread_kill of a sleeping thread. Without signals for
 * green threads the first sleep lasts its 20 s and the select never ends.
 */
Test(diff_real, python_signals_end_blocking_calls_as_native, .timeout = 90)
{
    same_as_native(REAL_PY_INTERRUPT, NULL, NULL);
}

/*
 * fork() while other threads work: multiprocessing's fork start method
 * (Process, Queue, Pipe, ProcessPoolExecutor) and os.fork in 16 threads,
 * whose children start threads of their own.
 */
Test(diff_real, python_fork_from_a_threaded_parent_runs_as_native,
     .timeout = 90)
{
    same_as_native(REAL_PY_FORK, NULL, NULL);
}

/*
 * A thread that polls in a loop with calls that return at once (select on
 * a ready fd, asyncio's epoll_wait with a zero timeout between callbacks,
 * multiprocessing.Pool's worker handler) while the thread it waits for
 * must run, on the same worker: a poll that does not park still yields
 * now and then (g_yield_now_and_then). Without it the other thread never
 * runs, and Pool hangs until the script's alarm ends it with
 * GREEN_LOOPS=1 (see tests/real/py_busy_poll.py).
 */
Test(diff_real, python_busy_poller_lets_other_threads_run, .timeout = 90)
{
    same_as_native(REAL_PY_BUSY_POLL, NULL, NULL);
}

/*
 * Waits that another thread of the process ends: waitpid (Popen.wait, and
 * asyncio's child watcher thread) and flock. They run on helper threads
 * (interpose/offloaded.c); in the worker they would block it, and with it
 * the thread that ends the wait (see tests/real/py_blocking.py).
 */
Test(diff_real, python_unhooked_waits_let_other_threads_run, .timeout = 90)
{
    same_as_native(REAL_PY_BLOCKING, NULL, NULL);
}

/*
 * A prefork server: the parent's threads and forked children accept on
 * one blocking listener. The parent's green accepts set O_NONBLOCK on the
 * shared description for each try; the children's accepts and F_GETFL
 * must not show it (see tests/real/py_prefork.py). Without the fix a race
 * that one green run showed about 9 times in 10; this test makes two.
 */
Test(diff_real, python_prefork_children_never_see_o_nonblock, .timeout = 90)
{
    same_as_native(REAL_PY_PREFORK, NULL, NULL);
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
