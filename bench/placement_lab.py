"""`continuum bench placement --lab`: placement measured on real execution, on the lab.

Each WfCommons workflow runs on a running lab (``continuum lab up`` with its control plane)
once per seed under each scheduler, every run on the lab's pull-mode workers, with the same
seeded background-load schedule::

    $ sudo continuum lab up --topology bench/data/lab-placement.yaml
    $ sudo CONTINUUM_STACK__HOST=10.213.0.1 continuum up

    result = run_lab(workflows, seeds=[1, 2, 3], target=lab_target())
    print(json.dumps(result, sort_keys=True))     # the JSON line

Schedulers:

- ``ours-heft``: the shipped placement policy (``PlacementPolicy``, HEFT order) in a workflow
  session, following the API's node views (load, health, nodes that go silent), as
  ``continuum run --executor pull`` does.
- ``kube-least-allocated``: Kubernetes' NodeResourcesFit LeastAllocated plus
  BalancedAllocation on requests alone, as the simulator's baseline (ties broken by the seed).
- ``round-robin``: the next node in a fixed cycle that fits.

Every scheduler sees the same nodes (the lab's, with the capacities their agents report), the
same requests (each task asks for ``REQUEST_CORES`` and ``REQUEST_MEMORY_BYTES``, so a node of
under one core runs one task at a time), the same task bodies and the same load.

Scaling. A trace's runtimes are scaled so that its work, spread over the lab's cores, takes
``target_s``; its file sizes so that the largest is ``max_file_bytes``. Each task reads its
inputs from the bench's file store in the root namespace, burns its scaled CPU time and writes
its outputs back (``bench._lab_task``; WfCommons' ``wfbench`` cannot serve, said there), so the
data crosses each node's shaped link. A task's measured cost includes its worker's start of a
fresh interpreter (about 0.1 s of CPU), as a real pull-mode task's does.

Load. Per epoch of ``epoch_s``, one node drawn by the seed runs ``hot`` of its cores of
``stress-ng`` in its cgroup and every other node ``warm`` of its cores (``Lab.load``); the
schedule depends on the seed alone. Before each run the nodes settle (their utilisation under
``settle_utilisation`` of their quota, and each one the policy would place on). The policy
runs first for each seed: the others ignore the utilisation history the runs leave behind,
the policy does not (its five-minute deviation).

Makespan: from the first task's dispatch to the last task's finish event, as the workers
measured it. Ratios are ours over the baseline (under 1: the policy was faster).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench._lab_task import run_task
from bench.sim._wfformat import Workflow, load_schema, load_wfformat
from continuum.lab import Lab
from continuum.lab._records import ProcessRecord
from scheduler_api.executors._pull import PullExecutor
from scheduler_api.placement import NodeInfo, PlacementPolicy, Requirements
from scheduler_api.ranking import balanced_allocation, least_allocated

__all__ = [
    "BASELINES",
    "OURS",
    "REQUEST_CORES",
    "REQUEST_MEMORY_BYTES",
    "SCHEDULERS",
    "FileStore",
    "LabTarget",
    "LabTask",
    "LoadStep",
    "load_schedule",
    "run_lab",
    "scale_workflow",
    "shipped_workflow",
]

_log = logging.getLogger(__name__)

OURS = "ours-heft"
BASELINES = ("kube-least-allocated", "round-robin")
SCHEDULERS = (OURS, *BASELINES)
#: What every task asks for, under every scheduler: half a core (the lab's nodes have less
#: than one, and a request above a node's capacity is turned away) and 64 MiB.
REQUEST_CORES = 0.5
REQUEST_MEMORY_BYTES = 64 << 20
_MAX_ATTEMPTS = 3
_TIE = 1e-9
_MIN_CPU_S = 0.02
_API_TIMEOUT_S = 5.0
#: The lab the bench runs on: nodes the shipped policy can use, two cores in all.
LAB_TOPOLOGY = Path(__file__).resolve().parent / "data" / "lab-placement.yaml"


@dataclass(frozen=True, slots=True)
class LabTarget:
    """A running lab and its control plane.

    Attributes:
        lab: the lab (``continuum lab up``), for background load.
        api_url: the scheduler API the lab's agents report to.
        token: a bearer token for it.
        brokers: the Kafka bootstrap servers the workers take assignments from.
    """

    lab: Lab
    api_url: str
    token: str
    brokers: str


@dataclass(frozen=True, slots=True)
class LabTask:
    """A trace task as it runs on the lab: scaled CPU time and files."""

    id: str
    name: str
    cpu_s: float
    parents: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class LoadStep:
    """Background load: ``cpu`` cores on ``node``, ``at_s`` into the run, for ``duration_s``."""

    at_s: float
    node: str
    cpu: float
    duration_s: float


def lab_target(
    topology_file: Path = LAB_TOPOLOGY, api_url: str | None = None, token: str | None = None
) -> LabTarget:
    """The lab ``continuum lab up --topology TOPOLOGY_FILE`` made, with its control plane.

    The API and the brokers default to the topology's root address (where ``continuum up``
    listens with ``CONTINUUM_STACK__HOST`` set to it); the token to the state directory's.

    Raises:
        LabError: the topology file is wrong (the message names the key).
        TokenFileError: no token given and none in the state directory.
    """
    from continuum._state import StateDir
    from continuum.lab import load_topology

    topology = load_topology(topology_file)
    state = StateDir.default()
    return LabTarget(
        Lab(topology, state.root / "lab"),
        api_url or topology.api_url,
        token or state.read_token(),
        topology.kafka_bootstrap,
    )


def shipped_workflow(prefix: str) -> Workflow:
    """The shipped WfCommons trace whose file name starts with ``prefix`` (``srasearch``)."""
    data = Path(__file__).resolve().parent / "data" / "wfcommons"
    schema = load_schema(data / "wfcommons-schema.json")
    found = sorted(p for p in data.glob(f"{prefix}*.json") if p.name != "wfcommons-schema.json")
    if not found:
        raise ValueError(f"no shipped WfCommons trace starts with {prefix!r} in {data}")
    # Named by its file: the traces' own names are generic ("workflow-test").
    return dataclasses.replace(load_wfformat(found[0], schema), name=found[0].stem)


def scale_workflow(
    workflow: Workflow, *, target_s: float, lab_cores: float, max_file_bytes: int
) -> list[LabTask]:
    """The workflow's tasks, parents first, scaled for the lab.

    Runtimes are scaled so that the total work over ``lab_cores`` takes ``target_s`` (a task
    burns at least 20 ms); file sizes so that the largest file is ``max_file_bytes`` (files are
    never scaled up).
    """
    work = max(workflow.total_work_s(), 1e-9)
    time_scale = target_s * lab_cores / work
    largest = max((f.size_bytes for f in workflow.files.values()), default=0)
    size_scale = min(1.0, max_file_bytes / largest) if largest else 1.0
    return [
        LabTask(
            id=task.id,
            name=task.name,
            cpu_s=max(_MIN_CPU_S, task.runtime_s * task.cores * time_scale),
            parents=tuple(task.parents),
            inputs=tuple(task.inputs),
            outputs=tuple(
                (f, round(workflow.files[f].size_bytes * size_scale)) for f in task.outputs
            ),
        )
        for task in workflow.tasks.values()
    ]


def load_schedule(
    seed: int,
    cores: Mapping[str, float],
    *,
    horizon_s: float,
    epoch_s: float,
    hot: float = 0.5,
    warm: float = 0.1,
) -> list[LoadStep]:
    """Per epoch, one node (drawn by ``seed``) loaded to ``hot`` of its cores, the rest ``warm``."""
    rng = random.Random(seed)
    nodes = sorted(cores)
    steps = []
    for epoch in range(max(1, int(horizon_s // epoch_s) + 1)):
        chosen = rng.choice(nodes)
        for node in nodes:
            share = hot if node == chosen else warm
            if share > 0:
                steps.append(LoadStep(epoch * epoch_s, node, share * cores[node], epoch_s))
    return steps


class FileStore:
    """The bench's file store: GET and PUT of sized files, in the root namespace.

    Only sizes are kept: a GET streams zeros of the stored size, a PUT counts its body. The
    bytes cross the lab's links all the same.
    """

    def __init__(self, host: str) -> None:
        self.sizes: dict[str, int] = {}
        store = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                size = store.sizes.get(self.path.lstrip("/"))
                if size is None:
                    self.send_error(HTTPStatus.NOT_FOUND)
                    return
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                chunk = b"\0" * (1 << 16)
                left = size
                while left > 0:
                    self.wfile.write(chunk[: min(left, len(chunk))])
                    left -= len(chunk)

            def do_PUT(self) -> None:
                left = int(self.headers.get("Content-Length", "0"))
                total = left
                while left > 0:
                    got = self.rfile.read(min(left, 1 << 16))
                    if not got:
                        break
                    left -= len(got)
                store.sizes[self.path.lstrip("/")] = total - left
                self.send_response(HTTPStatus.CREATED)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return  # one line per file would drown the bench's own

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class _Run:
    workflow: str
    seed: int
    scheduler: str
    makespan_s: float | None = None
    attempts: int = 0
    nodes: dict[str, int] = field(default_factory=dict)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["makespan_s"] = None if self.makespan_s is None else round(self.makespan_s, 3)
        return out


def _views(target: LabTarget) -> list[Any]:
    """The API's views of the lab's nodes (``ranking.NodeSnapshot``)."""
    from scheduler_api._views import snapshot_of

    response = httpx.get(
        target.api_url.rstrip("/") + "/v1/nodes",
        headers={"Authorization": f"Bearer {target.token}"},
        timeout=_API_TIMEOUT_S,
    )
    response.raise_for_status()
    ids = {n.node_id for n in target.lab.topology.nodes}
    return [snapshot_of(item) for item in response.json()["nodes"] if item["id"] in ids]


def _settle(target: LabTarget, utilisation: float, timeout_s: float) -> None:
    """Wait until every lab node reports, each under ``utilisation`` of its quota and one the
    shipped policy would place on (its agents' start-up and the last run's load leave a
    deviation it counts as headroom)."""
    deadline = time.monotonic() + timeout_s
    want = {n.node_id for n in target.lab.topology.nodes}
    policy = PlacementPolicy()
    while True:
        views = _views(target)
        fresh = {
            v.id
            for v in views
            if v.healthy and v.usage.cpu_utilization < utilisation and policy.node_info(v).healthy
        }
        if fresh >= want:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"lab nodes not settled under {utilisation:.0%}: {want - fresh}")
        time.sleep(1.0)  # the agents report every 2 s


class _Load:
    """Plays a load schedule from the run's start; stops what it started when closed."""

    def __init__(self, lab: Lab, steps: Sequence[LoadStep]) -> None:
        self._lab, self._steps = lab, sorted(steps, key=lambda s: s.at_s)
        self._stop = threading.Event()
        self._started: list[ProcessRecord] = []
        self._thread = threading.Thread(target=self._play, name="lab-load", daemon=True)

    def __enter__(self) -> _Load:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def _play(self) -> None:
        for step in self._steps:
            if self._stop.wait(max(0.0, self._t0 + step.at_s - time.monotonic())):
                return
            try:
                self._started.append(self._lab.load(step.node, step.cpu, step.duration_s))
            except Exception:  # a killed node takes no load; the run goes on
                _log.warning("load on %s could not start", step.node, exc_info=True)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for process in self._started:
            process.stop(timeout_s=2.0)


def _specs(tasks: Sequence[LabTask], store_url: str) -> dict[str, dict[str, Any]]:
    return {
        t.id: {
            "store": store_url,
            "inputs": list(t.inputs),
            "outputs": [list(o) for o in t.outputs],
            "cpu_s": t.cpu_s,
        }
        for t in tasks
    }


def _run_policy(
    tasks: Sequence[LabTask], specs: Mapping[str, dict[str, Any]], target: LabTarget, run: _Run
) -> PullExecutor:
    from scheduler_api.workflow import Session, session
    from scheduler_api.workflow._dsl import TaskFunction

    policy = PlacementPolicy()
    executor = _executor(target, [policy.node_info(v) for v in _views(target)], run)
    active = Session(
        executor,
        policy.engine_config(),
        policy=policy,
        node_source=lambda: executor.live(_views(target)),
    )
    try:
        with session(active):
            futures: dict[str, Any] = {}
            for t in tasks:
                out_bytes = sum(size for _, size in t.outputs)
                function: TaskFunction[..., Any] = TaskFunction(run_task, 1, t.cpu_s, out_bytes)
                function.requirements = Requirements(
                    cpu_cores=REQUEST_CORES, memory_bytes=REQUEST_MEMORY_BYTES
                )
                futures[t.id] = function(specs[t.id], *(futures[p] for p in t.parents))
            active.run_pending()
    finally:
        active.close()
    return executor


def _executor(target: LabTarget, nodes: list[NodeInfo], run: _Run) -> PullExecutor:
    workflow_id = f"lab-{run.workflow}-{run.seed}-{run.scheduler}-{secrets.token_hex(3)}"
    brokers = [b.strip() for b in target.brokers.split(",") if b.strip()]
    return PullExecutor(
        nodes, kafka_options={"bootstrap_servers": brokers}, workflow_id=workflow_id
    )


_Caps = Mapping[str, tuple[float, float]]


def _chooser(name: str, seed: int) -> Callable[[list[str], Mapping[str, float], _Caps], str]:
    """The baseline's pick among fitting nodes, given the cores it allocated on each."""
    rng = random.Random(seed)
    cycle = {"next": 0}

    def least_allocated_pick(fits: list[str], alloc: Mapping[str, float], caps: _Caps) -> str:
        def score(node: str) -> float:
            cores, memory = caps[node]
            cpu = alloc[node] + REQUEST_CORES
            mem = alloc[node] / REQUEST_CORES * REQUEST_MEMORY_BYTES + REQUEST_MEMORY_BYTES
            return least_allocated([cpu, mem], [cores, memory]) + balanced_allocation(
                [cpu / cores, mem / memory]
            )

        scored = [(score(n), n) for n in fits]
        top = max(s for s, _ in scored)
        return rng.choice([n for s, n in scored if s >= top - _TIE])

    def round_robin_pick(fits: list[str], alloc: Mapping[str, float], caps: _Caps) -> str:
        order: list[str] = sorted(caps)
        for step in range(len(order)):
            node = order[(cycle["next"] + step) % len(order)]
            if node in fits:
                cycle["next"] = order.index(node) + 1
                return node
        return fits[0]

    if name == "kube-least-allocated":
        return least_allocated_pick
    if name == "round-robin":
        return round_robin_pick
    raise ValueError(f"unknown scheduler {name!r}: one of {', '.join(SCHEDULERS)}")


def _run_baseline(
    tasks: Sequence[LabTask],
    specs: Mapping[str, dict[str, Any]],
    target: LabTarget,
    run: _Run,
    timeout_s: float,
) -> PullExecutor:
    """List scheduling on requests: each ready task to the chosen node where it fits."""
    views = _views(target)
    caps = {v.id: (float(v.capacity.cpu_cores), float(v.capacity.memory_bytes)) for v in views}
    nodes = [NodeInfo(v.id, memory_bytes=int(v.capacity.memory_bytes)) for v in views]
    executor = _executor(target, nodes, run)
    choose = _chooser(run.scheduler, run.seed)
    by_id = {t.id: t for t in tasks}
    alloc = dict.fromkeys(caps, 0.0)
    pending, done = [t.id for t in tasks], set[str]()
    running: dict[str, str] = {}
    results: dict[str, Any] = {}
    attempts: dict[str, int] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while len(done) < len(tasks):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(tasks) - len(done)} tasks unfinished after {timeout_s} s")
            live = {n.node_id for n in executor.live(nodes)}
            for task_id in list(pending):
                task = by_id[task_id]
                if not set(task.parents) <= done:
                    continue
                fits = [
                    n for n in sorted(caps) if n in live and alloc[n] + REQUEST_CORES <= caps[n][0]
                ]
                if not fits:
                    continue
                node = choose(fits, alloc, caps)
                args = (specs[task_id], *(results[p] for p in task.parents))
                executor.submit(task_id, node, run_task, args, {})
                pending.remove(task_id)
                running[task_id] = node
                alloc[node] += REQUEST_CORES
            for completion in executor.wait(1.0):
                node = running.pop(completion.task_id)
                alloc[node] -= REQUEST_CORES
                if completion.ok:
                    done.add(completion.task_id)
                    results[completion.task_id] = completion.value
                    continue
                attempts[completion.task_id] = attempts.get(completion.task_id, 1) + 1
                if attempts[completion.task_id] > _MAX_ATTEMPTS:
                    raise RuntimeError(f"{completion.task_id} failed: {completion.error[-300:]}")
                pending.insert(0, completion.task_id)
    finally:
        executor.close()
    return executor


def _measure(executor: PullExecutor, run: _Run, t0: float) -> None:
    finished = [e for e in executor.events if e.kind == "finished"]
    run.attempts = sum(1 for e in executor.events if e.kind == "started")
    for event in finished:
        run.nodes[event.node] = run.nodes.get(event.node, 0) + 1
    if finished:
        run.makespan_s = max(e.at_s for e in finished) - t0


def run_lab(
    workflows: Sequence[Workflow],
    seeds: Sequence[int],
    schedulers: Sequence[str] = SCHEDULERS,
    *,
    target: LabTarget,
    target_s: float = 120.0,
    epoch_s: float = 30.0,
    max_file_bytes: int = 4 << 20,
    hot: float = 0.5,
    warm: float = 0.1,
    settle_utilisation: float = 0.25,
    settle_timeout_s: float = 300.0,
    run_timeout_s: float = 1800.0,
    log: Callable[[str], None] = _log.info,
) -> dict[str, Any]:
    """Run every workflow under every scheduler on every seed, on the lab; the JSON figures.

    Args:
        workflows: WfCommons workflows (``shipped_workflow``, or bench.placement's traces).
        seeds: seeds of the background-load schedule (and of the baselines' tie breaks).
        schedulers: names from ``SCHEDULERS``; ``ours-heft`` runs first.
        target: the running lab and its control plane.
        target_s: what each workflow's work takes spread over the lab's cores.
        epoch_s: seconds between two draws of the loaded node.
        max_file_bytes: the largest file's scaled size.
        hot, warm: the loaded node's and the others' background, in shares of their cores.
        settle_utilisation: before each run, every node's utilisation must fall under this.
        settle_timeout_s: how long to wait for that.
        run_timeout_s: a baseline run still unfinished after this fails.
        log: progress lines.

    Returns:
        ``mode``, ``ours``, the lab's nodes, the settings, every run (``makespan_s``,
        ``attempts``, tasks finished per node, ``error``), median makespans per scheduler and
        per workflow, and ``ours_vs_<baseline>_median`` (ours over baseline, paired by
        workflow and seed), ready for ``json.dumps``.

    Raises:
        ValueError: an unknown scheduler.
    """
    unknown = sorted(set(schedulers) - set(SCHEDULERS))
    if unknown:
        raise ValueError(f"unknown schedulers {unknown}: pick from {', '.join(SCHEDULERS)}")
    ordered = sorted(schedulers, key=SCHEDULERS.index)
    topology = target.lab.topology
    cores = {n.node_id: n.cpu_cores for n in topology.nodes}
    store = FileStore(topology.root_address)
    runs: list[_Run] = []
    try:
        for workflow in workflows:
            tasks = scale_workflow(
                workflow,
                target_s=target_s,
                lab_cores=sum(cores.values()),
                max_file_bytes=max_file_bytes,
            )
            produced = {name for t in tasks for name, _ in t.outputs}
            for seed in seeds:
                steps = load_schedule(
                    seed, cores, horizon_s=4 * target_s, epoch_s=epoch_s, hot=hot, warm=warm
                )
                for scheduler in ordered:
                    run = _Run(workflow.name, seed, scheduler)
                    runs.append(run)
                    prefix = f"{workflow.name}-{seed}-{scheduler}-{secrets.token_hex(3)}"
                    for name, file in workflow.files.items():
                        if name not in produced:  # the workflow's inputs wait in the store
                            scaled = min(file.size_bytes, max_file_bytes)
                            store.sizes[f"{prefix}/{name}"] = scaled
                    specs = _specs(tasks, f"{store.url}/{prefix}")
                    _settle(target, settle_utilisation, settle_timeout_s)
                    t0 = time.time()
                    executor: PullExecutor | None = None
                    try:
                        with _Load(target.lab, steps):
                            if scheduler == OURS:
                                executor = _run_policy(tasks, specs, target, run)
                            else:
                                executor = _run_baseline(tasks, specs, target, run, run_timeout_s)
                    except Exception as err:  # a failed run is a figure too
                        run.error = f"{type(err).__name__}: {err}"[:500]
                    if executor is not None:
                        _measure(executor, run, t0)
                    log(
                        f"{workflow.name} seed {seed} {scheduler}: "
                        + (f"{run.makespan_s:.1f} s" if run.makespan_s else "-")
                        + (f" ({run.error})" if run.error else "")
                    )
    finally:
        store.close()
    return _figures(runs, ordered, target, target_s, epoch_s, max_file_bytes, hot, warm)


def _figures(
    runs: Sequence[_Run],
    schedulers: Sequence[str],
    target: LabTarget,
    target_s: float,
    epoch_s: float,
    max_file_bytes: int,
    hot: float,
    warm: float,
) -> dict[str, Any]:
    ok = [r for r in runs if r.makespan_s is not None and not r.error]
    ours = {(r.workflow, r.seed): r.makespan_s for r in ok if r.scheduler == OURS}
    figures: dict[str, Any] = {
        "mode": "lab",
        "ours": OURS,
        "lab": {
            n.node_id: {"tier": n.tier, "cpu_cores": n.cpu_cores, "nat": n.site.nat}
            for n in target.lab.topology.nodes
        },
        "target_s": target_s,
        "epoch_s": epoch_s,
        "max_file_bytes": max_file_bytes,
        "load": {"hot": hot, "warm": warm},
        "runs": [r.as_dict() for r in runs],
        "failed": sum(1 for r in runs if r not in ok),
        "median_makespan_s": {
            s: _median([r.makespan_s for r in ok if r.scheduler == s]) for s in schedulers
        },
        "median_makespan_s_by_workflow": {
            w: {
                s: _median([r.makespan_s for r in ok if r.scheduler == s and r.workflow == w])
                for s in schedulers
            }
            for w in sorted({r.workflow for r in runs})
        },
    }
    for baseline in schedulers:
        if baseline == OURS:
            continue
        ratios = [
            ours[(r.workflow, r.seed)] / r.makespan_s  # type: ignore[operator]
            for r in ok
            if r.scheduler == baseline and (r.workflow, r.seed) in ours and r.makespan_s
        ]
        key = baseline.replace("-", "_")
        figures[f"ours_vs_{key}_median"] = _median(ratios, digits=4)
        figures[f"ours_vs_{key}_runs"] = len(ratios)
    return figures


def _median(values: Sequence[float | None], digits: int = 3) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), digits) if present else None
