"""`continuum logs WORKFLOW [TASK]`: the stdout and stderr of a run's tasks, from the API.

    $ continuum logs 3f2a...e1              # every task that reported output
    $ continuum logs 3f2a...e1 square-3     # one task, each kept attempt
    $ continuum logs 3f2a...e1 square-3 --attempt 2 --json

WORKFLOW is the run's placement history id, which `continuum run` prints at its end. Each
attempt shows where it ran and how it ended; a failed one ends with its failure reason.
"""

from __future__ import annotations

import json
from typing import Any

import click

from continuum._cmd_query import _Api, _api_options

__all__ = ["logs"]


def _section(title: str, text: str) -> None:
    if not text:
        return
    click.echo(f"--- {title} ---")
    click.echo(text if text.endswith("\n") else text + "\n", nl=False)


def _print_attempt(attempt: dict[str, Any]) -> None:
    outcome = "ok" if attempt["ok"] else "failed"
    seconds = max(0.0, attempt["finished_s"] - attempt["started_s"])
    click.echo(
        f"=== {attempt['task_id']} attempt {attempt['attempt']} on {attempt['node'] or '?'}:"
        f" {outcome} after {seconds:.3f} s"
    )
    _section("stdout", attempt["stdout"])
    _section("stderr", attempt["stderr"])
    if not attempt["ok"]:
        _section("failure", attempt["error"] or "(no reason given)")


@click.command()
@click.argument("workflow")
@click.argument("task", required=False)
@click.option("--attempt", type=click.IntRange(min=1), default=None, help="Only this attempt.")
@_api_options
def logs(
    workflow: str,
    task: str | None,
    attempt: int | None,
    api_url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Show the output of WORKFLOW's tasks (or of TASK alone), attempt by attempt."""
    api = _Api(api_url, token)
    path = f"/v1/workflows/{workflow}/" + (f"tasks/{task}/logs" if task else "logs")
    body = api.call("GET", path)
    attempts = [a for a in body["attempts"] if attempt is None or a["attempt"] == attempt]
    if as_json:
        click.echo(json.dumps({**body, "attempts": attempts}, indent=2))
        return
    if not attempts:
        what = f"task {task}" if task else "any task"
        raise click.ClickException(f"no output kept for {what} of workflow {workflow}")
    for item in attempts:
        _print_attempt(item)
