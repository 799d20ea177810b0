"""Placing to save energy: fewest estimated joules, or a weighted time and energy objective.

Two 8-core nodes: ``fast`` runs twice as fast but adds 400 W from idle to busy (its measured
power line), ``frugal`` adds 40 W (its rated label). A 10 s task on one core costs 5 s and
400 / 8 * 5 = 250 J on ``fast``; 10 s and 40 / 8 * 10 = 50 J on ``frugal``.
"""

from __future__ import annotations

import time

import pytest

from scheduler_api import ranking
from scheduler_api.placement import (
    EngineConfig,
    NodeInfo,
    PlacementPolicy,
    PolicyConfig,
    Requirements,
    TaskSpec,
    plan,
)
from scheduler_api.workflow import Session, session, task, wait_on
from tests.unit.scheduler_api.workflow.fakes import InlineExecutor

FAST_LINE = ranking.PowerModel(
    measured_watts=300.0, source="rapl", idle_watts=60.0, slope_watts=400.0, samples=40
)


def _views() -> list[ranking.NodeSnapshot]:
    def view(node_id: str, speed: float, **power: object) -> ranking.NodeSnapshot:
        return ranking.NodeSnapshot(
            node_id,
            ranking.Capacity(8, 16 << 30),
            usage=ranking.Usage(cpu_utilization=0.0, memory_available_bytes=8 << 30),
            relative_speed=speed,
            **power,  # type: ignore[arg-type]
        )

    return [view("fast", 2.0, power=FAST_LINE), view("frugal", 1.0, power_watts=40.0)]


def _plan(config: PolicyConfig, *tasks: TaskSpec) -> tuple[dict[str, str], float, int]:
    """Each task's node, and the plan's estimated joules (and tasks of unknown power)."""
    policy = PlacementPolicy(config)
    views = _views()
    nodes = [policy.node_info(view) for view in views]
    result = plan(list(tasks), nodes, policy.engine_config(), policy.ranker)
    placed = result.assignments.values()
    joules, unknown = ranking.plan_joules(
        ranking.NodeTable.build(views),
        ((p.node_id, 1.0, p.est_finish_s - p.est_start_s) for p in placed),
    )
    return {p.task_id: p.node_id for p in placed}, joules, unknown


def test_the_energy_minimising_plan_picks_the_frugal_node_and_spends_fewer_joules() -> None:
    timed, time_joules, _ = _plan(PolicyConfig(), TaskSpec("t", work_s=10.0))
    frugal, energy_joules, unknown = _plan(
        PolicyConfig(minimize_energy=True), TaskSpec("t", work_s=10.0)
    )
    assert timed == {"t": "fast"}
    assert frugal == {"t": "frugal"}
    assert time_joules == pytest.approx(250.0)
    assert energy_joules == pytest.approx(50.0)
    assert energy_joules < time_joules
    assert unknown == 0


def test_the_policy_gives_each_node_its_best_power_figure() -> None:
    policy = PlacementPolicy()
    fast, frugal = (policy.node_info(view) for view in _views())
    assert (fast.busy_watts, frugal.busy_watts) == (400.0, 40.0)  # the fitted line, the label
    few = ranking.PowerModel(measured_watts=120.0, slope_watts=400.0, samples=5)
    short = ranking.NodeSnapshot("n", ranking.Capacity(8, 1 << 30), power=few)
    assert policy.node_info(short).busy_watts == 120.0  # 5 samples: measured power, not line
    assert (
        policy.node_info(ranking.NodeSnapshot("m", ranking.Capacity(8, 1 << 30))).busy_watts is None
    )


def test_minimising_energy_still_meets_a_deadline_the_frugal_node_would_miss() -> None:
    placed, _, _ = _plan(
        PolicyConfig(minimize_energy=True), TaskSpec("t", work_s=10.0, deadline_s=6.0)
    )
    assert placed == {"t": "fast"}


def test_the_weighted_objective_trades_seconds_for_joules() -> None:
    # fast: 5 s + w * 250 J; frugal: 10 s + w * 50 J; frugal wins once w > 5 / 200.
    cheap_joules, _, _ = _plan(PolicyConfig(joule_weight_s=0.01), TaskSpec("t", work_s=10.0))
    dear_joules, _, _ = _plan(PolicyConfig(joule_weight_s=0.1), TaskSpec("t", work_s=10.0))
    assert cheap_joules == {"t": "fast"}
    assert dear_joules == {"t": "frugal"}


def test_a_node_of_unknown_power_is_used_only_when_no_power_is_known() -> None:
    nodes = [
        NodeInfo("unknown", cpu_cores=8, speed=4.0),
        NodeInfo("rated", cpu_cores=8, speed=1.0, busy_watts=800.0),
    ]
    config = EngineConfig(minimize_energy=True)
    spec = TaskSpec("t", work_s=10.0, requirements=Requirements())
    assert plan([spec], nodes, config).assignments["t"].node_id == "rated"
    unknown_only = [NodeInfo("a", speed=1.0), NodeInfo("b", speed=3.0)]
    assert plan([spec], unknown_only, config).assignments["t"].node_id == "b"  # time decides


def test_the_frugal_node_takes_every_task_with_energy_minimised() -> None:
    tasks = [TaskSpec(f"t{i}", work_s=1.0) for i in range(12)]
    placed, _, _ = _plan(PolicyConfig(minimize_energy=True), *tasks)
    assert set(placed.values()) == {"frugal"}


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="joule_weight_s"):
        EngineConfig(joule_weight_s=-1.0)
    with pytest.raises(ValueError, match="joule_weight_s"):
        PolicyConfig(joule_weight_s=-1.0)
    with pytest.raises(ValueError, match="busy_watts"):
        NodeInfo("n", busy_watts=-5.0)


@task(returns=int, work_s=1.0)
def _double(x: int) -> int:
    time.sleep(0.02)  # a measurable run: the joules follow its measured time
    return 2 * x


def test_a_session_reports_the_joules_its_finished_tasks_added() -> None:
    policy = PlacementPolicy(PolicyConfig(minimize_energy=True))
    nodes = [policy.node_info(view) for view in _views()]
    active = Session(InlineExecutor(nodes), policy=policy)
    with session(active):
        assert wait_on(_double(21)) == 42
    [record] = active.records.values()
    assert record.node_id == "frugal"
    joules, unknown = active.estimated_joules()
    assert record.end_s is not None
    assert record.start_s is not None
    assert record.end_s - record.start_s >= 0.02
    assert joules == pytest.approx(40.0 / 8 * (record.end_s - record.start_s))
    assert unknown == 0
