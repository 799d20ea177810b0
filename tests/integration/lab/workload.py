"""Task bodies the lab test's workflow runs on the lab's pull-mode workers."""

from __future__ import annotations

import hashlib
import os
import random
import time
from pathlib import Path

from scheduler_api.workflow import Dataset, constraint, task


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


@constraint(tier="cloud")
@task(work_s=0.2)
def sample(dataset_id: str, size: int) -> Dataset:
    """Write ``size`` seeded random bytes and publish them from the cloud node."""
    Path(dataset_id).write_bytes(random.Random(dataset_id).randbytes(size))
    return Dataset(dataset_id, path=dataset_id)


@constraint(tier="edge")
@task(work_s=0.2)
def summarise(source: Dataset, out_id: str) -> Dataset:
    """Read the sample on the edge (fetched from the cloud peer); publish its digest."""
    digest = hashlib.sha256(Path(source.path).read_bytes()).hexdigest()
    Path(out_id).write_text(f"{source.dataset_id} {digest}\n")
    return Dataset(out_id, path=out_id)


@constraint(tier="hpc")
@task(work_s=0.2)
def verify(summary: Dataset, source: Dataset) -> dict[str, object]:
    """Read both on the HPC node: the edge's digest (from the store) against the sample."""
    named, digest = Path(summary.path).read_text().split()
    data = Path(source.path).read_bytes()
    return {"named": named, "bytes": len(data), "same": digest == hashlib.sha256(data).hexdigest()}
