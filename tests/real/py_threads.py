#!/usr/bin/python3
"""py_threads: a plain Python program with many threads, for tests/diff_real.c.

It knows nothing of libgreen. Run natively, CPython makes one OS thread per
threading.Thread; run under LD_PRELOAD=libgreen.so, each becomes a green
thread, and what the program prints must not change.

What it does, in order:
  - an echo server (socketserver.ThreadingTCPServer, a thread per
    connection) on 127.0.0.1, port 0, and 200 client threads that each send
    a seeded pseudo-random payload of 64 to 256 KiB and check every byte
    that comes back;
  - Lock, RLock, Condition (a bounded buffer), queue.Queue (producers and
    consumers with an order-independent checksum), Event (a wait that times
    out, a set that wakes every waiter) and Barrier;
  - 1,000 threads that each sleep 300 ms, all at once.

stdout is the same on every correct run. stderr carries what varies:
"os_threads=N", the most OS threads (the Threads: line of /proc/self/status)
seen while all the clients were alive, and "sleep_wall_ms=N", how long the
1,000 sleepers took from the first start to the last join. Any mismatch is
said on stderr and makes the exit status 1.
"""

import queue
import random
import socket
import socketserver
import struct
import sys
import threading
import time

import checks
from checks import fail

N_CLIENTS = 200
MIN_PAYLOAD = 64 * 1024
MAX_PAYLOAD = 256 * 1024
N_SLEEPERS = 1000
SLEEP_S = 0.3
# A hung step fails the run instead of hanging it (the runner would kill
# it, but later and with less to say).
STEP_TIMEOUT_S = 20.0

HEADER = struct.Struct("!I")  # payload length, ahead of the payload
MASK64 = (1 << 64) - 1


def os_threads():
    """The kernel's count of this process's threads."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def join_all(threads, what):
    deadline = time.monotonic() + STEP_TIMEOUT_S
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            fail("%s: %s still running after %.0f s"
                 % (what, t.name, STEP_TIMEOUT_S))
            return False
    return True


def item_value(producer, i):
    """What item i of a producer adds to a checksum; summed, so the order
    in which consumers take items does not change the total."""
    return (producer * 1000003 + i * 7919) ** 2 % ((1 << 61) - 1)


# --- echo server and clients --------------------------------------------


def recv_exactly(sock, n):
    """n bytes from sock, or fewer if the peer closes first."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:])
        if k == 0:
            break
        got += k
    return bytes(buf[:got])


class EchoHandler(socketserver.BaseRequestHandler):
    """Reads the whole payload, then sends it back: the client sends all
    before it reads, so echoing as we read could fill both directions."""

    def handle(self):
        header = recv_exactly(self.request, HEADER.size)
        if len(header) != HEADER.size:
            fail("server: short header")
            return
        (n,) = HEADER.unpack(header)
        data = recv_exactly(self.request, n)
        self.request.sendall(data)
        self.server.count(len(data))


class EchoServer(socketserver.ThreadingTCPServer):
    # The default backlog of 5 would drop some of 200 simultaneous SYNs,
    # and their retransmission a second later would dominate the run.
    request_queue_size = N_CLIENTS
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.lock = threading.Lock()
        self.connections = 0
        self.bytes = 0

    def handle_error(self, request, client_address):
        """socketserver would only print the traceback and go on."""
        error = sys.exc_info()[1]
        fail("server: %s: %s" % (type(error).__name__, error))

    def count(self, n):
        with self.lock:
            self.connections += 1
            self.bytes += n


class EchoTotals:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0
        self.echoed = 0
        self.mismatches = 0


def echo_client(port, index, all_connected, totals):
    rng = random.Random(index)
    payload = rng.randbytes(rng.randint(MIN_PAYLOAD, MAX_PAYLOAD))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        # Every client is alive, and connected, when main counts threads.
        all_connected.wait(STEP_TIMEOUT_S)
        sock.sendall(HEADER.pack(len(payload)) + payload)
        echoed = recv_exactly(sock, len(payload))
    wrong = sum(a != b for a, b in zip(payload, echoed))
    wrong += len(payload) - len(echoed)
    with totals.lock:
        totals.sent += len(payload)
        totals.echoed += len(echoed)
        totals.mismatches += wrong
    if wrong:
        fail("client %d: %d of %d bytes wrong or missing"
             % (index, wrong, len(payload)))


def echo_section():
    totals = EchoTotals()
    server = EchoServer()
    port = server.server_address[1]
    serving = threading.Thread(target=server.serve_forever,
                               kwargs={"poll_interval": 0.05},
                               name="serve_forever")
    serving.start()
    # Counted before the barrier lets anyone go: every client is alive.
    counts = []
    all_connected = threading.Barrier(N_CLIENTS + 1,
                                      action=lambda: counts.append(os_threads()))
    clients = [threading.Thread(target=echo_client,
                                args=(port, i, all_connected, totals),
                                name="client-%d" % i)
               for i in range(N_CLIENTS)]
    for t in clients:
        t.start()
    all_connected.wait(STEP_TIMEOUT_S)
    most = max(counts)
    for t in clients:
        # Keep counting while they run: handler threads come and go.
        most = max(most, os_threads())
        t.join(STEP_TIMEOUT_S)
    join_all(clients, "echo clients")
    server.shutdown()
    server.server_close()  # joins the handler threads
    serving.join(STEP_TIMEOUT_S)
    print("echo: %d clients, %d bytes sent, %d echoed, %d mismatches"
          % (N_CLIENTS, totals.sent, totals.echoed, totals.mismatches))
    print("echo server: %d connections, %d bytes"
          % (server.connections, server.bytes))
    if server.connections != N_CLIENTS:
        fail("server saw %d connections, want %d"
             % (server.connections, N_CLIENTS))
    print("os_threads=%d" % most, file=sys.stderr)


# --- Lock, RLock, Condition, Queue, Event, Barrier ---------------------------


def lock_section():
    """16 threads add 1 to a counter 2,000 times each under a Lock; the
    read and the write are apart, so a lost update would show."""
    lock = threading.Lock()
    state = {"n": 0}

    def adder():
        for _ in range(2000):
            with lock:
                n = state["n"]
                if n % 97 == 0:
                    time.sleep(0)  # others run, and find the lock held
                state["n"] = n + 1

    threads = [threading.Thread(target=adder) for _ in range(16)]
    for t in threads:
        t.start()
    join_all(threads, "lock")
    print("lock: counter %d" % state["n"])


def rlock_section():
    """8 threads each take an RLock 5 deep, 200 times."""
    rlock = threading.RLock()
    state = {"depth_sum": 0}

    def nest(depth):
        with rlock:
            state["depth_sum"] += depth
            if depth < 5:
                nest(depth + 1)

    def worker():
        for _ in range(200):
            nest(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    join_all(threads, "rlock")
    print("rlock: depth sum %d" % state["depth_sum"])


def condition_section():
    """A bounded buffer of 4 on one Condition: 4 producers of 500 items, 4
    consumers that stop at a None each."""
    cond = threading.Condition()
    buffer = []
    got = {"items": 0, "sum": 0}

    def producer(p):
        for i in range(500):
            with cond:
                if not cond.wait_for(lambda: len(buffer) < 4, STEP_TIMEOUT_S):
                    fail("condition: producer timed out")
                    return
                buffer.append(item_value(p, i))
                cond.notify_all()

    def consumer():
        while True:
            with cond:
                cond.wait_for(lambda: buffer, STEP_TIMEOUT_S)
                if not buffer:
                    fail("condition: consumer timed out")
                    return
                value = buffer.pop(0)
                cond.notify_all()
                if value is None:
                    return
                got["items"] += 1
                got["sum"] = (got["sum"] + value) & MASK64

    producers = [threading.Thread(target=producer, args=(p,))
                 for p in range(4)]
    consumers = [threading.Thread(target=consumer) for _ in range(4)]
    for t in producers + consumers:
        t.start()
    join_all(producers, "condition producers")
    for _ in consumers:
        with cond:
            cond.wait_for(lambda: len(buffer) < 4, STEP_TIMEOUT_S)
            buffer.append(None)
            cond.notify_all()
    join_all(consumers, "condition consumers")
    print("condition: %d items, checksum %d" % (got["items"], got["sum"]))


def queue_section():
    """queue.Queue(16): 4 producers of 1,000 items, 3 consumers."""
    q = queue.Queue(maxsize=16)
    sums = []
    sums_lock = threading.Lock()

    def producer(p):
        for i in range(1000):
            q.put((p, i), timeout=STEP_TIMEOUT_S)

    def consumer():
        items, total = 0, 0
        while True:
            item = q.get(timeout=STEP_TIMEOUT_S)
            if item is None:
                break
            items += 1
            total += item_value(*item)
        with sums_lock:
            sums.append((items, total))

    producers = [threading.Thread(target=producer, args=(p,))
                 for p in range(4)]
    consumers = [threading.Thread(target=consumer) for _ in range(3)]
    for t in producers + consumers:
        t.start()
    join_all(producers, "queue producers")
    for _ in consumers:
        q.put(None)
    join_all(consumers, "queue consumers")
    items = sum(n for n, _ in sums)
    total = sum(s for _, s in sums) & MASK64
    print("queue: %d items, checksum %d" % (items, total))


def event_section():
    """A wait that nobody ends must last its timeout; a set must wake all
    of 10 waiters."""
    never = threading.Event()
    start = time.monotonic()
    woken = never.wait(0.1)
    waited = time.monotonic() - start
    if waited < 0.1:
        fail("event: wait(0.1) returned after %.3f s" % waited)
    print("event: unset wait returned %s" % woken)

    go = threading.Event()
    results = []
    results_lock = threading.Lock()

    def waiter():
        ok = go.wait(STEP_TIMEOUT_S)
        with results_lock:
            results.append(ok)

    threads = [threading.Thread(target=waiter) for _ in range(10)]
    for t in threads:
        t.start()
    go.set()
    join_all(threads, "event waiters")
    print("event: set woke %d of 10" % results.count(True))


def barrier_section():
    """8 threads, 10 rounds: each round hands out indices 0..7 once and runs
    the action once."""
    parties, rounds = 8, 10
    actions = []
    barrier = threading.Barrier(parties, action=lambda: actions.append(1),
                                timeout=STEP_TIMEOUT_S)
    indices = [[] for _ in range(rounds)]
    indices_lock = threading.Lock()

    def worker():
        for r in range(rounds):
            index = barrier.wait()
            with indices_lock:
                indices[r].append(index)

    threads = [threading.Thread(target=worker) for _ in range(parties)]
    for t in threads:
        t.start()
    join_all(threads, "barrier")
    whole = sum(sorted(ix) == list(range(parties)) for ix in indices)
    print("barrier: %d of %d rounds handed out every index, %d actions"
          % (whole, rounds, len(actions)))


# --- sleepers --------------------------------------------------------------


def sleep_section():
    slept = []
    slept_lock = threading.Lock()

    def sleeper():
        start = time.monotonic()
        time.sleep(SLEEP_S)
        short = time.monotonic() - start < SLEEP_S
        with slept_lock:
            slept.append(short)

    threads = [threading.Thread(target=sleeper) for _ in range(N_SLEEPERS)]
    start = time.monotonic()
    for t in threads:
        t.start()
    join_all(threads, "sleepers")
    wall_ms = (time.monotonic() - start) * 1000
    short = slept.count(True)
    if short:
        fail("sleep: %d sleeps ended early" % short)
    print("sleep: %d threads slept %d ms each" % (len(slept), SLEEP_S * 1000))
    print("sleep_wall_ms=%d" % wall_ms, file=sys.stderr)


def main():
    checks.watch_threads()
    echo_section()
    lock_section()
    rlock_section()
    condition_section()
    queue_section()
    event_section()
    barrier_section()
    sleep_section()
    return checks.report("py_threads")


if __name__ == "__main__":
    sys.exit(main())
