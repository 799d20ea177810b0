"""The engine scores candidates with the API's ranking model."""

from __future__ import annotations

from scheduler_api import ranking
from scheduler_api.placement import (
    EngineConfig,
    ModelRanker,
    NodeInfo,
    PlacementPolicy,
    Requirements,
    TaskSpec,
    plan,
    snapshot_from_node_info,
)


def node_info_from_snapshot(snapshot: ranking.NodeSnapshot) -> NodeInfo:
    return PlacementPolicy().node_info(snapshot)


def _snapshot(
    node_id: str, cores: float, utilization: float, **extra: object
) -> ranking.NodeSnapshot:
    return ranking.NodeSnapshot(
        node_id,
        ranking.Capacity(cores, 16 << 30),
        usage=ranking.Usage(cpu_utilization=utilization, memory_available_bytes=8 << 30),
        **extra,  # type: ignore[arg-type]
    )


def test_equal_finish_times_go_to_the_better_ranked_node() -> None:
    live = {
        "busy": _snapshot("busy", 8, 0.0, pressure=ranking.Pressure(cpu=0.9, memory=0.9)),
        "calm": _snapshot("calm", 8, 0.0),
    }
    nodes = [node_info_from_snapshot(s) for s in live.values()]
    result = plan([TaskSpec("t", work_s=1.0)], nodes, ranker=ModelRanker(live))
    assert result.assignments["t"].node_id == "calm"


def test_the_model_filters_what_it_rejects() -> None:
    live = {
        "alerting": _snapshot("alerting", 8, 0.0, alerts=("NodeDown",)),
        "arm": _snapshot("arm", 8, 0.0, arch="arm64"),
        "small": _snapshot("small", 1, 0.0, arch="arm64"),
    }
    nodes = [node_info_from_snapshot(s) for s in live.values()]
    ranker = ModelRanker(live)
    scores = ranker(Requirements(cpu_cores=2, arch="arm64"), nodes)
    assert list(scores) == ["arm"]
    wide = TaskSpec("wide", requirements=Requirements(cpu_cores=2))
    result = plan([wide], nodes, EngineConfig(), ranker)
    assert result.assignments["wide"].node_id == "arm"


def test_score_weight_trades_finish_time_for_score() -> None:
    nodes = [NodeInfo("fast-hot", speed=1.2, cpu_utilization=0.0), NodeInfo("cool", speed=1.0)]
    hot = {n.node_id: snapshot_from_node_info(n) for n in nodes}
    hot["fast-hot"] = _snapshot("fast-hot", 1, 0.0, pressure=ranking.Pressure(1.0, 1.0, 1.0))
    task = [TaskSpec("t", work_s=1.0)]
    assert plan(task, nodes, ranker=ModelRanker(hot)).assignments["t"].node_id == "fast-hot"
    weighted = EngineConfig(score_weight_s=10.0)
    assert plan(task, nodes, weighted, ModelRanker(hot)).assignments["t"].node_id == "cool"


def test_round_trip_keeps_what_the_engine_needs() -> None:
    node = NodeInfo("n", cpu_cores=4, memory_bytes=8 << 30, gpus=1, tier="edge", arch="arm64")
    back = node_info_from_snapshot(snapshot_from_node_info(node))
    assert (back.cpu_cores, back.memory_bytes, back.gpus, back.tier, back.arch) == (
        4,
        8 << 30,
        1,
        "edge",
        "arm64",
    )
