"""`continuum nodes` and `continuum rank`: ask the scheduler API, print tables (or JSON).

$ continuum nodes
$ continuum rank --cpu 2 --memory 4G --tier edge --dataset genome
$ continuum rank --cpu 1 --memory 1G --disk 10G
$ continuum rank --cpu 1 --memory 512M --json | jq '.ranked[0].node'
"""

from __future__ import annotations

import json
import re
import sys
import time
from typing import Any

import click
import httpx
from rich.console import Console
from rich.table import Table

from continuum._state import StateDir, TokenFileError

__all__ = ["nodes", "parse_size", "rank"]

DEFAULT_API_URL = "http://127.0.0.1:8080"
_TIMEOUT_S = 10.0
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?)B?\s*$", re.IGNORECASE)
_POWERS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5}
# Column headers of the score components, short enough for an 80-column terminal.
_SHORT = {
    "cpu_headroom": "cpu",
    "memory_headroom": "mem",
    "balance": "bal",
    "variability": "var",
    "pressure": "psi",
    "locality": "data",
    "speed": "speed",
    "energy": "energy",
    "storage": "store",
}
#: Columns of piped output (no terminal to ask), wide enough for the ranking breakdown.
_PIPED_WIDTH = 160


def parse_size(text: str) -> int:
    """Bytes in a size such as ``4G``, ``512M``, ``1.5Gi``, ``100000`` (K/M/G are binary).

    Raises:
        click.BadParameter: not a size.
    """
    match = _SIZE.match(text)
    if match is None:
        raise click.BadParameter(f"{text!r} is not a size (examples: 512M, 4G, 1.5Gi, 1048576)")
    number, unit, _ = match.groups()
    return int(float(number) * 1024 ** _POWERS[unit.upper()])


def _human_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{value:.0f} B"
        value /= 1024
    return f"{value:.1f} TiB"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


class _Api:
    """A small client of the scheduler API that turns every failure into a one-line error."""

    def __init__(self, url: str, token: str | None):
        self.url = url.rstrip("/")
        if token is None:
            try:
                token = StateDir.default().read_token()
            except TokenFileError as err:
                raise click.ClickException(f"{err} (or pass --token)") from err
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = httpx.request(
                method, self.url + path, json=body, headers=self.headers, timeout=_TIMEOUT_S
            )
        except httpx.HTTPError as err:
            raise click.ClickException(
                f"cannot reach the scheduler API at {self.url} ({type(err).__name__}): "
                "is `continuum up` running, or is --api right?"
            ) from err
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400:
            message = payload.get("message") if isinstance(payload, dict) else None
            raise click.ClickException(
                f"{method} {path}: HTTP {response.status_code}: {message or response.text[:200]}"
            )
        return payload


def _api_options(command: Any) -> Any:
    command = click.option(
        "--json", "as_json", is_flag=True, help="Print the API's JSON answer instead of a table."
    )(command)
    command = click.option(
        "--token",
        envvar="CONTINUUM_API_TOKEN",
        default=None,
        help="Bearer token (default: the local one in $XDG_STATE_HOME/continuum/token).",
    )(command)
    return click.option(
        "--api",
        "api_url",
        envvar="CONTINUUM_API_URL",
        default=DEFAULT_API_URL,
        show_default=True,
        help="Scheduler API base URL.",
    )(command)


def _degraded_note(console: Console, body: dict[str, Any]) -> None:
    if body.get("degraded"):
        console.print(
            f"[yellow]snapshot is {body['snapshot_age_s']:.0f} s old: {body.get('warning')}"
        )


def _console() -> Console:
    # Piped output has no terminal width; rich would squeeze the breakdown into 80 columns.
    return Console() if sys.stdout.isatty() else Console(width=_PIPED_WIDTH)


@click.command()
@_api_options
def nodes(api_url: str, token: str | None, as_json: bool) -> None:
    """List the nodes the API knows: capacity, CPU use, health and freshness."""
    body = _Api(api_url, token).call("GET", "/v1/nodes")
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    console = _console()
    table = Table(title=f"{len(body['nodes'])} nodes")
    for column in ("node", "tier", "site", "cores", "memory", "cpu use", "health", "freshness"):
        table.add_column(column, justify="right" if column in ("cores", "cpu use") else "left")
    style = {"healthy": "green", "stale": "yellow", "unhealthy": "red"}
    for node in body["nodes"]:
        health = node["health"]
        if node["alerts"]:
            health += f" ({', '.join(node['alerts'])})"
        table.add_row(
            node["id"],
            node["tier"],
            node["site"],
            f"{node['capacity']['cpu_cores']:g}",
            _human_bytes(node["capacity"]["memory_bytes"]),
            f"{node['usage']['cpu_utilization']:.0%}",
            f"[{style.get(node['health'], 'white')}]{health}",
            _age(node["age_s"]),
        )
    console.print(table)
    _degraded_note(console, body)


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not key=value", param_hint="--label")
        labels[key] = val
    return labels


@click.command()
@click.option("--cpu", "cpu_cores", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Cores the task keeps busy.")  # fmt: skip
@click.option("--memory", required=True, help="Memory the task needs, e.g. 512M, 4G.")
@click.option("--disk", default=None, help="Free disk its data needs on the node, e.g. 10G.")
@click.option("--gpu", "gpus", type=click.IntRange(min=0), default=0, help="GPUs it needs.")
@click.option("--tier", default=None, help="Only nodes of this tier (edge, cloud, hpc).")
@click.option("--site", default=None, help="Only nodes of this site.")
@click.option("--arch", default=None, help="Only nodes of this CPU architecture.")
@click.option("--label", "labels", multiple=True, help="Node label key=value (repeatable).")
@click.option(
    "--dataset", "datasets", multiple=True, help="Catalogued dataset it reads (repeatable)."
)
@click.option("--duration", "duration_s", type=click.FloatRange(min=0, min_open=True),
              default=None, help="Expected run time in seconds on a reference node.")  # fmt: skip
@click.option("--max-utilization", type=click.FloatRange(min=0, max=1, min_open=True),
              default=None, help="Skip nodes whose 5-minute mean CPU use is above it.")  # fmt: skip
@click.option("--oversubscribe", "allow_oversubscribe", is_flag=True,
              help="Accept nodes with fewer free cores than asked for.")  # fmt: skip
@click.option("--not-before", "not_before_s", type=click.FloatRange(min=0), default=None,
              help="Seconds from now before which the task may not start.")  # fmt: skip
@click.option("--deadline", "deadline_s", type=click.FloatRange(min=0, min_open=True),
              default=None, help="Seconds from now by which the task must finish.")  # fmt: skip
@click.option("--storage", type=click.Choice(["memory", "disk", "object"]), default=None,
              help="Prefer nodes holding its datasets in this kind of store.")  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many ranked nodes to show.")  # fmt: skip
@_api_options
def rank(
    cpu_cores: float,
    memory: str,
    disk: str | None,
    gpus: int,
    tier: str | None,
    site: str | None,
    arch: str | None,
    labels: tuple[str, ...],
    datasets: tuple[str, ...],
    duration_s: float | None,
    max_utilization: float | None,
    allow_oversubscribe: bool,
    not_before_s: float | None,
    deadline_s: float | None,
    storage: str | None,
    limit: int,
    api_url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Rank nodes for a task and show why: each score component, and why others were filtered."""
    request: dict[str, Any] = {
        "cpu_cores": cpu_cores,
        "memory_bytes": parse_size(memory),
        "disk_bytes": 0 if disk is None else parse_size(disk),
        "gpus": gpus,
        "tier": tier,
        "site": site,
        "arch": arch,
        "labels": _labels(labels),
        "datasets": [{"id": d} for d in datasets],
        "duration_s": duration_s,
        "max_utilization": max_utilization,
        "allow_oversubscribe": allow_oversubscribe,
        "not_before_s": None if not_before_s is None else time.time() + not_before_s,
        "deadline_s": None if deadline_s is None else time.time() + deadline_s,
        "storage": storage,
        "limit": limit,
    }
    started = time.perf_counter()
    body = _Api(api_url, token).call("POST", "/v1/rankings", request)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    console = _console()
    components = list(body["weights"])
    table = Table(
        title=f"{body['feasible_total']} feasible, {body['rejected_total']} filtered "
        f"({elapsed_ms:.0f} ms)"
    )
    headers = [_SHORT.get(c, c) for c in components]
    for column in ("#", "node", "tier", "site", "score", *headers, "free cores", "free mem"):
        left = column in ("node", "tier", "site")
        table.add_column(column, justify="left" if left else "right")
    for position, entry in enumerate(body["ranked"], start=1):
        table.add_row(
            str(position),
            entry["node"],
            entry["tier"],
            entry["site"],
            f"[bold]{entry['score']:.3f}",
            *(f"{entry['components'].get(c, 0.0):.2f}" for c in components),
            f"{entry['cpu_free_cores_after']:.1f}",
            _human_bytes(entry["memory_free_bytes_after"]),
        )
    console.print(table)
    if body.get("constraints"):
        console.print("constraints: " + "; ".join(body["constraints"]), highlight=False)
    if body["rejected"]:
        rejected = Table(title="filtered")
        rejected.add_column("node")
        rejected.add_column("why")
        for entry in body["rejected"]:
            rejected.add_row(entry["node"], "; ".join(entry["reasons"]))
        console.print(rejected)
    weights = ", ".join(f"{_SHORT.get(k, k)}={k} x{v:g}" for k, v in body["weights"].items())
    console.print(f"[dim]weights: {weights}")
    _degraded_note(console, body)
