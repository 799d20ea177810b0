"""Executor fakes for the workflow tests: pure logic, no processes."""

from __future__ import annotations

import time
from typing import Any

from scheduler_api.executors import Completion
from scheduler_api.placement import NodeInfo

__all__ = ["InlineExecutor"]


class InlineExecutor:
    """Runs tasks in this process at submit time; records what ran where."""

    name = "inline"

    def __init__(self, nodes: list[NodeInfo]) -> None:
        self._nodes = nodes
        self.ran: list[tuple[str, str]] = []
        self._done: list[Completion] = []

    def nodes(self) -> list[NodeInfo]:
        return self._nodes

    def submit(
        self,
        task_id: str,
        node_id: str,
        function: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.ran.append((task_id, node_id))
        now = time.time()
        try:
            value = function.run_inline(*args, **kwargs)
        except Exception as err:
            self._done.append(Completion(task_id, node_id, False, None, repr(err), now, now))
            return
        self._done.append(Completion(task_id, node_id, True, value, "", now, time.time()))

    def wait(self, timeout_s: float) -> list[Completion]:
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        pass
