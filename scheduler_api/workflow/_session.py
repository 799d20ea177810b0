"""A workflow session: records calls, and on ``wait_on`` validates, places and runs them.

The session is the thin shell around the pure placement engine: it turns executor completions
into engine events and engine decisions into executor submissions.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from scheduler_api import ranking
from scheduler_api.executors import Completion, Executor, LocalExecutor
from scheduler_api.placement import (
    Abandon,
    EngineConfig,
    GraphSubmitted,
    NodeFailed,
    NodeInfo,
    NodeRanker,
    NodeSnapshot,
    Place,
    PlacementEngine,
    PlacementPolicy,
    Replace,
    TaskFailed,
    TaskFinished,
    TaskStarted,
)
from scheduler_api.workflow._costs import CostEstimate, TaskCosts, estimate_work
from scheduler_api.workflow._dsl import Future, TaskCall, WorkflowError
from scheduler_api.workflow._graph import check_graph, to_specs
from scheduler_api.workflow._history import Transition

__all__ = ["RunRecord", "Session", "current_session", "session", "wait_on"]

_CURRENT: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "continuum_workflow_session", default=None
)
_DEFAULT: list[Session] = []
# How long one wait for completions blocks before the loop looks around again.
_POLL_S = 0.5
#: Looks at the nodes a session takes, with nothing running and tasks parked, before giving up.
_IDLE_REFRESHES = 3
# Default seconds between node refreshes (the API's snapshot changes about this often).
_REFRESH_S = 15.0
_log = logging.getLogger(__name__)


@dataclass(slots=True)
class RunRecord:
    """What happened to one task, for progress, summaries and charts (times since start).

    ``work_s`` is the reference-node cost placement used, ``work_source`` where it came from
    (``declared``, ``learned``, ``default``) and ``work_samples`` how many finished runs it was
    learned from.
    """

    task_id: str
    name: str
    node_id: str = ""
    start_s: float | None = None
    end_s: float | None = None
    attempts: int = 0
    state: str = "waiting"
    error: str = ""
    work_s: float | None = None
    work_source: str = ""
    work_samples: int = 0
    deadline_s: float | None = None

    @property
    def late_s(self) -> float | None:
        """Seconds it finished after its deadline (None when on time or not finished)."""
        if self.deadline_s is None or self.end_s is None or self.end_s <= self.deadline_s:
            return None
        return self.end_s - self.deadline_s


class Session:
    """Runs workflow tasks through a placement engine and an executor.

    Args:
        executor: Where tasks run (default: ``LocalExecutor()`` on this machine).
        config: Engine configuration; the policy's (``ready`` mode, since real finish times
            are known as tasks end, with replanning and transfer booking) by default.
        ranker: Node ranker (default: the policy's, the API's ranking model).
        observer: Called with each ``RunRecord`` when it changes (progress bars).
        policy: The placement policy that turns the inventory's node views into the engine's
            nodes (the product's default settings when None).
        node_source: Fresh node views (the API's inventory), polled every ``refresh_s``
            while tasks run: changed load or health is applied, and an executor node missing
            from the answer is failed, so its unfinished tasks are re-placed. An empty answer
            (source unreachable) changes nothing.
        refresh_s: Seconds between polls of ``node_source``.
        recorder: Called with every ``Transition`` (placed, replaced, started, finished,
            failed, abandoned; Unix times), e.g. to keep placement history in the API.
        costs: Costs learned from earlier runs (``TaskCosts.learn``), used for tasks that
            declare no ``work_s``.
    """

    def __init__(
        self,
        executor: Executor | None = None,
        config: EngineConfig | None = None,
        ranker: NodeRanker | None = None,
        observer: Callable[[RunRecord], None] | None = None,
        node_source: Callable[[], Sequence[ranking.NodeSnapshot | NodeInfo]] | None = None,
        refresh_s: float = _REFRESH_S,
        recorder: Callable[[Transition], None] | None = None,
        costs: TaskCosts | None = None,
        policy: PlacementPolicy | None = None,
    ) -> None:
        self.executor: Executor = executor or LocalExecutor()
        self.policy = policy or PlacementPolicy()
        self.engine = PlacementEngine(
            config or self.policy.engine_config(), ranker or self.policy.ranker
        )
        self.records: dict[str, RunRecord] = {}
        self._observer = observer
        self._calls: dict[str, TaskCall] = {}
        self._pending: list[TaskCall] = []
        self._by_function: dict[str, list[str]] = {}
        self._counts: dict[str, int] = {}
        self._results: dict[str, Any] = {}
        self._where: dict[str, str] = {}
        # Placed, not yet started: task -> (estimated start, decision id), the start order.
        self._placed: dict[str, tuple[float, int]] = {}
        self._running: dict[str, tuple[str, int]] = {}  # task -> (node, cores)
        self._busy: dict[str, int] = {}  # node -> cores held by tasks this session runs
        self._open: set[str] = set()  # submitted, neither done nor abandoned
        self._t0 = time.time()
        self._node_source = node_source
        self._recorder = recorder
        self._idle_refreshes = 0
        self.costs = costs
        self.estimates: dict[str, CostEstimate] = {}  # task -> the cost placement used
        self._refresh_s = refresh_s
        self._next_refresh = time.monotonic() + refresh_s
        self._runnable_nodes = {node.node_id for node in self.executor.nodes()}
        self._cores = {node.node_id: node.cpu_cores for node in self.executor.nodes()}
        for node in self.executor.nodes():
            self.engine.handle(NodeSnapshot(node, at_s=0.0))

    # ------------------------------------------------------------ recording

    def new_call_id(self, name: str) -> str:
        """A fresh id for a call of the task ``name``: ``name-1``, ``name-2``..."""
        count = self._counts.get(name, 0) + 1
        self._counts[name] = count
        return f"{name}-{count}"

    def record(self, call: TaskCall) -> None:
        """Add a call to the graph (``TaskFunction.__call__`` does this)."""
        for before in call.function.after:
            for earlier in self._by_function.get(before.key, []):
                call.parents.setdefault(earlier, None)
        self._calls[call.call_id] = call
        self._pending.append(call)
        self._by_function.setdefault(call.function.key, []).append(call.call_id)
        self.records[call.call_id] = RunRecord(
            call.call_id, call.function.name, deadline_s=call.function.deadline_s
        )

    @property
    def makespan_s(self) -> float:
        ends = [r.end_s for r in self.records.values() if r.end_s is not None]
        starts = [r.start_s for r in self.records.values() if r.start_s is not None]
        return max(ends) - min(starts) if ends and starts else 0.0

    def estimated_joules(self) -> tuple[float, int]:
        """Joules the finished tasks added on their nodes (their measured run times, each
        node's ``busy_watts`` shared per core), and how many finished on nodes of unknown
        power (left out of the sum)."""
        nodes = {info.node_id: info for info in self.engine.nodes()}
        total, unknown = 0.0, 0
        for task_id, record in self.records.items():
            if record.state != "done" or record.start_s is None or record.end_s is None:
                continue
            info = nodes.get(record.node_id)
            if info is None or info.busy_watts is None:
                unknown += 1
                continue
            cores = self._calls[task_id].function.requirements.cpu_cores
            share = cores / max(info.capacity_cores or info.cpu_cores, 1e-9)
            total += info.busy_watts * share * (record.end_s - record.start_s)
        return total, unknown

    # ------------------------------------------------------------ running

    def wait_on(self, value: Any) -> Any:
        """Run what is needed and return ``value`` with every future replaced by its result.

        Raises:
            WorkflowError: The graph cannot run, or a task it needs was abandoned.
        """
        self.run_pending()
        return self._resolve(value, strict=True)

    def run_pending(self) -> None:
        """Submit every recorded call not yet submitted and run until all of them end."""
        if not self._pending:
            return
        calls, self._pending = self._pending, []
        known = {c for c in self._calls if self._calls[c].submitted}
        output_bytes = {c: self._calls[c].function.output_bytes for c in known}
        for call in calls:
            estimate = estimate_work(call.function.name, call.function.work_s, self.costs)
            self.estimates[call.call_id] = estimate
            record = self.records[call.call_id]
            record.work_s, record.work_source = estimate.work_s, estimate.source
            record.work_samples = estimate.samples
        specs = to_specs(calls, output_bytes, self.estimates)
        check_graph(specs, self.engine.nodes(), known)
        for call in calls:
            call.submitted = True
            self._open.add(call.call_id)
        self._apply(self.engine.handle(GraphSubmitted(tuple(specs), at_s=self._now())))
        while self._step():
            pass

    def close(self) -> None:
        """Stop the executor's workers."""
        self.executor.close()

    def _now(self) -> float:
        return time.time() - self._t0

    def _step(self) -> bool:
        """Start what can start, wait for completions; False when nothing is left to do."""
        self._refresh_nodes()
        self._start_runnable()
        if not self._open:
            return False
        if self._running:
            self._idle_refreshes = 0
        else:
            parked = self.engine.parked()
            if parked and self._node_source is not None and self._idle_refreshes < _IDLE_REFRESHES:
                # Parked for want of lanes, with nothing running: the policy offers more
                # lanes once it sees that much work waiting. Look at the nodes again now (a
                # few times, a poll apart, in case one look fails or finds them stale).
                self._idle_refreshes += 1
                self._next_refresh = 0.0
                if self._idle_refreshes > 1:
                    time.sleep(_POLL_S)
                return True
            # Nothing runs, so waiting changes nothing: what is left cannot run.
            names = ", ".join(sorted(parked or self._open)[:10])
            raise WorkflowError(f"no live node can run: {names}")
        for completion in self.executor.wait(_POLL_S):
            self._complete(completion)
        return True

    def _refresh_nodes(self) -> None:
        if self._node_source is None or time.monotonic() < self._next_refresh:
            return
        self._next_refresh = time.monotonic() + self._refresh_s
        try:
            nodes = self._node_source()
        except Exception:  # a monitoring hiccup must not stop the run
            _log.warning("node refresh failed; keeping the last snapshot", exc_info=True)
            return
        if not nodes:
            return
        seen = set()
        # Tasks parked for want of lanes wait as much as placed ones do.
        waiting = len(self._placed) + len(self.engine.parked())
        crowded = self.policy.crowded(waiting, self._busy)
        for item in nodes:
            node = (
                self.policy.node_info(item, self._busy.get(item.id, 0), crowded)
                if isinstance(item, ranking.NodeSnapshot)
                else item
            )
            if node.node_id in self._runnable_nodes:
                seen.add(node.node_id)
                self._cores[node.node_id] = node.cpu_cores
                self._apply(self.engine.handle(NodeSnapshot(node, at_s=self._now())))
        for node_id in sorted(self._runnable_nodes - seen):
            if self.engine.node_alive(node_id):
                event = NodeFailed(node_id, at_s=self._now(), reason="gone from the inventory")
                self._apply(self.engine.handle(event))

    def _start_runnable(self) -> None:
        # In planned order: the heuristic decided who goes first on a busy node.
        for task_id in sorted(self._placed, key=self._placed.__getitem__):
            if task_id in self._running:
                continue  # moved while its first run goes on: start again once that ends
            call = self._calls[task_id]
            if any(parent not in self._results for parent in call.parents):
                continue
            node_id = self._where[task_id]
            cores = call.function.requirements.lanes
            # Honour the node's cores: a task starts only when they are free.
            if self._busy.get(node_id, 0) + cores > max(cores, self._cores.get(node_id, 1)):
                continue
            args = self._resolve(call.args, strict=True)
            kwargs = self._resolve(call.kwargs, strict=True)
            self.executor.submit(task_id, node_id, call.function, args, kwargs)
            del self._placed[task_id]
            self._running[task_id] = (node_id, cores)
            self._busy[node_id] = self._busy.get(node_id, 0) + cores
            self._apply(self.engine.handle(TaskStarted(task_id, node_id, at_s=self._now())))
            self._record(
                Transition(task_id, "started", node_id, time.time(), name=call.function.name)
            )
            record = self.records[task_id]
            record.state, record.node_id = "running", node_id
            record.attempts += 1
            self._notify(record)

    def _complete(self, done: Completion) -> None:
        record = self.records[done.task_id]
        node_id, cores = self._running.pop(done.task_id, (done.node_id, 0))
        self._busy[node_id] = self._busy.get(node_id, 0) - cores
        if done.ok:
            self._results[done.task_id] = done.value
            self._open.discard(done.task_id)
            self._placed.pop(done.task_id, None)
            record.state = "done"
            record.start_s, record.end_s = done.started_s - self._t0, done.finished_s - self._t0
            event: TaskFinished | TaskFailed = TaskFinished(
                done.task_id, done.node_id, at_s=self._now()
            )
        else:
            record.error = done.error
            record.state = "retrying"
            last_line = done.error.strip().splitlines()[-1] if done.error.strip() else "failed"
            event = TaskFailed(done.task_id, done.node_id, at_s=self._now(), reason=last_line)
        record.node_id = done.node_id
        self._notify(record)
        state = "finished" if done.ok else "failed"
        # The history (and the costs learned from it) keep what the attempt's task-event record
        # measured; an attempt that never reported has its run time alone.
        measured = done.record
        self._record(
            Transition(
                done.task_id,
                state,
                done.node_id,
                done.finished_s,
                None,
                None,
                done.error[-500:],
                name=record.name,
                run_s=measured.wall_s if measured else max(0.0, done.finished_s - done.started_s),
                cpu_s=measured.cpu_s if measured else None,
                read_bytes=measured.read_bytes if measured else None,
                written_bytes=measured.written_bytes if measured else None,
            )
        )
        self._apply(self.engine.handle(event))

    def _apply(self, decisions: list[Any]) -> None:
        for decision in decisions:
            if isinstance(decision, Place | Replace):
                self._where[decision.task_id] = decision.node_id
                self._placed[decision.task_id] = (decision.est_start_s, decision.decision_id)
                self._record(
                    Transition(
                        decision.task_id,
                        "placed" if isinstance(decision, Place) else "replaced",
                        decision.node_id,
                        time.time(),
                        self._t0 + decision.est_start_s,
                        self._t0 + decision.est_finish_s,
                        decision.reason
                        if isinstance(decision, Replace)
                        else self._cost_note(decision.task_id),
                        name=self.records[decision.task_id].name,
                    )
                )
            elif isinstance(decision, Abandon):
                self._placed.pop(decision.task_id, None)
                self._open.discard(decision.task_id)
                record = self.records[decision.task_id]
                record.state = "abandoned"
                record.error = record.error or decision.reason
                self._notify(record)
                self._record(
                    Transition(
                        decision.task_id,
                        "abandoned",
                        "",
                        time.time(),
                        None,
                        None,
                        decision.reason,
                        name=record.name,
                    )
                )

    def _cost_note(self, task_id: str) -> str:
        """The cost a placement assumed and its source, for the history's explanation."""
        estimate = self.estimates.get(task_id)
        if estimate is None:
            return ""
        return estimate.note()

    def _record(self, transition: Transition) -> None:
        if self._recorder is not None:
            self._recorder(transition)

    def _notify(self, record: RunRecord) -> None:
        if self._observer is not None:
            self._observer(record)

    def _resolve(self, value: Any, strict: bool) -> Any:
        if isinstance(value, Future):
            if value.call_id not in self._results:
                record = self.records[value.call_id]
                raise WorkflowError(
                    f"task {value.call_id} did not finish ({record.state}): "
                    f"{record.error or 'no result'}"
                )
            return value.resolve(self._results[value.call_id])
        if isinstance(value, list):
            return [self._resolve(item, strict) for item in value]
        if isinstance(value, tuple):
            return tuple(self._resolve(item, strict) for item in value)
        if isinstance(value, dict):
            return {key: self._resolve(item, strict) for key, item in value.items()}
        if isinstance(value, set | frozenset):
            return type(value)(self._resolve(item, strict) for item in value)
        return value


def current_session() -> Session:
    """The active session; outside ``session(...)`` a default local one, made on first use."""
    active = _CURRENT.get()
    if active is not None:
        return active
    if not _DEFAULT:
        _DEFAULT.append(Session())
        atexit.register(_DEFAULT[0].close)
    return _DEFAULT[0]


@contextmanager
def session(active: Session) -> Iterator[Session]:
    """Make ``active`` the session that task calls record into."""
    token = _CURRENT.set(active)
    try:
        yield active
    finally:
        _CURRENT.reset(token)


def wait_on(value: Any) -> Any:
    """Run the recorded tasks ``value`` needs and return it with futures replaced by results.

    ``value`` may be a future, or lists, tuples and dicts holding futures.

    Raises:
        WorkflowError: A cycle or unsatisfiable constraint (before anything runs), or a task
            that failed more often than retries allow.
    """
    return current_session().wait_on(value)
