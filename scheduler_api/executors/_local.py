"""The ``local`` executor: one process pool per node of the local stack.

Each node gets a pool with as many workers as it has cores (capped by this machine's), so the
engine's lanes and the real concurrency agree; constraints are honoured by placement, which only
picks nodes that meet them. A worker that dies breaks only its node's pool, which is rebuilt.
Each attempt's stdout and stderr are captured in its worker (``LogCapture``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import platform
import socket
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

import psutil

from scheduler_api.executors._base import Completion
from scheduler_api.executors._capture import LogCapture
from scheduler_api.executors._record import RecordKey, RunRecords, ended_record
from scheduler_api.executors._usage import measuring
from scheduler_api.placement import NodeInfo

if TYPE_CHECKING:
    from scheduler_api.workflow._events import TaskEvent

__all__ = ["LocalExecutor", "local_node"]

_log = logging.getLogger(__name__)

# platform.machine() -> OpenTelemetry host.arch values, which the agents report.
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def local_node(node_id: str | None = None) -> NodeInfo:
    """This machine as one node, measured now with psutil."""
    memory = psutil.virtual_memory()
    machine = platform.machine().lower()
    return NodeInfo(
        node_id=node_id or socket.gethostname(),
        cpu_cores=os.cpu_count() or 1,
        memory_bytes=memory.total,
        memory_available_bytes=memory.available,
        arch=_ARCH.get(machine, machine),
        # Load average over cores: a cheap, non-blocking load figure (cpu_percent needs priming).
        cpu_utilization=min(1.0, os.getloadavg()[0] / (os.cpu_count() or 1)),
        latency_s=0.0,
    )


def _run(
    function: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    capture: LogCapture,
    where: RecordKey,
) -> TaskEvent:
    """Worker side: run, time, measure, capture output, and make the attempt's task-event
    record, with any exception as text (exceptions may not pickle)."""
    started = time.time()
    ok, value, text = True, None, ""
    with capture.capturing() as output, measuring() as meter:
        try:
            value = function.run_inline(*args, **kwargs)
        except Exception as err:
            ok, text = False, "".join(traceback.format_exception(err)).strip()
    return ended_record(
        ok, value, text, started, time.time(), output.result, meter.usage, **where._asdict()
    )


class LocalExecutor(RunRecords):
    """Process pools on this machine, one per node.

    Args:
        nodes: The local stack's nodes (from the API); default: this machine alone.
        max_workers_per_node: Cap on each pool's workers (default: this machine's cores).
        capture: How task output is captured (default: 1 MiB per stream, nothing redacted).
        workflow_id: This run's id in the task-event records (default: a fresh random one).
    """

    name = "local"

    def __init__(
        self,
        nodes: list[NodeInfo] | None = None,
        max_workers_per_node: int | None = None,
        capture: LogCapture | None = None,
        workflow_id: str | None = None,
    ):
        super().__init__(workflow_id)
        self._nodes = list(nodes) if nodes else [local_node()]
        self._cap = max_workers_per_node or os.cpu_count() or 1
        self._capture = capture or LogCapture()
        self._pools: dict[str, ProcessPoolExecutor] = {}
        self._running: dict[Future[TaskEvent], tuple[str, str, float]] = {}
        # fork: children inherit the workflow module, so task functions resolve by name.
        self._context = multiprocessing.get_context("fork")

    def nodes(self) -> list[NodeInfo]:
        return list(self._nodes)

    def submit(
        self,
        task_id: str,
        node_id: str,
        function: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        pool = self._pool(node_id)
        submitted = time.time()
        where = self.next_key(task_id, node_id)
        try:
            future = pool.submit(_run, function, args, kwargs, self._capture, where)
        except BrokenProcessPool:
            self._pools.pop(node_id, None)
            future = self._pool(node_id).submit(_run, function, args, kwargs, self._capture, where)
        self._running[future] = (task_id, node_id, submitted)

    def wait(self, timeout_s: float) -> list[Completion]:
        if not self._running:
            return []
        done, _ = wait(list(self._running), timeout=timeout_s, return_when=FIRST_COMPLETED)
        out: list[Completion] = []
        for future in done:
            task_id, node_id, submitted = self._running.pop(future)
            error = future.exception()
            if error is None:
                out.append(self.returned(future.result()))
                continue
            if isinstance(error, BrokenProcessPool):
                _log.warning("a worker on node %s died; rebuilding its pool", node_id)
                self._pools.pop(node_id, None)
            text = f"{type(error).__name__}: {error}"
            out.append(Completion(task_id, node_id, False, None, text, submitted, time.time()))
        return out

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        self._pools.clear()
        self._running.clear()

    def _pool(self, node_id: str) -> ProcessPoolExecutor:
        pool = self._pools.get(node_id)
        if pool is None:
            node = next((n for n in self._nodes if n.node_id == node_id), None)
            cores = node.cpu_cores if node else 1
            pool = ProcessPoolExecutor(max(1, min(cores, self._cap)), mp_context=self._context)
            self._pools[node_id] = pool
        return pool
