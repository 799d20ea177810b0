"""`continuum up | down | status | token`: the local stack from the command line."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from continuum._services import ServiceError
from continuum._stack import LocalStack, check_health
from continuum._stack_config import ConfigError, load_stack_settings, load_yaml
from continuum._state import StateDir, TokenFileError

__all__ = ["down", "status", "token", "up"]

_DOWN_TIMEOUT_S = 30.0

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="continuum.yaml to start from (section `stack` sets ports and components).",
)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running_supervisor(state: StateDir) -> int | None:
    recorded = state.read_json(state.stack_path)
    if recorded is None:
        return None
    pid = int(recorded.get("supervisor_pid", 0))
    return pid if pid > 0 and _pid_alive(pid) else None


def _health_rows(state: StateDir) -> list[dict[str, Any]]:
    recorded = state.read_json(state.stack_path) or {}
    host = str(recorded.get("host", "127.0.0.1"))
    rows = []
    for component in recorded.get("components", []):
        pid = component.get("pid")
        healthy = check_health(component["health"], host, int(component["port"]))
        rows.append(
            {
                "name": component["name"],
                "url": component["url"],
                "pid": pid,
                "status": "healthy" if healthy else "down",
            }
        )
    return rows


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
    existing = _running_supervisor(state)
    if existing is not None:
        raise click.ClickException(
            f"a stack is already running (pid {existing}); run `continuum down` first"
        )
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
    _print_table(_health_rows(state), "Continuum Observatory is up")
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
    """Stop the stack that `continuum up` started (from any shell)."""
    state = StateDir.default()
    recorded = state.read_json(state.stack_path)
    if recorded is None:
        click.echo("no stack is running")
        return
    pid = int(recorded.get("supervisor_pid", 0))
    if pid > 0 and _pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _DOWN_TIMEOUT_S
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    # Whatever the supervisor could not stop (it was killed, or timed out) goes now.
    for component in recorded.get("components", []):
        child = component.get("pid")
        if child and _pid_alive(int(child)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(child), signal.SIGKILL)
    if state.stack_path.exists():
        state.stack_path.unlink()
    click.echo("stopped")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(as_json: bool) -> None:
    """Show each local component's health (exit status 1 when any is down)."""
    state = StateDir.default()
    rows = _health_rows(state) if _running_supervisor(state) is not None else []
    if as_json:
        click.echo(json.dumps({"running": bool(rows), "components": rows}))
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
