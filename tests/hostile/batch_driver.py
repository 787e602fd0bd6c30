"""Runs ``sim.cli.main`` once per argument list read as JSON from stdin; prints one JSON result per list.

Started by tests/hostile/harness.py under an address-space limit. Each invocation gets its own alarm
(a hang becomes rc "timeout"), its stdout and stderr are captured, and anything that escapes main
(the traceback a user would see) is written to the captured stderr, as the interpreter would.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import sys
import time
import traceback


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout


def run_one(argv: list[str], timeout_s: float) -> dict:
    from sim.cli import main

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    start_cpu_s = time.process_time()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exit_:
                rc = exit_.code if isinstance(exit_.code, int) else 1
            except _Timeout:
                raise
            except BaseException:  # what the user would see: a traceback
                traceback.print_exc()
                rc = 1
    except _Timeout:
        rc = "timeout"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return {"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue(), "seconds": time.perf_counter() - start,
            "cpu_s": time.process_time() - start_cpu_s}


def main() -> None:
    timeout_s = float(sys.argv[1])
    invocations = json.load(sys.stdin)
    results = [run_one(argv, timeout_s) for argv in invocations]
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
