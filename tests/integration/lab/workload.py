"""Task bodies the lab test's workflow runs on the lab's pull-mode workers."""

from __future__ import annotations

import os
import time

from scheduler_api.workflow import constraint, task


def _burn(cpu_s: float) -> None:
    # Busy work that costs real CPU time, so the node's quota decides how long it takes.
    end = time.process_time() + cpu_s
    while time.process_time() < end:
        pass


@task(work_s=1.2)
def crunch(x: int) -> dict[str, object]:
    """A CPU-bound step, long enough on a lab node's quota for a kill to catch it running."""
    _burn(1.2)
    return {"x": x * x, "pid": os.getpid()}


@constraint(tier="edge")
@task(work_s=0.2)
def on_edge(x: int) -> int:
    """A step only an edge node may run."""
    _burn(0.2)
    return x + 1


@task(work_s=0.05)
def gather(*values: object) -> int:
    return len(values)
