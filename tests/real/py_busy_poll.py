#!/usr/bin/python3
"""py_busy_poll: a Python thread that polls in a loop, with calls that
return at once, while the thread it waits for must run, for
tests/diff_real.c.

It knows nothing of libgreen. Natively the poller only burns a CPU; the
other threads run beside it. What it does:

  - main calls select() in a loop on a pipe that stays readable (so each
    call returns at once) until another thread, which first sleeps 50 ms,
    sets an Event;
  - the same, but the other thread waits in a read of a pipe that main
    writes just before it starts polling;
  - an asyncio coroutine that yields with `await asyncio.sleep(0)` (the
    loop then polls epoll with a zero timeout) until a job of the loop's
    executor, which sleeps 50 ms, is done;
  - multiprocessing.Pool(2).map with the fork start method: the pool's
    worker handler thread loops in poll() for as long as results wait in
    the result queue, which its result handler thread drains.

Under libgreen the poller and the thread it waits for share a worker (new
threads start on their creator's), so a poll that returns at once must
still yield now and then. So that a run ends anyway, the first three steps
give up after HANG_S; the pool runs under alarm(), whose default action
ends the process with SIGALRM if it hangs.

stdout is the same on every correct run. Any mismatch is said on stderr and
makes the exit status 1.
"""

import asyncio
import multiprocessing
import os
import select
import signal
import sys
import threading
import time

import checks
from checks import fail

# Natively every step takes milliseconds; these only bound a hang.
HANG_S = 0.5
POOL_ALARM_S = 2
# How long the other thread sleeps before it does its part.
LATER_S = 0.05


def poll_until(done, what):
    """select() on an always-readable pipe until done is set or HANG_S
    has passed; what happened, in words."""
    r, w = os.pipe()
    os.write(w, b"r")
    deadline = time.monotonic() + HANG_S
    while not done.is_set() and time.monotonic() < deadline:
        select.select([r], [], [], HANG_S)
    os.close(r)
    os.close(w)
    if not done.is_set():
        fail("%s: the other thread never ran in %.1f s of polling"
             % (what, HANG_S))
        return "the other thread never ran"
    return "the other thread ran"


def sleeper_section():
    done = threading.Event()

    def sleep_then_set():
        time.sleep(LATER_S)
        done.set()

    t = threading.Thread(target=sleep_then_set)
    t.start()
    print("select loop vs. a thread that sleeps: %s"
          % poll_until(done, "sleeper"))
    t.join()


def reader_section():
    done = threading.Event()
    r, w = os.pipe()

    def read_then_set():
        os.read(r, 1)
        done.set()

    t = threading.Thread(target=read_then_set)
    t.start()
    os.write(w, b"x")
    print("select loop vs. a thread woken by a pipe: %s"
          % poll_until(done, "reader"))
    t.join()
    os.close(r)
    os.close(w)


def nap():
    time.sleep(LATER_S)
    return "done"


async def busy_until_job_done():
    job = asyncio.get_running_loop().run_in_executor(None, nap)
    deadline = time.monotonic() + HANG_S
    while not job.done() and time.monotonic() < deadline:
        await asyncio.sleep(0)
    if not job.done():
        fail("asyncio: the executor job never ran in %.1f s" % HANG_S)
        return "still pending"
    return job.result()


def asyncio_section():
    print("asyncio loop yielding with sleep(0) vs. an executor job: %s"
          % asyncio.run(busy_until_job_done()))


def square(x):
    return x * x


def pool_section():
    signal.alarm(POOL_ALARM_S)  # SIG_DFL: the process ends if it hangs
    with multiprocessing.get_context("fork").Pool(2) as pool:
        total = sum(pool.map(square, range(100)))
    signal.alarm(0)
    print("multiprocessing.Pool(2).map: sum of squares %d" % total)


def main():
    checks.watch_threads()
    sleeper_section()
    reader_section()
    asyncio_section()
    sys.stdout.flush()
    pool_section()
    return checks.report("py_busy_poll")


if __name__ == "__main__":
    sys.exit(main())
