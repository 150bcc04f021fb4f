#!/usr/bin/python3
"""py_interrupt: signals that end blocking calls, in Python, for
tests/diff_real.c.

It knows nothing of libgreen. CPython's C handler only notes a signal; the
Python handler runs once the main thread's blocking call returns, which is
why a signal must end that call with EINTR (PEP 475 then retries it unless
the handler raised). What it does:

  - Ctrl-C the way a terminal sends it (SIGINT to the process) while the
    main thread sleeps, waits in select(), accept() and recv(): each ends
    at once with KeyboardInterrupt;
  - a SIGALRM handler that raises ends a long sleep, and one that does not
    lets a sleep() run its whole time;
  - signal.pause() returns once an itimer's handler ran;
  - the sigwait pattern of servers: SIGTERM and SIGUSR1 blocked before any
    thread starts, one thread takes them with sigwait(); a SIGTERM with
    its default action must not end the process while it is blocked;
  - sigtimedwait() times out; sigpending() shows a blocked signal;
  - pthread_kill() of a thread sleeping in a C call: its handler runs in
    the main thread (CPython's rule) and the sleep goes on.

stdout is the same on every correct run. Any mismatch is said on stderr and
makes the exit status 1.
"""

import os
import select
import signal
import socket
import sys
import threading
import time

import checks
from checks import fail

# A call a signal must end has this long to end; it would otherwise wait
# LONG_S (or forever).
PROMPT_S = 2.0
LONG_S = 20.0


def ctrl_c_after(delay):
    """Sends SIGINT to the process from another thread after delay."""
    def send():
        time.sleep(delay)
        os.kill(os.getpid(), signal.SIGINT)
    t = threading.Thread(target=send)
    t.start()
    return t


def interrupted(what, call):
    """Runs call, which blocks until a Ctrl-C ends it."""
    sender = ctrl_c_after(0.1)
    start = time.monotonic()
    try:
        call()
        print("%s: returned without KeyboardInterrupt" % what)
    except KeyboardInterrupt:
        took = time.monotonic() - start
        if took > PROMPT_S:
            fail("%s: KeyboardInterrupt after %.2f s" % (what, took))
        print("%s: KeyboardInterrupt" % what)
    sender.join()


def ctrl_c_section():
    r, w = os.pipe()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    a, b = socket.socketpair()
    interrupted("time.sleep(20)", lambda: time.sleep(LONG_S))
    interrupted("select() on a silent pipe", lambda: select.select([r], [], []))
    interrupted("accept() with nobody connecting", listener.accept)
    interrupted("recv() from a silent peer", lambda: a.recv(10))
    interrupted("os.read() of a silent pipe", lambda: os.read(r, 10))
    for f in (r, w):
        os.close(f)
    for s in (listener, a, b):
        s.close()


def alarm_section():
    class Expired(Exception):
        pass

    def expire(signum, frame):
        raise Expired()

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    start = time.monotonic()
    try:
        time.sleep(LONG_S)
        print("raising SIGALRM handler: sleep ran its whole time")
    except Expired:
        took = time.monotonic() - start
        if took > PROMPT_S:
            fail("raising SIGALRM handler ended sleep after %.2f s" % took)
        print("raising SIGALRM handler: ended sleep(20)")

    calls = []
    signal.signal(signal.SIGALRM, lambda s, f: calls.append(s))
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    start = time.monotonic()
    time.sleep(0.3)
    took = time.monotonic() - start
    if took < 0.3:
        fail("sleep(0.3) with a quiet handler took %.3f s" % took)
    print("quiet SIGALRM handler: %d call, sleep(0.3) went on" % len(calls))

    signal.setitimer(signal.ITIMER_REAL, 0.05)
    start = time.monotonic()
    signal.pause()
    took = time.monotonic() - start
    if took > PROMPT_S:
        fail("pause() returned after %.2f s" % took)
    print("pause(): returned after the handler, %d calls" % len(calls))
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def sigwait_section():
    """The server pattern: block first, then one thread waits for them."""
    wanted = {signal.SIGTERM, signal.SIGUSR1}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    got = []

    def waiter():
        while True:
            sig = signal.sigwait(wanted)
            got.append(signal.Signals(sig).name)
            if sig == signal.SIGTERM:
                return

    t = threading.Thread(target=waiter)
    t.start()
    os.kill(os.getpid(), signal.SIGUSR1)
    time.sleep(0.1)
    # Default action: would end the process were it not blocked.
    os.kill(os.getpid(), signal.SIGTERM)
    t.join(LONG_S)
    if t.is_alive():
        fail("sigwait thread never got SIGTERM")
    print("sigwait thread took: %s" % got)

    start = time.monotonic()
    info = signal.sigtimedwait({signal.SIGUSR1}, 0.1)
    took = time.monotonic() - start
    if took < 0.1 or took > 0.1 + PROMPT_S:
        fail("sigtimedwait(0.1) took %.3f s" % took)
    print("sigtimedwait with nothing sent: %s" % info)

    signal.raise_signal(signal.SIGUSR1)
    print("sigpending after raise while blocked: %s"
          % sorted(signal.Signals(s).name for s in signal.sigpending()))
    info = signal.sigwaitinfo({signal.SIGUSR1})
    print("sigwaitinfo took it: %s" % signal.Signals(info.si_signo).name)
    signal.pthread_sigmask(signal.SIG_SETMASK, old)


def thread_kill_section():
    calls = []
    signal.signal(signal.SIGUSR2, lambda s, f: calls.append(s))
    started = threading.Event()

    def sleeper():
        started.set()
        time.sleep(0.3)

    t = threading.Thread(target=sleeper)
    start = time.monotonic()
    t.start()
    started.wait()
    time.sleep(0.05)
    signal.pthread_kill(t.ident, signal.SIGUSR2)
    t.join(LONG_S)
    took = time.monotonic() - start
    if took < 0.3:
        fail("a thread's sleep(0.3) ended after %.3f s" % took)
    deadline = time.monotonic() + LONG_S
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    print("pthread_kill of a sleeping thread: %d handler call, sleep went on"
          % len(calls))
    signal.signal(signal.SIGUSR2, signal.SIG_DFL)


def main():
    checks.watch_threads()
    ctrl_c_section()
    alarm_section()
    sigwait_section()
    thread_kill_section()
    return checks.report("py_interrupt")


if __name__ == "__main__":
    sys.exit(main())
