"""Executors run placed tasks: ``local`` (a process pool per node) and ``ray`` (tasks pinned to
nodes by node affinity, in ``scheduler_api.executors._ray``, imported only when Ray is wanted
since Ray is a heavy optional dependency)::

    executor = LocalExecutor()                 # this machine as one node
    executor.submit("square-1", executor.nodes()[0].node_id, square, (3,), {})
    [completion] = executor.wait(timeout_s=5.0)

A task that raises is not an executor error: its ``Completion`` has ``ok=False`` and the
traceback text, and the session re-places it. Every attempt's stdout and stderr come back in
``Completion.output``, at most ``LogCapture.max_bytes_per_stream`` per stream, redacted, and
what it used (CPU seconds, bytes read and written, peak memory) in ``Completion.usage``.
"""

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

__all__ = [
    "DEFAULT_MAX_BYTES_PER_STREAM",
    "Completion",
    "Executor",
    "LocalExecutor",
    "LogCapture",
    "TaskOutput",
    "TaskUsage",
    "bound_text",
    "local_node",
    "measuring",
    "redact",
    "secret_values",
]
