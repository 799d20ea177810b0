"""Run collectors in parallel, each on its own worker thread under its own time budget.

A collector that overruns its budget is skipped for the cycle and counted; while it stays stuck
(a read on a stale NFS mount never returns) it is not called again, so it holds one thread at
most and never stalls the others::

    runner = CollectorRunner([CpuCollector(...), MemoryCollector(...)], timeout_s=5.0)
    readings = runner.run_once()          # {"system.cpu.time": [Reading(...), ...], ...}
    runner.stats["cpu"].duration_s
    runner.shutdown()
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from agents._otel._records import Collector, Reading

__all__ = ["CollectorRunner", "CollectorStats", "TimedWorker"]

_T = TypeVar("_T")

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class CollectorStats:
    """Counters of one collector since start.

    Attributes:
        duration_s: wall time of its last finished run (the budget when it timed out).
        failures: runs that raised.
        timeouts: cycles it was skipped in, because it overran its budget or was still stuck.
        readings: readings of its last successful run.
        outcome: how its last cycle went: ``ok``, ``failed`` (it raised) or ``timeout`` (it
            overran its budget, or was still stuck from an earlier cycle).
    """

    duration_s: float = 0.0
    failures: int = 0
    timeouts: int = 0
    readings: int = 0
    outcome: str = "ok"


class TimedWorker(Generic[_T]):
    """One daemon thread that runs one callable on request, one call at a time.

    Daemon, so a call that never returns (a hung mount) cannot block interpreter exit; callers
    check :attr:`busy` and skip a worker that is still stuck instead of piling up threads.

    Args:
        name: the thread name.
        call: what each request runs.
    """

    def __init__(self, name: str, call: Callable[[], _T]) -> None:
        self.name = name
        self._call = call
        self._requests: queue.SimpleQueue[Future[tuple[_T, float]] | None] = queue.SimpleQueue()
        self._pending: Future[tuple[_T, float]] | None = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """Whether the last call has not returned yet."""
        return self._pending is not None and not self._pending.done()

    def submit(self) -> Future[tuple[_T, float]]:
        """Request one call; the future gets ``(result, wall seconds)`` or the exception."""
        future: Future[tuple[_T, float]] = Future()
        self._pending = future
        self._requests.put(future)
        return future

    def stop(self) -> None:
        """Let the thread end after its current call."""
        self._requests.put(None)

    def _loop(self) -> None:
        while True:
            future = self._requests.get()
            if future is None:
                return
            started = time.perf_counter()
            try:
                result = self._call()
            except BaseException as err:  # reported through the future
                future.set_exception(err)
            else:
                future.set_result((result, time.perf_counter() - started))


class CollectorRunner:
    """Runs a fixed set of collectors once per call, in parallel, each under its budget.

    Args:
        collectors: the collectors; names must be unique.
        timeout_s: the default budget of each collector per cycle.
        timeouts_s: budgets of particular collectors by name.
    """

    def __init__(
        self,
        collectors: Sequence[Collector],
        *,
        timeout_s: float,
        timeouts_s: Mapping[str, float] | None = None,
    ) -> None:
        names = [c.name for c in collectors]
        if len(set(names)) != len(names):
            raise ValueError(f"collector names must be unique: {names}")
        self._timeout_s = timeout_s
        self._timeouts_s = dict(timeouts_s or {})
        self._workers = [TimedWorker(f"collector-{c.name}", c.collect) for c in collectors]
        self._collectors = list(collectors)
        self._stats = {c.name: CollectorStats() for c in collectors}
        self._failing: set[str] = set()

    @property
    def collectors(self) -> list[Collector]:
        """The collectors, in the order given."""
        return list(self._collectors)

    @property
    def stats(self) -> Mapping[str, CollectorStats]:
        """Per-collector counters, by collector name."""
        return self._stats

    def run_once(self) -> dict[str, list[Reading]]:
        """Run every collector once and return their readings by instrument name.

        Collectors that fail or overrun contribute nothing this cycle.
        """
        started = time.monotonic()
        submitted: list[tuple[str, Future[tuple[Sequence[Reading], float]]]] = []
        for collector, worker in zip(self._collectors, self._workers, strict=True):
            name = collector.name
            if worker.busy:
                # Still stuck in an earlier cycle: never pile up more threads behind it.
                self._stats[name].timeouts += 1
                self._stats[name].outcome = "timeout"
                _log.debug("collector %s is still running from an earlier cycle; skipped", name)
                continue
            submitted.append((name, worker.submit()))
        readings: dict[str, list[Reading]] = {}
        for name, future in submitted:
            budget_s = self._timeouts_s.get(name, self._timeout_s)
            remaining_s = max(0.0, started + budget_s - time.monotonic())
            stats = self._stats[name]
            try:
                batch, duration_s = future.result(timeout=remaining_s)
            except TimeoutError:
                stats.timeouts += 1
                stats.outcome = "timeout"
                stats.duration_s = budget_s
                self._report_problem(name, f"took longer than its {budget_s:g} s budget")
                continue
            except Exception as err:  # a collector never takes the agent down
                stats.failures += 1
                stats.outcome = "failed"
                self._report_problem(name, f"failed: {err!r}")
                continue
            stats.duration_s = duration_s
            stats.readings = len(batch)
            stats.outcome = "ok"
            if name in self._failing:
                self._failing.discard(name)
                _log.info("collector %s recovered", name)
            for reading in batch:
                readings.setdefault(reading.instrument, []).append(reading)
        return readings

    def _report_problem(self, name: str, what: str) -> None:
        # Log once per episode; the counters carry the rest.
        if name not in self._failing:
            self._failing.add(name)
            _log.warning("collector %s %s; skipped this cycle (counted)", name, what)
        else:
            _log.debug("collector %s %s", name, what)

    def shutdown(self) -> None:
        """Stop the worker threads (a stuck one is a daemon and dies with the process)."""
        for worker in self._workers:
            worker.stop()
