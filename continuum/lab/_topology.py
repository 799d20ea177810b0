"""The lab's topology: sites, nodes and per-tier links, read from YAML and checked.

::

    topology = load_topology(Path("lab.yaml"))   # or default_topology()
    for node in topology.nodes:
        print(node.node_id, node.tier, node.address, node.cpu_cores)

A file looks like::

    name: lab
    subnet: 10.213.0.0/16            # private, used only inside the lab's own namespaces
    control_plane: {kafka_port: 9092, api_port: 8080}
    tiers:
      edge: {rate: 20mbit, latency_ms: 20}
    sites:
      - {name: edge-a, tier: edge, nat: true}
    nodes:
      - {id: edge-1, site: edge-a, cpu: 0.25, memory: 320M}

Addresses are derived, never written: the root namespace's end of the lab link is ``.0.1``, the
lab's router ``.0.2``, site ``k`` (from 1) is ``.k.0/24`` with its gateway at ``.k.1`` and its
``i``-th node at ``.k.(10+i)``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from continuum.lab._errors import TopologyError

__all__ = [
    "DEFAULT_SUBNET",
    "LabNode",
    "LabSite",
    "TierLink",
    "Topology",
    "default_topology",
    "load_topology",
    "parse_rate",
    "parse_size",
    "topology_from_dict",
]

DEFAULT_SUBNET = "10.213.0.0/16"
_NAME = re.compile(r"^[a-z][a-z0-9]{0,5}$")
_NODE_ID = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)$", re.IGNORECASE)
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMG]?)i?B?$", re.IGNORECASE)
_RATE_SCALE = {"bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9}
_SIZE_SCALE = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
#: A node needs room for its node agent, probe agent and worker (about 45 MB each) plus tasks.
MIN_NODE_MEMORY_BYTES = 192 << 20
#: Below this a node's agents take seconds of CPU just to start.
MIN_NODE_CPU = 0.1
Tier = Literal["edge", "cloud", "hpc"]


def parse_rate(value: str | int) -> int:
    """``"20mbit"`` -> 20_000_000 bits per second (tc's units)."""
    if isinstance(value, int):
        return value
    match = _RATE.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a rate like 20mbit, 1gbit or 500kbit")
    return int(float(match.group(1)) * _RATE_SCALE[match.group(2).lower()])


def parse_size(value: str | int) -> int:
    """``"320M"`` -> bytes (binary multiples, as cgroups count)."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a size like 320M or 1G")
    return int(float(match.group(1)) * _SIZE_SCALE[match.group(2).upper()])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierLink(_Strict):
    """How every node link of a tier is shaped (both directions)."""

    rate: int = Field(description="bits per second, e.g. 20mbit")
    latency_ms: float = Field(0.0, ge=0.0, le=10_000.0)

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> int:
        return parse_rate(value)


class LabSite(_Strict):
    """A site: one bridge; ``nat`` sites reach out but nothing reaches in."""

    name: str
    tier: Tier
    nat: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NODE_ID.match(value):
            raise ValueError("must be lower-case letters, digits and dashes, starting a letter")
        return value


class _NodeSpec(_Strict):
    id: str
    site: str
    cpu: float = Field(gt=0.0, description="CPU quota in cores")
    memory: int = Field(description="memory limit, e.g. 320M")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _NODE_ID.match(value):
            raise ValueError("must be lower-case letters, digits and dashes, starting a letter")
        return value

    @field_validator("memory", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> int:
        return parse_size(value)


class ControlPlane(_Strict):
    """Ports of the root-namespace control plane, on the lab's root address."""

    kafka_port: int = Field(9092, ge=1, le=65535)
    api_port: int = Field(8080, ge=1, le=65535)
    #: The lab's data store (``continuum agent store``), which `lab up` starts: nodes behind
    #: NAT publish their tasks' outputs there, since no peer can fetch from them.
    store_port: int = Field(9471, ge=1, le=65535)
    token_file: Path | None = None


class _TopologySpec(_Strict):
    name: str = "lab"
    subnet: str = DEFAULT_SUBNET
    control_plane: ControlPlane = ControlPlane()
    tiers: dict[Tier, TierLink] = Field(default_factory=dict)
    sites: list[LabSite]
    nodes: list[_NodeSpec]

    @field_validator("name")
    @classmethod
    def _lab_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1-6 lower-case letters or digits, starting a letter")
        return value


_DEFAULT_TIERS: dict[str, TierLink] = {
    "edge": TierLink(rate=parse_rate("20mbit"), latency_ms=20.0),
    "cloud": TierLink(rate=parse_rate("1gbit"), latency_ms=2.0),
    "hpc": TierLink(rate=parse_rate("10gbit"), latency_ms=0.0),
}


@dataclass(frozen=True, slots=True)
class LabNode:
    """A node as the lab builds it."""

    node_id: str
    site: LabSite
    index: int  # position in the topology, 0-based: names its link
    cpu_cores: float
    memory_bytes: int
    address: str
    gateway: str
    prefix_len: int

    @property
    def tier(self) -> str:
        return self.site.tier


@dataclass(frozen=True, slots=True)
class Topology:
    """A checked topology with its addresses worked out."""

    name: str
    subnet: ipaddress.IPv4Network
    control_plane: ControlPlane
    tiers: dict[str, TierLink]
    sites: tuple[LabSite, ...]
    nodes: tuple[LabNode, ...]

    @property
    def root_address(self) -> str:
        """The root namespace's address on the lab link: the control plane listens here."""
        return str(self.subnet.network_address + 1)

    @property
    def router_address(self) -> str:
        return str(self.subnet.network_address + 2)

    def site_network(self, site: LabSite) -> ipaddress.IPv4Network:
        k = self.sites.index(site) + 1
        return ipaddress.IPv4Network((int(self.subnet.network_address) + (k << 8), 24))

    def node(self, node_id: str) -> LabNode:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        known = ", ".join(n.node_id for n in self.nodes)
        raise TopologyError(f"no node {node_id!r} in lab {self.name} (nodes: {known})")

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.root_address}:{self.control_plane.kafka_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.root_address}:{self.control_plane.api_port}"

    @property
    def store_listen(self) -> str:
        return f"{self.root_address}:{self.control_plane.store_port}"

    @property
    def store_url(self) -> str:
        return f"http://{self.store_listen}"


def _key(loc: tuple[int | str, ...], spec: dict[str, Any]) -> str:
    """A pydantic location as a dotted key, naming list items by their ``name``/``id``."""
    parts: list[str] = []
    node: Any = spec
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            item = node[part]
            label = item.get("id") or item.get("name") if isinstance(item, dict) else None
            parts[-1] += f"[{label or part}]"
            node = item
            continue
        parts.append(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts)


def _build(spec: _TopologySpec, host_cores: float) -> Topology:
    try:
        subnet = ipaddress.IPv4Network(spec.subnet)
    except ValueError as err:
        raise TopologyError(f"subnet: {err}") from err
    if subnet.prefixlen != 16 or not subnet.is_private:
        raise TopologyError(f"subnet: {subnet} must be a private /16 (e.g. {DEFAULT_SUBNET})")
    if not spec.sites:
        raise TopologyError("sites: at least one site is needed")
    if not spec.nodes:
        raise TopologyError("nodes: at least one node is needed")
    sites = {site.name: site for site in spec.sites}
    if len(sites) != len(spec.sites):
        raise TopologyError("sites: site names must be unique")
    if len(spec.sites) > 250:
        raise TopologyError("sites: at most 250 sites fit a /16")
    tiers: dict[str, TierLink] = {**_DEFAULT_TIERS}
    tiers.update({str(tier): link for tier, link in spec.tiers.items()})
    nodes: list[LabNode] = []
    per_site: dict[str, int] = {}
    for index, item in enumerate(spec.nodes):
        key = f"nodes[{item.id}]"
        if item.site not in sites:
            raise TopologyError(f"{key}.site: no site {item.site!r} (sites: {', '.join(sites)})")
        if item.id == "router":
            raise TopologyError(f"{key}.id: 'router' is the lab's own router; pick another id")
        if any(n.node_id == item.id for n in nodes):
            raise TopologyError(f"{key}.id: node ids must be unique")
        if item.cpu < MIN_NODE_CPU:
            raise TopologyError(f"{key}.cpu: at least {MIN_NODE_CPU} cores")
        if item.memory < MIN_NODE_MEMORY_BYTES:
            raise TopologyError(f"{key}.memory: at least {MIN_NODE_MEMORY_BYTES >> 20}M")
        site = sites[item.site]
        slot = per_site.get(site.name, 0)
        if slot >= 200:
            raise TopologyError(f"{key}.site: at most 200 nodes per site")
        per_site[site.name] = slot + 1
        network = ipaddress.IPv4Network(
            (int(subnet.network_address) + ((spec.sites.index(site) + 1) << 8), 24)
        )
        nodes.append(
            LabNode(
                node_id=item.id,
                site=site,
                index=index,
                cpu_cores=item.cpu,
                memory_bytes=item.memory,
                address=str(network.network_address + 10 + slot),
                gateway=str(network.network_address + 1),
                prefix_len=24,
            )
        )
    total = sum(n.cpu_cores for n in nodes)
    if total > host_cores + 1e-9:
        raise TopologyError(
            f"nodes: CPU quotas sum to {total:g} cores, more than this machine's {host_cores:g}"
        )
    return Topology(spec.name, subnet, spec.control_plane, tiers, tuple(spec.sites), tuple(nodes))


def topology_from_dict(spec: dict[str, Any], host_cores: float | None = None) -> Topology:
    """Check a topology given as a mapping (the parsed YAML).

    Raises:
        TopologyError: the message starts with the offending key.
    """
    try:
        parsed = _TopologySpec.model_validate(spec)
    except ValidationError as err:
        first = err.errors()[0]
        raise TopologyError(f"{_key(first['loc'], spec) or '(top)'}: {first['msg']}") from err
    return _build(parsed, float(host_cores if host_cores is not None else os.cpu_count() or 1))


def load_topology(path: Path, host_cores: float | None = None) -> Topology:
    """Read and check a topology file.

    Raises:
        TopologyError: unreadable file, bad YAML, or a wrong key (named in the message).
    """
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as err:
        raise TopologyError(f"topology file {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise TopologyError(f"topology file {path} is not valid YAML: {err}") from err
    if not isinstance(loaded, dict):
        raise TopologyError(f"topology file {path} must hold a mapping (name, sites, nodes)")
    return topology_from_dict(loaded, host_cores)


#: 2 edge, 2 cloud and 1 HPC node whose CPU quotas sum to 2 cores.
DEFAULT_SPEC: dict[str, Any] = {
    "name": "lab",
    "sites": [
        {"name": "edge-a", "tier": "edge", "nat": True},
        {"name": "cloud-a", "tier": "cloud"},
        {"name": "hpc-a", "tier": "hpc"},
    ],
    "nodes": [
        {"id": "edge-1", "site": "edge-a", "cpu": 0.25, "memory": "256M"},
        {"id": "edge-2", "site": "edge-a", "cpu": 0.25, "memory": "256M"},
        {"id": "cloud-1", "site": "cloud-a", "cpu": 0.5, "memory": "384M"},
        {"id": "cloud-2", "site": "cloud-a", "cpu": 0.5, "memory": "384M"},
        {"id": "hpc-1", "site": "hpc-a", "cpu": 0.5, "memory": "512M"},
    ],
}


def default_topology(host_cores: float | None = None) -> Topology:
    """The default lab: 2 edge nodes behind NAT, 2 cloud nodes and 1 HPC node (2 cores)."""
    return topology_from_dict(DEFAULT_SPEC, host_cores)
