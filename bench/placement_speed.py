"""``continuum bench placement --mode speed``: how fast the placement engine decides.

On a seeded fleet of 1,000 heterogeneous nodes (cores, speed, load, links, tiers, GPUs) it
measures, as medians over ``--repeats`` runs:

* placements per second for 10,000 independent tasks (one ``GraphSubmitted``);
* the time to plan a 10,000-task layered DAG with HEFT (upward ranks, insertion) and LPT, with
  the API's ranking model scoring candidates;
* the baseline, in the same run: a random placer (a random feasible node per task, the same
  start-time bookkeeping, no search), for time and for the makespan it gives.

Makespans are compared under one estimator: the engine's placements (which node each task got)
and the random placer's go through the same list schedule (tasks in topological order, each
starting when its inputs have arrived and its lanes are free, running ``work_s`` over the
node's free speed). The engine's own estimate, which also inserts tasks into idle gaps, is
reported beside it but never divided by the baseline's.

Targets: >= 10,000 placements/s, a 10,000-task graph in < 2 s. Example::

    continuum bench placement --mode speed
    python -m bench.placement_speed --nodes 1000 --tasks 10000 --repeats 5
"""

from __future__ import annotations

import functools
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence

import click
from rich.console import Console
from rich.table import Table

from scheduler_api.placement import (
    EngineConfig,
    GraphSubmitted,
    Heuristic,
    ModelRanker,
    NodeInfo,
    NodeRanker,
    NodeSnapshot,
    Place,
    PlacementEngine,
    Requirements,
    TaskSpec,
)
from scheduler_api.placement._heuristics import topological_order
from scheduler_api.placement._nodes import meets

__all__ = ["command", "fleet", "layered_graph", "measure"]

TARGET_PLACEMENTS_PER_S = 10_000.0
TARGET_GRAPH_S = 2.0


def fleet(count: int, seed: int) -> list[NodeInfo]:
    """A seeded edge/cloud/HPC fleet."""
    rng = random.Random(seed)
    tiers = [("edge", 1, 4, 0.4, 1e7), ("cloud", 4, 32, 1.0, 1.25e8), ("hpc", 16, 64, 1.5, 1.25e9)]
    nodes = []
    for i in range(count):
        tier, low, high, speed, bandwidth = rng.choice(tiers)
        nodes.append(
            NodeInfo(
                f"{tier}-{i}",
                cpu_cores=rng.randint(low, high),
                memory_bytes=rng.choice([4, 8, 16, 64, 256]) << 30,
                gpus=rng.choice([0, 0, 0, 1, 4]) if tier != "edge" else 0,
                tier=tier,
                site=f"site-{i % 20}",
                speed=speed * rng.uniform(0.7, 1.3),
                cpu_utilization=rng.uniform(0.0, 0.8),
                bandwidth_bytes_per_s=bandwidth,
                latency_s=rng.uniform(0.0002, 0.02),
            )
        )
    return nodes


def layered_graph(count: int, seed: int, width: int = 100, fan_in: int = 3) -> list[TaskSpec]:
    """A DAG of ``count`` tasks in layers of ``width``; each task reads up to ``fan_in`` parents
    from the previous layer. Requirements come from a handful of classes, as in real workflows.
    """
    rng = random.Random(seed)
    classes = [
        Requirements(),
        Requirements(cpu_cores=2, memory_bytes=2 << 30),
        Requirements(cpu_cores=4, memory_bytes=8 << 30, tier="hpc"),
        Requirements(gpus=1),
    ]
    tasks: list[TaskSpec] = []
    for i in range(count):
        layer = i // width
        parents: dict[str, int] = {}
        if layer:
            previous = range((layer - 1) * width, min(layer * width, count))
            for parent in rng.sample(previous, min(fan_in, len(previous))):
                parents[f"t{parent}"] = rng.randint(1 << 10, 256 << 20)
        tasks.append(
            TaskSpec(
                f"t{i}",
                work_s=rng.uniform(1.0, 60.0),
                requirements=rng.choices(classes, weights=[70, 15, 10, 5])[0],
                depends_on=parents,
            )
        )
    return tasks


def _engine(
    nodes: Sequence[NodeInfo], config: EngineConfig, ranker: NodeRanker | None
) -> PlacementEngine:
    engine = PlacementEngine(config, ranker)
    for node in nodes:
        engine.handle(NodeSnapshot(node, at_s=0.0))
    return engine


def _timed_plan(
    nodes: Sequence[NodeInfo],
    tasks: Sequence[TaskSpec],
    config: EngineConfig,
    ranker: NodeRanker | None,
) -> tuple[float, float, float]:
    """Seconds to plan ``tasks`` (nodes loaded beforehand), and the makespans of the plan.

    Returns:
        the planning time, the plan's makespan under :func:`_list_schedule` (the estimator the
        random placer is measured with) and the engine's own estimate.
    """
    engine = _engine(nodes, config, ranker)
    started = time.perf_counter()
    decisions = engine.handle(GraphSubmitted(tuple(tasks), at_s=0.0))
    elapsed = time.perf_counter() - started
    placed = {d.task_id: d.node_id for d in decisions if isinstance(d, Place)}
    assert len(placed) == len(tasks), "every task must be placed"
    index = {n.node_id: i for i, n in enumerate(nodes)}
    makespan = _list_schedule(nodes, tasks, lambda spec, _feasible: index[placed[spec.task_id]])
    return elapsed, makespan, engine.makespan_estimate_s()


def _list_schedule(
    nodes: Sequence[NodeInfo],
    tasks: Sequence[TaskSpec],
    pick: Callable[[TaskSpec, list[int]], int],
) -> float:
    """The makespan when each task runs on the node ``pick`` gives (from its feasible ones).

    Tasks go in topological order; each starts when its inputs have arrived (transfers at the
    slower link of the two nodes, plus both latencies) and enough of its node's lanes are free,
    and runs ``work_s`` over the node's speed times its free share.
    """
    by_id = {t.task_id: t for t in tasks}
    children: dict[str, list[str]] = {}
    for spec in tasks:
        for parent in spec.depends_on:
            children.setdefault(parent, []).append(spec.task_id)
    order = topological_order(by_id, children)
    feasible: dict[Requirements, list[int]] = {}
    lanes = [[0.0] * n.cpu_cores for n in nodes]
    share = [n.speed * max(0.1, 1.0 - n.cpu_utilization) for n in nodes]
    where: dict[str, tuple[int, float]] = {}
    for task_id in order:
        spec = by_id[task_id]
        req = spec.requirements
        if req not in feasible:
            feasible[req] = [i for i, n in enumerate(nodes) if meets(n, req)]
        idx = pick(spec, feasible[req])
        node = nodes[idx]
        ready = 0.0
        for parent, size in spec.depends_on.items():
            source, finish = where[parent]
            if source != idx:
                other = nodes[source]
                link = min(other.bandwidth_bytes_per_s, node.bandwidth_bytes_per_s)
                finish += other.latency_s + node.latency_s + size / link
            ready = max(ready, finish)
        free = sorted(lanes[idx])
        start = max(ready, free[req.lanes - 1])
        end = start + spec.work_s / share[idx]
        chosen = sorted(range(len(lanes[idx])), key=lanes[idx].__getitem__)[: req.lanes]
        for lane in chosen:
            lanes[idx][lane] = end
        where[task_id] = (idx, end)
    return max(end for _, end in where.values())


def _random_plan(
    nodes: Sequence[NodeInfo], tasks: Sequence[TaskSpec], seed: int
) -> tuple[float, float]:
    """The baseline: a random feasible node per task, in the same list schedule.

    Returns:
        seconds to place every task, and the makespan.
    """
    rng = random.Random(seed)
    started = time.perf_counter()
    makespan = _list_schedule(nodes, tasks, lambda _spec, feasible: rng.choice(feasible))
    return time.perf_counter() - started, makespan


def _median(runs: int, measure_once: Callable[[], tuple[float, ...]]) -> tuple[float, ...]:
    """Each figure's median over ``runs`` calls."""
    results = [measure_once() for _ in range(runs)]
    return tuple(statistics.median(column) for column in zip(*results, strict=True))


def measure(
    node_count: int = 1000, task_count: int = 10_000, repeats: int = 3, seed: int = 0
) -> dict[str, float]:
    """Run every measurement; return the figures (seconds, placements/s, ratios)."""
    nodes = fleet(node_count, seed)
    graph = layered_graph(task_count, seed)
    independent = [
        TaskSpec(f"i{i}", work_s=t.work_s, requirements=t.requirements) for i, t in enumerate(graph)
    ]
    ranker = ModelRanker()
    figures: dict[str, float] = {"nodes": node_count, "tasks": task_count, "repeats": repeats}
    lpt = EngineConfig(heuristic=Heuristic.LPT)
    heft = EngineConfig(heuristic=Heuristic.HEFT)
    indep_s = _median(repeats, lambda: _timed_plan(nodes, independent, lpt, ranker))[0]
    rand_indep_s = _median(repeats, lambda: _random_plan(nodes, independent, seed))[0]
    figures["independent_placements_per_s"] = task_count / indep_s
    figures["random_independent_placements_per_s"] = task_count / rand_indep_s
    for name, config in (("heft", heft), ("lpt", lpt)):
        plan_s, makespan, engine_makespan = _median(
            repeats, functools.partial(_timed_plan, nodes, graph, config, ranker)
        )
        figures[f"{name}_graph_plan_s"] = plan_s
        figures[f"{name}_graph_placements_per_s"] = task_count / plan_s
        figures[f"{name}_makespan_s"] = makespan  # the random placer's estimator
        figures[f"{name}_engine_makespan_estimate_s"] = engine_makespan
    rand_s, rand_makespan = _median(repeats, lambda: _random_plan(nodes, graph, seed))
    figures["random_graph_plan_s"] = rand_s
    figures["random_makespan_s"] = rand_makespan
    figures["heft_time_vs_random"] = figures["heft_graph_plan_s"] / rand_s
    # Both makespans from the same list schedule (see the module docstring).
    figures["heft_makespan_vs_random"] = figures["heft_makespan_s"] / rand_makespan
    figures["meets_placements_target"] = float(
        figures["independent_placements_per_s"] >= TARGET_PLACEMENTS_PER_S
    )
    figures["meets_graph_target"] = float(figures["heft_graph_plan_s"] < TARGET_GRAPH_S)
    return figures


@click.command("placement-speed")
@click.option("--nodes", "node_count", default=1000, show_default=True, type=click.IntRange(1))
@click.option("--tasks", "task_count", default=10_000, show_default=True, type=click.IntRange(1))
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(1, 100))
@click.option("--seed", default=0, show_default=True)
def command(node_count: int, task_count: int, repeats: int, seed: int) -> None:
    """Placement engine speed on 1,000 nodes against a random placer in the same run."""
    figures = measure(node_count, task_count, repeats, seed)
    table = Table(
        title=f"placement speed: {task_count} tasks on {node_count} nodes (medians of {repeats})"
    )
    for column in ("case", "engine", "random placer", "ratio"):
        table.add_column(column, justify="left" if column == "case" else "right")
    speedup = (
        figures["random_independent_placements_per_s"] / figures["independent_placements_per_s"]
    )
    table.add_row(
        "independent tasks, placements/s",
        f"{figures['independent_placements_per_s']:,.0f}",
        f"{figures['random_independent_placements_per_s']:,.0f}",
        f"{speedup:.1f}x faster",
    )
    for name in ("heft", "lpt"):
        table.add_row(
            f"{name.upper()} graph plan, s",
            f"{figures[f'{name}_graph_plan_s']:.3f}",
            f"{figures['random_graph_plan_s']:.3f}",
            f"{figures[f'{name}_graph_plan_s'] / figures['random_graph_plan_s']:.1f}x slower",
        )
        table.add_row(
            f"{name.upper()} makespan in the same list schedule, s",
            f"{figures[f'{name}_makespan_s']:,.0f}",
            f"{figures['random_makespan_s']:,.0f}",
            f"{figures[f'{name}_makespan_s'] / figures['random_makespan_s']:.2f}",
        )
    console = Console()
    console.print(table)
    console.print(
        f"targets: >= {TARGET_PLACEMENTS_PER_S:,.0f} placements/s "
        f"({'met' if figures['meets_placements_target'] else 'MISSED'}), "
        f"{task_count}-task graph < {TARGET_GRAPH_S:.0f} s "
        f"({'met' if figures['meets_graph_target'] else 'MISSED'})"
    )
    click.echo(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    command()
