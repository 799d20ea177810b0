"""`continuum run WORKFLOW.py`: run a workflow, placing its tasks on what the monitoring sees.

    $ continuum run examples/squares.py --heuristic lpt --executor local

Nodes come from the scheduler API (``GET /v1/nodes``) when it answers, else from this machine
alone. A live progress bar runs while tasks run; then a table (task, node, start, end), the
makespan, and a Gantt chart written to the path it prints. Each attempt's stdout and stderr go
to the API with the placement history (``continuum logs RUN_ID [TASK]`` shows them), bounded and
redacted as ``api.task_logs`` says (``CONTINUUM_API__TASK_LOGS__REDACT_ENV='["TOKEN"]'``).

``--executor pull`` sends each task to its node's pull-mode worker (``continuum agent worker``)
through the brokers of ``CONTINUUM_KAFKA__BOOTSTRAP_SERVERS`` (else the local continuum.yaml's);
the workers report the same task-event record the local and Ray executors make, so the history,
the learned costs, the Gantt chart and the task logs work alike (docs/lab.md runs it on the lab).
"""

from __future__ import annotations

import dataclasses
import os
import runpy
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from continuum._state import StateDir, TokenFileError

__all__ = ["fetch_costs", "fetch_nodes", "run"]

_DEFAULT_API_URL = "http://127.0.0.1:8080"
_API_TIMEOUT_S = 3.0


def fetch_nodes(api_url: str, token: str | None) -> tuple[list[Any], str | None]:
    """The API's node views (``ranking.NodeSnapshot``), or ``([], why)`` when it cannot be used.

    Every field the API serves is kept (usage windows, steal, pressure, probed links), so the
    placement policy reads here what it reads behind ``POST /v1/placements``.
    """
    import pydantic

    from scheduler_api import snapshot_of

    if token is None:
        try:
            token = StateDir.default().read_token()
        except TokenFileError as err:
            return [], f"no API token ({err})"
    try:
        response = httpx.get(
            api_url.rstrip("/") + "/v1/nodes",
            headers={"Authorization": f"Bearer {token}"},
            timeout=_API_TIMEOUT_S,
        )
        response.raise_for_status()
        body = response.json()
        nodes = [snapshot_of(item) for item in body.get("nodes", [])]
    except (httpx.HTTPError, ValueError, pydantic.ValidationError) as err:
        return [], f"the scheduler API at {api_url} did not answer ({type(err).__name__})"
    if not nodes:
        return [], f"the scheduler API at {api_url} knows no nodes yet"
    return nodes, None


def fetch_costs(api_url: str, token: str | None) -> Any:
    """Task costs the API learned from earlier runs (``TaskCosts``); empty when it cannot say."""
    from scheduler_api.workflow import CostEstimate, TaskCosts

    try:
        response = httpx.get(
            api_url.rstrip("/") + "/v1/placements/costs",
            headers={"Authorization": f"Bearer {token or StateDir.default().read_token()}"},
            timeout=_API_TIMEOUT_S,
        )
        response.raise_for_status()
        return TaskCosts(CostEstimate(**item) for item in response.json()["costs"])
    except (httpx.HTTPError, TokenFileError, ValueError, KeyError, TypeError):
        return TaskCosts()  # costs are advice: without them tasks keep their declared work


class _HistoryRecorder:
    """Sends a run's transitions to the API's placement history; gives up quietly on error."""

    def __init__(self, api_url: str, token: str | None, heuristic: str) -> None:
        self.url = api_url.rstrip("/")
        self.run_id: str | None = None
        self.failure: str | None = None
        self._headers: dict[str, str] = {}
        try:
            self._headers = {"Authorization": f"Bearer {token or StateDir.default().read_token()}"}
            response = httpx.post(
                f"{self.url}/v1/placements/runs",
                json={"heuristic": heuristic},
                headers=self._headers,
                timeout=_API_TIMEOUT_S,
            )
            response.raise_for_status()
            self.run_id = str(response.json()["id"])
        except (httpx.HTTPError, TokenFileError, ValueError, KeyError) as err:
            self.failure = f"{type(err).__name__}: {err}"

    def log(self, attempt: Any) -> None:
        """Send one ended attempt's output (``AttemptLog``); a failure stops history too."""
        if self.run_id is None:
            return
        body = dataclasses.asdict(attempt)
        task_id, body["node"] = body.pop("task_id"), body.pop("node_id")
        self._post(f"/v1/workflows/{self.run_id}/tasks/{task_id}/logs", body)

    def _post(self, path: str, body: dict[str, Any]) -> None:
        try:
            response = httpx.post(
                self.url + path, json=body, headers=self._headers, timeout=_API_TIMEOUT_S
            )
            response.raise_for_status()
        except httpx.HTTPError as err:
            # History is a record, not a dependency: stop sending, say so at the end.
            self.failure = f"{type(err).__name__}: {err}"
            self.run_id = None

    def __call__(self, transition: Any) -> None:
        if self.run_id is None:
            return
        body = {
            "task_id": transition.task_id,
            "state": transition.state,
            "node": transition.node_id,
            "at_s": transition.at_s,
            "detail": transition.detail[-4000:],
            "est_start_s": transition.est_start_s,
            "est_finish_s": transition.est_finish_s,
            # What learned costs are made of: the task's name and what the attempt measured.
            "name": transition.name,
            "run_s": transition.run_s,
            "cpu_s": transition.cpu_s,
            "read_bytes": transition.read_bytes,
            "written_bytes": transition.written_bytes,
        }
        self._post(f"/v1/placements/{self.run_id}/transitions", body)


def _task_metrics(wanted: bool | None, recorder: Any, views: list[Any]) -> Any:
    """Task metrics for this run, if ``wanted`` (None: where a broker is configured)."""
    config = StateDir.default().config_path
    if wanted is None:
        wanted = bool(os.environ.get("CONTINUUM_KAFKA__BOOTSTRAP_SERVERS")) or config.exists()
    if not wanted:
        return None
    from continuum._task_metrics import TaskMetrics

    run_id = recorder.run_id if recorder is not None and recorder.run_id else secrets.token_hex(16)
    sites = {view.id: (view.tier, view.site) for view in views}
    return TaskMetrics(run_id, sites, config_file=config if config.exists() else None)


def _both(*recorders: Any) -> Any:
    """One Session recorder calling each given one (None: left out)."""
    chosen = [r for r in recorders if r is not None]
    if len(chosen) <= 1:
        return chosen[0] if chosen else None

    def record(transition: Any) -> None:
        for recorder in chosen:
            recorder(transition)

    return record


def _executor(kind: str, nodes: list[Any], workflow_id: str | None, catalogue: Any = None) -> Any:
    """The executor of ``kind``; its task-event records carry ``workflow_id`` (the history's
    run id, when recorded, so records, history and logs share one id). The pull executor
    locates input datasets in, and records outputs to, ``catalogue`` (the API's)."""
    from scheduler_api import load_settings
    from scheduler_api.workflow import log_capture

    capture = log_capture(load_settings().task_logs)
    if kind == "ray":
        try:
            from scheduler_api.executors import RayExecutor
        except ImportError as err:
            raise click.ClickException(
                "the ray executor needs the `ray` package: pip install ray"
            ) from err
        return RayExecutor(nodes, capture=capture, workflow_id=workflow_id)
    if kind == "pull":
        from scheduler_api.executors import PullExecutor, kafka_options

        return PullExecutor(
            nodes,
            kafka_options=kafka_options(StateDir.default().config_path),
            workflow_id=workflow_id,
            capture=capture,
            catalogue=catalogue,
        )
    from scheduler_api.executors import LocalExecutor

    return LocalExecutor(nodes, capture=capture, workflow_id=workflow_id)


def _cost(record: Any) -> str:
    """The reference cost placement used and where it came from: ``0.21 learned (8)``."""
    if record.work_s is None:
        return "-"
    runs = f" ({record.work_samples})" if record.work_source == "learned" else ""
    return f"{record.work_s:.3g} {record.work_source}{runs}"


def _summary(console: Console, records: list[Any], makespan_s: float) -> None:
    table = Table(title="schedule")
    for column in ("task", "node", "start (s)", "end (s)", "attempts", "state", "cost (s)"):
        table.add_column(column, justify="right" if "(s)" in column else "left")
    for record in sorted(records, key=lambda r: (r.start_s is None, r.start_s or 0.0)):
        table.add_row(
            record.task_id,
            record.node_id or "-",
            "-" if record.start_s is None else f"{record.start_s:.3f}",
            "-" if record.end_s is None else f"{record.end_s:.3f}",
            str(record.attempts),
            record.state,
            _cost(record),
        )
    console.print(table)
    console.print(f"makespan: [bold]{makespan_s:.3f} s[/bold]")
    for record in records:
        if record.late_s is not None:
            console.print(
                f"[yellow]deadline missed: {record.task_id} finished at {record.end_s:.3f} s, "
                f"{record.late_s:.3f} s after its deadline"
            )
        elif record.state == "abandoned" and record.error.startswith("deadline:"):
            console.print(f"[yellow]deadline cannot be met: {record.task_id}: {record.error}")


@click.command()
@click.argument("workflow", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--heuristic",
    type=click.Choice(["spt", "lpt", "lnsnl", "lns", "heft"]),
    default="heft",
    show_default=True,
    help="Ready-queue ordering.",
)
@click.option(
    "--executor",
    "executor_kind",
    type=click.Choice(["local", "ray", "pull"]),
    default="local",
    show_default=True,
)
@click.option(
    "--api",
    "api_url",
    envvar="CONTINUUM_API_URL",
    default=_DEFAULT_API_URL,
    show_default=True,
    help="Scheduler API for node snapshots.",
)
@click.option("--token", envvar="CONTINUUM_API_TOKEN", default=None, help="API bearer token.")
@click.option(
    "--mode",
    type=click.Choice(["ready", "plan"]),
    default="ready",
    show_default=True,
    help="Place each task when its inputs are done (ready) or each batch at once (plan).",
)
@click.option("--retries", default=2, show_default=True, help="Re-runs of a failed task.")
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Gantt chart path (.svg or .png; default: in the state directory).",
)
@click.option(
    "--task-metrics/--no-task-metrics",
    default=None,
    help="Push each attempt's duration, CPU time and bytes (labelled node, workflow, task) "
    "through Kafka into Prometheus [default: on where a broker is configured: "
    "CONTINUUM_KAFKA__BOOTSTRAP_SERVERS or the local stack's continuum.yaml].",
)
@click.option(
    "--minimize-energy",
    is_flag=True,
    help="Place each task where it adds the fewest estimated joules (each node's measured "
    "power line, else its measured or rated power), among nodes meeting its deadline.",
)
@click.option(
    "--joule-weight",
    "joule_weight_s",
    type=click.FloatRange(min=0.0),
    default=0.0,
    show_default=True,
    help="Seconds of finish time worth one estimated joule: a weighted time and energy "
    "objective (0: time alone).",
)
def run(
    workflow: Path,
    heuristic: str,
    executor_kind: str,
    api_url: str,
    token: str | None,
    mode: str,
    retries: int,
    chart: Path | None,
    task_metrics: bool | None,
    minimize_energy: bool,
    joule_weight_s: float,
) -> None:
    """Run WORKFLOW.py, placing its tasks by monitoring."""
    from scheduler_api.executors import local_node
    from scheduler_api.placement import Heuristic, PlacementPolicy, PolicyConfig
    from scheduler_api.workflow import RunRecord, Session, WorkflowError, session, write_gantt

    console = Console(stderr=True)
    # The product's one placement policy, as behind POST /v1/placements.
    policy = PlacementPolicy(
        PolicyConfig(
            heuristic=Heuristic(heuristic),
            max_attempts=retries + 1,
            minimize_energy=minimize_energy,
            joule_weight_s=joule_weight_s,
        )
    )
    views, why = fetch_nodes(api_url, token)
    nodes = [policy.node_info(view) for view in views]
    node_source = None
    recorder = None
    costs = None
    if nodes:
        recorder = _HistoryRecorder(api_url, token, heuristic)
        costs = fetch_costs(api_url, token)

        # Keep following the monitoring while tasks run: load, health, nodes that vanish.
        def node_source() -> list[Any]:
            return fetch_nodes(api_url, token)[0]
    else:
        nodes = [local_node()]
        console.print(f"[yellow]{why}: placing on this machine alone ({nodes[0].node_id})")
    config = policy.engine_config()
    if mode == "plan":
        config = dataclasses.replace(config, mode="plan")
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    bar = progress.add_task(workflow.name, total=0, last="")

    def observe(record: RunRecord) -> None:
        finished = sum(1 for r in active.records.values() if r.state in ("done", "abandoned"))
        progress.update(
            bar,
            total=len(active.records),
            completed=finished,
            last=f"{record.task_id} {record.state} on {record.node_id}",
        )

    catalogue = None
    if recorder is not None and executor_kind == "pull":
        from scheduler_api.executors import ApiCatalogue

        # The API answered with this token (or the state directory's), so it is there.
        catalogue = ApiCatalogue(api_url, token or StateDir.default().read_token())
    executor = _executor(executor_kind, nodes, recorder.run_id if recorder else None, catalogue)
    live = getattr(executor, "live", None)
    if node_source is not None and live is not None:
        # Pull mode: a node whose worker went silent is gone too, as if the inventory said so.
        follow = node_source
        node_source = lambda: live(follow())  # noqa: E731
    if recorder is not None:
        from scheduler_api.workflow import LogRecordingExecutor

        executor = LogRecordingExecutor(executor, recorder.log)
    metrics = _task_metrics(task_metrics, recorder, views)
    active = Session(
        executor,
        config,
        policy=policy,
        observer=observe,
        node_source=node_source,
        recorder=_both(recorder, metrics),
        costs=costs,
    )
    sys.path.insert(0, str(workflow.resolve().parent))
    try:
        with progress, session(active):
            runpy.run_path(str(workflow), run_name="__main__")
            active.run_pending()
    except WorkflowError as err:
        logs_hint = ""
        if recorder is not None and recorder.run_id is not None:
            logs_hint = f" (task logs: continuum logs {recorder.run_id})"
        raise click.ClickException(f"{err}{logs_hint}") from err
    finally:
        active.close()
        if metrics is not None:
            metrics.shutdown()
        sys.path.remove(str(workflow.resolve().parent))
    records = list(active.records.values())
    _summary(console, records, active.makespan_s)
    joules, unknown = active.estimated_joules()
    if unknown and joules == 0.0:
        console.print(f"estimated energy: unknown ({unknown} tasks on nodes of unknown power)")
    else:
        left_out = f" ({unknown} tasks on nodes of unknown power left out)" if unknown else ""
        console.print(f"estimated energy: {joules:.1f} J{left_out}")
    if chart is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        chart = StateDir.default().root / "runs" / f"{workflow.stem}-{stamp}-{os.getpid()}.svg"
    written = write_gantt(records, chart, title=f"{workflow.name} ({heuristic})")
    # soft_wrap: paths and URLs stay on one line, whatever the terminal width.
    console.print(f"Gantt chart: {written}", soft_wrap=True, highlight=False)
    if recorder is not None and recorder.run_id is not None:
        url = f"{recorder.url}/v1/placements/{recorder.run_id}"
        console.print(f"placement history: {url}", soft_wrap=True, highlight=False)
        console.print(f"task logs: continuum logs {recorder.run_id}", highlight=False)
    elif recorder is not None:
        console.print(f"[yellow]placement history not recorded ({recorder.failure})")
