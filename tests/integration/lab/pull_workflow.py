"""A workflow for `continuum run --executor pull` on the lab: edge readings, crunched, summed.

Self-contained (it imports only the workflow DSL) because each worker loads it by its path.
Every task prints a line naming itself, so its output reaches the task-logs API.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TypeVar

from scheduler_api.workflow import TaskFunction, constraint, task, wait_on

READINGS = 3
_F = TypeVar("_F", bound=TaskFunction)  # type: ignore[type-arg]


def half_core(function: _F) -> _F:
    """Ask for half a core: a lab node has less than one, and the ranking turns away a node
    whose capacity is under a task's request. ``@constraint`` takes whole cores only, so the
    request is set on the task's requirements (the ranking's own type, which takes fractions).
    """
    function.requirements = dataclasses.replace(function.requirements, cpu_cores=0.5)
    return function


def _burn(cpu_s: float) -> None:
    # Busy work that costs real CPU time, so the node's quota decides how long it takes.
    end = time.process_time() + cpu_s
    while time.process_time() < end:
        pass


@half_core
@constraint(tier="edge")
@task(work_s=0.2)
def sense(i: int) -> int:
    """A reading only an edge node may take."""
    _burn(0.2)
    print(f"sense {i}")
    return i + 1


@half_core
@task(work_s=0.4)
def crunch(x: int) -> int:
    _burn(0.4)
    print(f"crunch {x}")
    return x * x


@half_core
@task(work_s=0.05)
def total(*values: int) -> int:
    print(f"total of {len(values)}")
    return sum(values)


if __name__ == "__main__":
    print(wait_on(total(*[crunch(sense(i)) for i in range(READINGS)])))
