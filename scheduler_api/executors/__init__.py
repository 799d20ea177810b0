"""Executors run placed tasks: ``local`` (a process pool per node), ``ray`` (tasks pinned to
nodes by node affinity) and ``pull`` (assignments over Kafka to the nodes' workers).
``RayExecutor`` and ``PullExecutor`` load on first use: Ray and Kafka are heavy, optional
dependencies::

    executor = LocalExecutor()                 # this machine as one node
    executor.submit("square-1", executor.nodes()[0].node_id, square, (3,), {})
    [completion] = executor.wait(timeout_s=5.0)

A task that raises is not an executor error: its ``Completion`` has ``ok=False`` and the
traceback text, and the session re-places it. Every attempt ends in the project's one
task-event record (``Completion.record``, a ``TaskEvent``), made the same way by the local and
Ray workers as by the pull worker: wall time, CPU seconds, peak memory, bytes read and written,
node, workflow, task and attempt, and the tails of its stdout and stderr (at most
``LogCapture.max_bytes_per_stream`` per stream, redacted), read as ``Completion.usage`` and
``Completion.output``.
"""

from typing import TYPE_CHECKING

from continuum._lazy import lazy_members
from scheduler_api.executors._base import Completion, Executor
from scheduler_api.executors._capture import (
    DEFAULT_MAX_BYTES_PER_STREAM,
    LogCapture,
    TaskOutput,
    bound_text,
    redact,
    secret_values,
)
from scheduler_api.executors._local import LocalExecutor, local_node
from scheduler_api.executors._usage import TaskUsage, measuring

if TYPE_CHECKING:
    from scheduler_api.executors._catalogue import ApiCatalogue, Catalogue
    from scheduler_api.executors._pull import PullExecutor, kafka_options
    from scheduler_api.executors._ray import RayExecutor

__all__ = [
    "DEFAULT_MAX_BYTES_PER_STREAM",
    "ApiCatalogue",
    "Catalogue",
    "Completion",
    "Executor",
    "LocalExecutor",
    "LogCapture",
    "PullExecutor",
    "RayExecutor",
    "TaskOutput",
    "TaskUsage",
    "bound_text",
    "kafka_options",
    "local_node",
    "measuring",
    "redact",
    "secret_values",
]

__getattr__ = lazy_members(
    __name__,
    {
        "ApiCatalogue": "scheduler_api.executors._catalogue",
        "Catalogue": "scheduler_api.executors._catalogue",
        "PullExecutor": "scheduler_api.executors._pull",
        "kafka_options": "scheduler_api.executors._pull",
        "RayExecutor": "scheduler_api.executors._ray",
    },
)
