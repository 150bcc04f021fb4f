#!/usr/bin/python3
"""py_asyncio: an asyncio program that also uses threads, for
tests/diff_real.c.

It knows nothing of libgreen. The event loop runs in the main thread and
waits in epoll_wait; threads reach it the ways asyncio offers, each of
which must wake that wait:

  - blocking work in the loop's ThreadPoolExecutor (run_in_executor and
    asyncio.to_thread), 200 jobs each;
  - 20 threads that each queue 100 callbacks with call_soon_threadsafe
    (a write to the loop's self-pipe socket);
  - loop.add_signal_handler: CPython's C handler writes the signal number
    to the wakeup fd (signal.set_wakeup_fd, a socket); 20 times a new
    thread sends SIGUSR1 to the process while the loop waits with no
    timeout;
  - an asyncio streams echo server and 50 clients on 127.0.0.1, port 0,
    each sending a seeded payload of 100 KiB and checking the echo; a
    read that times out (wait_for); a refused connection;
  - subprocesses: 10 echo processes at once, whose exit the child watcher
    thread reports to the loop, and a shell's exit status;
  - 10 threads that each run an event loop of their own (asyncio.run),
    each sending a job to its own executor.

stdout is the same on every correct run. Any mismatch is said on stderr and
makes the exit status 1.
"""

import asyncio
import os
import random
import signal
import socket
import sys
import threading
import time

import checks
from checks import fail

N_JOBS = 200
N_PUSHERS = 20
CALLS_PER_PUSHER = 100
N_SIGNALS = 20
N_CLIENTS = 50
PAYLOAD = 100 * 1024
N_SUBPROCESSES = 10
N_THREAD_LOOPS = 10
# A hung step fails the run instead of hanging it.
STEP_TIMEOUT_S = 20.0


def square_after_nap(i):
    time.sleep(0.01)
    return i * i


async def executor_section(loop):
    futures = [loop.run_in_executor(None, square_after_nap, i)
               for i in range(N_JOBS)]
    got = await asyncio.wait_for(asyncio.gather(*futures), STEP_TIMEOUT_S)
    print("run_in_executor: %d jobs, sum %d" % (len(got), sum(got)))
    got = await asyncio.wait_for(
        asyncio.gather(*[asyncio.to_thread(square_after_nap, i)
                         for i in range(N_JOBS)]), STEP_TIMEOUT_S)
    print("to_thread: %d jobs, sum %d" % (len(got), sum(got)))


async def threadsafe_section(loop):
    want = N_PUSHERS * CALLS_PER_PUSHER
    calls = {"n": 0}
    all_in = loop.create_future()

    def count():
        calls["n"] += 1
        if calls["n"] == want:
            all_in.set_result(None)

    def pusher():
        for _ in range(CALLS_PER_PUSHER):
            loop.call_soon_threadsafe(count)

    threads = [threading.Thread(target=pusher) for _ in range(N_PUSHERS)]
    for t in threads:
        t.start()
    try:
        await asyncio.wait_for(all_in, STEP_TIMEOUT_S)
    except asyncio.TimeoutError:
        fail("call_soon_threadsafe: %d of %d calls ran" % (calls["n"], want))
    for t in threads:
        t.join(STEP_TIMEOUT_S)
    print("call_soon_threadsafe: %d calls ran" % calls["n"])


async def signal_section(loop):
    arrived = asyncio.Event()
    count = {"n": 0}

    def on_usr1():
        count["n"] += 1
        arrived.set()

    loop.add_signal_handler(signal.SIGUSR1, on_usr1)
    for _ in range(N_SIGNALS):
        arrived.clear()
        killer = threading.Thread(
            target=lambda: os.kill(os.getpid(), signal.SIGUSR1))
        killer.start()
        # No timeout on this wait: the loop sleeps in epoll_wait(-1) until
        # the wakeup fd reports (the wait_for below only bounds a hang).
        try:
            await asyncio.wait_for(arrived.wait(), STEP_TIMEOUT_S)
        except asyncio.TimeoutError:
            fail("add_signal_handler: signal %d never arrived"
                 % (count["n"] + 1))
            break
        killer.join(STEP_TIMEOUT_S)
    loop.remove_signal_handler(signal.SIGUSR1)
    print("add_signal_handler: %d of %d signals handled"
          % (count["n"], N_SIGNALS))


async def echo_handler(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def echo_client(port, index):
    payload = random.Random(index).randbytes(PAYLOAD)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    writer.write_eof()
    echoed = await reader.read()
    writer.close()
    await writer.wait_closed()
    if echoed != payload:
        fail("stream client %d: %d bytes back, want %d, equal %s"
             % (index, len(echoed), len(payload), echoed == payload))
    return len(echoed)


async def streams_section():
    server = await asyncio.start_server(echo_handler, "127.0.0.1", 0,
                                        backlog=N_CLIENTS)
    port = server.sockets[0].getsockname()[1]
    sizes = await asyncio.wait_for(
        asyncio.gather(*[echo_client(port, i) for i in range(N_CLIENTS)]),
        STEP_TIMEOUT_S)
    server.close()
    await server.wait_closed()
    print("streams: %d clients, %d bytes echoed" % (len(sizes), sum(sizes)))

    # Nobody writes: the read must time out, and not much later.
    quiet, other = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=quiet)
    start = time.monotonic()
    try:
        await asyncio.wait_for(reader.read(1), 0.1)
        print("streams: a read with no writer returned")
    except asyncio.TimeoutError:
        waited = time.monotonic() - start
        if waited < 0.1 or waited > 2.0:
            fail("streams: read timeout of 0.1 s took %.3f s" % waited)
        print("streams: a read with no writer timed out")
    writer.close()
    other.close()

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    try:
        await asyncio.open_connection("127.0.0.1", refused_port)
        print("streams: connect to a closed port succeeded")
    except OSError as e:
        print("streams: connect to a closed port: %s, errno %s"
              % (type(e).__name__, e.errno))


async def run_echo(i):
    proc = await asyncio.create_subprocess_exec(
        "/bin/echo", "child %d" % i, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return out.decode().strip() == "child %d" % i and proc.returncode == 0


async def subprocess_section():
    right = await asyncio.wait_for(
        asyncio.gather(*[run_echo(i) for i in range(N_SUBPROCESSES)]),
        STEP_TIMEOUT_S)
    print("subprocess: %d of %d echoed right"
          % (sum(right), N_SUBPROCESSES))
    shell = await asyncio.create_subprocess_shell("exit 3")
    code = await asyncio.wait_for(shell.wait(), STEP_TIMEOUT_S)
    print("subprocess: shell exited %d" % code)


async def main_loop():
    loop = asyncio.get_running_loop()
    await executor_section(loop)
    await threadsafe_section(loop)
    await signal_section(loop)
    await streams_section()
    await subprocess_section()


def thread_loops_section():
    results = []
    results_lock = threading.Lock()

    async def doubled(i):
        await asyncio.sleep(0.05)
        return await asyncio.to_thread(lambda: 2 * i)

    def runner(i):
        value = asyncio.run(doubled(i))
        with results_lock:
            results.append(value)

    threads = [threading.Thread(target=runner, args=(i,))
               for i in range(N_THREAD_LOOPS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(STEP_TIMEOUT_S)
    right = sorted(results) == [2 * i for i in range(N_THREAD_LOOPS)]
    print("loops in threads: %d loops, results %s"
          % (len(results), "right" if right else "wrong"))


def main():
    checks.watch_threads()
    asyncio.run(main_loop())
    thread_loops_section()
    return checks.report("py_asyncio")


if __name__ == "__main__":
    sys.exit(main())
