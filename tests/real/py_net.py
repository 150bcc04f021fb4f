#!/usr/bin/python3
"""py_net: sockets, pipes and the poll family from many Python threads, for
tests/diff_real.c.

It knows nothing of libgreen. What it does, each on 127.0.0.1 only:

  - connections to a closed port from a ThreadPoolExecutor of 32 threads,
    four ways (create_connection with a timeout, a blocking connect,
    connect_ex, a non-blocking connect then select and SO_ERROR): the
    errno must be ECONNREFUSED every time;
  - 100 clients with a 0.2 s socket timeout (which CPython waits out in
    poll) against a server that accepts and never answers: each recv must
    time out, and no earlier; then 4 sendall calls into sockets nobody
    reads must time out too;
  - from 20 threads at once, select.select, select.poll and select.epoll
    on a socketpair: a timeout with nothing ready, readiness when another
    thread writes, and the hang-up when the peer closes; a pipe read to
    EOF while another thread writes it, and 1 MiB through a pipe;
  - shutdown() from another thread ends a blocked accept (EINVAL) and a
    blocked recv (EOF); two threads waiting on one epoll for an
    EPOLLONESHOT event: exactly one gets it;
  - http.server.ThreadingHTTPServer served with urllib.request from 64
    threads: 64 GETs and 64 POSTs, every body checked, every request
    logged through the logging module from the handler threads.

stdout is the same on every correct run. Any mismatch is said on stderr and
makes the exit status 1.
"""

import errno
import hashlib
import http.server
import io
import logging
import os
import select
import socket
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import checks
from checks import fail

N_REFUSED = 64
N_TIMEOUTS = 100
N_SENDALLS = 4
TIMEOUT_S = 0.2
N_POLLERS = 20
PIPE_BYTES = 1 << 20
N_HTTP = 64
HTTP_THREADS = 64
# A hung step fails the run instead of hanging it.
STEP_TIMEOUT_S = 20.0
# A timeout must not end early; it may end late, on a busy machine by much.
LATE_S = 2.0


def error_name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


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


# --- refused connections -------------------------------------------------


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def refused_create_connection(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return "connected"
    except OSError as e:
        return "%s %s" % (type(e).__name__, error_name(e))


def refused_blocking(port):
    with socket.socket() as s:
        try:
            s.connect(("127.0.0.1", port))
            return "connected"
        except OSError as e:
            return "%s %s" % (type(e).__name__, error_name(e))


def refused_connect_ex(port):
    with socket.socket() as s:
        s.settimeout(5)
        return errno.errorcode.get(s.connect_ex(("127.0.0.1", port)), "0")


def refused_nonblocking(port):
    with socket.socket() as s:
        s.setblocking(False)
        first = s.connect_ex(("127.0.0.1", port))
        select.select([], [s], [], 5)
        later = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        return "%s then %s" % (errno.errorcode.get(first, "0"),
                               errno.errorcode.get(later, "0"))


def refused_section():
    port = closed_port()
    with ThreadPoolExecutor(32) as pool:
        for way in (refused_create_connection, refused_blocking,
                    refused_connect_ex, refused_nonblocking):
            outcomes = sorted(set(pool.map(way, [port] * N_REFUSED)))
            print("refused, %s: %s" % (way.__name__, ", ".join(outcomes)))


# --- socket timeouts -----------------------------------------------------


def timeout_section():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(N_TIMEOUTS)
    port = server.getsockname()[1]
    held = []

    def acceptor():
        """Accepts and keeps every connection, and never answers."""
        while True:
            conn, _ = server.accept()
            if conn.recv(1, socket.MSG_PEEK) == b"q":
                conn.close()
                return
            held.append(conn)

    def silent_recv(_):
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=TIMEOUT_S) as s:
            s.send(b"r")
            start = time.monotonic()
            try:
                s.recv(10)
                return "recv returned"
            except socket.timeout as e:
                check_waited("recv", start, TIMEOUT_S)
                return "socket.timeout: %s" % e

    # More than loopback's socket buffers hold, both ends together.
    flood = b"s" * (32 << 20)

    def full_sendall(_):
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=TIMEOUT_S) as s:
            try:
                s.sendall(flood)
                return "sendall returned"
            except socket.timeout as e:
                return "socket.timeout: %s" % e

    serving = threading.Thread(target=acceptor)
    serving.start()
    with ThreadPoolExecutor(N_TIMEOUTS) as pool:
        got = sorted(set(pool.map(silent_recv, range(N_TIMEOUTS))))
        print("timeouts, recv: %s" % ", ".join(got))
        got = sorted(set(pool.map(full_sendall, range(N_SENDALLS))))
        print("timeouts, sendall: %s" % ", ".join(got))
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.send(b"q")
        serving.join(STEP_TIMEOUT_S)
    for conn in held:
        conn.close()
    server.close()


# --- select, poll, epoll, pipes -------------------------------------------


def write_later(sock):
    t = threading.Thread(target=lambda: (time.sleep(0.02), sock.send(b"hi")))
    t.start()
    return t


def poll_family(_):
    """What each way of waiting reports, as a list of short strings."""
    seen = []
    a, b = socket.socketpair()

    start = time.monotonic()
    ready = select.select([a], [], [], 0.05)
    check_waited("select", start, 0.05)
    seen.append("select timeout %s" % (ready == ([], [], [])))
    t = write_later(b)
    ready = select.select([a], [], [], STEP_TIMEOUT_S)
    seen.append("select ready %s" % (ready[0] == [a]))
    a.recv(10)
    t.join()

    poller = select.poll()
    poller.register(a, select.POLLIN)
    start = time.monotonic()
    seen.append("poll timeout %s" % poller.poll(50))
    check_waited("poll", start, 0.05)
    t = write_later(b)
    events = poller.poll(STEP_TIMEOUT_S * 1000)
    seen.append("poll ready %s" % (events == [(a.fileno(), select.POLLIN)]))
    a.recv(10)
    t.join()

    ep = select.epoll()
    ep.register(a, select.EPOLLIN)
    start = time.monotonic()
    seen.append("epoll timeout %s" % ep.poll(0.05))
    check_waited("epoll", start, 0.05)
    t = write_later(b)
    events = ep.poll(STEP_TIMEOUT_S)
    seen.append("epoll ready %s" % (events == [(a.fileno(), select.EPOLLIN)]))
    a.recv(10)
    t.join()

    b.close()
    seen.append("epoll hang-up %s"
                % [ev for _, ev in ep.poll(STEP_TIMEOUT_S)])
    seen.append("poll hang-up %s"
                % [ev for _, ev in poller.poll(STEP_TIMEOUT_S * 1000)])
    seen.append("select hang-up %s"
                % (select.select([a], [], [], STEP_TIMEOUT_S)[0] == [a]))
    ep.close()
    a.close()

    r, w = os.pipe()

    def writer():
        for _ in range(100):
            os.write(w, b"p" * 1000)
        os.close(w)

    t = threading.Thread(target=writer)
    t.start()
    total = 0
    while True:
        data = os.read(r, 4096)
        if not data:
            break
        total += len(data)
    t.join()
    os.close(r)
    seen.append("pipe to EOF %d bytes" % total)

    r, w = os.pipe()
    got = []

    def reader():
        n = 0
        while True:
            data = os.read(r, 65536)
            if not data:
                break
            n += len(data)
        got.append(n)

    t = threading.Thread(target=reader)
    t.start()
    view = memoryview(b"z" * PIPE_BYTES)
    while view:
        view = view[os.write(w, view):]
    os.close(w)
    t.join()
    os.close(r)
    seen.append("pipe of 1 MiB %s" % got)
    return seen


def poll_section():
    with ThreadPoolExecutor(N_POLLERS) as pool:
        results = list(pool.map(poll_family, range(N_POLLERS)))
    for i, line in enumerate(results[0]):
        others = set(r[i] for r in results)
        if len(others) != 1:
            fail("poll family: threads saw %s" % sorted(others))
        print("%d threads: %s" % (len(results), line))


# --- shutdown from another thread, one epoll for two waiters -------------


def wake_section():
    outcome = {}
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def accept_one():
        try:
            server.accept()
            outcome["accept"] = "a connection"
        except OSError as e:
            outcome["accept"] = error_name(e)

    t = threading.Thread(target=accept_one)
    t.start()
    time.sleep(0.05)  # natively, long enough for accept to block
    server.shutdown(socket.SHUT_RDWR)
    t.join(STEP_TIMEOUT_S)
    server.close()
    print("shutdown of a listener ends accept with %s"
          % outcome.get("accept", "nothing (still blocked)"))

    a, b = socket.socketpair()

    def recv_one():
        outcome["recv"] = a.recv(10)

    t = threading.Thread(target=recv_one)
    t.start()
    time.sleep(0.05)
    a.shutdown(socket.SHUT_RD)
    t.join(STEP_TIMEOUT_S)
    print("SHUT_RD ends recv with %r"
          % outcome.get("recv", "nothing (still blocked)"))
    a.close()
    b.close()

    a, b = socket.socketpair()
    ep = select.epoll()
    ep.register(a, select.EPOLLIN | select.EPOLLONESHOT)
    got = []
    got_lock = threading.Lock()

    def wait_once():
        events = ep.poll(0.2)
        with got_lock:
            got.append(len(events))

    waiters = [threading.Thread(target=wait_once) for _ in range(2)]
    for t in waiters:
        t.start()
    b.send(b"x")
    join_all(waiters, "epoll waiters")
    print("one EPOLLONESHOT event, two waiters: %s" % sorted(got))
    ep.close()
    a.close()
    b.close()


# --- HTTP ----------------------------------------------------------------


def body_of(n):
    return (str(n) * (n % 1000 + 1)).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.reply(body_of(int(self.path.strip("/"))))

    def do_POST(self):
        data = self.rfile.read(int(self.headers["Content-Length"]))
        self.reply(hashlib.sha256(data).hexdigest().encode())

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        self.server.log.info(format, *args)


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = HTTP_THREADS * 2

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        fail("http server: %s: %s" % (type(error).__name__, error))


def http_section():
    log_text = io.StringIO()
    log = logging.getLogger("py_net.http")
    log.addHandler(logging.StreamHandler(log_text))
    log.setLevel(logging.INFO)
    log.propagate = False
    server = Server(("127.0.0.1", 0), Handler)
    server.log = log
    base = "http://127.0.0.1:%d/" % server.server_address[1]
    serving = threading.Thread(target=server.serve_forever,
                               kwargs={"poll_interval": 0.05})
    serving.start()

    def fetch(n):
        with urllib.request.urlopen(base + str(n),
                                    timeout=STEP_TIMEOUT_S) as reply:
            right = reply.read() == body_of(n)
        data = bytes([n % 256]) * (n * 100)
        post = urllib.request.Request(base + "post", data=data)
        with urllib.request.urlopen(post, timeout=STEP_TIMEOUT_S) as reply:
            right = right and (reply.read().decode()
                               == hashlib.sha256(data).hexdigest())
        if not right:
            fail("http: request %d came back wrong" % n)
        return right

    with ThreadPoolExecutor(HTTP_THREADS) as pool:
        right = sum(pool.map(fetch, range(N_HTTP)))
    server.shutdown()
    server.server_close()
    serving.join(STEP_TIMEOUT_S)
    lines = log_text.getvalue().splitlines()
    print("http: %d of %d GET+POST pairs right, %d requests logged"
          % (right, N_HTTP, len(lines)))


def main():
    checks.watch_threads()
    refused_section()
    timeout_section()
    poll_section()
    wake_section()
    http_section()
    return checks.report("py_net")


if __name__ == "__main__":
    sys.exit(main())
