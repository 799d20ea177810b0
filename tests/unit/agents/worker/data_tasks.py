"""Tasks that make and read datasets, for the worker's data tests (loaded by the runner)."""

from __future__ import annotations

from pathlib import Path

from scheduler_api.workflow import Dataset


def make(dataset_id: str, size: int) -> Dataset:
    """Write ``size`` bytes and publish them as ``dataset_id`` (a path relative to the cwd)."""
    Path(f"{dataset_id}.out").write_bytes(bytes(range(256)) * (size // 256))
    return Dataset(dataset_id, path=f"{dataset_id}.out")


def digest(source: Dataset, out_id: str) -> dict[str, object]:
    """Read ``source`` from its local copy; publish a one-line summary of it as ``out_id``."""
    data = Path(source.path).read_bytes()
    summary = Path(f"{out_id}.txt")
    summary.write_text(f"{source.dataset_id} {len(data)} {sum(data) % 65521}\n")
    return {"bytes": len(data), "summary": Dataset(out_id, path=str(summary.resolve()))}
