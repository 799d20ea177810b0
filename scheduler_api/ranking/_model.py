"""Value types of the ranking model: what a node looks like, what a task asks for, and the answer.

All are frozen dataclasses with no behaviour beyond small derived properties, so the engine, the
API and the simulator can build them cheaply and share them between threads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "Capacity",
    "DatasetLocation",
    "Labels",
    "LinkCost",
    "Network",
    "NodeLinks",
    "NodeSnapshot",
    "PowerModel",
    "Pressure",
    "RankedNode",
    "Ranking",
    "RejectedNode",
    "Reservation",
    "TaskRequirements",
    "Usage",
    "Weights",
]

_EMPTY: Mapping[str, str] = MappingProxyType({})


class Labels(Mapping[str, str]):
    """An immutable, hashable mapping of label keys to values (sorted by key).

    Requirements key the placement engine's caches, so their labels must hash; built from a
    mapping or from ``(key, value)`` pairs.
    """

    __slots__ = ("_items", "_map")

    def __init__(self, labels: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = labels.items() if isinstance(labels, Mapping) else labels
        self._map = dict(sorted((str(k), str(v)) for k, v in pairs))
        self._items = tuple(self._map.items())

    def __getitem__(self, key: str) -> str:
        return self._map[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    # Equality is Mapping's (the same items, whatever the mapping type); the hash agrees.
    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Labels({self._map!r})"


@dataclass(frozen=True, slots=True)
class Capacity:
    """What a node has.

    Attributes:
        cpu_cores: logical CPU cores.
        memory_bytes: physical memory.
        gpus: GPUs (0 when none).
    """

    cpu_cores: float
    memory_bytes: float
    gpus: int = 0


@dataclass(frozen=True, slots=True)
class Usage:
    """What a node is using, as mean and spread over windows (the pipeline's aggregates).

    Attributes:
        cpu_utilization: mean busy fraction of all cores over the last minute (0..1).
        cpu_utilization_avg5m: mean busy fraction over five minutes.
        cpu_utilization_stddev5m: standard deviation of the busy fraction over five minutes.
        cpu_utilization_max1m: highest busy fraction seen in the last minute.
        cpu_steal: mean fraction of CPU time stolen by the hypervisor over the last minute
            (part of ``cpu_utilization``: steal counts as busy).
        disk_available_bytes: bytes tasks may still write on the node's data path, when known.
        memory_available_bytes: lowest available memory in the last minute.
        memory_available_avg5m_bytes: mean available memory over five minutes.
        network_receive_bytes_per_s: bytes per second received over the last minute.
        network_transmit_bytes_per_s: bytes per second sent over the last minute.
    """

    cpu_utilization: float = 0.0
    cpu_utilization_avg5m: float | None = None
    cpu_utilization_stddev5m: float = 0.0
    cpu_utilization_max1m: float | None = None
    cpu_steal: float = 0.0
    disk_available_bytes: float | None = None
    memory_available_bytes: float | None = None
    memory_available_avg5m_bytes: float | None = None
    network_receive_bytes_per_s: float = 0.0
    network_transmit_bytes_per_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Pressure:
    """Pressure stall information: fraction of time some tasks stalled, per resource (0..1)."""

    cpu: float = 0.0
    memory: float = 0.0
    io: float = 0.0


@dataclass(frozen=True, slots=True)
class NodeLinks:
    """A node's own link and its site's uplink, as the probes measured them (None: unknown).

    Attributes:
        latency_s: one-way latency of the node's link to its site.
        bandwidth_bytes_per_s: bandwidth of that link.
        uplink_latency_s: one-way latency of the site's link to the wide area.
        uplink_bandwidth_bytes_per_s: bandwidth of that uplink.
    """

    latency_s: float | None = None
    bandwidth_bytes_per_s: float | None = None
    uplink_latency_s: float | None = None
    uplink_bandwidth_bytes_per_s: float | None = None


@dataclass(frozen=True, slots=True)
class PowerModel:
    """What the node's power measurements say.

    Attributes:
        measured_watts: the node's latest measured power.
        source: where it came from (``rapl``, ``hwmon``, ``power_supply``, ``+gpu``).
        idle_watts: intercept of the least-squares line of power against CPU utilisation
            over the last hour.
        slope_watts: its slope: watts from idle to fully busy.
        samples: samples the line was fitted to.
        residual_watts: root-mean-square residual of the line.
    """

    measured_watts: float | None = None
    source: str = ""
    idle_watts: float | None = None
    slope_watts: float | None = None
    samples: int = 0
    residual_watts: float | None = None


@dataclass(frozen=True, slots=True)
class NodeSnapshot:
    """One node as the monitoring sees it at one moment.

    Attributes:
        id: the continuum node id.
        tier: ``edge``, ``cloud`` or ``hpc``.
        site: the site the node is in.
        arch: CPU architecture (``amd64``, ``arm64``, ...; empty when unknown).
        labels: operator labels.
        capacity: what the node has.
        usage: what it uses.
        pressure: pressure stall fractions.
        last_seen_s: Unix time of its newest data (freshness).
        alerts: names of firing node-level alerts (any makes it unhealthy).
        relative_speed: speed relative to a reference core (1.0 = reference).
        power_watts: rated power draw from the operator's ``power_watts`` label, when known
            (the fallback when nothing is measured).
        links: its link and its site's uplink as probed, when known.
        data_path: the directory whose free space ``usage.disk_available_bytes`` is.
        power: measured power and its fitted idle-to-busy line, when the agent reports power.
    """

    id: str
    capacity: Capacity
    tier: str = "cloud"
    site: str = "local"
    arch: str = ""
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    usage: Usage = field(default_factory=Usage)
    pressure: Pressure = field(default_factory=Pressure)
    last_seen_s: float = 0.0
    alerts: tuple[str, ...] = ()
    relative_speed: float = 1.0
    power_watts: float | None = None
    links: NodeLinks | None = None
    data_path: str = ""
    power: PowerModel | None = None

    @property
    def healthy(self) -> bool:
        """No node-level alert is firing."""
        return not self.alerts


@dataclass(frozen=True, slots=True)
class DatasetLocation:
    """Where a dataset a task reads lives.

    Attributes:
        id: dataset id.
        size_bytes: bytes the task reads.
        nodes: nodes holding a replica.
        sites: sites holding a replica (any node there can read it at intra-site cost).
        residency: the data may not leave ``sites``/the sites of ``nodes``; nodes elsewhere
            are infeasible.
        storage: where the copies are held: ``memory`` or ``disk`` of the ``nodes``, or an
            ``object`` store in the ``sites``.
    """

    id: str
    size_bytes: int
    nodes: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    residency: bool = False
    storage: str = "disk"


@dataclass(frozen=True, slots=True)
class TaskRequirements:
    """What one task needs: the one requirements type of the ranking, the API, the extender,
    the placement engine (as ``scheduler_api.placement.Requirements``) and the workflow DSL.
    Unset constraints (``None``) match every node; the value hashes, so it can key caches.

    Attributes:
        cpu_cores: cores the task keeps busy.
        memory_bytes: memory it needs.
        gpus: GPUs it needs.
        arch: required CPU architecture.
        tier: required tier.
        site: required site.
        labels: operator labels the node must carry with these values.
        datasets: datasets it reads.
        duration_s: expected duration on a reference node, when known.
        disk_bytes: free space its data needs on the node's data path, beyond the inputs it
            stages there (which are counted too).
        max_utilization: do not place on a node whose 5-minute mean CPU utilisation is above
            this fraction.
        allow_oversubscribe: accept nodes whose measured free cores are fewer than the task's
            (their total cores still have to suffice); off, a node must have the cores free.
        not_before_s: Unix time before which the task may not start.
        deadline_s: Unix time by which the task must finish; nodes whose estimated finish
            (transfer plus run time, from ``not_before_s`` or now) is later are rejected.
        storage: preferred kind of store for its data (``memory``, ``disk``, ``object``):
            nodes holding its datasets in that kind score higher (the ``storage`` component).
        minimize_energy: rank the feasible nodes by estimated joules first (nodes of unknown
            power last), the score breaking ties.
    """

    cpu_cores: float = 1.0
    memory_bytes: int = 0
    gpus: int = 0
    arch: str | None = None
    tier: str | None = None
    site: str | None = None
    labels: Mapping[str, str] = field(default_factory=Labels)
    datasets: tuple[DatasetLocation, ...] = ()
    duration_s: float | None = None
    disk_bytes: int = 0
    max_utilization: float | None = None
    allow_oversubscribe: bool = False
    not_before_s: float | None = None
    deadline_s: float | None = None
    storage: str | None = None
    minimize_energy: bool = False

    def __post_init__(self) -> None:
        if not self.cpu_cores > 0:
            raise ValueError(f"cpu_cores must be > 0, got {self.cpu_cores}")
        if self.memory_bytes < 0 or self.gpus < 0 or self.disk_bytes < 0:
            raise ValueError("memory_bytes, gpus and disk_bytes must be >= 0")
        if self.max_utilization is not None and not 0 < self.max_utilization <= 1:
            raise ValueError(f"max_utilization must be in (0, 1], got {self.max_utilization}")
        if not isinstance(self.labels, Labels):
            object.__setattr__(self, "labels", Labels(self.labels))

    @property
    def lanes(self) -> int:
        """Whole cores the task holds on a node's timeline (a fraction takes one)."""
        return max(1, math.ceil(self.cpu_cores - 1e-9))


@dataclass(frozen=True, slots=True)
class Reservation:
    """Load placed on a node that its metrics do not show yet."""

    cpu_cores: float = 0.0
    memory_bytes: float = 0.0
    gpus: int = 0

    def __add__(self, other: Reservation) -> Reservation:
        return Reservation(
            self.cpu_cores + other.cpu_cores,
            self.memory_bytes + other.memory_bytes,
            self.gpus + other.gpus,
        )


@dataclass(frozen=True, slots=True)
class LinkCost:
    """Cost of moving data over a link: round-trip time and usable bandwidth."""

    rtt_s: float
    bandwidth_bytes_per_s: float

    def transfer_s(self, size_bytes: float) -> float:
        """Seconds to move ``size_bytes`` over this link."""
        return self.rtt_s + size_bytes / self.bandwidth_bytes_per_s


# Defaults when nothing is measured: a 1 Gbit/s LAN inside a site, a 100 Mbit/s WAN between.
_INTRA_SITE = LinkCost(rtt_s=0.0005, bandwidth_bytes_per_s=125e6)
_INTER_SITE = LinkCost(rtt_s=0.03, bandwidth_bytes_per_s=12.5e6)


@dataclass(frozen=True, slots=True)
class Network:
    """Link costs between sites, measured where known, defaults elsewhere.

    Attributes:
        intra_site: cost between two nodes of one site.
        inter_site: cost between sites with no measured link.
        links: measured costs by ``(from_site, to_site)``.
    """

    intra_site: LinkCost = _INTRA_SITE
    inter_site: LinkCost = _INTER_SITE
    links: Mapping[tuple[str, str], LinkCost] = field(default_factory=dict)

    def cost(self, from_site: str, to_site: str) -> LinkCost:
        """The link cost from one site to another."""
        measured = self.links.get((from_site, to_site))
        if measured is not None:
            return measured
        return self.intra_site if from_site == to_site else self.inter_site


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the score components (any non-negative value; they are normalised).

    Attributes:
        cpu_headroom: free cores after placement (LeastAllocated on measured load).
        memory_headroom: free memory after placement.
        balance: CPU and memory used in proportion (BalancedAllocation).
        variability: mean plus spread of load (Trimaran LoadVariationRiskBalancing).
        pressure: pressure stall.
        locality: data already near the node (transfer time).
        speed: relative speed.
        energy: power per core.
        risk_margin: standard deviations added to the mean in the variability score.
        risk_sensitivity: root applied to the standard deviation (1 = linear).
        storage: the task's data held in the kind of store it asked for (``storage`` hint).
    """

    cpu_headroom: float = 1.0
    memory_headroom: float = 1.0
    balance: float = 0.5
    variability: float = 1.0
    pressure: float = 1.0
    locality: float = 1.0
    speed: float = 0.5
    energy: float = 0.25
    risk_margin: float = 1.0
    risk_sensitivity: float = 1.0
    storage: float = 0.5

    def components(self) -> dict[str, float]:
        """The component weights by component name."""
        return {
            "cpu_headroom": self.cpu_headroom,
            "memory_headroom": self.memory_headroom,
            "balance": self.balance,
            "variability": self.variability,
            "pressure": self.pressure,
            "locality": self.locality,
            "speed": self.speed,
            "energy": self.energy,
            "storage": self.storage,
        }


@dataclass(frozen=True, slots=True)
class RankedNode:
    """A feasible node, its score and why.

    Attributes:
        node: the node.
        score: weighted score, 0 (worst) to 1 (best).
        components: each component's score (0..1) by name.
        cpu_free_cores_after: cores left idle after placing the task.
        memory_free_bytes_after: memory left available after placing the task.
        transfer_bytes: bytes of input not already on the node.
        transfer_s: estimated time to bring the input to the node.
        estimated_duration_s: transfer plus run time scaled by speed (when a duration is given).
        estimated_joules: energy the task adds on the node (see ``energy_source``), or None
            when the node's power is unknown.
        energy_source: how ``estimated_joules`` was estimated, in words.
    """

    node: NodeSnapshot
    score: float
    components: Mapping[str, float]
    cpu_free_cores_after: float
    memory_free_bytes_after: float
    transfer_bytes: float
    transfer_s: float
    estimated_duration_s: float | None
    estimated_joules: float | None = None
    energy_source: str = "unknown"


@dataclass(frozen=True, slots=True)
class RejectedNode:
    """An infeasible node and every reason it was filtered."""

    node_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ranking:
    """The answer to one ranking request.

    Attributes:
        ranked: feasible nodes, best first (at most ``limit``).
        rejected: infeasible nodes with reasons (at most ``rejected_limit``).
        feasible_total: how many nodes were feasible.
        rejected_total: how many nodes were filtered.
        constraints: the hard constraints applied, in words (what counted as free, which
            options relaxed or tightened them).
    """

    ranked: tuple[RankedNode, ...]
    rejected: tuple[RejectedNode, ...]
    feasible_total: int
    rejected_total: int
    constraints: tuple[str, ...] = ()
