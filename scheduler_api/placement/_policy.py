"""The placement policy: how the monitoring's node view becomes the engine's nodes.

One policy for every caller: ``POST /v1/placements``, ``continuum run`` (every executor) and the
placement benchmark's simulator drive the engine through it, with the node view the API builds
from Prometheus (``scheduler_api._snapshot``), so what is measured is what users run::

    policy = PlacementPolicy(PolicyConfig(heuristic=Heuristic.HEFT))
    engine = policy.new_engine()
    for snapshot in view.nodes:
        engine.handle(NodeSnapshot(policy.node_info(snapshot, own_cores=0.0), at_s=now_s))

What a node offers. The agents measure the whole node, so its *background* is its one-minute
utilisation less the cores the caller's own tasks hold there (the caller knows what it runs).
Of the background, the steal share (``continuum:node_cpu_steal:avg1m``, CPU time a hypervisor
gave to other guests) is *held*: those cores are not the node's to share. The rest is
*time-shared* with the tasks by the kernel's fair scheduler, counted with one five-minute
standard deviation of headroom (Trimaran's LoadVariationRiskBalancing margin), so a volatile
node is not filled to its mean. On a node of ``c`` cores with held share ``h`` and time-shared
cores ``s``, ``k`` busy one-core tasks each get the fair share ``min(1, c (1 - h) / (s + k))``
of a core (:func:`fair_share`). The node offers its free cores ``floor(c (1 - h) - s)`` as
lanes, at least one, plus more while each keeps :attr:`PolicyConfig.fast_share` of a core (on
a big node a few tasks beside time-shared work barely slow each other); when more work waits
than free lanes exist across the fleet (``crowded``), every usable core is a lane, since
sharing busy cores beats waiting for free ones. The lanes' speed is the node's relative speed
slowed by the share they get. A node where one more task would get under
:attr:`PolicyConfig.min_share` of a core (of its capacity, on a node of less than one core)
is cordoned: it gets no new work, and tasks planned there move. The bar scales down on a node
smaller than a core, so an idle quarter-core edge device still takes work and a busy one
does not. Utilisation is capped at 1, so a full node understates what else runs there when
tasks wait: while it shows CPU pressure at saturation, the last background read below
saturation is kept.

Links come from the probes (``NodeSnapshot.links``, estimated by ``build_links``): a node's
own link and its site's uplink, so the engine counts uplinks only between sites. The engine
books the transfers its placements imply on those links and replans a node's waiting tasks at
each refresh of the node's figures (``EngineConfig.book_transfers``,
``EngineConfig.replan_on_snapshot``), and places a task once its parents finished (``ready``
mode) with the whole graph known from submission, so HEFT's upward ranks look ahead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scheduler_api import ranking
from scheduler_api.placement._engine import EngineConfig, PlacementEngine
from scheduler_api.placement._ranking import ModelRanker
from scheduler_api.placement._types import (
    DEFAULT_BANDWIDTH_BYTES_PER_S,
    DEFAULT_LATENCY_S,
    Heuristic,
    NodeInfo,
)

__all__ = ["PlacementPolicy", "PolicyConfig", "fair_share"]


def fair_share(usable_cores: float, shared_cores: float, tasks: float) -> float:
    """Share of a core each of ``tasks`` busy one-core tasks gets beside time-shared load.

    The kernel's fair scheduler splits the ``usable_cores`` among every runnable thread: the
    ``shared_cores`` of other work and the tasks alike; a task never gets more than a core.
    """
    contenders = shared_cores + tasks
    return min(1.0, usable_cores / contenders) if contenders > 0 else 1.0


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The policy's settings (the benchmark's tuning seeds chose the defaults).

    Attributes:
        heuristic: The engine's ready-queue ordering.
        margin_stddevs: Five-minute standard deviations of utilisation added to the background.
        fast_share: Lanes beyond the free cores are offered while each keeps this share.
        min_share: A node where one more task would get less than this share of a core (of
            its capacity, on a node of less than one core) is cordoned.
        saturated: Utilisation at which a node reads as full.
        max_attempts: Runs a task gets before it is abandoned.
        score_weight_s: Seconds of estimated finish one unit of ranking score is worth.
        minimize_energy: Place each task where it adds the fewest estimated joules (the
            node's measured power line, else its measured or rated power), time breaking
            ties (``EngineConfig.minimize_energy``).
        joule_weight_s: Seconds of estimated finish one estimated joule is worth (a weighted
            time-and-energy objective; 0: time alone).
    """

    heuristic: Heuristic = Heuristic.HEFT
    margin_stddevs: float = 1.0
    fast_share: float = 0.9
    min_share: float = 0.5
    saturated: float = 0.99
    max_attempts: int = 3
    score_weight_s: float = 0.0
    minimize_energy: bool = False
    joule_weight_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.min_share <= 1.0 or not 0.0 < self.fast_share <= 1.0:
            raise ValueError("min_share and fast_share must be in (0, 1]")
        if self.margin_stddevs < 0:
            raise ValueError("margin_stddevs must be >= 0")
        if self.joule_weight_s < 0:
            raise ValueError("joule_weight_s must be >= 0")


@dataclass(frozen=True, slots=True)
class _Offer:
    free_cores: int
    lanes: int
    #: The share of a core one more task would get there (under ``min_share``: cordoned).
    next_share: float = 1.0
    #: The share under which the node is cordoned (``min_share``, scaled on a small node).
    min_share: float = 0.5
    #: Whether the node takes work (fresh, no critical alert, not cordoned).
    healthy: bool = True


class PlacementPolicy:
    """Turns node views into engine nodes; keeps what it needs between refreshes.

    Args:
        config: The policy's settings.
        weights: The ranking model's weights (the API's configured ones).
        network: Link costs between sites, for the ranking model's locality component.
    """

    def __init__(
        self,
        config: PolicyConfig | None = None,
        weights: ranking.Weights | None = None,
        network: ranking.Network | None = None,
    ) -> None:
        self.config = config or PolicyConfig()
        self.ranker = ModelRanker(weights=weights, network=network)
        self._unsaturated: dict[str, float] = {}
        self._offers: dict[str, _Offer] = {}

    def engine_config(self) -> EngineConfig:
        """The engine settings every caller runs with."""
        return EngineConfig(
            heuristic=self.config.heuristic,
            mode="ready",
            max_attempts=self.config.max_attempts,
            score_weight_s=self.config.score_weight_s,
            minimize_energy=self.config.minimize_energy,
            joule_weight_s=self.config.joule_weight_s,
            # Plans made on older figures are redone at each refresh of their node: a batch
            # job arriving on a node with a queue would otherwise hold the queue there.
            replan_on_snapshot=True,
            # Its own transfers share links: a fan-out reading gigabytes from a store would
            # otherwise expect each task to have the store's uplink to itself.
            book_transfers=True,
        )

    def new_engine(self) -> PlacementEngine:
        """A placement engine with this policy's settings and ranker."""
        return PlacementEngine(self.engine_config(), ranker=self.ranker)

    # ------------------------------------------------------------ node views

    def node_info(
        self,
        snapshot: ranking.NodeSnapshot,
        own_cores: float = 0.0,
        crowded: bool = False,
        reserved_cores: float = 0.0,
    ) -> NodeInfo:
        """The engine's view of ``snapshot``.

        Args:
            snapshot: The node as the monitoring reports it.
            own_cores: Cores the caller's own running tasks hold on the node (the agents count
                them in utilisation; they are not background).
            crowded: More work waits than free lanes exist across the fleet (:meth:`crowded`).
            reserved_cores: Cores placed there that the measurements do not show yet (the
                API's pending reservations): counted as busy.
        """
        self.ranker.update(snapshot)
        cfg = self.config
        cores = max(snapshot.capacity.cpu_cores, 1e-9)
        usage = snapshot.usage
        background = max(0.0, usage.cpu_utilization - own_cores / cores)
        peak = usage.cpu_utilization_max1m
        saturated = (peak if peak is not None else usage.cpu_utilization) >= cfg.saturated
        if saturated and snapshot.pressure.cpu > 0.0:
            background = max(background, self._unsaturated.get(snapshot.id, 0.0))
        else:
            self._unsaturated[snapshot.id] = background
        held = min(background, max(usage.cpu_steal, 0.0))
        margin = cfg.margin_stddevs * usage.cpu_utilization_stddev5m
        shared_cores = cores * (background - held + margin) + max(reserved_cores, 0.0)
        usable_cores = cores * (1.0 - held)
        free_cores = math.floor(max(0.0, usable_cores - shared_cores) + 1e-9)
        lanes = max(1, free_cores)
        while lanes < usable_cores and (
            fair_share(usable_cores, shared_cores, lanes + 1) >= cfg.fast_share
        ):
            lanes += 1
        if crowded:
            lanes = max(lanes, round(usable_cores))
        next_share = fair_share(usable_cores, shared_cores, 1.0)
        # A node of less than one core (an edge device, a cgroup limit) offers less than a
        # core's share even idle; the bar scales with its capacity (not with what steal
        # leaves of a bigger one, which is a reason to go elsewhere).
        min_share = cfg.min_share * min(1.0, cores)
        healthy = snapshot.healthy and next_share >= min_share
        self._offers[snapshot.id] = _Offer(
            free_cores, lanes, next_share=next_share, min_share=min_share, healthy=healthy
        )
        links = snapshot.links or ranking.NodeLinks()
        return NodeInfo(
            node_id=snapshot.id,
            cpu_cores=lanes,
            memory_bytes=int(snapshot.capacity.memory_bytes),
            gpus=snapshot.capacity.gpus,
            tier=snapshot.tier,
            site=snapshot.site,
            arch=snapshot.arch,
            labels=dict(snapshot.labels),
            speed=snapshot.relative_speed if snapshot.relative_speed > 0 else 1.0,
            cpu_utilization=1.0 - fair_share(usable_cores, shared_cores, lanes),
            memory_available_bytes=(
                None if usage.memory_available_bytes is None else int(usage.memory_available_bytes)
            ),
            bandwidth_bytes_per_s=links.bandwidth_bytes_per_s or DEFAULT_BANDWIDTH_BYTES_PER_S,
            latency_s=DEFAULT_LATENCY_S if links.latency_s is None else links.latency_s,
            uplink_bandwidth_bytes_per_s=links.uplink_bandwidth_bytes_per_s,
            uplink_latency_s=links.uplink_latency_s or 0.0,
            healthy=healthy,
            capacity_cores=snapshot.capacity.cpu_cores,
            busy_watts=ranking.node_busy_watts(snapshot),
        )

    def cordon_reason(
        self, snapshot: ranking.NodeSnapshot, reserved_cores: float = 0.0
    ) -> str | None:
        """Why the policy gives ``snapshot``'s node no new work now, or None when it would.

        The same judgement as :meth:`node_info` (a node where one more task would get under
        :attr:`PolicyConfig.min_share` of a core), for callers that place one task at a time
        (the Kubernetes extender's filter) and must say why a node is left out.
        """
        self.node_info(snapshot, reserved_cores=reserved_cores)
        offer = self._offers[snapshot.id]
        if offer.next_share >= offer.min_share:
            return None
        bar = f"the placement policy's min_share is {self.config.min_share:g}"
        if offer.min_share < self.config.min_share:
            cores = snapshot.capacity.cpu_cores
            bar += f", {offer.min_share:.2g} on this {cores:g}-core node"
        return f"cordoned: one more task would get {offer.next_share:.2f} of a core ({bar})"

    def lanes(self, node_id: str) -> int:
        """Tasks the node runs at once, as last offered (1 for a node not seen yet)."""
        offer = self._offers.get(node_id)
        return 1 if offer is None else offer.lanes

    def crowded(self, waiting_tasks: int, running: Mapping[str, int]) -> bool:
        """Whether more tasks wait to start than the fleet's free cores can take now.

        Args:
            waiting_tasks: Tasks whose inputs are ready (or placed) but that have not started.
            running: Node id -> tasks of the caller running there.
        """
        # Only nodes that take work count: a stale node's last free cores are nobody's.
        spare = sum(
            max(0, offer.free_cores - running.get(node_id, 0))
            for node_id, offer in self._offers.items()
            if offer.healthy
        )
        return waiting_tasks > spare
