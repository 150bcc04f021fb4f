"""checks: what the scripts of tests/real/ share: the list of what went
wrong in a run, which any thread adds to, and the report at its end.

Imported from the scripts' own directory (Python puts it first on
sys.path); it knows nothing of libgreen either.
"""

import sys
import threading

_failures = []
_lock = threading.Lock()


def fail(what):
    """Say what went wrong; the run fails at report()."""
    with _lock:
        _failures.append(what)


def _thread_ended_by(args):
    """An exception that ends a thread is a failure of the run."""
    fail("thread %s: %s: %s"
         % (args.thread.name if args.thread else "?",
            args.exc_type.__name__, args.exc_value))


def watch_threads():
    """From now on, a thread that ends with an exception fails the run."""
    threading.excepthook = _thread_ended_by


def report(name):
    """Each failure on stderr, after name; the exit status: 1 if any."""
    sys.stdout.flush()
    for what in _failures:
        print("%s: %s" % (name, what), file=sys.stderr)
    return 1 if _failures else 0
