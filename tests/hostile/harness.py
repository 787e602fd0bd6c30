"""Running the ``chaossim`` command on hostile input in a separate process with bounded time and memory.

``chaossim_limited`` starts one CLI process (``python -m sim.cli``) under an address-space limit and a
timeout. ``run_batch`` runs many CLI invocations in one such process (``batch_driver``), each under
its own alarm, so a corpus of hundreds of files costs one interpreter start instead of hundreds.
Either way, a hang shows as a timeout, a memory blow-up as a MemoryError or a kill, and a traceback
as text on stderr: the assertions in ``assert_one_line`` catch all three.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

MEMORY_LIMIT_BYTES = 1536 * 1024 * 1024
"""1.5 GB of address space: validate needs about 300 MB, a run of a tiny scenario a little more."""

CASE_TIMEOUT_S = 120.0
"""Longest a command may take (interpreter start included) on a loaded 2-core machine; refusals are timed
separately, in-process, by run_batch."""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": root, "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1"}


def chaossim_limited(*args: str, cwd: Path | None = None, timeout_s: float = CASE_TIMEOUT_S,
                     stdin: str | None = None) -> subprocess.CompletedProcess:
    """One ``chaossim`` process under the memory limit; a hang raises subprocess.TimeoutExpired."""
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=_env(), timeout=timeout_s, preexec_fn=_limit_memory, input=stdin)


def run_batch(invocations: list[list[str]], cwd: Path, per_case_timeout_s: float = 10.0) -> list[dict]:
    """Run each argument list through ``sim.cli.main`` in one limited process; one result dict per list.

    Each result has ``rc``, ``stdout``, ``stderr``, ``seconds`` (wall) and ``cpu_s``; a case that hangs
    has rc "timeout".
    """
    driver = Path(__file__).with_name("batch_driver.py")
    proc = subprocess.run(
        [sys.executable, str(driver), str(per_case_timeout_s)], input=json.dumps(invocations), capture_output=True,
        text=True, cwd=cwd, env=_env(), timeout=60 + per_case_timeout_s * len(invocations),
        preexec_fn=_limit_memory,
    )
    assert proc.returncode == 0, f"the batch driver failed: {proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


def assert_one_line(rc: int | str, stderr: str, stdout: str, names: str) -> str:
    """Exit 2, no traceback, exactly one ``where: reason`` line on stderr, and it contains ``names``."""
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr[-2000:]
    assert rc == 2, f"exit {rc}, stderr: {stderr[-1000:]!r}, stdout: {stdout[-500:]!r}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {lines[:5]}"
    where, sep, reason = lines[0].partition(": ")
    assert sep and where and reason, f"not a 'where: reason' line: {lines[0]!r}"
    assert names in lines[0], f"{names!r} not in {lines[0]!r}"
    assert len(lines[0]) < 1000, f"an error line should be short: {lines[0][:200]!r}..."
    return lines[0]
