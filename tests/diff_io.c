/*
 * diff_io: the differential tests of the data path through sockets, pipes
 * and eventfds (issue 5). Each tests/progs/io_*.c program of this suite
 * runs natively and under LD_PRELOAD=libgreen.so with GREEN_LOOPS=2 (the
 * echo server and the pipes also with 1, where a blocking call that held
 * its worker would stop the program); stdout and the way the process ended
 * must be identical. The echo server's 3,000 threads must fit on the
 * workers plus a few other OS threads, and the readiness waits must time out
 * on time. Paths come from tests/meson.build.
 *
 * Runs the tests one at a time (jobs = 1 unless --jobs says otherwise),
 * since the timing bounds assume the machine is not busy with other tests.
 */
#include "diff_same.h"

#include <criterion/criterion.h>

#ifndef GREEN_LIB_PATH
#error "tests/meson.build defines GREEN_LIB_PATH and PROG_IO_<NAME>"
#endif

/* Per run. io_echo moves 1,000 MiB each way through loopback TCP, in about
 * 1 to 2 s natively on two idle cores; it gets room for a busy machine.
 * Criterion's per-test .timeout covers the several runs of one test and is
 * longer than their sum, so that a hung program is killed by its runner,
 * not left behind. */
enum { RUN_TIMEOUT_MS = 20000, ECHO_TIMEOUT_MS = 30000 };

static const int loops_2[] = {2, 0};
static const int loops_2_1[] = {2, 1, 0};

Test(diff_io, echo_1000_clients_get_every_byte_back_on_few_os_threads,
     .timeout = 100)
{
    diff_same(&(struct diff_case){.prog = PROG_IO_ECHO,
                                  .loops = loops_2_1,
                                  .checks = DIFF_FEW_OS_THREADS,
                                  .timeout_ms = ECHO_TIMEOUT_MS});
}

/* Two or three threads at a time: no OS thread bound. */
Test(diff_io, pipe_ping_pong_and_big_writes_are_whole_and_in_order,
     .timeout = 70)
{
    diff_same(&(struct diff_case){.prog = PROG_IO_PIPE,
                                  .loops = loops_2_1,
                                  .timeout_ms = RUN_TIMEOUT_MS});
}

Test(diff_io, poll_select_epoll_report_as_native_and_time_out_on_time,
     .timeout = 50)
{
    diff_same(&(struct diff_case){.prog = PROG_IO_POLL,
                                  .loops = loops_2,
                                  .checks = DIFF_ON_TIME,
                                  .timeout_ms = RUN_TIMEOUT_MS});
}

Test(diff_io, socket_pipe_eventfd_calls_and_flags_answer_as_native,
     .timeout = 50)
{
    diff_same(&(struct diff_case){
        .prog = PROG_IO_CALLS, .loops = loops_2, .timeout_ms = RUN_TIMEOUT_MS});
}

/* fgets on an fdopen()ed socket parks instead of blocking its worker: 40
 * threads on one OS thread hang otherwise. */
Test(diff_io, fdopen_streams_on_sockets_wait_green, .timeout = 70)
{
    diff_same(&(struct diff_case){.prog = PROG_IO_FDOPEN,
                                  .loops = loops_2_1,
                                  .timeout_ms = RUN_TIMEOUT_MS});
}

/* A thread waiting for a file lock another process holds (F_SETLKW,
 * F_OFD_SETLKW, lockf, flock) leaves its worker to the others: a ticker
 * on the same worker ticks on. The build before hooking them stops it,
 * with one loop or two. */
Test(diff_io, file_lock_waits_let_the_worker_run_on, .timeout = 60)
{
    diff_same(&(struct diff_case){.prog = PROG_IO_LOCKS,
                                  .loops = loops_2_1,
                                  .timeout_ms = RUN_TIMEOUT_MS});
}

/* Short reads followed by the end of file, one worker and two. */
Test(diff_io, tcp_reader_sees_the_end_of_file_behind_short_reads,
     .timeout = 70)
{
    diff_same(&(struct diff_case){.prog = PROG_IO_TCP_EOF,
                                  .loops = loops_2_1,
                                  .timeout_ms = RUN_TIMEOUT_MS});
}

/* sendmmsg's messages whole on TCP, reads of nothing, MSG_WAITALL with an
 * fd passed, close_range refusing a flag. */
Test(diff_io, socket_calls_at_their_edges_answer_as_native, .timeout = 60)
{
    diff_same(&(struct diff_case){.prog = PROG_IO_EDGES,
                                  .loops = loops_2_1,
                                  .timeout_ms = RUN_TIMEOUT_MS});
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
