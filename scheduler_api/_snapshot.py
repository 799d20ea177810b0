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
    NodeLinks,
    NodeSnapshot,
    PowerModel,
    Pressure,
    Usage,
)

__all__ = [
    "AGGREGATES",
    "SNAPSHOT_QUERIES",
    "CpuWindow",
    "build_links",
    "build_network",
    "build_nodes",
]

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
        "continuum:node_data_path_available_bytes": "disk_available_bytes",
        "continuum:node_power_watts": "power_measured_watts",
        "continuum:node_power_idle_watts:fit1h": "power_idle_watts",
        "continuum:node_power_slope_watts:fit1h": "power_slope_watts",
        "continuum:node_power_fit_samples:fit1h": "power_fit_samples",
        "continuum:node_power_residual_watts:fit1h": "power_residual_watts",
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
        # Per node and peer site: the nearest peer's RTT and the best throughput. Each node's
        # own link and its site's uplink are estimated from them (build_links), and the links
        # between sites are their means over the sites' nodes (build_network).
        "node_rtt": (
            "min by (node, site, peer_site) "
            '(continuum_probe_rtt_seconds{peer!="", probe_kind="tcp"})'
        ),
        "node_throughput": (
            'max by (node, site, peer_site) (continuum_probe_throughput_bytes_per_second{peer!=""})'
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
    data_paths: dict[str, str] = {}
    power_sources: dict[str, str] = {}
    for sample in answers.get("aggregates", ()):
        node = sample.labels.get("node")
        field = AGGREGATES.get(sample.labels.get("__name__", ""))
        if not node or field is None or math.isnan(sample.value):
            continue
        values.setdefault(node, {})[field] = sample.value
        if field == "disk_available_bytes":
            data_paths[node] = sample.labels.get("data_path", "")
        elif field == "power_measured_watts":
            power_sources[node] = sample.labels.get("power_source", "")
        identity.setdefault(node, (sample.labels.get("tier", ""), sample.labels.get("site", "")))
    seen = {s.labels["node"]: s.value for s in answers.get("freshness", ()) if s.labels.get("node")}
    info = {s.labels["node"]: s.labels for s in answers.get("info", ()) if s.labels.get("node")}
    links = build_links(answers)
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
                    disk_available_bytes=v.get("disk_available_bytes"),
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
                links=links.get(node_id),
                data_path=data_paths.get(node_id, ""),
                power=_power(v, power_sources.get(node_id, "")),
            )
        )
    return nodes


def _power(values: Mapping[str, float], source: str) -> PowerModel | None:
    """The node's measured power and fitted line, or None when it reports no power."""
    if "power_measured_watts" not in values and "power_slope_watts" not in values:
        return None
    return PowerModel(
        measured_watts=values.get("power_measured_watts"),
        source=source,
        idle_watts=values.get("power_idle_watts"),
        slope_watts=values.get("power_slope_watts"),
        samples=int(values.get("power_fit_samples", 0.0)),
        residual_watts=values.get("power_residual_watts"),
    )


def _per_node(
    answers: Sequence[Sample],
) -> dict[str, tuple[str, dict[str, float]]]:
    """node -> (its site, peer site -> value), for finite positive values."""
    out: dict[str, tuple[str, dict[str, float]]] = {}
    for sample in answers:
        node, site, peer_site = (sample.labels.get(k, "") for k in ("node", "site", "peer_site"))
        if node and site and peer_site and math.isfinite(sample.value) and sample.value > 0:
            out.setdefault(node, (site, {}))[1][peer_site] = sample.value
    return out


def build_links(answers: Mapping[str, Sequence[Sample]]) -> dict[str, NodeLinks]:
    """Each probed node's own link and its site's uplink, estimated from the probe series.

    A transfer crosses the sender's link, then (between sites) both sites' uplinks, then the
    receiver's link, so:

    * a node's link bandwidth is the best throughput it reached to any peer (every transfer
      crosses it, so no path is faster);
    * its one-way latency is a quarter of the RTT to its nearest peer in its own site (the
      probe's round trip crosses two node links twice);
    * a site's uplink bandwidth is the best throughput any of its nodes reached to another
      site, and its one-way latency half of what the nearest other site's RTT adds beyond
      the node links, per direction (both uplinks are crossed; each is given half).

    Nodes without probes get nothing here, and the engine's defaults apply to them.
    """
    rtt = _per_node(answers.get("node_rtt", ()))
    throughput = _per_node(answers.get("node_throughput", ()))
    access: dict[str, tuple[str, float | None, float | None]] = {}
    for node in set(rtt) | set(throughput):
        site = (rtt.get(node) or throughput[node])[0]
        own_rtt = rtt.get(node, (site, {}))[1].get(site)
        best = max(throughput.get(node, (site, {}))[1].values(), default=None)
        access[node] = (site, None if own_rtt is None else own_rtt / 4.0, best)
    uplink_bw: dict[str, float] = {}
    uplink_lat: dict[str, float] = {}
    for site, per_peer in throughput.values():
        for peer_site, value in per_peer.items():
            if peer_site != site:
                uplink_bw[site] = max(uplink_bw.get(site, 0.0), value)
    for node, (site, per_peer) in rtt.items():
        node_lat = access[node][1] or 0.0
        for peer_site, value in per_peer.items():
            if peer_site == site:
                continue
            # rtt/2 = own link + both uplinks + the peer's link (taken equal to this node's).
            excess = max(0.0, value / 2.0 - 2.0 * node_lat)
            uplink_lat[site] = min(uplink_lat.get(site, math.inf), excess / 2.0)
    out: dict[str, NodeLinks] = {}
    for node, (site, latency, bandwidth) in access.items():
        out[node] = NodeLinks(
            latency_s=latency,
            bandwidth_bytes_per_s=bandwidth,
            uplink_latency_s=uplink_lat.get(site),
            uplink_bandwidth_bytes_per_s=uplink_bw.get(site),
        )
    return out


def build_network(answers: Mapping[str, Sequence[Sample]]) -> Network:
    """Measured link costs between sites (means over their nodes' probes); defaults elsewhere."""
    default = Network()
    rtt: dict[tuple[str, str], list[float]] = {}
    bandwidth: dict[tuple[str, str], list[float]] = {}
    for target, key in ((rtt, "node_rtt"), (bandwidth, "node_throughput")):
        for sample in answers.get(key, ()):
            pair = (sample.labels.get("peer_site", ""), sample.labels.get("site", ""))
            if all(pair) and math.isfinite(sample.value) and sample.value > 0:
                target.setdefault(pair, []).append(sample.value)
    links: dict[tuple[str, str], LinkCost] = {}
    for pair in set(rtt) | set(bandwidth):
        fallback = default.intra_site if pair[0] == pair[1] else default.inter_site
        rtts, rates = rtt.get(pair), bandwidth.get(pair)
        links[pair] = LinkCost(
            rtt_s=sum(rtts) / len(rtts) if rtts else fallback.rtt_s,
            bandwidth_bytes_per_s=sum(rates) / len(rates)
            if rates
            else fallback.bandwidth_bytes_per_s,
        )
    return Network(links=MappingProxyType(links))
