"""Task costs learned from finished runs: what a task declares nothing about, history tells.

Each finished attempt in the placement history is one sample of its task's name: the seconds it
ran, times the speed of the node it ran on, is its work on a reference node (``speed == 1.0``),
the unit ``work_s`` is declared in. The estimate of a name is the median of its latest samples,
robust to the odd slow run; CPU time is normalised the same way, bytes read and written are not
(they do not depend on the node)::

    costs = TaskCosts.learn(history.finished_runs(), speeds={"edge-1": 0.5, "hpc-1": 2.0})
    costs.estimate("square")   # CostEstimate(name='square', work_s=0.21, source='learned', ...)
    estimate_work("square", declared_s=None, costs=costs).describe()   # 'learned from 8 runs'
    costs.estimate("square").note()   # 'work_s 0.21 cpu_s 0.2 read_bytes 4.1e+03 ... (learned ...)'

Placement uses the duration only; the CPU time and bytes are learned beside it for the
explanations and ``GET /v1/placements/costs``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFAULT_WORK_S",
    "CostEstimate",
    "CostSource",
    "RunSample",
    "TaskCosts",
    "estimate_work",
]

CostSource = Literal["declared", "learned", "default"]
# Reference-node seconds assumed for a task that declares nothing and has never run.
DEFAULT_WORK_S = 1.0
# Latest samples per name that an estimate reads: recent runs describe the code as it is now.
MAX_SAMPLES_PER_NAME = 50


@dataclass(frozen=True, slots=True)
class RunSample:
    """One finished attempt, as the placement history recorded it.

    Attributes:
        name: The task's name (its function's name).
        node_id: Where it ran.
        duration_s: Wall seconds it ran.
        finished_at_s: Unix time it ended (orders samples, newest last).
        cpu_s: CPU seconds it used, when recorded.
        read_bytes: Bytes it read, when recorded.
        written_bytes: Bytes it wrote, when recorded.
    """

    name: str
    node_id: str
    duration_s: float
    finished_at_s: float = 0.0
    cpu_s: float | None = None
    read_bytes: int | None = None
    written_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """What a task is expected to cost, and where that figure comes from.

    Attributes:
        name: The task's name.
        work_s: Seconds on a reference node (``speed == 1.0``).
        source: ``declared`` (``@task(work_s=...)``), ``learned`` (placement history) or
            ``default`` (neither: ``DEFAULT_WORK_S``).
        samples: Finished runs the estimate was learned from (0 unless learned).
        cpu_s: CPU seconds on a reference node, median of the samples that recorded it.
        read_bytes: Bytes read, median of the samples that recorded it.
        written_bytes: Bytes written, median of the samples that recorded it.
    """

    name: str
    work_s: float
    source: CostSource
    samples: int = 0
    cpu_s: float | None = None
    read_bytes: float | None = None
    written_bytes: float | None = None

    def describe(self) -> str:
        """A short phrase for explanations: ``declared``, ``learned from 8 runs``, ``default``."""
        if self.source == "learned":
            return f"learned from {self.samples} run{'s' if self.samples != 1 else ''}"
        return self.source

    def note(self) -> str:
        """The explanation placement records: every figure it knows, then where they came from
        (``work_s 0.21 cpu_s 0.2 read_bytes 4.1e+03 written_bytes 0 (learned from 8 runs)``)."""
        figures = [f"work_s {self.work_s:.3g}"]
        for label, value in (
            ("cpu_s", self.cpu_s),
            ("read_bytes", self.read_bytes),
            ("written_bytes", self.written_bytes),
        ):
            if value is not None:
                figures.append(f"{label} {value:.3g}")
        return f"{' '.join(figures)} ({self.describe()})"


class TaskCosts:
    """Learned per-name estimates.

    Args:
        estimates: One learned estimate per task name.
    """

    def __init__(self, estimates: Iterable[CostEstimate] = ()) -> None:
        self._by_name = {estimate.name: estimate for estimate in estimates}

    @classmethod
    def learn(
        cls,
        samples: Iterable[RunSample],
        speeds: Mapping[str, float],
        default_speed: float = 1.0,
        max_samples: int = MAX_SAMPLES_PER_NAME,
    ) -> TaskCosts:
        """Estimates from finished runs, normalised by the speed of the node each ran on.

        Args:
            samples: Finished attempts, in any order.
            speeds: Node id -> relative speed (the engine's ``NodeInfo.speed``).
            default_speed: Speed of a node ``speeds`` does not know (one gone since).
            max_samples: Latest samples per name to use.

        Raises:
            ValueError: ``default_speed`` or a speed in ``speeds`` is not positive.
        """
        if default_speed <= 0 or any(speed <= 0 for speed in speeds.values()):
            raise ValueError("node speeds must be > 0")
        by_name: dict[str, list[RunSample]] = {}
        for sample in sorted(samples, key=lambda s: s.finished_at_s):
            if sample.name and sample.duration_s >= 0:
                by_name.setdefault(sample.name, []).append(sample)
        estimates = []
        for name, runs in by_name.items():
            latest = runs[-max_samples:]
            speed = [speeds.get(run.node_id, default_speed) for run in latest]
            estimates.append(
                CostEstimate(
                    name=name,
                    work_s=statistics.median(
                        r.duration_s * s for r, s in zip(latest, speed, strict=True)
                    ),
                    source="learned",
                    samples=len(latest),
                    cpu_s=_median(
                        None if r.cpu_s is None else r.cpu_s * s
                        for r, s in zip(latest, speed, strict=True)
                    ),
                    read_bytes=_median(r.read_bytes for r in latest),
                    written_bytes=_median(r.written_bytes for r in latest),
                )
            )
        return cls(estimates)

    def estimate(self, name: str) -> CostEstimate | None:
        """The learned estimate for ``name``, or None when no run of it finished."""
        return self._by_name.get(name)

    def estimates(self) -> list[CostEstimate]:
        """Every learned estimate, by name."""
        return [self._by_name[name] for name in sorted(self._by_name)]

    def __len__(self) -> int:
        return len(self._by_name)


def estimate_work(name: str, declared_s: float | None, costs: TaskCosts | None) -> CostEstimate:
    """The cost placement uses for a task: what it declares, else what was learned, else the
    default.
    """
    if declared_s is not None:
        return CostEstimate(name, declared_s, "declared")
    learned = costs.estimate(name) if costs is not None else None
    return learned if learned is not None else CostEstimate(name, DEFAULT_WORK_S, "default")


def _median(values: Iterable[float | int | None]) -> float | None:
    known = [float(value) for value in values if value is not None]
    return statistics.median(known) if known else None
