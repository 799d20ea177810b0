"""The continuum simulator for placement quality (``continuum bench placement``).

Workflows come from WfFormat instances (:func:`load_wfformat`) or WfCommons recipes
(:func:`generate_workflow`); :func:`build_continuum` makes a seeded edge/cloud/HPC world with
time-varying background load (``world="shared"`` or ``"mild"``); :func:`simulate` runs one
workflow under one scheduler, which sees only the stale monitoring view; :func:`summarise` turns
runs into medians and win/tie/loss counts.

Example::

    schema = load_schema(data / "wfcommons-schema.json")
    wf = load_wfformat(data / "montage-chameleon-2mass-01d-001.json", schema)
    world = build_continuum(seed=0)
    for scheduler in all_schedulers(seed=0):
        print(scheduler.name, simulate(wf, world, scheduler).makespan_s)
"""

from __future__ import annotations

from bench.sim._baselines import (
    KubeLeastAllocated,
    RandomScheduler,
    RoundRobin,
    TrimaranLoadVariation,
    TrimaranTargetLoad,
)
from bench.sim._continuum import WORLDS, Continuum, SimNode, build_continuum
from bench.sim._generate import RECIPES, generate_workflow
from bench.sim._heft import OnlineHeft, StaticHeft
from bench.sim._metrics import (
    RunMetrics,
    SchedulerSummary,
    failed_run,
    per_instance,
    run_metrics,
    summarise,
    with_ratios,
)
from bench.sim._ours import EngineScheduler
from bench.sim._plots import gantt_plot, makespan_plot
from bench.sim._sim import Assignment, ClusterView, RunResult, Scheduler, SimulationError, simulate
from bench.sim._wfformat import SimTask, WfFormatError, Workflow, load_schema, load_wfformat
from scheduler_api.placement import Heuristic

__all__ = [
    "RECIPES",
    "WORLDS",
    "Assignment",
    "ClusterView",
    "Continuum",
    "EngineScheduler",
    "KubeLeastAllocated",
    "OnlineHeft",
    "RandomScheduler",
    "RoundRobin",
    "RunMetrics",
    "RunResult",
    "Scheduler",
    "SchedulerSummary",
    "SimNode",
    "SimTask",
    "SimulationError",
    "StaticHeft",
    "TrimaranLoadVariation",
    "TrimaranTargetLoad",
    "WfFormatError",
    "Workflow",
    "all_schedulers",
    "build_continuum",
    "failed_run",
    "gantt_plot",
    "generate_workflow",
    "load_schema",
    "load_wfformat",
    "makespan_plot",
    "per_instance",
    "run_metrics",
    "simulate",
    "summarise",
    "with_ratios",
]


def all_schedulers(seed: int) -> list[Scheduler]:
    """Every compared scheduler: the baselines, then the engine with each heuristic."""
    baselines: list[Scheduler] = [
        RandomScheduler(seed),
        RoundRobin(seed),
        KubeLeastAllocated(seed),
        TrimaranTargetLoad(seed),
        TrimaranLoadVariation(seed),
        StaticHeft(),
        OnlineHeft(),
    ]
    return baselines + [EngineScheduler(h) for h in Heuristic]
