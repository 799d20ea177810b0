"""The cluster snapshot: a handful of PromQL queries, whatever the fleet size, turned into nodes.

The queries read only the pipeline's per-node aggregates (one query for all of them), their
freshness, ``target_info`` and the probe agent's link series; a test checks every name is
catalogued. Building nodes from the answers is pure::

    answers = {name: client.query(expr) for name, expr in SNAPSHOT_QUERIES.items()}
    nodes = build_nodes(answers)
    network = build_network(answers)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Literal

from scheduler_api._prometheus import Sample
from scheduler_api.ranking import (
    Capacity,
    LinkCost,
    Network,
    NodeSnapshot,
    Pressure,
    Usage,
)

__all__ = ["AGGREGATES", "SNAPSHOT_QUERIES", "CpuWindow", "build_network", "build_nodes"]

#: Window of the mean CPU use that headroom is computed from.
CpuWindow = Literal["1m", "5m"]

#: Aggregate series name -> field it fills.
AGGREGATES: Mapping[str, str] = MappingProxyType(
    {
        "continuum:node_cpu_cores": "cpu_cores",
        "continuum:node_memory_bytes": "memory_bytes",
        "continuum:node_gpus": "gpus",
        "continuum:node_cpu_utilization:avg1m": "cpu_utilization",
        "continuum:node_cpu_utilization:avg5m": "cpu_utilization_avg5m",
        "continuum:node_cpu_utilization:stddev5m": "cpu_utilization_stddev5m",
        "continuum:node_cpu_utilization:max1m": "cpu_utilization_max1m",
        "continuum:node_cpu_steal:avg1m": "cpu_steal",
        "continuum:node_memory_available_bytes:min1m": "memory_available_bytes",
        "continuum:node_memory_available_bytes:avg5m": "memory_available_avg5m_bytes",
        "continuum:node_network_receive_bytes:rate1m": "network_receive_bytes_per_s",
        "continuum:node_network_transmit_bytes:rate1m": "network_transmit_bytes_per_s",
        "continuum:node_pressure_cpu:rate1m": "pressure_cpu",
        "continuum:node_pressure_memory:rate1m": "pressure_memory",
        "continuum:node_pressure_io:rate1m": "pressure_io",
    }
)

# Names are exact alternatives (no regex metacharacters in them), so one query fetches
# every aggregate of every node.
_NAME_ALTERNATION = "|".join(AGGREGATES)

#: Query name -> PromQL.
SNAPSHOT_QUERIES: Mapping[str, str] = MappingProxyType(
    {
        "aggregates": f'{{__name__=~"{_NAME_ALTERNATION}"}}',
        # The sample's own timestamp, not the evaluation time: how fresh the node's data is.
        "freshness": "timestamp(continuum:node_cpu_cores)",
        "info": 'target_info{node!=""}',
        "rtt": (
            'avg by (site, peer_site) (continuum_probe_rtt_seconds{peer!="", probe_kind="tcp"})'
        ),
        "throughput": (
            'avg by (site, peer_site) (continuum_probe_throughput_bytes_per_second{peer!=""})'
        ),
    }
)

_LABEL_PREFIX = "continuum_label_"
# Operator labels that, when numeric, describe the node to the ranking model.
_SPEED_LABEL = "relative_speed"
_POWER_LABEL = "power_watts"


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def build_nodes(
    answers: Mapping[str, Sequence[Sample]], cpu_window: CpuWindow = "1m"
) -> list[NodeSnapshot]:
    """Join the query answers into one snapshot per node.

    Args:
        answers: query name -> its instant vector.
        cpu_window: which mean CPU use headroom is computed from: the one-minute mean reacts
            faster, the five-minute mean is steadier.

    Nodes without a known CPU and memory capacity are left out: nothing can be placed on them.
    """
    values: dict[str, dict[str, float]] = {}
    identity: dict[str, tuple[str, str]] = {}
    for sample in answers.get("aggregates", ()):
        node = sample.labels.get("node")
        field = AGGREGATES.get(sample.labels.get("__name__", ""))
        if not node or field is None or math.isnan(sample.value):
            continue
        values.setdefault(node, {})[field] = sample.value
        identity.setdefault(node, (sample.labels.get("tier", ""), sample.labels.get("site", "")))
    seen = {s.labels["node"]: s.value for s in answers.get("freshness", ()) if s.labels.get("node")}
    info = {s.labels["node"]: s.labels for s in answers.get("info", ()) if s.labels.get("node")}
    nodes: list[NodeSnapshot] = []
    for node_id in sorted(values):
        v = values[node_id]
        if "cpu_cores" not in v or "memory_bytes" not in v:
            continue
        tier, site = identity[node_id]
        labels = info.get(node_id, {})
        operator_labels = {
            key.removeprefix(_LABEL_PREFIX): value
            for key, value in labels.items()
            if key.startswith(_LABEL_PREFIX)
        }
        nodes.append(
            NodeSnapshot(
                id=node_id,
                tier=tier or labels.get("tier", ""),
                site=site or labels.get("site", ""),
                arch=labels.get("host_arch", ""),
                labels=MappingProxyType(operator_labels),
                capacity=Capacity(v["cpu_cores"], v["memory_bytes"], int(v.get("gpus", 0.0))),
                usage=Usage(
                    cpu_utilization=v.get(
                        "cpu_utilization_avg5m" if cpu_window == "5m" else "cpu_utilization",
                        v.get("cpu_utilization", 0.0),
                    ),
                    cpu_utilization_avg5m=v.get("cpu_utilization_avg5m"),
                    cpu_utilization_stddev5m=v.get("cpu_utilization_stddev5m", 0.0),
                    cpu_utilization_max1m=v.get("cpu_utilization_max1m"),
                    cpu_steal=v.get("cpu_steal", 0.0),
                    memory_available_bytes=v.get("memory_available_bytes"),
                    memory_available_avg5m_bytes=v.get("memory_available_avg5m_bytes"),
                    network_receive_bytes_per_s=v.get("network_receive_bytes_per_s", 0.0),
                    network_transmit_bytes_per_s=v.get("network_transmit_bytes_per_s", 0.0),
                ),
                pressure=Pressure(
                    v.get("pressure_cpu", 0.0),
                    v.get("pressure_memory", 0.0),
                    v.get("pressure_io", 0.0),
                ),
                last_seen_s=seen.get(node_id, 0.0),
                relative_speed=_number(operator_labels.get(_SPEED_LABEL)) or 1.0,
                power_watts=_number(operator_labels.get(_POWER_LABEL)),
            )
        )
    return nodes


def build_network(answers: Mapping[str, Sequence[Sample]]) -> Network:
    """Measured link costs between sites; defaults fill the gaps."""
    default = Network()
    rtt: dict[tuple[str, str], float] = {}
    bandwidth: dict[tuple[str, str], float] = {}
    for target, key in ((rtt, "rtt"), (bandwidth, "throughput")):
        for sample in answers.get(key, ()):
            pair = (sample.labels.get("peer_site", ""), sample.labels.get("site", ""))
            if all(pair) and math.isfinite(sample.value) and sample.value > 0:
                target[pair] = sample.value
    links: dict[tuple[str, str], LinkCost] = {}
    for pair in set(rtt) | set(bandwidth):
        fallback = default.intra_site if pair[0] == pair[1] else default.inter_site
        links[pair] = LinkCost(
            rtt_s=rtt.get(pair, fallback.rtt_s),
            bandwidth_bytes_per_s=bandwidth.get(pair, fallback.bandwidth_bytes_per_s),
        )
    return Network(links=MappingProxyType(links))
