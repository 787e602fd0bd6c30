"""Where an experiment's runs execute: in this process, on local worker processes, or on a Dask cluster.

A task is (scenario, seed); its result is a plain record (metrics and summary), so nothing but data
crosses a process boundary and the record is the same whichever worker made it: an experiment's
tables do not depend on the number of workers. Finished records go to the store as they arrive,
so an interrupted experiment keeps them and a re-run skips them. A run that raises is recorded
as failed with its error, and the others go on.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from sim.experiment.metrics import analysis_metrics, metrics_of
from sim.experiment.run import run
from sim.experiment.store import Store
from sim.spec import Scenario

RECORD_VERSION = 1


@dataclass(frozen=True)
class Task:
    """One run to make: ``key`` names its file; ``point`` groups the runs of one design or parameter point."""

    key: str
    point: str
    scenario: Scenario
    seed: int
    analysis: bool = False
    labels: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """Changes whenever the run would: scenario, seed, options, record format."""
        text = f"{RECORD_VERSION}|{self.scenario.model_dump_json()}|{self.seed}|{self.analysis}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def run_task(task: Task) -> dict[str, Any]:
    """Run one task and return its record; an exception becomes a failed record, not a crash."""
    record: dict[str, Any] = {"key": task.key, "point": task.point, "seed": task.seed,
                              "fingerprint": task.fingerprint, "labels": task.labels}
    start = time.perf_counter()
    try:
        result = run(task.scenario, task.seed)
        metrics = metrics_of(result.summary)
        if task.analysis:
            metrics.update(analysis_metrics(result))
        record.update(status="ok", error=None, metrics=metrics, summary=result.summary)
    except Exception as err:  # a failed run is data: recorded, counted, and the experiment goes on
        last = traceback.extract_tb(err.__traceback__)[-1:] or None
        where = f" (at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
        record.update(status="error", error=f"{type(err).__name__}: {err}{where}", metrics={}, summary=None)
    record["elapsed_s"] = time.perf_counter() - start
    return record


class Interrupted(Exception):
    """Ctrl-C during an experiment: ``records`` holds the runs that finished (all are in the store)."""

    def __init__(self, records: list[dict[str, Any]]):
        super().__init__(f"interrupted after {len(records)} runs")
        self.records = records


@dataclass
class Executor:
    """Runs tasks on ``workers`` local processes (default: every core; 1 runs in this process) or on Dask.

    ``dask`` is a scheduler address (``tcp://host:8786``) or ``'local'`` for a LocalCluster of
    ``workers`` processes. ``progress`` draws a tqdm bar on stderr (runs done / total, ETA).
    ``max_new_runs`` stops after that many new runs (the others stay to do; used to test resuming).
    ``in_process`` (default: when there is one worker) runs tasks in this process instead of a pool.
    """

    workers: int | None = None
    dask: str | None = None
    progress: bool = False
    max_new_runs: int | None = None
    in_process: bool | None = None
    stats: dict[str, int] = field(default_factory=lambda: {"reused": 0, "ran": 0, "failed": 0})

    def map(self, tasks: list[Task], store: Store | None = None, desc: str = "runs") -> list[dict[str, Any]]:
        """The record of every task, in task order; finished ones come from ``store`` unchanged."""
        records: dict[str, dict[str, Any]] = {}
        todo = []
        for task in tasks:
            old = store.get(task.key, task.fingerprint) if store else None
            if old is not None:
                records[task.key] = old
            else:
                todo.append(task)
        self.stats["reused"] += len(records)
        if self.max_new_runs is not None:
            todo = todo[: self.max_new_runs]
        bar = _bar(len(tasks), len(records), desc, self.progress)
        try:
            for record in self._execute(todo):
                if store is not None:
                    store.put(record)
                records[record["key"]] = record
                self.stats["ran"] += 1
                self.stats["failed"] += record["status"] != "ok"
                bar.update(1)
        except KeyboardInterrupt:
            raise Interrupted([records[t.key] for t in tasks if t.key in records]) from None
        finally:
            bar.close()
        return [records[t.key] for t in tasks if t.key in records]

    def _execute(self, tasks: list[Task]) -> Iterator[dict[str, Any]]:
        if not tasks:
            return iter(())
        if self.dask:
            return _dask_results(tasks, self.dask, self.workers)
        workers = self.workers or os.cpu_count() or 1
        in_process = (workers == 1 or len(tasks) == 1) if self.in_process is None else self.in_process
        if in_process:
            return (run_task(t) for t in tasks)
        return _pool_results(tasks, min(workers, len(tasks)))


def _bar(total: int, initial: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="run", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, leave=True)


def _pool_results(tasks: list[Task], workers: int) -> Iterator[dict[str, Any]]:
    """Records as they finish on a local process pool; at most 2 tasks per worker are queued ahead."""
    pool = ProcessPoolExecutor(max_workers=workers)
    pending: set[Future] = set()
    queue = iter(tasks)
    try:
        for task in queue:
            pending.add(pool.submit(run_task, task))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending.add(pool.submit(run_task, nxt))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask_results(tasks: list[Task], address: str, workers: int | None) -> Iterator[dict[str, Any]]:
    """Records as they finish on a Dask cluster (``'local'`` starts a LocalCluster for this experiment)."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - depends on the optional extra
        raise RuntimeError('Dask is not installed: pip install -e ".[dask]"') from None
    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        futures = [client.submit(run_task, t, key=f"chaossim-{t.key}-{t.fingerprint}", pure=False) for t in tasks]
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_all(tasks: list[Task], executor: Executor | None, store: Store | None,
            desc: str = "runs") -> list[dict[str, Any]]:
    """Shorthand: ``executor.map`` with a default executor (all cores, no progress bar)."""
    return (executor or Executor()).map(tasks, store, desc)

