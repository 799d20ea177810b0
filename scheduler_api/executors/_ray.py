"""The ``ray`` executor: each task pinned to its placed node by Ray's node affinity.

A continuum node is matched to a Ray node by a custom resource ``continuum_node:<id>`` (start the
worker with ``ray start --resources '{"continuum_node:edge-1": 1}'``), else by host name (the
agents' default node id), else, with one node on each side, to the only Ray node::

    executor = RayExecutor(address="auto")            # join a running cluster
    executor.submit("square-1", "edge-1", square, (3,), {})

Ray is optional: importing this module without it raises ``ImportError``.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import TYPE_CHECKING, Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from scheduler_api.executors._base import Completion
from scheduler_api.executors._capture import LogCapture
from scheduler_api.executors._record import RecordKey, RunRecords, ended_record
from scheduler_api.executors._usage import measuring
from scheduler_api.placement import NodeInfo

if TYPE_CHECKING:
    from scheduler_api.workflow._events import TaskEvent

__all__ = ["NODE_RESOURCE_PREFIX", "RayExecutor"]

NODE_RESOURCE_PREFIX = "continuum_node:"
_log = logging.getLogger(__name__)


def _run(
    function: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    capture: LogCapture,
    key: RecordKey,
) -> TaskEvent:
    """Worker side: run, time, measure, capture output, and make the attempt's task-event
    record, with any exception as text."""
    started = time.time()
    ok, value, text = True, None, ""
    with capture.capturing() as output, measuring() as meter:
        try:
            value = function(*args, **kwargs)
        except Exception as err:  # a task's failure is data, reported to the driver
            ok, text = False, "".join(traceback.format_exception(err)).strip()
    return ended_record(
        ok, value, text, started, time.time(), output.result, meter.usage, **key._asdict()
    )


def _continuum_id(ray_node: dict[str, Any]) -> str | None:
    for resource in ray_node.get("Resources", {}):
        if resource.startswith(NODE_RESOURCE_PREFIX):
            return str(resource[len(NODE_RESOURCE_PREFIX) :])
    return None


class RayExecutor(RunRecords):
    """Runs tasks on a Ray cluster, each on the Ray node matching its placed continuum node.

    Args:
        nodes: Continuum nodes (from the API); default: one per live Ray node.
        address: Ray cluster address (``"auto"`` for a running one); default: a local Ray
            started for this run and stopped by ``close()``.
        capture: How task output is captured in the Ray worker (default: 1 MiB per stream).
        workflow_id: This run's id in the task-event records (default: a fresh random one).
    """

    name = "ray"

    def __init__(
        self,
        nodes: list[NodeInfo] | None = None,
        address: str | None = None,
        capture: LogCapture | None = None,
        workflow_id: str | None = None,
    ) -> None:
        super().__init__(workflow_id)
        self._capture = capture or LogCapture()
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self._remote = ray.remote(max_retries=0)(_run)
        live = [n for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
        self._ray_of: dict[str, str] = {}
        if nodes:
            self._nodes = [n for n in nodes if self._match(n, live)]
        else:
            self._nodes = [self._describe(n) for n in live]
        self._running: dict[Any, tuple[str, str, float]] = {}

    def _match(self, node: NodeInfo, live: list[dict[str, Any]]) -> bool:
        for ray_node in live:
            if _continuum_id(ray_node) == node.node_id:
                self._ray_of[node.node_id] = ray_node["NodeID"]
                return True
        for ray_node in live:
            if ray_node.get("NodeManagerHostname") == node.node_id:
                self._ray_of[node.node_id] = ray_node["NodeID"]
                return True
        if len(live) == 1:
            self._ray_of[node.node_id] = live[0]["NodeID"]
            return True
        _log.warning("continuum node %s has no Ray node; it gets no tasks", node.node_id)
        return False

    def _describe(self, ray_node: dict[str, Any]) -> NodeInfo:
        resources = ray_node.get("Resources", {})
        node_id = _continuum_id(ray_node) or ray_node["NodeID"]
        self._ray_of[node_id] = ray_node["NodeID"]
        return NodeInfo(
            node_id=node_id,
            cpu_cores=max(1, int(resources.get("CPU", 1))),
            memory_bytes=int(resources.get("memory", 0)),
            gpus=int(resources.get("GPU", 0)),
        )

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
        strategy = NodeAffinitySchedulingStrategy(self._ray_of[node_id], soft=False)
        # The plain function: Ray's pickler sends it by value when its name is the task wrapper.
        plain = getattr(function, "function", function)
        key = self.next_key(task_id, node_id)
        ref = self._remote.options(scheduling_strategy=strategy).remote(
            plain, args, kwargs, self._capture, key
        )
        self._running[ref] = (task_id, node_id, time.time())

    def wait(self, timeout_s: float) -> list[Completion]:
        if not self._running:
            return []
        ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout_s)
        out: list[Completion] = []
        for ref in ready:
            task_id, node_id, submitted = self._running.pop(ref)
            try:
                record: TaskEvent = ray.get(ref)
            except ray.exceptions.RayError as err:  # worker or node died
                text = f"{type(err).__name__}: {err}"
                out.append(Completion(task_id, node_id, False, None, text, submitted, time.time()))
                continue
            out.append(self.returned(record))
        return out

    def close(self) -> None:
        self._running.clear()
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
