"""`continuum up | down | status | token`: the local stack from the command line."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from continuum._stack import LocalStack, check_health
from continuum._stack_record import RecordedComponent, StackRecord
from continuum._stack_settings import ConfigError, load_stack_settings, load_yaml
from continuum._state import StateDir, TokenFileError
from continuum.services import ServiceError

__all__ = ["down", "status", "token", "up"]

_DOWN_TIMEOUT_S = 30.0

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="continuum.yaml to start from (section `stack` sets ports and components).",
)


def _health_rows(record: StackRecord) -> list[dict[str, Any]]:
    rows = []
    for component in record.components:
        healthy = check_health(component.health, record.host, component.port)
        rows.append(
            {
                "name": component.name,
                "url": component.url,
                "pid": component.process.pid if component.process is not None else None,
                "status": "healthy" if healthy else "down",
            }
        )
    return rows


def _left_rows(components: list[RecordedComponent]) -> list[dict[str, Any]]:
    return [{"name": c.name, "pid": c.process.pid} for c in components if c.process is not None]


def _names(components: list[RecordedComponent]) -> str:
    return ", ".join(f"{row['name']} (pid {row['pid']})" for row in _left_rows(components))


def _supervisor_pid(record: StackRecord) -> str:
    return str(record.supervisor.pid) if record.supervisor is not None else "unknown"


def _end_dead_stack(record: StackRecord) -> str:
    """End what a dead supervisor left, and say so (for `up`, before it starts afresh)."""
    ended = record.end_left_over()
    dead = f"the last stack's supervisor (pid {_supervisor_pid(record)}) is dead"
    if not ended:
        return f"{dead}; none of its processes was left"
    return f"{dead}; ended the {len(ended)} processes it left: {_names(ended)}"


def _print_table(rows: list[dict[str, Any]], title: str) -> None:
    table = Table(title=title)
    table.add_column("component")
    table.add_column("url")
    table.add_column("status")
    for row in rows:
        colour = "green" if row["status"] == "healthy" else "red"
        table.add_row(row["name"], row["url"], f"[{colour}]{row['status']}[/{colour}]")
    Console().print(table)


@click.command()
@config_option
def up(config_file: Path | None) -> None:
    """Start the Kafka broker, Prometheus, Alertmanager, a node agent, a pipeline worker and the
    API on loopback, wait until each is healthy, then supervise them until Ctrl-C or
    `continuum down`.
    """
    state = StateDir.default()
    try:
        settings = load_stack_settings(config_file)
        user_config = load_yaml(config_file)
    except ConfigError as err:
        raise click.ClickException(str(err)) from err
    record = StackRecord.load(state)
    if record is not None:
        if record.supervisor_alive():
            raise click.ClickException(
                f"a stack is already running (supervisor pid {_supervisor_pid(record)}); "
                "run `continuum down` first"
            )
        # A dead supervisor's components are not this process's children: they cannot be
        # waited on, restarted or given their logs back, so they are ended, not adopted.
        click.echo(_end_dead_stack(record), err=True)
        StackRecord.remove(state)
    stack = LocalStack(state, settings, user_config)
    stack.plan()
    stack.install_signal_handlers()
    console = Console(stderr=True)
    try:
        with console.status("starting") as spinner:
            stack.start_all(progress=lambda name: spinner.update(f"starting {name}"))
    except ServiceError as err:
        stack.stop_all()
        raise click.ClickException(str(err)) from err
    except BaseException:
        stack.stop_all()
        raise
    started = StackRecord.load(state)
    _print_table(_health_rows(started) if started else [], "Continuum Observatory is up")
    click.echo(
        f"API token: `continuum token show`; logs: {state.logs}; stop: Ctrl-C or `continuum down`"
    )
    try:
        stack.supervise(notify=lambda message: console.print(f"[yellow]{message}[/yellow]"))
    finally:
        with console.status("stopping"):
            stack.stop_all()
        click.echo("stopped")


@click.command()
def down() -> None:
    """Stop the stack that `continuum up` started (from any shell), or end what a killed
    supervisor left.
    """
    state = StateDir.default()
    record = StackRecord.load(state)
    if record is None:
        click.echo("no stack is running")
        return
    supervisor = record.supervisor
    if supervisor is not None and supervisor.send(signal.SIGTERM):
        deadline = time.monotonic() + _DOWN_TIMEOUT_S
        while supervisor.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        # A supervisor that did not stop in time is killed: its components get their
        # parent-death signal, and what stays is ended below.
        supervisor.stop(timeout_s=0.0)
    else:
        click.echo(f"the stack's supervisor (pid {_supervisor_pid(record)}) is dead")
    ended = record.end_left_over()
    StackRecord.remove(state)
    if ended:
        click.echo(f"ended {len(ended)} left-over processes: {_names(ended)}")
    click.echo("stopped")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(as_json: bool) -> None:
    """Show each local component's health (exit status 1 when any is down)."""
    state = StateDir.default()
    record = StackRecord.load(state)
    running = record is not None and record.supervisor_alive()
    rows = _health_rows(record) if record is not None and running else []
    left = record.left_over() if record is not None and not running else []
    if as_json:
        document = {"running": running, "components": rows, "left_over": _left_rows(left)}
        click.echo(json.dumps(document))
    elif record is not None and left:
        click.echo(
            f"the stack's supervisor (pid {_supervisor_pid(record)}) is dead, leaving "
            f"{_names(left)}: run `continuum down` to end them"
        )
    elif not rows:
        click.echo("no stack is running; start one with `continuum up`")
    else:
        _print_table(rows, "Continuum Observatory")
    if not rows or any(row["status"] != "healthy" for row in rows):
        raise SystemExit(1)


@click.group()
def token() -> None:
    """The local API token (created on first `continuum up`, mode 0600)."""


@token.command("show")
def token_show() -> None:
    """Print the local API token."""
    try:
        click.echo(StateDir.default().read_token())
    except TokenFileError as err:
        raise click.ClickException(str(err)) from err
