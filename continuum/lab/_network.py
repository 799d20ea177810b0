"""The lab's network: a router namespace, a bridge per site, a namespace and a shaped veth per
node, NAT in front of ``nat`` sites, and one link from the root namespace for the control plane.

::

    root ns: c<lab>-root (.0.1) ══ up0 (.0.2) router ns br<k> (.k.1) ══ eth0 (.k.10+i) node ns

Every address is in the lab's own /16, which only the lab's own links carry: nodes get a route
to that /16 and nothing else, so no lab traffic can leave for an address the lab did not make.
The router forwards between sites (forwarding is switched on in its namespace only, never in the
root namespace). A ``nat`` site's traffic is masqueraded behind the router's address, and new
connections into it are dropped, so its nodes reach out but nothing reaches in.

Links are shaped per tier with ``tbf`` on both ends. Latency needs ``netem``; where the kernel
lacks it the links keep their rate and the lab notes that latency is not emulated.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from continuum.lab._errors import CommandError
from continuum.lab._records import LabRecord
from continuum.lab._shell import in_netns, run, try_run
from continuum.lab._topology import LabNode, TierLink, Topology

__all__ = [
    "NODE_IFACE",
    "build_node_link",
    "build_router",
    "namespace_of",
    "remove_node_link",
    "root_link_of",
    "router_of",
    "shape",
]

NODE_IFACE = "eth0"
_UPLINK = "up0"
_NFT_TABLE = "continuum_lab"
_TBF_LATENCY = "100ms"
_MIN_BURST_BYTES = 16 << 10


def namespace_of(topology: Topology, node_id: str) -> str:
    return f"continuum-{topology.name}-{node_id}"


def router_of(topology: Topology) -> str:
    return f"continuum-{topology.name}-router"


def root_link_of(topology: Topology) -> str:
    return f"c{topology.name}-root"


def _node_veth(node: LabNode) -> str:
    return f"v{node.index}"


def _bridge(topology: Topology, node_site_index: int) -> str:
    return f"br{node_site_index + 1}"


def _tbf(namespace: str, device: str, rate_bps: int) -> list[str]:
    burst = max(_MIN_BURST_BYTES, rate_bps // 8 // 100)  # ten milliseconds at full rate
    return in_netns(
        namespace,
        [
            *("tc", "qdisc", "replace", "dev", device, "root", "tbf", "rate", f"{rate_bps}bit"),
            *("burst", str(burst), "latency", _TBF_LATENCY),
        ],
    )


def shape(namespace: str, device: str, link: TierLink) -> bool:
    """Shape a device's egress to the tier's rate (and latency, where netem exists).

    Returns:
        Whether the latency is emulated (False when asked for none, or without netem).
    """
    if link.latency_ms > 0:
        netem = ["tc", "qdisc", "replace", "dev", device, "root", "netem"]
        netem += ["delay", f"{link.latency_ms}ms", "rate", f"{link.rate}bit"]
        if try_run(in_netns(namespace, netem)):
            return True
    run(_tbf(namespace, device, link.rate))
    return False


def build_router(topology: Topology, record: LabRecord, save: Path) -> None:
    """The router namespace, its link to the root namespace, a bridge per site, and NAT.

    Each resource is written to the record (saved at ``save``) before it is made.
    """
    router = router_of(topology)
    root_link = root_link_of(topology)
    record.add("namespaces", router, save)
    run(["ip", "netns", "add", router])
    run(in_netns(router, ["ip", "link", "set", "lo", "up"]))
    run(in_netns(router, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]))
    record.add("root_links", root_link, save)
    run(["ip", "link", "add", root_link, "type", "veth", "peer", "name", _UPLINK, "netns", router])
    run(["ip", "addr", "add", f"{topology.root_address}/30", "dev", root_link])
    run(["ip", "link", "set", root_link, "up"])
    run(in_netns(router, ["ip", "addr", "add", f"{topology.router_address}/30", "dev", _UPLINK]))
    run(in_netns(router, ["ip", "link", "set", _UPLINK, "up"]))
    route = f"{topology.subnet} via {topology.router_address} dev {root_link}"
    record.add("root_routes", route, save)
    run(["ip", "route", "replace", *route.split()])
    nat_rules: list[str] = []
    for k, site in enumerate(topology.sites):
        bridge = _bridge(topology, k)
        network = topology.site_network(site)
        gateway = f"{network.network_address + 1}/{network.prefixlen}"
        run(in_netns(router, ["ip", "link", "add", bridge, "type", "bridge"]))
        run(in_netns(router, ["ip", "addr", "add", gateway, "dev", bridge]))
        run(in_netns(router, ["ip", "link", "set", bridge, "up"]))
        if site.nat:
            nat_rules.append(_nat_rules(bridge, str(network)))
    if nat_rules:
        _install_nat(router, nat_rules)


def _nat_rules(bridge: str, network: str) -> str:
    # Replies (established, related) may enter; anything new from outside the site may not.
    return (
        f'add rule ip {_NFT_TABLE} postrouting ip saddr {network} oifname != "{bridge}" '
        f"masquerade\n"
        f'add rule ip {_NFT_TABLE} forward oifname "{bridge}" iifname != "{bridge}" '
        f"ct state established,related accept\n"
        f'add rule ip {_NFT_TABLE} forward oifname "{bridge}" iifname != "{bridge}" drop\n'
    )


def _install_nat(router: str, rules: list[str]) -> None:
    script = (
        f"add table ip {_NFT_TABLE}\n"
        f"add chain ip {_NFT_TABLE} postrouting "
        "{ type nat hook postrouting priority srcnat; policy accept; }\n"
        f"add chain ip {_NFT_TABLE} forward "
        "{ type filter hook forward priority filter; policy accept; }\n" + "".join(rules)
    )
    run(in_netns(router, ["nft", "-f", "-"]), stdin=script)


def build_node_link(topology: Topology, node: LabNode, record: LabRecord, save: Path) -> list[str]:
    """The node's namespace and its shaped veth to its site's bridge.

    Returns:
        Notes for the operator (latency not emulated, for instance).
    """
    router = router_of(topology)
    namespace = namespace_of(topology, node.node_id)
    veth = _node_veth(node)
    bridge = _bridge(topology, topology.sites.index(node.site))
    record.add("namespaces", namespace, save)
    run(["ip", "netns", "add", namespace])
    run(in_netns(namespace, ["ip", "link", "set", "lo", "up"]))
    add = ["ip", "link", "add", veth, "type", "veth", "peer", "name", NODE_IFACE]
    run(in_netns(router, [*add, "netns", namespace]))
    run(in_netns(router, ["ip", "link", "set", veth, "master", bridge, "up"]))
    address = f"{node.address}/{node.prefix_len}"
    run(in_netns(namespace, ["ip", "addr", "add", address, "dev", NODE_IFACE]))
    run(in_netns(namespace, ["ip", "link", "set", NODE_IFACE, "up"]))
    # Only the lab's /16, through the site gateway: no default route, nothing leaves the lab.
    run(in_netns(namespace, ["ip", "route", "add", str(topology.subnet), "via", node.gateway]))
    link = topology.tiers[node.tier]
    notes = []
    up = shape(namespace, NODE_IFACE, link)
    down = shape(router, veth, link)
    if link.latency_ms > 0 and not (up and down):
        notes.append(
            f"{node.node_id}: {link.rate / 1e6:g} Mbit/s shaped; latency "
            f"{link.latency_ms:g} ms not emulated (this kernel has no netem)"
        )
    return notes


def remove_node_link(topology: Topology, node: LabNode) -> None:
    """Cut the node off: its veth goes (the namespace stays until ``down``)."""
    router = router_of(topology)
    with contextlib.suppress(CommandError):  # already gone: kill is idempotent
        run(in_netns(router, ["ip", "link", "del", _node_veth(node)]))
