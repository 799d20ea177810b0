"""Snapshot queries name only catalogued series; answers join into nodes and links."""

from __future__ import annotations

import re

import pytest

from dashboards import metric_names
from pipeline.catalogue import is_catalogued, lookup
from scheduler_api._prometheus import Sample
from scheduler_api._snapshot import (
    AGGREGATES,
    SNAPSHOT_QUERIES,
    build_links,
    build_network,
    build_nodes,
)
from scheduler_api.ranking import Network, PowerModel


def _series_names(expr: str) -> set[str]:
    # `{__name__=~"a|b"}` selects by an alternation of exact names.
    alternations = re.findall(r'__name__=~"([^"]+)"', expr)
    return metric_names(expr) | {name for alt in alternations for name in alt.split("|")}


def test_every_series_in_the_snapshot_queries_is_catalogued() -> None:
    names = set().union(*(_series_names(expr) for expr in SNAPSHOT_QUERIES.values()))
    assert names >= set(AGGREGATES)
    missing = sorted(name for name in names if not is_catalogued(name))
    assert missing == []


def test_the_snapshot_is_a_handful_of_queries() -> None:
    assert len(SNAPSHOT_QUERIES) <= 6


def test_aggregates_are_the_catalogued_per_node_aggregates() -> None:
    for name in AGGREGATES:
        assert lookup(name).source == "pipeline"


def _agg(name: str, node: str, value: float, **labels: str) -> Sample:
    return Sample(
        {"__name__": name, "node": node, "tier": "edge", "site": "lab", **labels}, value, 0
    )


def test_build_nodes_joins_aggregates_freshness_and_target_info() -> None:
    answers = {
        "aggregates": [
            _agg("continuum:node_cpu_cores", "a", 4),
            _agg("continuum:node_memory_bytes", "a", 8e9),
            _agg("continuum:node_gpus", "a", 1),
            _agg("continuum:node_cpu_utilization:avg1m", "a", 0.3),
            _agg("continuum:node_cpu_utilization:stddev5m", "a", 0.05),
            _agg("continuum:node_memory_available_bytes:min1m", "a", 5e9),
            _agg("continuum:node_pressure_io:rate1m", "a", 0.1),
            # No capacity: nothing can be placed there, so it is left out.
            _agg("continuum:node_cpu_utilization:avg1m", "b", 0.3),
            _agg("unrelated_series", "a", 1),
        ],
        "freshness": [Sample({"node": "a"}, 123.0, 999)],
        "info": [
            Sample(
                {
                    "node": "a",
                    "host_arch": "arm64",
                    "continuum_label_rack": "r1",
                    "continuum_label_relative_speed": "1.5",
                    "continuum_label_power_watts": "not-a-number",
                },
                1,
                0,
            )
        ],
    }
    (node,) = build_nodes(answers)
    assert node.id == "a"
    assert (node.tier, node.site, node.arch) == ("edge", "lab", "arm64")
    assert node.capacity.cpu_cores == 4
    assert node.capacity.gpus == 1
    assert node.usage.cpu_utilization == pytest.approx(0.3)
    assert node.usage.cpu_utilization_stddev5m == pytest.approx(0.05)
    assert node.usage.memory_available_bytes == 5e9
    assert node.pressure.io == pytest.approx(0.1)
    assert node.last_seen_s == 123.0
    assert dict(node.labels) == {
        "rack": "r1",
        "relative_speed": "1.5",
        "power_watts": "not-a-number",
    }
    assert node.relative_speed == 1.5
    assert node.power_watts is None


def test_build_network_uses_measured_links_between_sites() -> None:
    answers = {
        "node_rtt": [
            Sample({"node": "b1", "site": "b", "peer_site": "a"}, 0.002, 0),
            Sample({"node": "b2", "site": "b", "peer_site": "a"}, 0.004, 0),
        ],
        "node_throughput": [
            Sample({"node": "b1", "site": "b", "peer_site": "a"}, 5e8, 0),
            Sample({"node": "c1", "site": "c", "peer_site": "a"}, float("nan"), 0),
        ],
    }
    network = build_network(answers)
    link = network.cost("a", "b")
    # The mean over the site's nodes.
    assert (link.rtt_s, link.bandwidth_bytes_per_s) == (pytest.approx(0.003), 5e8)
    assert network.cost("a", "c") == Network().inter_site


def _probe(node: str, site: str, peer_site: str, value: float) -> Sample:
    return Sample({"node": node, "site": site, "peer_site": peer_site}, value, 0)


def test_build_links_estimates_each_nodes_link_and_its_sites_uplink() -> None:
    # Two sites: a's nodes on 1 ms, 100 MB/s links; a's uplink 10 ms one way, 10 MB/s.
    answers = {
        "node_rtt": [
            _probe("a1", "a", "a", 0.004),  # 2 x (1 ms + 1 ms)
            _probe("a1", "a", "b", 2 * (0.001 + 0.010 + 0.010 + 0.001)),
        ],
        "node_throughput": [
            _probe("a1", "a", "a", 1e8),
            _probe("a1", "a", "b", 1e7),
        ],
    }
    links = build_links(answers)["a1"]
    assert links.latency_s == pytest.approx(0.001)
    assert links.bandwidth_bytes_per_s == 1e8
    assert links.uplink_latency_s == pytest.approx(0.010)
    assert links.uplink_bandwidth_bytes_per_s == 1e7
    assert build_links({}) == {}


def test_nodes_carry_their_probed_links() -> None:
    answers = {
        "aggregates": [
            _agg("continuum:node_cpu_cores", "a1", 4),
            _agg("continuum:node_memory_bytes", "a1", 8e9),
            _agg("continuum:node_cpu_steal:avg1m", "a1", 0.25),
        ],
        "node_throughput": [_probe("a1", "lab", "lab", 1e8)],
    }
    [node] = build_nodes(answers)
    assert node.usage.cpu_steal == 0.25
    assert node.links is not None
    assert node.links.bandwidth_bytes_per_s == 1e8


def test_the_cpu_window_selects_the_mean_headroom_is_computed_from() -> None:
    answers = {
        "aggregates": [
            _agg("continuum:node_cpu_cores", "a", 4),
            _agg("continuum:node_memory_bytes", "a", 8e9),
            _agg("continuum:node_cpu_utilization:avg1m", "a", 0.9),
            _agg("continuum:node_cpu_utilization:avg5m", "a", 0.4),
        ]
    }
    assert build_nodes(answers)[0].usage.cpu_utilization == 0.9
    assert build_nodes(answers, "5m")[0].usage.cpu_utilization == 0.4


def test_nodes_carry_their_data_paths_free_space() -> None:
    answers = {
        "aggregates": [
            _agg("continuum:node_cpu_cores", "a1", 4),
            _agg("continuum:node_memory_bytes", "a1", 8e9),
            _agg("continuum:node_data_path_available_bytes", "a1", 5e9, data_path="/data"),
        ],
    }
    [node] = build_nodes(answers)
    assert node.usage.disk_available_bytes == 5e9
    assert node.data_path == "/data"


def test_nodes_carry_their_measured_power_and_its_line() -> None:
    answers = {
        "aggregates": [
            _agg("continuum:node_cpu_cores", "a1", 4),
            _agg("continuum:node_memory_bytes", "a1", 8e9),
            _agg("continuum:node_power_watts", "a1", 95.0, power_source="rapl+gpu"),
            _agg("continuum:node_power_idle_watts:fit1h", "a1", 40.0),
            _agg("continuum:node_power_slope_watts:fit1h", "a1", 110.0),
            _agg("continuum:node_power_fit_samples:fit1h", "a1", 42),
            _agg("continuum:node_power_residual_watts:fit1h", "a1", 3.5),
            _agg("continuum:node_cpu_cores", "b1", 4),
            _agg("continuum:node_memory_bytes", "b1", 8e9),
        ],
    }
    a1, b1 = build_nodes(answers)
    assert a1.power == PowerModel(95.0, "rapl+gpu", 40.0, 110.0, 42, 3.5)
    assert b1.power is None
