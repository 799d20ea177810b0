"""Baseline schedulers, each as its published form would run on the same information.

* ``random``, ``round-robin``: any node whose requests still fit.
* ``kube-least-allocated``: kube-scheduler NodeResourcesFit (LeastAllocated) plus
  NodeResourcesBalancedAllocation, on requested CPU and memory, equal weights.
* ``trimaran-tlp``: Trimaran TargetLoadPacking (target 40 %) on measured CPU utilisation.
* ``trimaran-lvrb``: Trimaran LoadVariationRiskBalancing on measured 5-minute mean and stddev.

All filter like NodeResourcesFit (requests within capacity) and place ready tasks in the order
they became ready; a task that fits nowhere waits for a later round, as a pending pod would.
Ties go to a seeded random choice, as kube-scheduler's selectHost does.

Example::

    result = simulate(workflow, continuum, KubeLeastAllocated(seed=1))
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from bench.sim._sim import Assignment, ClusterView
from scheduler_api.ranking import balanced_allocation, least_allocated, load_variation_risk

__all__ = [
    "KubeLeastAllocated",
    "RandomScheduler",
    "RoundRobin",
    "TrimaranLoadVariation",
    "TrimaranTargetLoad",
]

#: TargetLoadPacking's default target utilisation (percent in Trimaran, a fraction here).
TARGET_UTILIZATION = 0.4
_TIE = 1e-9


class _FitScheduler:
    """Filter nodes on requests, score the rest, bind to the best; subclasses give the score."""

    name = "fit"

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self.cores: list[int] = []
        self.memory_bytes: list[int] = []

    def start(self, view: ClusterView) -> None:
        self._rng = random.Random(self._seed)

    def task_finished(self, task_id: str, node: int, view: ClusterView) -> None:
        return None

    def schedule(self, ready: Sequence[str], view: ClusterView) -> Sequence[Assignment]:
        # Requests bound earlier in this round count, as the scheduler cache assumes pods.
        self.cores = list(view.allocated_cores)
        self.memory_bytes = list(view.allocated_memory_bytes)
        placed: list[Assignment] = []
        for tid in ready:
            task = view.workflow.tasks[tid]
            fits = [
                idx
                for idx, n in enumerate(view.continuum.nodes)
                if self.cores[idx] + task.cores <= n.cores
                and self.memory_bytes[idx] + task.memory_bytes <= n.memory_bytes
            ]
            if not fits:
                continue
            node = self.choose(tid, fits, view)
            placed.append(Assignment(tid, node))
            self.cores[node] += task.cores
            self.memory_bytes[node] += task.memory_bytes
        return placed

    def choose(self, task_id: str, fits: list[int], view: ClusterView) -> int:
        return self._best(fits, lambda idx: self.score(task_id, idx, view))

    def score(self, task_id: str, node: int, view: ClusterView) -> float:
        raise NotImplementedError

    def _best(self, nodes: list[int], score: Callable[[int], float]) -> int:
        scored = [(score(idx), idx) for idx in nodes]
        top = max(s for s, _ in scored)
        return self._rng.choice([idx for s, idx in scored if s >= top - _TIE])


class RandomScheduler(_FitScheduler):
    """A uniformly random node among those that fit."""

    name = "random"

    def choose(self, task_id: str, fits: list[int], view: ClusterView) -> int:
        return self._rng.choice(fits)


class RoundRobin(_FitScheduler):
    """The next node in a fixed cycle that fits."""

    name = "round-robin"

    def start(self, view: ClusterView) -> None:
        super().start(view)
        self._next = 0

    def choose(self, task_id: str, fits: list[int], view: ClusterView) -> int:
        count = len(view.continuum.nodes)
        fitting = set(fits)
        for step in range(count):
            idx = (self._next + step) % count
            if idx in fitting:
                self._next = idx + 1
                return idx
        return fits[0]


class KubeLeastAllocated(_FitScheduler):
    """NodeResourcesFit LeastAllocated + NodeResourcesBalancedAllocation (requests only)."""

    name = "kube-least-allocated"

    def score(self, task_id: str, node: int, view: ClusterView) -> float:
        task = view.workflow.tasks[task_id]
        n = view.continuum.nodes[node]
        cpu = self.cores[node] + task.cores
        mem = self.memory_bytes[node] + task.memory_bytes
        la = least_allocated([cpu, mem], [n.cores, n.memory_bytes])
        ba = balanced_allocation([cpu / n.cores, mem / n.memory_bytes])
        return la + ba


class TrimaranTargetLoad(_FitScheduler):
    """TargetLoadPacking: pack nodes up to the target utilisation, then spread.

    Predicted utilisation is the measured 1-minute mean plus the task's request; the score
    rises linearly to the target and falls linearly beyond it (Trimaran's formula, 0..1).
    """

    name = "trimaran-tlp"

    def score(self, task_id: str, node: int, view: ClusterView) -> float:
        n = view.continuum.nodes[node]
        util = view.stats(node).cpu_avg1m + view.workflow.tasks[task_id].cores / n.cores
        target = TARGET_UTILIZATION
        if util <= target:
            return (1.0 - target) * util / target + target
        if util > 1.0:
            return 0.0
        return target * (1.0 - util) / (1.0 - target)


class TrimaranLoadVariation(_FitScheduler):
    """LoadVariationRiskBalancing on the measured 5-minute CPU mean and standard deviation."""

    name = "trimaran-lvrb"

    def score(self, task_id: str, node: int, view: ClusterView) -> float:
        n = view.continuum.nodes[node]
        stats = view.stats(node)
        mu = stats.cpu_avg5m + view.workflow.tasks[task_id].cores / n.cores
        return float(load_variation_risk(mu, stats.cpu_stddev5m))
