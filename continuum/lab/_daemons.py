"""What runs on a lab node: its continuum.yaml and the daemons started from it.

Every node runs a node agent, a probe agent and a pull-mode worker with its own identity
(node id, tier, site), exporting to the control plane's broker on the lab's root address. The
node's address travels as an operator label, so peers find it in the API's inventory::

    config = node_config(topology, node, workdir)
    argv = daemon_argv("agent", "node", config_path=path)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from continuum.lab._topology import LabNode, Topology

__all__ = ["DAEMONS", "INBOUND_LABEL", "PROBES_PORT", "daemon_argv", "node_config"]

#: role -> the ``continuum`` subcommand it runs.
DAEMONS: dict[str, tuple[str, ...]] = {
    "agent": ("agent", "node"),
    "probes": ("agent", "probes"),
    "worker": ("agent", "worker"),
}
AGENT_PORT = 9464
PROBES_PORT = 9466
THROUGHPUT_PORT = 9469
#: Operator label saying whether peers can dial the node (``none`` behind NAT).
INBOUND_LABEL = "inbound"
ADDRESS_LABEL = "address"
_INTERVAL_S = 2.0


def daemon_argv(*command: str, config_path: Path) -> list[str]:
    return [sys.executable, "-m", "continuum", *command, "--config", str(config_path)]


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
        "worker": {"workdir": str(workdir / "tasks")},
    }
    return config
