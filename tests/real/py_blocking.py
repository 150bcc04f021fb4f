#!/usr/bin/python3
"""py_blocking: Python threads that wait in system calls while another
thread of the same process must run for the wait to end, for
tests/diff_real.c.

It knows nothing of libgreen. Each step below waits in one call until
another thread has done its part, which natively takes milliseconds:

  - subprocess: main waits for a child (Popen.wait, that is
    waitpid(pid, 0)) that reads one byte from its stdin, which another
    thread writes 50 ms later;
  - asyncio: the event loop writes that byte 50 ms after starting the
    child, while asyncio's child watcher thread waits in waitpid(pid, 0);
  - fcntl.flock: main waits for an exclusive lock that another thread,
    through its own open file description, holds for 50 ms.

Under libgreen each of these calls would block its worker, where the
thread that ends the wait runs too, if the call were not run on libgreen's
thread pool (interpose/offloaded.c). So that a run ends anyway, the
children give up after CHILD_TIMEOUT_S (coreutils timeout(1), exit status
124), and main's flock is ended by an itimer whose handler raises. (An
open() of a FIFO, which waits for the other end, still blocks its worker:
a known limit, not tested here.)

stdout is the same on every correct run. Any mismatch is said on stderr and
makes the exit status 1.
"""

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import checks
from checks import fail

# Natively every step takes a few milliseconds; these only bound a hang,
# the first one longer, as it includes starting two programs.
CHILD_TIMEOUT_S = 1
HANG_S = 0.5
# How long the other thread lets the waiting call start first.
LATER_S = 0.05
# Reads one byte from stdin, or gives up with status 124.
CHILD = ["/usr/bin/timeout", str(CHILD_TIMEOUT_S), "/usr/bin/head", "-c1"]


class Hung(Exception):
    """Raised by the SIGALRM handler: the call it interrupted hung."""


def raise_hung(signum, frame):
    raise Hung()


def bounded(call, what):
    """call() in main, ended by Hung after HANG_S; what happened, in
    words."""
    signal.setitimer(signal.ITIMER_REAL, HANG_S)
    try:
        call()
        return "returned"
    except Hung:
        fail("%s hung for %.1f s" % (what, HANG_S))
        return "hung"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def feed_later(pipe):
    time.sleep(LATER_S)
    try:
        pipe.write(b"x")
        pipe.close()
    except BrokenPipeError:
        pass  # the child gave up first; its exit status tells


def subprocess_section():
    child = subprocess.Popen(CHILD, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL)
    feeder = threading.Thread(target=feed_later, args=(child.stdin,))
    feeder.start()
    code = child.wait()
    feeder.join()
    if code != 0:
        fail("subprocess: the child never got its byte (exit %d)" % code)
    print("Popen.wait while another thread feeds the child: exit %d" % code)


async def asyncio_child():
    child = await asyncio.create_subprocess_exec(
        *CHILD, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL)
    await asyncio.sleep(LATER_S)
    try:
        child.stdin.write(b"x")
        await child.stdin.drain()
        child.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child gave up first; its exit status tells
    return await child.wait()


def asyncio_section():
    start = time.monotonic()
    code = asyncio.run(asyncio_child())
    if code != 0:
        fail("asyncio: the loop stood still for %.1f s, the child never "
             "got its byte (exit %d)" % (time.monotonic() - start, code))
    print("asyncio subprocess fed by the loop: exit %d" % code)


def flock_section(path):
    held = threading.Event()

    def holder():
        with open(path) as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            held.set()
            time.sleep(LATER_S)
            fcntl.flock(f, fcntl.LOCK_UN)

    t = threading.Thread(target=holder)
    t.start()
    held.wait()

    def lock():
        with open(path) as f:
            fcntl.flock(f, fcntl.LOCK_EX)

    print("flock held by another thread: %s"
          % bounded(lock, "flock"))
    t.join()


def main():
    checks.watch_threads()
    signal.signal(signal.SIGALRM, raise_hung)
    subprocess_section()
    asyncio_section()
    with tempfile.TemporaryDirectory() as tmp:
        lock_path = os.path.join(tmp, "lock")
        open(lock_path, "w").close()
        flock_section(lock_path)
    return checks.report("py_blocking")


if __name__ == "__main__":
    sys.exit(main())
