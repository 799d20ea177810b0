"""Background load: what else runs on each node over time, in two kinds, for two worlds.

*Time-shared* load is ordinary processes: the kernel shares cores fairly between them and the
workflow's tasks (processor sharing), so a task placed on a busy node still gets its share.
*Held* load is capacity the workflow cannot take back: CPU time a hypervisor gives co-tenant VMs
(steal), a device's primary function running at a higher priority than guest work. A task
gets only the cores held load leaves, and shares
those with the time-shared load. A node agent counts both as busy (steal included) in
utilisation; on a VM its steal share says how much of that
is held (:mod:`bench.sim._monitor`).

Per node, the time-shared part is a mean-reverting random walk (Ornstein-Uhlenbeck) around a
base level, plus a daily cycle, plus bursts (Poisson arrivals, random length and size), plus, on
HPC nodes, :class:`BatchSlots`: the node cut into equal slots of whole cores, each alternately
busy with a batch job (log-uniform run time) and free (exponential gap until the queue refills
it). Batch jobs are time-shared with the workflow's tasks: a job started outside the workflow's
knowledge lands on cores a task may be using, and the kernel shares them. The held part is a
:class:`Regime`: a two-state level (quiet / busy) with exponential dwell times, plus a daily
cycle: a device's primary function, or steal episodes of a VM on a contended host.

Worlds (:data:`WORLDS`): ``mild`` has time-shared load only (HPC nodes 45-85 % busy, one node
in three a noisy neighbour); ``shared`` adds held load on every tier: edge devices busy with
their primary function for hours at a time, cloud VMs with steal (episodes on one in three),
HPC nodes shared with batch jobs (time-shared). docs/benchmarks.md justifies each value.

Samples are every :data:`LOAD_STEP_S` seconds and extended on demand in fixed chunks from
dedicated random streams, so a run of any length sees the same trace for the same seed.

Example::

    rng = np.random.default_rng(0)
    trace = LoadTrace(seed=0, loads=[shared_load("hpc", rng), shared_load("edge", rng)])
    print(trace.total(0, 10), trace.held(0, 10))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "LOAD_STEP_S",
    "WORLDS",
    "BatchSlots",
    "LoadTrace",
    "NodeLoad",
    "Regime",
    "TimeShared",
    "mild_load",
    "shared_load",
]

#: Resolution of the background-load trace (what a 5 s scrape would see).
LOAD_STEP_S = 5.0
#: The world presets: ``shared`` (default) and ``mild``.
WORLDS = ("shared", "mild")
_CHUNK_STEPS = 512
_DAY_S = 86_400.0
_HOUR_S = 3_600.0
# Background load never takes the very last share of a node: the OS and agents keep it usable.
_MAX_BACKGROUND = 0.97

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TimeShared:
    """Load the workflow's tasks share cores with fairly (shares of the node's cores)."""

    base: float
    daily_amplitude: float
    daily_phase_s: float
    walk_sigma: float
    walk_tau_s: float
    burst_rate_per_s: float
    burst_mean_s: float
    burst_size: tuple[float, float]


@dataclass(frozen=True, slots=True)
class Regime:
    """Held load switching between a quiet and a busy level, with a daily cycle on top."""

    quiet: float
    busy: float
    quiet_mean_s: float
    busy_mean_s: float
    daily_amplitude: float = 0.0
    daily_phase_s: float = 0.0


@dataclass(frozen=True, slots=True)
class BatchSlots:
    """Batch jobs (time-shared): ``slots`` equal shares of the cores, each busy or free."""

    slots: int
    job_s: tuple[float, float]
    gap_mean_s: float


@dataclass(frozen=True, slots=True)
class NodeLoad:
    """One node's load character."""

    shared: TimeShared
    held: Regime | BatchSlots | None = None


def mild_load(tier: str, rng: np.random.Generator) -> NodeLoad:
    """The ``mild`` world: time-shared load only; one node in three a noisy neighbour."""
    noisy = rng.random() < 0.34
    phase = float(rng.uniform(0.0, _DAY_S))
    if tier == "edge":
        return NodeLoad(TimeShared(
            base=float(rng.uniform(0.1, 0.45)), daily_amplitude=0.1, daily_phase_s=phase,
            walk_sigma=0.2 if noisy else 0.08, walk_tau_s=120.0,
            burst_rate_per_s=1 / 300 if noisy else 1 / 1200, burst_mean_s=90.0,
            burst_size=(0.4, 0.8),
        ))  # fmt: skip
    if tier == "cloud":
        return NodeLoad(TimeShared(
            base=float(rng.uniform(0.15, 0.6)), daily_amplitude=0.2, daily_phase_s=phase,
            walk_sigma=0.15 if noisy else 0.05, walk_tau_s=300.0,
            burst_rate_per_s=1 / 400 if noisy else 1 / 1800, burst_mean_s=180.0,
            burst_size=(0.3, 0.7),
        ))  # fmt: skip
    return NodeLoad(TimeShared(
        base=float(rng.uniform(0.45, 0.85)), daily_amplitude=0.05, daily_phase_s=phase,
        walk_sigma=0.1 if noisy else 0.04, walk_tau_s=600.0,
        burst_rate_per_s=1 / 600 if noisy else 1 / 2400, burst_mean_s=600.0,
        burst_size=(0.2, 0.5),
    ))  # fmt: skip


def shared_load(tier: str, rng: np.random.Generator) -> NodeLoad:
    """The ``shared`` world: held load on every tier (values justified in docs/benchmarks.md)."""
    phase = float(rng.uniform(0.0, _DAY_S))
    if tier == "edge":
        # The device's primary function (camera analytics, a gateway) runs at a higher priority
        # than guest work: near saturation for hours while its input is busy, lighter otherwise.
        return NodeLoad(
            TimeShared(
                base=float(rng.uniform(0.02, 0.08)), daily_amplitude=0.0, daily_phase_s=phase,
                walk_sigma=0.03, walk_tau_s=120.0,
                burst_rate_per_s=1 / 1200, burst_mean_s=90.0, burst_size=(0.1, 0.3),
            ),
            Regime(
                quiet=float(rng.uniform(0.2, 0.45)), busy=float(rng.uniform(0.75, 0.95)),
                quiet_mean_s=1 * _HOUR_S, busy_mean_s=2 * _HOUR_S,
                daily_amplitude=0.1, daily_phase_s=phase,
            ),
        )  # fmt: skip
    if tier == "cloud":
        # The tenant's own processes time-share the VM; co-tenants take CPU time as steal, in
        # episodes on a contended host (one VM in three), a trickle elsewhere.
        contended = rng.random() < 0.34
        trickle = float(rng.uniform(0.0, 0.05))
        return NodeLoad(
            TimeShared(
                base=float(rng.uniform(0.1, 0.5)), daily_amplitude=0.15, daily_phase_s=phase,
                walk_sigma=0.05, walk_tau_s=300.0,
                burst_rate_per_s=1 / 1800, burst_mean_s=180.0, burst_size=(0.3, 0.7),
            ),
            Regime(
                quiet=trickle, busy=float(rng.uniform(0.2, 0.5)) if contended else trickle,
                quiet_mean_s=1 * _HOUR_S, busy_mean_s=0.5 * _HOUR_S,
            ),
        )  # fmt: skip
    # HPC: batch jobs keep whole cores busy for hours; a backlogged queue refills freed cores
    # after a gap. They and the daemons time-share cores with the workflow's tasks.
    return NodeLoad(
        TimeShared(
            base=float(rng.uniform(0.01, 0.04)), daily_amplitude=0.0, daily_phase_s=phase,
            walk_sigma=0.01, walk_tau_s=600.0,
            burst_rate_per_s=1 / 2400, burst_mean_s=300.0, burst_size=(0.05, 0.15),
        ),
        BatchSlots(
            slots=4, job_s=(0.25 * _HOUR_S, 8 * _HOUR_S),
            gap_mean_s=float(rng.uniform(10.0, 60.0)) * 60.0,
        ),
    )  # fmt: skip


class LoadTrace:
    """Every node's time-shared and held load, sampled every :data:`LOAD_STEP_S` seconds.

    Args:
        seed: Seed of the load's random streams (the time-shared part and the held part each
            have their own, so a world without held load draws exactly what it always drew).
        loads: Each node's load character, by node index.
    """

    def __init__(self, seed: int, loads: list[NodeLoad]) -> None:
        self.loads = tuple(loads)
        self._shared_gen = _TimeSharedGen([ld.shared for ld in loads], seed)
        self._regimes = _RegimeGen(loads, seed)
        self._batches = _BatchGen(loads, seed)
        count = len(loads)
        self._total = np.zeros((count, 0))
        self._held = np.zeros((count, 0))

    def total(self, node: int, step: int) -> float:
        """Time-shared plus held load of ``node`` at ``step`` (share of its cores busy)."""
        self._ensure(step)
        return float(self._total[node, step])

    def held(self, node: int, step: int) -> float:
        """Held load of ``node`` at ``step``: share of its cores the workflow cannot use."""
        self._ensure(step)
        return float(self._held[node, step])

    def total_steps(self, node: int, first: int, last: int) -> FloatArray:
        """Total load samples ``first..last`` (inclusive) of ``node``."""
        self._ensure(last)
        return self._total[node, max(0, first) : last + 1]

    def held_steps(self, node: int, first: int, last: int) -> FloatArray:
        """Held load samples ``first..last`` (inclusive) of ``node``."""
        self._ensure(last)
        return self._held[node, max(0, first) : last + 1]

    def _ensure(self, step: int) -> None:
        while step >= self._total.shape[1]:
            start = self._total.shape[1]
            held = np.clip(self._regimes.chunk(start), 0.0, _MAX_BACKGROUND)
            shared = np.clip(
                self._shared_gen.chunk(start) + self._batches.chunk(start),
                0.0,
                _MAX_BACKGROUND - held,
            )
            self._total = np.concatenate([self._total, held + shared], axis=1)
            self._held = np.concatenate([self._held, held], axis=1)


def _daily(amplitude: FloatArray, phase_s: FloatArray, t_s: float) -> FloatArray:
    return amplitude * np.sin(2.0 * math.pi * (t_s + phase_s) / _DAY_S)


class _TimeSharedGen:
    """Random walk + daily cycle + bursts, vectorised over the nodes."""

    def __init__(self, params: list[TimeShared], seed: int) -> None:
        self._rng = np.random.default_rng([seed, 0x10AD])
        count = len(params)
        self._base = np.array([p.base for p in params])
        self._amp = np.array([p.daily_amplitude for p in params])
        self._phase = np.array([p.daily_phase_s for p in params])
        self._decay = np.exp(-LOAD_STEP_S / np.array([p.walk_tau_s for p in params]))
        self._innovation = np.array([p.walk_sigma for p in params]) * np.sqrt(1.0 - self._decay**2)
        rate = np.array([p.burst_rate_per_s for p in params])
        self._p_burst = 1.0 - np.exp(-LOAD_STEP_S * rate)
        self._burst_steps = np.array([p.burst_mean_s for p in params]) / LOAD_STEP_S
        self._size_lo = np.array([p.burst_size[0] for p in params])
        self._size_hi = np.array([p.burst_size[1] for p in params])
        self._walk = np.zeros(count)
        self._burst_left_steps = np.zeros(count, dtype=np.int64)
        self._burst_size = np.zeros(count)

    def chunk(self, start: int) -> FloatArray:
        rng = self._rng
        count = len(self._base)
        out = np.empty((count, _CHUNK_STEPS))
        for k in range(_CHUNK_STEPS):
            t_s = (start + k) * LOAD_STEP_S
            self._walk = self._walk * self._decay + self._innovation * rng.standard_normal(count)
            arrivals = (self._burst_left_steps <= 0) & (rng.random(count) < self._p_burst)
            if arrivals.any():
                self._burst_left_steps[arrivals] = 1 + rng.geometric(
                    1.0 / self._burst_steps[arrivals]
                )
                self._burst_size[arrivals] = rng.uniform(
                    self._size_lo[arrivals], self._size_hi[arrivals]
                )
            bursting = self._burst_left_steps > 0
            out[:, k] = (
                self._base
                + _daily(self._amp, self._phase, t_s)
                + self._walk
                + np.where(bursting, self._burst_size, 0.0)
            )
            self._burst_left_steps[bursting] -= 1
        return out


class _RegimeGen:
    """Two-state held levels with exponential dwell times (nodes without a regime stay at 0)."""

    def __init__(self, loads: list[NodeLoad], seed: int) -> None:
        self._rng = np.random.default_rng([seed, 0x4E1D])
        regimes = [ld.held if isinstance(ld.held, Regime) else None for ld in loads]
        self._has = np.array([r is not None for r in regimes])
        fill = Regime(0.0, 0.0, _HOUR_S, _HOUR_S)
        params = [r or fill for r in regimes]
        self._quiet = np.array([r.quiet for r in params])
        self._busy = np.array([r.busy for r in params])
        self._amp = np.array([r.daily_amplitude for r in params])
        self._phase = np.array([r.daily_phase_s for r in params])
        busy_mean = np.array([r.busy_mean_s for r in params])
        quiet_mean = np.array([r.quiet_mean_s for r in params])
        self._p_leave_busy = 1.0 - np.exp(-LOAD_STEP_S / busy_mean)
        self._p_leave_quiet = 1.0 - np.exp(-LOAD_STEP_S / quiet_mean)
        # Start in the stationary mix, so the first hour looks like any other.
        self._state = self._rng.random(len(loads)) < busy_mean / (busy_mean + quiet_mean)

    def chunk(self, start: int) -> FloatArray:
        count = len(self._has)
        out = np.zeros((count, _CHUNK_STEPS))
        if not self._has.any():
            return out
        for k in range(_CHUNK_STEPS):
            t_s = (start + k) * LOAD_STEP_S
            level = np.where(self._state, self._busy, self._quiet)
            out[:, k] = np.where(self._has, level + _daily(self._amp, self._phase, t_s), 0.0)
            leave = np.where(self._state, self._p_leave_busy, self._p_leave_quiet)
            self._state ^= self._rng.random(count) < leave
        return out


class _BatchGen:
    """Batch slots alternating between held (a job) and free (a gap), vectorised over slots."""

    def __init__(self, loads: list[NodeLoad], seed: int) -> None:
        self._rng = np.random.default_rng([seed, 0xBA7C])
        self._count = len(loads)
        owners: list[int] = []
        share: list[float] = []
        job_lo: list[float] = []
        job_hi: list[float] = []
        gap: list[float] = []
        for node, ld in enumerate(loads):
            if isinstance(ld.held, BatchSlots):
                for _ in range(ld.held.slots):
                    owners.append(node)
                    share.append(1.0 / ld.held.slots)
                    job_lo.append(ld.held.job_s[0])
                    job_hi.append(ld.held.job_s[1])
                    gap.append(ld.held.gap_mean_s)
        self._owner = np.array(owners, dtype=np.int64)
        self._share = np.array(share)
        self._log_job = (np.log(job_lo), np.log(job_hi))
        self._gap_s = np.array(gap)
        slots = len(owners)
        # Start in the stationary mix: held with the long-run probability, part-way through.
        mean_job_s = (np.array(job_hi) - np.array(job_lo)) / (self._log_job[1] - self._log_job[0])
        held_p = mean_job_s / (mean_job_s + self._gap_s) if slots else np.zeros(0)
        self._held = self._rng.random(slots) < held_p
        self._left_steps = np.zeros(slots, dtype=np.int64)
        self._left_steps[:] = np.ceil(self._draw(self._held) * self._rng.random(slots))

    def _draw(self, held: npt.NDArray[np.bool_]) -> FloatArray:
        """Steps of the next phase of each slot: a job's run time if held, else a gap."""
        job_s = np.exp(self._rng.uniform(*self._log_job))
        gap_s = self._rng.exponential(self._gap_s)
        return np.maximum(1.0, np.round(np.where(held, job_s, gap_s) / LOAD_STEP_S))

    def chunk(self, start: int) -> FloatArray:
        out = np.zeros((self._count, _CHUNK_STEPS))
        if len(self._owner) == 0:
            return out
        for k in range(_CHUNK_STEPS):
            out[:, k] = np.bincount(
                self._owner, weights=self._share * self._held, minlength=self._count
            )
            self._left_steps -= 1
            ended = self._left_steps <= 0
            if ended.any():
                self._held[ended] = ~self._held[ended]
                self._left_steps[ended] = self._draw(self._held)[ended]
        return out
