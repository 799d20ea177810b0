"""What runs on a lab node: its continuum.yaml and the daemons started from it.

Every node runs a node agent, a probe agent and a pull-mode worker with its own identity
(node id, tier, site), exporting to the control plane's broker on the lab's root address.
Workers serve their node's datasets to peers (on ``DATA_PORT``, where the node can be reached)
and put their tasks' outputs in the lab's store in the root namespace. The
node's address travels as an operator label, so peers find it in the API's inventory::

    config = node_config(topology, node, workdir)
    argv = daemon_argv("agent", "node", config_path=path)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from continuum.lab._topology import LabNode, Topology

__all__ = [
    "DAEMONS",
    "DATA_PORT",
    "INBOUND_LABEL",
    "PROBES_PORT",
    "daemon_argv",
    "node_config",
    "store_argv",
]

#: role -> the ``continuum`` subcommand it runs.
DAEMONS: dict[str, tuple[str, ...]] = {
    "agent": ("agent", "node"),
    "probes": ("agent", "probes"),
    "worker": ("agent", "worker"),
}
AGENT_PORT = 9464
PROBES_PORT = 9466
THROUGHPUT_PORT = 9469
DATA_PORT = 9470
#: Operator label saying whether peers can dial the node (``none`` behind NAT).
INBOUND_LABEL = "inbound"
ADDRESS_LABEL = "address"
_INTERVAL_S = 2.0


def daemon_argv(*command: str, config_path: Path) -> list[str]:
    return [sys.executable, "-m", "continuum", *command, "--config", str(config_path)]


def store_argv(topology: Topology, directory: Path, config_path: Path) -> list[str]:
    """The lab's data store, run in the root namespace on the lab link."""
    store = ["store", "--dir", str(directory), "--listen", topology.store_listen]
    return daemon_argv("agent", *store, config_path=config_path)


def node_config(topology: Topology, node: LabNode, workdir: Path) -> dict[str, Any]:
    """The continuum.yaml of one node's daemons."""
    token_file = topology.control_plane.token_file
    config: dict[str, Any] = {
        "identity": {
            "node_id": node.node_id,
            "tier": node.tier,
            "site": node.site.name,
            "labels": {
                ADDRESS_LABEL: node.address,
                INBOUND_LABEL: "none" if node.site.nat else "open",
                "lab": topology.name,
            },
        },
        "kafka": {"bootstrap_servers": topology.kafka_bootstrap},
        "agent": {
            "listen": f"0.0.0.0:{AGENT_PORT}",
            "interval_s": _INTERVAL_S,
            "spool_dir": str(workdir / "spool-agent"),
        },
        "probes": {
            "listen": f"0.0.0.0:{PROBES_PORT}",
            "interval_s": 5.0,
            "timeout_s": 2.0,
            "spool_dir": str(workdir / "spool-probes"),
            "throughput": {"listen": f"0.0.0.0:{THROUGHPUT_PORT}"},
            "inventory": {
                "api_url": topology.api_url,
                "port": PROBES_PORT,
                "refresh_s": 10.0,
                **({"token_file": str(token_file)} if token_file else {}),
            },
        },
        "worker": {"workdir": str(workdir / "tasks"), "data": _data(topology, node)},
    }
    return config


def _data(topology: Topology, node: LabNode) -> dict[str, Any]:
    """Where the node's worker serves its datasets (not behind NAT: nothing reaches it) and
    the lab's store, where every output is also put, so a killed node loses none."""
    data: dict[str, Any] = {"store_url": topology.store_url}
    if not node.site.nat:
        data["listen"] = f"{node.address}:{DATA_PORT}"
    return data
