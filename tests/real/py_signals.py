#!/usr/bin/python3
"""py_signals: Python signal handlers and timed waits among threads, for
tests/diff_real.c.

It knows nothing of libgreen. CPython's C-level handler only notes the
signal; the Python handler runs later in the main thread. What it does:

  - 10 threads each send SIGUSR1 to the process in turn, each waiting
    until the main thread's handler has run; main waits in short sleeps;
  - a periodic ITIMER_REAL while main computes: the handler must run at
    each tick it notices;
  - a one-shot itimer during a sleep: the handler runs and the sleep still
    lasts its whole time (PEP 475);
  - an itimer whose handler raises ends a loop of short sleeps;
  - a SIGCHLD handler runs for a subprocess;
  - 100 threading.Timer at once, and one that is cancelled;
  - timeouts that nobody ends: Condition.wait, queue.Queue.get,
    Lock.acquire, Event.wait, Thread.join, from 100 threads at once for
    some; none may end early (or late by more than LATE_S).

stdout is the same on every correct run. Any mismatch is said on stderr and
makes the exit status 1.
"""

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import checks
from checks import fail

N_KILLERS = 10
N_TICKS = 5
N_TIMERS = 100
N_WAITERS = 100
# A hung step fails the run instead of hanging it.
STEP_TIMEOUT_S = 20.0
# A timeout must not end early; it may end late, on a busy machine by much.
LATE_S = 2.0


def join_all(threads, what):
    for t in threads:
        t.join(STEP_TIMEOUT_S)
        if t.is_alive():
            fail("%s: %s still running after %.0f s"
                 % (what, t.name, STEP_TIMEOUT_S))


def check_waited(what, start, want):
    waited = time.monotonic() - start
    if waited < want or waited > want + LATE_S:
        fail("%s: waited %.3f s for a timeout of %.3f s"
             % (what, waited, want))


class Handled:
    """Counts a signal's handler calls and the threads they ran in."""

    def __init__(self, signum):
        self.calls = 0
        self.threads = set()
        signal.signal(signum, self.handler)

    def handler(self, signum, frame):
        self.calls += 1
        self.threads.add(threading.current_thread().name)


def kill_section():
    usr1 = Handled(signal.SIGUSR1)

    def killer(k):
        """Sends the (k+1)th signal once the kth has been handled."""
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while usr1.calls < k and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(os.getpid(), signal.SIGUSR1)

    threads = [threading.Thread(target=killer, args=(k,))
               for k in range(N_KILLERS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while usr1.calls < N_KILLERS and time.monotonic() < deadline:
        time.sleep(0.001)
    join_all(threads, "killers")
    print("os.kill from %d threads: %d handler calls, in %s"
          % (N_KILLERS, usr1.calls, sorted(usr1.threads)))
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)


def drain(signum):
    """Lets a signal that arrived before its source was stopped go by
    before the next handler is set, which would count it: SIG_IGN drops
    one still pending in the kernel, and a short sleep runs (and skips)
    one CPython has noted but not handled yet."""
    signal.signal(signum, signal.SIG_IGN)
    time.sleep(0.01)


def itimer_section():
    alrm = Handled(signal.SIGALRM)
    signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
    deadline = time.monotonic() + STEP_TIMEOUT_S
    spins = 0
    while alrm.calls < N_TICKS and time.monotonic() < deadline:
        spins += 1  # computes: no call that could wait
    signal.setitimer(signal.ITIMER_REAL, 0)
    print("periodic itimer while computing: %d ticks handled, in %s"
          % (min(alrm.calls, N_TICKS), sorted(alrm.threads)))
    drain(signal.SIGALRM)

    alrm = Handled(signal.SIGALRM)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    start = time.monotonic()
    time.sleep(0.2)
    check_waited("sleep(0.2) with a signal", start, 0.2)
    print("one itimer tick during sleep(0.2): %d handler calls"
          % alrm.calls)

    class Expired(Exception):
        pass

    def expire(signum, frame):
        raise Expired()

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    start = time.monotonic()
    try:
        while time.monotonic() - start < STEP_TIMEOUT_S:
            time.sleep(0.01)
        print("an itimer that raises: the loop of sleeps ran to its end")
    except Expired:
        check_waited("loop of sleeps", start, 0.1)
        print("an itimer that raises: ended a loop of sleeps")
    signal.signal(signal.SIGALRM, signal.SIG_DFL)

    chld = Handled(signal.SIGCHLD)
    subprocess.run(["/bin/true"], timeout=STEP_TIMEOUT_S)
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while chld.calls == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    print("SIGCHLD handler ran: %s" % (chld.calls > 0))
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)


def timer_section():
    fired = []
    fired_lock = threading.Lock()

    def note(i):
        with fired_lock:
            fired.append(i)

    timers = [threading.Timer(0.05 + i * 0.001, note, args=(i,))
              for i in range(N_TIMERS)]
    cancelled = threading.Timer(STEP_TIMEOUT_S, note, args=(-1,))
    for t in timers:
        t.start()
    cancelled.start()
    cancelled.cancel()
    join_all(timers + [cancelled], "timers")
    print("threading.Timer: %d fired, all of them once: %s"
          % (len(fired), sorted(fired) == list(range(N_TIMERS))))


def timeout_section():
    cond = threading.Condition()
    q = queue.Queue()
    held = threading.Lock()
    held.acquire()
    never = threading.Event()
    notified = []

    def waiter(i):
        want = 0.05 + (i % 5) * 0.02
        start = time.monotonic()
        if i % 3 == 0:
            with cond:
                if cond.wait(want):
                    notified.append(i)
            check_waited("Condition.wait", start, want)
        elif i % 3 == 1:
            try:
                q.get(timeout=want)
                notified.append(i)
            except queue.Empty:
                pass
            check_waited("Queue.get", start, want)
        else:
            if held.acquire(timeout=want):
                notified.append(i)
            check_waited("Lock.acquire", start, want)

    threads = [threading.Thread(target=waiter, args=(i,))
               for i in range(N_WAITERS)]
    for t in threads:
        t.start()
    join_all(threads, "waiters")
    print("%d timed waits nobody ended: %d returned as if ended"
          % (N_WAITERS, len(notified)))

    start = time.monotonic()
    print("Event.wait(0.1) on an unset event: %s" % never.wait(0.1))
    check_waited("Event.wait", start, 0.1)
    go_on = threading.Event()
    waiting = threading.Thread(target=go_on.wait, args=(STEP_TIMEOUT_S,))
    waiting.start()
    start = time.monotonic()
    waiting.join(0.1)
    check_waited("Thread.join", start, 0.1)
    print("join(0.1) of a thread that waits: alive %s" % waiting.is_alive())
    go_on.set()
    waiting.join(STEP_TIMEOUT_S)
    held.release()


def main():
    checks.watch_threads()
    kill_section()
    itimer_section()
    timer_section()
    timeout_section()
    return checks.report("py_signals")


if __name__ == "__main__":
    sys.exit(main())
