#!/usr/bin/python3
"""py_prefork: a listening socket shared by a threaded Python parent and
the children it forked, for tests/diff_real.c.

It knows nothing of libgreen. A prefork server: the parent opens a
blocking listener, forks, and then both its own threads and its children
accept connections on it. O_NONBLOCK belongs to the open file description,
which every process shares, so a blocking accept in a child must never see
it set, nor fail with EAGAIN. What it does:

  - forks ACCEPTORS children that accept in a loop with blocking
    accept() calls, and one child that reads the listener's F_GETFL flags
    in a loop;
  - 4 threads of the parent accept too, while 8 client threads make
    N_CONNECTIONS connections in all, each sending one byte and reading
    the one-byte answer of whoever accepted it;
  - then counts, in the children, the blocking accepts that failed with
    EAGAIN and the flag reads that showed O_NONBLOCK: both must be 0.

Under libgreen the parent's accept hook sets O_NONBLOCK on the listener's
description for the span of each try; the children must not see it.

stdout is the same on every correct run. Any mismatch is said on stderr and
makes the exit status 1.
"""

import fcntl
import os
import select
import socket
import sys
import threading

import checks
from checks import fail

ACCEPTORS = 4
PARENT_THREADS = 4
CLIENTS = 8
N_CONNECTIONS = 1600
# A child's exit status counts up to this many events.
MAX_COUNT = 100
# A hung step fails the run instead of hanging it.
STEP_TIMEOUT_S = 20.0


def serve(listener, answer):
    """Accepts until a connection sends b"q"; the number of blocking
    accepts that failed with EAGAIN."""
    eagain = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            eagain += 1
            continue
        with conn:
            if conn.recv(1) == b"q":
                return eagain
            conn.sendall(answer)


def watch_flags(listener, stop, stop_w):
    """Reads the listener's flags until stop is readable (at EOF, once
    stop_w, the write end, is closed everywhere); how many reads showed
    O_NONBLOCK."""
    os.close(stop_w)
    seen = 0
    while not select.select([stop], [], [], 0)[0]:
        for _ in range(100):
            if fcntl.fcntl(listener, fcntl.F_GETFL) & os.O_NONBLOCK:
                seen += 1
    return seen


def fork_child(body):
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            code = min(body(), MAX_COUNT)
        finally:
            os._exit(code)
    return pid


def main():
    checks.watch_threads()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(N_CONNECTIONS)
    port = listener.getsockname()[1]
    acceptors = [fork_child(lambda: serve(listener, b"c"))
                 for _ in range(ACCEPTORS)]
    stop_r, stop_w = os.pipe()
    watcher = fork_child(lambda: watch_flags(listener, stop_r, stop_w))
    os.close(stop_r)

    parent = [threading.Thread(target=serve, args=(listener, b"p"))
              for _ in range(PARENT_THREADS)]
    for t in parent:
        t.start()
    answers = []
    answers_lock = threading.Lock()

    def client():
        mine = []
        for _ in range(N_CONNECTIONS // CLIENTS):
            with socket.create_connection(("127.0.0.1", port),
                                          timeout=STEP_TIMEOUT_S) as s:
                s.sendall(b"x")
                mine.append(s.recv(1))
        with answers_lock:
            answers.extend(mine)

    clients = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in clients:
        t.start()
    for t in clients:
        t.join(STEP_TIMEOUT_S)
    right = sum(a in (b"c", b"p") for a in answers)
    print("%d connections answered by the parent or a child: %d"
          % (N_CONNECTIONS, right))

    # One b"q" ends each acceptor, child or thread, whichever takes it.
    for _ in range(ACCEPTORS + PARENT_THREADS):
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=STEP_TIMEOUT_S) as s:
            s.sendall(b"q")
    for t in parent:
        t.join(STEP_TIMEOUT_S)
    os.close(stop_w)
    eagain = 0
    for pid in acceptors:
        _, status = os.waitpid(pid, 0)
        eagain += os.waitstatus_to_exitcode(status)
    _, status = os.waitpid(watcher, 0)
    nonblock = os.waitstatus_to_exitcode(status)
    listener.close()
    print("blocking accepts in the children that failed with EAGAIN: %s"
          % ("none" if eagain == 0 else "some"))
    print("flag reads in a child that showed O_NONBLOCK: %s"
          % ("none" if nonblock == 0 else "some"))
    if eagain:
        fail("children: %d blocking accepts failed with EAGAIN" % eagain)
    if nonblock:
        fail("child: %d reads of F_GETFL showed O_NONBLOCK" % nonblock)
    return checks.report("py_prefork")


if __name__ == "__main__":
    sys.exit(main())
