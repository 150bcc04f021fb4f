#!/usr/bin/python3
"""py_subprocess: Python threads that start subprocesses while others block
on pipes, for tests/diff_real.c.

It knows nothing of libgreen. CPython's subprocess starts children with
vfork() where it can, and the child, still sharing the parent's memory,
closes every fd it does not pass on before it calls exec. Those closes are
the child's own: a thread of the parent blocked reading one of the same fd
numbers must go on waiting, and get its data.

What it does:
  - a thread blocks reading a pipe while main runs 20 subprocesses, then
    main writes one byte to the pipe, which the thread must read;
  - 16 threads each run 4 subprocesses (echo) at once and check their
    output, so that each parent waits on its pipes while the children of
    the others close fds.

stdout is the same on every correct run. Any mismatch is said on stderr and
makes the exit status 1.
"""

import os
import subprocess
import sys
import threading

import checks
from checks import fail

N_THREADS = 16
RUNS_PER_THREAD = 4
# A hung step fails the run instead of hanging it.
STEP_TIMEOUT_S = 20.0


def echo(text):
    done = subprocess.run(["/bin/echo", text], capture_output=True,
                          text=True, timeout=STEP_TIMEOUT_S)
    return done.stdout.strip()


def blocked_reader_section():
    r, w = os.pipe()
    got = []

    def reader():
        got.append(os.read(r, 1))

    t = threading.Thread(target=reader)
    t.start()
    for i in range(20):
        if echo(str(i)) != str(i):
            fail("reader section: echo %d came back wrong" % i)
    os.write(w, b"x")
    t.join(STEP_TIMEOUT_S)
    os.close(r)
    os.close(w)
    print("blocked reader got %r" % got)


def parallel_section():
    right = []
    right_lock = threading.Lock()

    def worker(k):
        for i in range(RUNS_PER_THREAD):
            text = "%d.%d" % (k, i)
            out = echo(text)
            if out != text:
                fail("echo %s came back as %r" % (text, out))
                continue
            with right_lock:
                right.append(text)

    threads = [threading.Thread(target=worker, args=(k,))
               for k in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(STEP_TIMEOUT_S)
    print("parallel: %d of %d subprocesses echoed right"
          % (len(right), N_THREADS * RUNS_PER_THREAD))


def main():
    checks.watch_threads()
    blocked_reader_section()
    parallel_section()
    return checks.report("py_subprocess")


if __name__ == "__main__":
    sys.exit(main())
