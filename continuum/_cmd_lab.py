"""`continuum lab up | status | load | kill | down`: a continuum of nodes on this machine.

::

    $ sudo continuum lab up                       # 2 edge (behind NAT), 2 cloud, 1 HPC
    $ sudo CONTINUUM_STACK__HOST=10.213.0.1 continuum up    # the control plane, on the lab link
    $ sudo continuum lab load cloud-1 --cpu 0.4
    $ sudo continuum lab kill edge-2
    $ sudo continuum lab down
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from continuum._state import StateDir

__all__ = ["lab"]

_topology_option = click.option(
    "--topology",
    "topology_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Topology YAML (default: 2 edge behind NAT, 2 cloud, 1 HPC; 2 cores in all).",
)


def _lab(topology_file: Path | None) -> Any:
    from continuum.lab import Lab, LabError, default_topology, load_topology

    try:
        topology = load_topology(topology_file) if topology_file else default_topology()
    except LabError as err:
        raise click.ClickException(str(err)) from err
    return Lab(topology, StateDir.default().root / "lab")


def _guard(action: Any) -> Any:
    from continuum.lab import LabError

    try:
        return action()
    except LabError as err:
        raise click.ClickException(str(err)) from err


@click.group()
def lab() -> None:
    """A continuum on one machine: nodes in namespaces, cgroups and shaped links (root only)."""


@lab.command()
@_topology_option
@click.option("--no-daemons", is_flag=True, help="Build nodes without starting their agents.")
def up(topology_file: Path | None, no_daemons: bool) -> None:
    """Create the lab's namespaces, links and cgroups, and start each node's daemons."""
    target = _lab(topology_file)
    for note in _guard(lambda: target.up(start_daemons=not no_daemons)):
        click.echo(note)
    click.echo(f"lab {target.topology.name} is up: {len(target.topology.nodes)} nodes")


@lab.command()
@_topology_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
def status(topology_file: Path | None, as_json: bool) -> None:
    """Show each node: namespace, link, cgroup, daemons."""
    target = _lab(topology_file)
    nodes = _guard(target.status)
    if as_json:
        click.echo(json.dumps({"lab": target.topology.name, "nodes": [n.as_dict() for n in nodes]}))
        return
    table = Table(title=f"lab {target.topology.name}")
    for column in ("node", "tier", "site", "address", "cpu", "memory", "net", "daemons"):
        table.add_column(column)
    for node in nodes:
        daemons = ", ".join(f"{r}{'' if ok else ' (dead)'}" for r, ok in node.daemons.items())
        net = "killed" if node.killed else ("up" if node.link else "down")
        table.add_row(
            node.node_id,
            node.tier,
            node.site + (" (NAT)" if node.nat else ""),
            node.address,
            f"{node.cpu_cores:g}",
            f"{node.memory_bytes >> 20} MiB",
            net,
            daemons or "-",
        )
    Console().print(table)


@lab.command()
@_topology_option
@click.argument("node")
@click.option("--cpu", type=float, required=True, help="Cores of load, e.g. 0.3.")
@click.option("--duration", "duration_s", type=float, default=0.0, help="Seconds (0: until down).")
def load(topology_file: Path | None, node: str, cpu: float, duration_s: float) -> None:
    """Start background CPU load inside NODE's cgroup."""
    target = _lab(topology_file)
    process = _guard(lambda: target.load(node, cpu, duration_s))
    click.echo(f"load of {cpu:g} cores on {node} (pid {process.pid})")


@lab.command()
@_topology_option
@click.argument("node")
def kill(topology_file: Path | None, node: str) -> None:
    """Stop NODE's processes and cut its link, as a failure would."""
    target = _lab(topology_file)
    _guard(lambda: target.kill(node))
    click.echo(f"{node} killed")


@lab.command()
@_topology_option
def down(topology_file: Path | None) -> None:
    """Remove every namespace, link, cgroup and process the lab made."""
    target = _lab(topology_file)
    left = _guard(target.down)
    if left:
        raise click.ClickException("left behind: " + "; ".join(left))
    click.echo(f"lab {target.topology.name} is down")
