#!/usr/bin/python3
"""py_fork: fork() from a threaded Python parent, for tests/diff_real.c.

It knows nothing of libgreen. While 8 threads of the parent keep sleeping
and taking a lock, so that the fork happens in the middle of their work:

  - multiprocessing with the fork start method: 4 processes fed through
    a multiprocessing.Queue, a Pipe ping-pong of 100 round trips, and a
    ProcessPoolExecutor;
  - 16 threads that each call os.fork(); each child starts 5 threads of
    its own, joins them and exits with a status the parent checks.

(multiprocessing.Pool is not here: its worker handler thread polls in a
loop that returns at once while results wait; see py_busy_poll.py.)

stdout is the same on every correct run. Any mismatch is said on stderr and
makes the exit status 1.
"""

import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import checks
from checks import fail

N_BUSY = 8
N_PROCESSES = 4
N_ITEMS = 400
N_ROUND_TRIPS = 100
N_FORKERS = 16
CHILD_THREADS = 5
# A hung step fails the run instead of hanging it.
STEP_TIMEOUT_S = 20.0


def square(x):
    return x * x


def doubler(tasks, results):
    """A child process: doubles what it gets until a None."""
    while True:
        item = tasks.get()
        if item is None:
            return
        results.put(2 * item)


def incrementer(conn):
    for _ in range(N_ROUND_TRIPS):
        conn.send(conn.recv() + 1)


def threads_in_child():
    """In a forked child: whether CHILD_THREADS threads all ran."""
    ran = []
    lock = threading.Lock()

    def work(i):
        time.sleep(0.01)
        with lock:
            ran.append(i)

    threads = [threading.Thread(target=work, args=(i,))
               for i in range(CHILD_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(STEP_TIMEOUT_S)
    return sorted(ran) == list(range(CHILD_THREADS))


def multiprocessing_section(ctx):
    tasks, results = ctx.Queue(), ctx.Queue()
    workers = [ctx.Process(target=doubler, args=(tasks, results))
               for _ in range(N_PROCESSES)]
    for p in workers:
        p.start()
    for i in range(N_ITEMS):
        tasks.put(i)
    for _ in workers:
        tasks.put(None)
    total = sum(results.get(timeout=STEP_TIMEOUT_S) for _ in range(N_ITEMS))
    for p in workers:
        p.join(STEP_TIMEOUT_S)
    print("Queue: %d processes doubled %d items, sum %d, exit codes %s"
          % (N_PROCESSES, N_ITEMS, total, [p.exitcode for p in workers]))

    mine, theirs = ctx.Pipe()
    p = ctx.Process(target=incrementer, args=(theirs,))
    p.start()
    value = 0
    for _ in range(N_ROUND_TRIPS):
        mine.send(value)
        if not mine.poll(STEP_TIMEOUT_S):
            fail("Pipe: no answer")
            break
        value = mine.recv()
    p.join(STEP_TIMEOUT_S)
    print("Pipe: %d round trips counted to %d, exit code %s"
          % (N_ROUND_TRIPS, value, p.exitcode))

    with ProcessPoolExecutor(N_PROCESSES, mp_context=ctx) as pool:
        total = sum(pool.map(square, range(200)))
    print("ProcessPoolExecutor: sum of squares %d" % total)


def fork_section():
    codes = []
    codes_lock = threading.Lock()

    def forker():
        pid = os.fork()
        if pid == 0:
            os._exit(0 if threads_in_child() else 3)
        _, status = os.waitpid(pid, 0)
        with codes_lock:
            codes.append(os.waitstatus_to_exitcode(status))

    threads = [threading.Thread(target=forker) for _ in range(N_FORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(STEP_TIMEOUT_S)
    print("os.fork in %d threads: children exited %s"
          % (N_FORKERS, sorted(set(codes)) if len(codes) == N_FORKERS
             else "%d of them" % len(codes)))


def main():
    checks.watch_threads()
    stop = threading.Event()
    lock = threading.Lock()

    def busy():
        while not stop.is_set():
            with lock:
                time.sleep(0.001)

    background = [threading.Thread(target=busy) for _ in range(N_BUSY)]
    for t in background:
        t.start()
    multiprocessing_section(multiprocessing.get_context("fork"))
    fork_section()
    stop.set()
    for t in background:
        t.join(STEP_TIMEOUT_S)
    return checks.report("py_fork")


if __name__ == "__main__":
    sys.exit(main())
