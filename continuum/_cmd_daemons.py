"""`continuum agent ... | pipeline | api`: one daemon in the foreground, as in production."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ["agent", "api", "pipeline"]

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    envvar="CONTINUUM_CONFIG",
    help="continuum.yaml (every key can also be set as CONTINUUM_SECTION__KEY).",
)


# The extras (pyproject.toml) that install each daemon's dependencies.
_EXTRAS = {
    "agents.node": "agent",
    "agents.containers": "agent",
    "agents.probes": "agent",
    "agents.forward": "agent",
    "agents.worker": "api",
    "pipeline": "pipeline",
    "scheduler_api": "api",
}


def _unavailable(module_name: str, err: ImportError) -> click.ClickException:
    extra = _EXTRAS.get(module_name)
    hint = f"; install it with: pip install 'continuum-observatory[{extra}]'" if extra else ""
    return click.ClickException(f"{module_name} is not available: {err}{hint}")


def _entry(module_name: str, name: str = "run") -> Callable[..., Any]:
    try:
        module = importlib.import_module(module_name)
        run: Callable[..., Any] = getattr(module, name)
    except ImportError as err:
        raise _unavailable(module_name, err) from err
    return run


def _run(module_name: str, config_file: Path | None, *args: Any, entry: str = "run") -> None:
    # Configuration errors are ValueErrors that name the key; show them as one line.
    try:
        # A production profile that would lose acknowledged data starts nothing.
        from continuum._durability import check_profile

        check_profile(config_file)
        run = _entry(module_name, entry)
        # Each role's packages import their dependencies on first use, so a daemon whose extra
        # is not installed finds out here, when it starts.
        try:
            run(config_file, *args)
        except ModuleNotFoundError as err:
            raise _unavailable(module_name, err) from err
    except ValueError as err:
        raise click.ClickException(str(err)) from err


@click.group()
def agent() -> None:
    """Measuring agents (node, containers, probes, forward), the pull-mode worker and its
    data store."""


@agent.command()
@config_option
def node(config_file: Path | None) -> None:
    """Host telemetry (CPU, memory, disk, filesystem, network, pressure, sensors, GPU)."""
    _run("agents.node", config_file)


@agent.command()
@config_option
def containers(config_file: Path | None) -> None:
    """Per-container and per-pod telemetry from cgroups v1 and v2."""
    _run("agents.containers", config_file)


@agent.command()
@config_option
def probes(config_file: Path | None) -> None:
    """Network and service probes: round-trip time, throughput, HTTP and TCP checks."""
    _run("agents.probes", config_file)


@agent.command()
@config_option
def worker(config_file: Path | None) -> None:
    """Pull-mode worker: runs this node's tasks from Kafka (works behind NAT)."""
    _run("agents.worker", config_file)


@agent.command()
@config_option
@click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory the store keeps datasets in (one file per dataset id).",
)
@click.option(
    "--listen", default="127.0.0.1:9471", show_default=True, help="host:port to serve on."
)
def store(config_file: Path | None, directory: Path, listen: str) -> None:
    """Data store for task outputs: GET and PUT /v1/data/<id>, where nodes behind NAT publish.

    Asks for the token of worker.data.token_file and serves TLS with worker.data's
    certificate, as the workers' own data servers do.
    """
    _run("agents.worker", config_file, directory, listen, entry="serve_store")


@agent.command()
@config_option
@click.option("--target", required=True, help="URL of a Prometheus/OpenMetrics endpoint.")
def forward(config_file: Path | None, target: str) -> None:
    """Scrape an exporter and push its series through Kafka (no inbound access needed)."""
    _run("agents.forward", config_file, target)


@click.command()
@config_option
def pipeline(config_file: Path | None) -> None:
    """Consume otlp_metrics, clean and aggregate, remote-write to Prometheus."""
    _run("pipeline", config_file)


@click.command()
@config_option
def api(config_file: Path | None) -> None:
    """Serve the scheduler API (inventory, rankings, placements, alerts, extender)."""
    _run("scheduler_api", config_file)
