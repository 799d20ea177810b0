"""A seeded model of the compute continuum: nodes, links and time-varying background load.

Edge sites have few slow cores behind thin, distant links; cloud regions have mid-size nodes on
fast networks with a daily cycle of tenant load; the HPC centre has many fast cores, busy with
batch work. Each node's background load comes from :mod:`bench.sim._load` in one of two worlds
(``shared``, the default, where steal, batch jobs and devices' primary functions hold cores the
workflow cannot use; ``mild``, time-shared load only); the same seed gives the same nodes and
links in both. The world has run for :data:`HISTORY_S` when the workflow arrives, so the
monitoring's windows hold real samples from the first placement on, as they would for a
submission to a fleet that was measured all along.

Transfers follow a two-level network: a node's access link to its site, then the site's uplink
to the wide area. Every link is full duplex (its upload and download directions are separate
links of the same capacity). :meth:`Continuum.path` and :meth:`Continuum.transfer_s` give what a
probe would measure on an idle network: the path's latency plus the bytes over its narrowest
bandwidth. :meth:`Continuum.route` names the links a transfer crosses, so that
:mod:`bench.sim._network` can share each link among the transfers in flight. The input store
(object storage in the first cloud region) scales out: it caps each connection but is not a
shared link; the region's uplink and the reader's access link are.

Example::

    continuum = build_continuum(seed=3, world="shared")
    node = continuum.nodes[0]
    print(node.id, node.tier, continuum.background(0, 120.0), continuum.held(0, 120.0))
    print(continuum.transfer_s(0, 5, 10**9))
    print(continuum.route(ORIGIN, 5), continuum.link_capacity_bytes_s)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bench.sim._load import LOAD_STEP_S, WORLDS, LoadTrace, NodeLoad, mild_load, shared_load

__all__ = [
    "HISTORY_S",
    "HISTORY_STEPS",
    "LOAD_STEP_S",
    "ORIGIN",
    "ORIGIN_STREAM_BYTES_S",
    "WORLDS",
    "Continuum",
    "SimNode",
    "SiteLink",
    "build_continuum",
]

#: The world runs this long before the workflow starts, so monitoring windows up to an hour
#: long are full from the first placement on (an agent has measured the node all along).
HISTORY_S = 3_600.0
HISTORY_STEPS = int(HISTORY_S / LOAD_STEP_S)
#: Node index standing for the workflow's input store (object storage in the first cloud region).
ORIGIN = -1
_GBIT = 125_000_000.0
#: One connection to the input store gets at most this (object storage serves each stream).
ORIGIN_STREAM_BYTES_S = 10.0 * _GBIT
_ORIGIN_LATENCY_S = 0.0005


@dataclass(frozen=True, slots=True)
class SimNode:
    """One node of the model.

    Attributes:
        id: Node id (``<site>-<n>``).
        tier: ``edge``, ``cloud`` or ``hpc``.
        site: Site name.
        cores: Cores.
        memory_bytes: Memory.
        speed: Per-core speed relative to the instances' reference machine.
        access_bandwidth_bytes_s: Bandwidth of the node's link to its site.
        access_latency_s: One-way latency of that link.
    """

    id: str
    tier: str
    site: str
    cores: int
    memory_bytes: int
    speed: float
    access_bandwidth_bytes_s: float
    access_latency_s: float


@dataclass(frozen=True, slots=True)
class SiteLink:
    """A site's uplink to the wide area."""

    bandwidth_bytes_s: float
    latency_s: float


# tier -> (sites, nodes per site, cores choices, speed range, memory GiB, access Gbit/s,
#          access latency s, uplink Gbit/s, uplink latency s)
_TIERS: dict[
    str, tuple[int, int, tuple[int, ...], tuple[float, float], int, float, float, float, float]
] = {
    "edge": (3, 4, (2, 4), (0.45, 0.75), 8, 1.0, 0.0005, 0.1, 0.015),
    "cloud": (2, 6, (8, 16), (0.9, 1.15), 64, 10.0, 0.0002, 2.0, 0.012),
    "hpc": (1, 4, (32, 48), (1.2, 1.5), 256, 25.0, 0.00005, 5.0, 0.008),
}


class Continuum:
    """Nodes, network and background load of one seeded world.

    Attributes:
        seed: The seed it was built from.
        nodes: The nodes, by index.
        site_links: Uplink of each site.
    """

    def __init__(
        self, seed: int, nodes: list[SimNode], site_links: dict[str, SiteLink],
        loads: list[NodeLoad], origin_site: str, world: str = "shared",
    ) -> None:  # fmt: skip
        self.seed = seed
        self.world = world
        self.nodes: tuple[SimNode, ...] = tuple(nodes)
        self.site_links = dict(site_links)
        self.origin_site = origin_site
        self._load = LoadTrace(seed, loads)
        self._site_index = {site: i for i, site in enumerate(self.site_links)}
        # Link ids: node i uploads on 2i and downloads on 2i + 1; site k sends out of the
        # wide-area uplink on 2n + 2k and receives on 2n + 2k + 1 (n nodes).
        capacity = [n.access_bandwidth_bytes_s for n in nodes for _ in (0, 1)]
        capacity += [link.bandwidth_bytes_s for link in self.site_links.values() for _ in (0, 1)]
        self.link_capacity_bytes_s: tuple[float, ...] = tuple(capacity)

    # ------------------------------------------------------------ load

    def background(self, node: int, at_s: float) -> float:
        """True background load of ``node`` at ``at_s`` (share of its cores busy, 0..1).

        Held and time-shared load together: what a node agent would count as busy.
        """
        return self._load.total(node, self._step(at_s))

    def held(self, node: int, at_s: float) -> float:
        """Of :meth:`background`, the share of cores the workflow's tasks cannot use at all."""
        return self._load.held(node, self._step(at_s))

    def background_steps(
        self, node: int, first_step: int, last_step: int
    ) -> npt.NDArray[np.float64]:
        """Background load samples ``first_step..last_step`` (inclusive) of ``node``.

        Steps count from the workflow's start; negative ones, down to ``-HISTORY_STEPS``, are
        the hour before it.
        """
        return self._load.total_steps(node, first_step + HISTORY_STEPS, last_step + HISTORY_STEPS)

    def held_steps(self, node: int, first_step: int, last_step: int) -> npt.NDArray[np.float64]:
        """Held load samples ``first_step..last_step`` (inclusive) of ``node``."""
        return self._load.held_steps(node, first_step + HISTORY_STEPS, last_step + HISTORY_STEPS)

    @staticmethod
    def _step(at_s: float) -> int:
        """Index in the load trace of the sample covering ``at_s`` (history included)."""
        return max(0, math.floor(at_s / LOAD_STEP_S) + HISTORY_STEPS)

    # ------------------------------------------------------------ network

    def path(self, src: int, dst: int) -> tuple[float, float]:
        """(latency_s, bandwidth_bytes_s) from ``src`` to ``dst``; ``ORIGIN`` is the input store."""
        if src == dst:
            return 0.0, math.inf
        a_site, a_bw, a_lat = self._endpoint(src)
        b_site, b_bw, b_lat = self._endpoint(dst)
        latency = a_lat + b_lat
        bandwidth = min(a_bw, b_bw)
        if a_site != b_site:
            up_a, up_b = self.site_links[a_site], self.site_links[b_site]
            latency += up_a.latency_s + up_b.latency_s
            bandwidth = min(bandwidth, up_a.bandwidth_bytes_s, up_b.bandwidth_bytes_s)
        return latency, bandwidth

    def transfer_s(self, src: int, dst: int, size_bytes: int) -> float:
        """Seconds to move ``size_bytes`` from ``src`` to ``dst`` (0 on the same node)."""
        if src == dst:
            return 0.0
        latency, bandwidth = self.path(src, dst)
        return latency + size_bytes / bandwidth

    def route(self, src: int, dst: int) -> tuple[int, ...]:
        """Ids of the links a transfer from ``src`` to ``dst`` crosses (``link_capacity_bytes_s``).

        The input store (``ORIGIN``) has no link of its own: a stream from it is capped at
        :data:`ORIGIN_STREAM_BYTES_S` instead. Nothing is crossed on the same node.
        """
        if src == dst:
            return ()
        count = len(self.nodes)
        src_site = self.origin_site if src == ORIGIN else self.nodes[src].site
        dst_site = self.origin_site if dst == ORIGIN else self.nodes[dst].site
        links: list[int] = [] if src == ORIGIN else [2 * src]
        if src_site != dst_site:
            links.append(2 * count + 2 * self._site_index[src_site])
            links.append(2 * count + 2 * self._site_index[dst_site] + 1)
        if dst != ORIGIN:
            links.append(2 * dst + 1)
        return tuple(links)

    def tier_of(self, node: int) -> str:
        """Tier of a node index (``ORIGIN`` is in the cloud)."""
        return "cloud" if node == ORIGIN else self.nodes[node].tier

    def _endpoint(self, node: int) -> tuple[str, float, float]:
        if node == ORIGIN:
            return self.origin_site, ORIGIN_STREAM_BYTES_S, _ORIGIN_LATENCY_S
        n = self.nodes[node]
        return n.site, n.access_bandwidth_bytes_s, n.access_latency_s


def build_continuum(seed: int, world: str = "shared") -> Continuum:
    """Build the seeded continuum: 3 edge sites of 4 nodes, 2 cloud regions of 6, 1 HPC centre of 4.

    Args:
        seed: Seed for the node draws, link jitter and load traces.
        world: Background-load preset, one of :data:`WORLDS` (``shared`` or ``mild``); the
            nodes and links are the same in every world.

    Returns:
        The model; the same seed and world always give the same nodes, links and load.

    Raises:
        ValueError: ``world`` is not one of :data:`WORLDS`.
    """
    if world not in WORLDS:
        raise ValueError(f"unknown world {world!r}: expected one of {', '.join(WORLDS)}")
    rng = np.random.default_rng([seed, 0xC0A7])
    nodes: list[SimNode] = []
    links: dict[str, SiteLink] = {}
    loads: list[NodeLoad] = []
    for tier, (
        sites,
        per_site,
        cores,
        speed,
        mem_gib,
        acc_gbit,
        acc_lat,
        up_gbit,
        up_lat,
    ) in _TIERS.items():
        for s in range(sites):
            site = f"{tier}-{chr(ord('a') + s)}"
            jitter = rng.uniform(0.7, 1.3)
            links[site] = SiteLink(up_gbit * _GBIT * jitter, up_lat * rng.uniform(0.8, 1.5))
            for n in range(per_site):
                nodes.append(
                    SimNode(
                        id=f"{site}-{n + 1}",
                        tier=tier,
                        site=site,
                        cores=int(rng.choice(cores)),
                        memory_bytes=mem_gib << 30,
                        speed=round(float(rng.uniform(*speed)), 3),
                        access_bandwidth_bytes_s=acc_gbit * _GBIT,
                        access_latency_s=acc_lat,
                    )
                )
                # Drawn in every world, so the inventory's draws never depend on the world.
                loads.append(mild_load(tier, rng))
    if world == "shared":
        held_rng = np.random.default_rng([seed, 0x5EA7])
        loads = [shared_load(n.tier, held_rng) for n in nodes]
    return Continuum(seed, nodes, links, loads, origin_site="cloud-a", world=world)
