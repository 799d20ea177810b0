"""The simulated world's monitoring as Prometheus would answer the scheduler API's queries.

The product reads a fleet only through the series the agents and the pipeline write; this
module answers the API's snapshot queries (``scheduler_api._snapshot.SNAPSHOT_QUERIES``) with
those series, filled from the simulator's monitor, so the product's own snapshot builder turns
them into node views::

    monitoring = SimulatedPrometheus(view)
    snapshots = build_nodes(monitoring.answers([0, 1]))

What each answer holds, and from where:

* ``aggregates``: the pipeline's ``continuum:node_*`` windows (capacity, utilisation 1-minute
  mean and max, 5-minute mean and stddev, steal, available memory, CPU pressure), from the
  monitor's stale, windowed figures; available memory is the capacity less what the workflow's
  running tasks requested (nothing else uses memory in this world).
* ``freshness``: the time the node's figures describe.
* ``info``: ``target_info`` with the node's identity and its operator label
  ``relative_speed`` (the inventory's nominal speed, as an operator would label it).
* probe series: each node probes one peer in its own site and the first node of every other
  site, and measures the idle path (RTT twice the one-way latency, throughput the narrowest
  link), as the probe agent's TCP and throughput probes do on a quiet network.
"""

from __future__ import annotations

from collections.abc import Iterable

from bench.sim._sim import ClusterView
from scheduler_api._prometheus import Sample

__all__ = ["SimulatedPrometheus"]


class SimulatedPrometheus:
    """Answers the API's snapshot queries for the nodes of one simulated run."""

    def __init__(self, view: ClusterView) -> None:
        self._view = view
        continuum = view.continuum
        self._identity = [{"node": n.id, "tier": n.tier, "site": n.site} for n in continuum.nodes]
        first_of_site: dict[str, int] = {}
        for idx, node in enumerate(continuum.nodes):
            first_of_site.setdefault(node.site, idx)
        self._probes: list[tuple[list[Sample], list[Sample]]] = []
        for idx, node in enumerate(continuum.nodes):
            peers = [
                next(
                    (j for j, other in enumerate(continuum.nodes)
                     if other.site == node.site and j != idx),
                    -1,
                )
            ]  # fmt: skip
            peers += [j for site, j in first_of_site.items() if site != node.site]
            rtts, rates = [], []
            for peer in peers:
                if peer < 0:
                    continue
                latency_s, bandwidth = continuum.path(idx, peer)
                labels = {**self._identity[idx], "peer_site": continuum.nodes[peer].site}
                rtts.append(Sample(labels, 2.0 * latency_s, 0.0))
                rates.append(Sample(dict(labels), bandwidth, 0.0))
            self._probes.append((rtts, rates))

    def answers(self, nodes: Iterable[int]) -> dict[str, list[Sample]]:
        """The snapshot queries' answers for ``nodes`` (indices), as of the view's time."""
        out: dict[str, list[Sample]] = {
            "aggregates": [],
            "freshness": [],
            "info": [],
            "node_rtt": [],
            "node_throughput": [],
        }
        for idx in nodes:
            self._node(idx, out)
        return out

    def _node(self, idx: int, out: dict[str, list[Sample]]) -> None:
        view = self._view
        node = view.continuum.nodes[idx]
        stats = view.stats(idx)
        identity = self._identity[idx]
        tasks = view.workflow.tasks
        used_memory = sum(tasks[t].memory_bytes for t in view.running[idx])
        available = float(max(0, node.memory_bytes - used_memory))
        at_s = stats.as_of_s
        for name, value in (
            ("continuum:node_cpu_cores", float(node.cores)),
            ("continuum:node_memory_bytes", float(node.memory_bytes)),
            ("continuum:node_gpus", 0.0),
            ("continuum:node_cpu_utilization:avg1m", stats.cpu_avg1m),
            ("continuum:node_cpu_utilization:avg5m", stats.cpu_avg5m),
            ("continuum:node_cpu_utilization:stddev5m", stats.cpu_stddev5m),
            ("continuum:node_cpu_utilization:max1m", stats.cpu_max1m),
            ("continuum:node_cpu_steal:avg1m", stats.cpu_steal_avg1m),
            ("continuum:node_memory_available_bytes:min1m", available),
            ("continuum:node_memory_available_bytes:avg5m", available),
            ("continuum:node_pressure_cpu:rate1m", stats.cpu_pressure_some1m),
        ):
            out["aggregates"].append(Sample({"__name__": name, **identity}, value, at_s))
        out["freshness"].append(
            Sample({"__name__": "continuum:node_cpu_cores", **identity}, at_s, at_s)
        )
        out["info"].append(
            Sample(
                {
                    "__name__": "target_info",
                    **identity,
                    "continuum_label_relative_speed": repr(node.speed),
                },
                1.0,
                at_s,
            )
        )
        rtts, rates = self._probes[idx]
        out["node_rtt"].extend(rtts)
        out["node_throughput"].extend(rates)
