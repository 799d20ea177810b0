"""What the monitoring shows a scheduler: windowed CPU statistics per node, refreshed late.

Each node's agent samples utilisation every :data:`~bench.sim._continuum.LOAD_STEP_S` seconds;
the pipeline turns the samples into 1-minute means and maxima and 5-minute means and standard
deviations (the ``continuum:node_cpu_utilization:*`` aggregates). Beside utilisation the agent
reports what the real one does: CPU time per mode, whose ``steal`` share
(``continuum:node_cpu_steal:avg1m``) is time a hypervisor gave to other guests, so only a VM
(the cloud tier here) shows its held load as steal; an edge device's primary function and an
HPC node's batch jobs are ordinary busy time to ``/proc/stat``, whatever their priority. And
CPU pressure (PSI ``some``: the share of time runnable tasks waited for a CPU, here whenever
demand exceeds the cores), both as 1-minute means. A scheduler reads them through
Prometheus, and each node's figures refresh only every 15 to 60 s (scrape, export and rule
intervals add up), at its own phase, so what a scheduler sees is up to a minute old and averaged.

Utilisation is what a node agent measures: background load *plus* the workflow's own tasks,
capped at 1; an overloaded node looks merely full there, and only its pressure says it is over.

Example::

    monitor = Monitor(continuum, own_cores=sim.own_cores_at)
    for snap in monitor.view(now_s=300.0):
        print(snap.node, snap.cpu_avg1m, snap.cpu_steal_avg1m, snap.cpu_pressure_some1m)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.sim._continuum import LOAD_STEP_S, Continuum

__all__ = ["Monitor", "NodeStats"]

_WINDOW_1M_STEPS = int(60 / LOAD_STEP_S)
_WINDOW_5M_STEPS = int(300 / LOAD_STEP_S)
#: The tier whose nodes are VMs: their held load is a hypervisor's steal.
STEAL_TIER = "cloud"
#: Refresh interval range of one node's aggregates, seconds.
REFRESH_RANGE_S = (15.0, 60.0)
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class NodeStats:
    """One node's aggregates as last refreshed.

    Attributes:
        node: Node index.
        as_of_s: Time the figures describe (their freshness).
        cpu_avg1m: Mean utilisation over the minute before ``as_of_s``.
        cpu_max1m: Highest sample in that minute.
        cpu_avg5m: Mean over five minutes.
        cpu_stddev5m: Standard deviation over five minutes.
        cpu_steal_avg1m: Mean steal share over the minute before ``as_of_s``
            (``system.cpu.time{cpu.mode="steal"}`` as a rate): a VM's held load; 0 elsewhere.
        cpu_pressure_some1m: Share of that minute in which runnable tasks waited for a CPU
            (PSI ``some``, from ``continuum.pressure.stall.time``).
    """

    node: int
    as_of_s: float
    cpu_avg1m: float
    cpu_max1m: float
    cpu_avg5m: float
    cpu_stddev5m: float
    cpu_steal_avg1m: float = 0.0
    cpu_pressure_some1m: float = 0.0


class Monitor:
    """Stale, windowed view of utilisation, steal and pressure for every node of a continuum.

    Args:
        continuum: The world (true background load).
        own_cores: ``own_cores(node, at_s)``: cores the workflow's tasks use on ``node``.
    """

    def __init__(self, continuum: Continuum, own_cores: Callable[[int, float], float]) -> None:
        self._continuum = continuum
        self._own_cores = own_cores
        rng = np.random.default_rng([continuum.seed, 0x5EE])
        count = len(continuum.nodes)
        self._period_s = rng.uniform(*REFRESH_RANGE_S, size=count)
        self._phase_s = rng.uniform(0.0, 1.0, size=count) * self._period_s
        self._cache: dict[tuple[int, int], NodeStats] = {}

    def refresh_index(self, node: int, now_s: float) -> int:
        """Which refresh of ``node`` is the latest at ``now_s`` (-1 before the first)."""
        return math.floor(float((now_s - self._phase_s[node]) / self._period_s[node]))

    def next_refresh_s(self, now_s: float) -> float:
        """Earliest time after ``now_s`` at which some node's figures change."""
        k = np.floor((now_s - self._phase_s) / self._period_s) + 1.0
        return float((self._phase_s + k * self._period_s).min())

    def stats(self, node: int, now_s: float) -> NodeStats:
        """The figures a scheduler reads for ``node`` at ``now_s``."""
        k = self.refresh_index(node, now_s)
        key = (node, k)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        as_of_s = max(0.0, float(self._phase_s[node] + k * self._period_s[node]))
        last = int(as_of_s / LOAD_STEP_S)
        first = last - _WINDOW_5M_STEPS + 1
        background = self._continuum.background_steps(node, first, last)
        cores = self._continuum.nodes[node].cores
        own = np.array([self._own_at(node, s) for s in range(first, last + 1)])
        demand = background + own / cores
        util = np.minimum(1.0, demand)
        recent = util[-_WINDOW_1M_STEPS:]
        # Only a hypervisor's share is steal to the agent: other held load is plain busy time.
        held = (
            self._continuum.held_steps(node, first, last)[-_WINDOW_1M_STEPS:]
            if self._continuum.nodes[node].tier == STEAL_TIER
            else np.zeros(1)
        )
        # PSI "some" counts time at least one runnable task waits: demand beyond the cores.
        stalled = demand[-_WINDOW_1M_STEPS:] > 1.0 + _EPS
        stats = NodeStats(
            node=node,
            as_of_s=as_of_s,
            cpu_avg1m=float(recent.mean()),
            cpu_max1m=float(recent.max()),
            cpu_avg5m=float(util.mean()),
            cpu_stddev5m=float(util.std()),
            cpu_steal_avg1m=float(held.mean()),
            cpu_pressure_some1m=float(stalled.mean()),
        )
        self._cache[key] = stats
        return stats

    def _own_at(self, node: int, step: int) -> float:
        """Cores the workflow's tasks used on ``node`` in sample ``step`` (none before it ran)."""
        return self._own_cores(node, step * LOAD_STEP_S) if step >= 0 else 0.0

    def view(self, now_s: float) -> list[NodeStats]:
        """Figures of every node at ``now_s``."""
        return [self.stats(node, now_s) for node in range(len(self._continuum.nodes))]
