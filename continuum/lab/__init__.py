"""``continuum lab``: a continuum of edge, cloud and HPC nodes on one machine.

Each node is a network namespace on its site's bridge, with a cgroup limiting its CPU and
memory, a link shaped for its tier, and its own node agent, probe agent and pull-mode worker.
Edge sites sit behind NAT. The control plane stays in the root namespace, on the lab's root
address::

    from continuum.lab import Lab, default_topology
    lab = Lab(default_topology(), state_root=Path("/var/lib/continuum/lab"))
    lab.up()
    ...
    lab.down()

Errors (``continuum.lab._errors``)::

    LabError
    ├── TopologyError   names the key
    ├── NotRootError
    └── CommandError
"""

from __future__ import annotations

from continuum.lab._errors import CommandError, LabError, NotRootError, TopologyError
from continuum.lab._lab import Lab, NodeStatus
from continuum.lab._records import LabRecord, ProcessRecord
from continuum.lab._topology import (
    LabNode,
    LabSite,
    Topology,
    default_topology,
    load_topology,
    topology_from_dict,
)

__all__ = [
    "CommandError",
    "Lab",
    "LabError",
    "LabNode",
    "LabRecord",
    "LabSite",
    "NodeStatus",
    "NotRootError",
    "ProcessRecord",
    "Topology",
    "TopologyError",
    "default_topology",
    "load_topology",
    "topology_from_dict",
]
