"""The placement state machine: events in, decisions out, no I/O and no clock.

See the package docstring for the model; this module holds the bookkeeping.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

import numpy as np

from scheduler_api.placement._heuristics import priority, topological_order
from scheduler_api.placement._links import (
    CopyKey,
    Drains,
    LinkBook,
    Source,
    crossed,
    transfer_finish_s,
)
from scheduler_api.placement._nodes import FloatArray, IntArray, Lane, LaneTable, meets
from scheduler_api.placement._types import (
    Abandon,
    Decision,
    Event,
    GraphSubmitted,
    Heuristic,
    NodeFailed,
    NodeInfo,
    NodeSnapshot,
    Place,
    Replace,
    Requirements,
    TaskFailed,
    TaskFinished,
    TaskSpec,
    TaskStarted,
)

__all__ = [
    "EngineConfig",
    "InvalidGraphError",
    "NodeRanker",
    "PlacementEngine",
    "TaskState",
    "TaskStatus",
    "feasibility_ranker",
]

# Below this, two estimates are the same instant (float noise from sums of durations).
_EPSILON_S = 1e-9
_TIE_BREAK_S = 1e-9


class InvalidGraphError(ValueError):
    """A submitted graph is malformed: duplicate id, unknown parent, or a cycle."""


class TaskState(StrEnum):
    """Where a task is in its life."""

    WAITING = "waiting"  # parents not yet planned (plan mode) or finished (ready mode)
    QUEUED = "queued"  # in the ready queue (only inside one ``handle`` call)
    PARKED = "parked"  # no live node meets its constraints; retried when nodes change
    PLANNED = "planned"
    RUNNING = "running"
    DONE = "done"
    ABANDONED = "abandoned"


_HOLDS_NODE = (TaskState.PLANNED, TaskState.RUNNING)
_FINAL = (TaskState.DONE, TaskState.ABANDONED)


class NodeRanker(Protocol):
    """Filters and scores nodes for one set of requirements.

    Returns the feasible node ids with a score in [0, 1] (higher is better); nodes left out are
    infeasible. ``ModelRanker`` wraps the API's ranking model.
    """

    def __call__(
        self, requirements: Requirements, nodes: Sequence[NodeInfo]
    ) -> Mapping[str, float]: ...


def feasibility_ranker(requirements: Requirements, nodes: Sequence[NodeInfo]) -> dict[str, float]:
    """Hard constraints only; every feasible node scores its ``NodeInfo.score`` (default 1)."""
    return {
        node.node_id: 1.0 if node.score is None else node.score
        for node in nodes
        if meets(node, requirements)
    }


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How the engine orders and places.

    Attributes:
        heuristic: Ready-queue ordering.
        mode: ``plan`` places a task as soon as its parents are placed (a whole submitted graph
            is planned at once, as HEFT does); ``ready`` places a task only when its parents
            have finished, using their real finish times and locations.
        insertion: Let a task fill an idle gap between reservations (HEFT's insertion policy).
        max_attempts: Runs a task gets (failures of the task or of its node count) before it
            is abandoned.
        score_weight_s: Seconds of estimated finish worth one unit of ranking score; 0 makes
            the score only break ties between equal finish times.
        replan_on_snapshot: In ``ready`` mode, a node's fresh snapshot sends the tasks planned
            there that have not started back to the queue, so they are placed again on the
            fresh figures (they may stay; a move is a ``Replace``).
        book_transfers: Count the transfers the engine's own placements imply on the links
            they cross, so later estimates queue behind them, and read a dataset already
            booked onto a node from there (``_links``).
        minimize_energy: Place each task where it adds the fewest estimated joules
            (``NodeInfo.busy_watts``), among the nodes that finish it by its deadline when
            any does; the earliest finish breaks ties. Nodes of unknown power are used only
            when no candidate's power is known.
        joule_weight_s: Seconds of estimated finish worth one estimated joule: a weighted
            time-and-energy objective (a node of unknown power counts as the hungriest
            candidate). 0: time alone. Ignored with ``minimize_energy``.
    """

    heuristic: Heuristic = Heuristic.HEFT
    mode: Literal["plan", "ready"] = "plan"
    insertion: bool = True
    max_attempts: int = 3
    score_weight_s: float = 0.0
    replan_on_snapshot: bool = False
    book_transfers: bool = False
    minimize_energy: bool = False
    joule_weight_s: float = 0.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.score_weight_s < 0 or self.joule_weight_s < 0:
            raise ValueError("score_weight_s and joule_weight_s must be >= 0")


@dataclass(frozen=True, slots=True)
class TaskStatus:
    """A read-only view of one task."""

    task_id: str
    name: str
    state: TaskState
    node_id: str | None
    est_start_s: float | None
    est_finish_s: float | None
    started_s: float | None
    finished_s: float | None
    attempt: int


@dataclass(frozen=True, slots=True)
class _Candidates:
    """Feasible nodes for one requirement set, with their columns gathered once."""

    idx: IntArray
    penalty_s: FloatArray
    inv_speed: FloatArray

    def without(self, excluded: set[int]) -> _Candidates:
        keep = ~np.isin(self.idx, np.fromiter(excluded, dtype=np.int64))
        if not keep.any():
            return self  # excluding every node would leave the task nowhere to go
        return _Candidates(
            self.idx[keep],
            self.penalty_s[keep],
            self.inv_speed[keep],
        )


@dataclass(frozen=True, slots=True)
class _Need:
    """Bytes a task needs on its node: from any of ``sources``, leaving at ``start_s``."""

    sources: tuple[Source, ...]
    size_bytes: int
    start_s: float
    copy_key: CopyKey


@dataclass(slots=True)
class _Task:
    spec: TaskSpec
    seq: int
    state: TaskState = TaskState.WAITING
    children: list[str] = field(default_factory=list)
    unsatisfied: int = 0
    priority: float = 0.0
    node: int = -1
    lanes: list[Lane] = field(default_factory=list)
    est_start_s: float = math.nan
    est_finish_s: float = math.nan
    started_s: float | None = None
    finished_s: float | None = None
    failures: int = 0
    placements: int = 0
    excluded: set[int] = field(default_factory=set)
    moved_from: int = -1
    move_reason: str = ""


class PlacementEngine:
    """Places workflow tasks on nodes; see the package docstring."""

    def __init__(
        self, config: EngineConfig | None = None, ranker: NodeRanker | None = None
    ) -> None:
        self.config = config or EngineConfig()
        self._ranker: NodeRanker = ranker or feasibility_ranker
        self._nodes = LaneTable()
        self._links = LinkBook()
        self._tasks: dict[str, _Task] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._parked: dict[str, None] = {}
        self._candidates: dict[Requirements, _Candidates] = {}
        self._candidates_version = -1
        self._next_decision = 1
        self._seq = 0
        self.now_s = 0.0
        self.ignored_events = 0
        """Events that did not fit the state (unknown task or node, duplicates); skipped."""

    # ------------------------------------------------------------ public

    def handle(self, event: Event) -> list[Decision]:
        """Apply one event and return the decisions it leads to, in order.

        Raises:
            InvalidGraphError: A ``GraphSubmitted`` is malformed; the state is unchanged.
        """
        self.now_s = max(self.now_s, event.at_s)
        cause = event.event_id or type(event).__name__
        out: list[Decision] = []
        if isinstance(event, GraphSubmitted):
            self._on_graph(event, out, cause)
        elif isinstance(event, TaskStarted):
            self._on_started(event)
        elif isinstance(event, TaskFinished):
            self._on_finished(event, out, cause)
        elif isinstance(event, TaskFailed):
            self._on_failed(event, out, cause)
        elif isinstance(event, NodeSnapshot):
            self._on_snapshot(event, out, cause)
        else:
            self._on_node_failed(event, out, cause)
        return out

    def task(self, task_id: str) -> TaskStatus:
        """The current view of one task.

        Raises:
            KeyError: Unknown task id.
        """
        task = self._tasks[task_id]
        holds = task.state in _HOLDS_NODE or task.state is TaskState.DONE
        return TaskStatus(
            task_id=task_id,
            name=task.spec.name or task_id,
            state=task.state,
            node_id=self._nodes.infos[task.node].node_id if holds and task.node >= 0 else None,
            est_start_s=None if math.isnan(task.est_start_s) else task.est_start_s,
            est_finish_s=None if math.isnan(task.est_finish_s) else task.est_finish_s,
            started_s=task.started_s,
            finished_s=task.finished_s,
            attempt=max(1, task.failures + 1),
        )

    def tasks(self) -> Iterator[TaskStatus]:
        """Every task, in submission order."""
        return (self.task(task_id) for task_id in self._tasks)

    def nodes(self) -> list[NodeInfo]:
        """The last snapshot of every node ever seen (dead ones included)."""
        return list(self._nodes.infos)

    def node_alive(self, node_id: str) -> bool:
        idx = self._nodes.index.get(node_id)
        return idx is not None and bool(self._nodes.alive[idx])

    def parked(self) -> list[str]:
        """Tasks no live node can run now (they wait for a node that can)."""
        return list(self._parked)

    def makespan_estimate_s(self) -> float:
        """Latest estimated (or real) finish over all placed tasks; 0 when none."""
        latest = 0.0
        for task in self._tasks.values():
            if task.state is TaskState.DONE and task.finished_s is not None:
                latest = max(latest, task.finished_s)
            elif task.state in _HOLDS_NODE:
                latest = max(latest, task.est_finish_s)
        return latest

    def validate_state(self) -> None:
        """Check every invariant; raise AssertionError naming the first one broken."""
        _validate(self)

    # ------------------------------------------------------------ events

    def _on_graph(self, event: GraphSubmitted, out: list[Decision], cause: str) -> None:
        new = {spec.task_id: spec for spec in event.tasks}
        if len(new) != len(event.tasks):
            raise InvalidGraphError("a task id appears twice in the submitted graph")
        for task_id, spec in new.items():
            if task_id in self._tasks:
                raise InvalidGraphError(f"task {task_id!r} was already submitted")
            for parent_id in spec.depends_on:
                if parent_id not in new and parent_id not in self._tasks:
                    raise InvalidGraphError(
                        f"task {task_id!r} depends on unknown task {parent_id!r}"
                    )
        children: dict[str, list[str]] = {}
        for task_id, spec in new.items():
            for parent_id in spec.depends_on:
                children.setdefault(parent_id, []).append(task_id)
        try:
            order = topological_order(new, children)
        except ValueError as err:
            raise InvalidGraphError(str(err)) from err
        mean_inv_speed = self._nodes.mean_inv_speed()
        link_s, per_byte_s = self._nodes.mean_link()
        priorities = priority(
            self.config.heuristic,
            new,
            order,
            children,
            lambda spec: self._mean_cost_s(spec, mean_inv_speed),
            lambda size_bytes: link_s + size_bytes * per_byte_s if size_bytes else link_s,
        )
        for task_id in order:
            self._seq += 1
            self._tasks[task_id] = _Task(
                spec=new[task_id], seq=self._seq, priority=priorities[task_id]
            )
        for task_id in order:
            task = self._tasks[task_id]
            for parent_id in task.spec.depends_on:
                parent = self._tasks[parent_id]
                parent.children.append(task_id)
                if parent.state is TaskState.ABANDONED:
                    task.state = TaskState.ABANDONED
                elif not self._satisfies(parent):
                    task.unsatisfied += 1
            if task.state is TaskState.ABANDONED:
                self._abandon(task_id, "a parent was abandoned", out, cause)
            elif task.unsatisfied == 0:
                self._enqueue(task_id)
        self._drain(out, cause)

    def _on_started(self, event: TaskStarted) -> None:
        task = self._tasks.get(event.task_id)
        if (
            task is None
            or task.state is not TaskState.PLANNED
            or self._nodes.index.get(event.node_id) != task.node
        ):
            self.ignored_events += 1
            return
        task.state = TaskState.RUNNING
        task.started_s = event.at_s

    def _on_finished(self, event: TaskFinished, out: list[Decision], cause: str) -> None:
        task = self._tasks.get(event.task_id)
        idx = self._nodes.index.get(event.node_id)
        if task is None or idx is None or task.state in _FINAL:
            self.ignored_events += 1
            return
        if task.state in _HOLDS_NODE:
            self._nodes.release(task.node, event.task_id, self.now_s)
        if idx == task.node:
            self._links.finished(event.task_id)  # the copies its transfers left stay there
        else:
            self._links.release(event.task_id)
        self._parked.pop(event.task_id, None)
        was_satisfying = self._satisfies(task)
        task.state = TaskState.DONE
        task.node = idx
        task.lanes = []
        task.finished_s = event.at_s
        if task.started_s is None:
            task.started_s = task.est_start_s if not math.isnan(task.est_start_s) else event.at_s
        if not was_satisfying:
            self._release_children(event.task_id)
        self._drain(out, cause)

    def _on_failed(self, event: TaskFailed, out: list[Decision], cause: str) -> None:
        task = self._tasks.get(event.task_id)
        idx = self._nodes.index.get(event.node_id)
        if task is None or task.state not in _HOLDS_NODE or idx != task.node:
            self.ignored_events += 1
            return
        self._free(task.node, event.task_id)
        task.failures += 1
        task.excluded.add(task.node)
        reason = f"failed on {event.node_id}: {event.reason}" if event.reason else "failed"
        self._requeue_or_abandon(event.task_id, reason, out, cause)
        self._drain(out, cause)

    def _on_snapshot(self, event: NodeSnapshot, out: list[Decision], cause: str) -> None:
        idx, _ = self._nodes.upsert(event.node)
        replan = None
        if not event.node.healthy:
            replan = f"node {event.node.node_id} is unhealthy"
        elif self.config.replan_on_snapshot and self.config.mode == "ready":
            # Plans made on older figures may no longer hold (the node slowed, lost lanes, or
            # its running tasks overran): place what has not started again.
            replan = f"node {event.node.node_id} refreshed"
        if replan is not None:
            for task_id in self._held_by(idx, TaskState.PLANNED):
                self._free(idx, task_id)
                self._requeue(task_id, replan)
        for task_id in list(self._parked):
            if meets(event.node, self._tasks[task_id].spec.requirements):
                del self._parked[task_id]
                self._enqueue(task_id)
        self._drain(out, cause)

    def _on_node_failed(self, event: NodeFailed, out: list[Decision], cause: str) -> None:
        idx = self._nodes.index.get(event.node_id)
        if idx is None or not self._nodes.alive[idx]:
            self.ignored_events += 1
            return
        reason = f"node {event.node_id} failed" + (f": {event.reason}" if event.reason else "")
        self._links.forget_node(idx)
        for task_id in sorted(self._nodes.kill(idx), key=lambda t: self._tasks[t].seq):
            task = self._tasks[task_id]
            if task.state is TaskState.RUNNING:
                task.failures += 1
                self._requeue_or_abandon(task_id, reason, out, cause)
            elif task.state is TaskState.PLANNED:
                self._requeue(task_id, reason)
        self._drain(out, cause)

    # ------------------------------------------------------------ queue

    def _satisfies(self, parent: _Task) -> bool:
        """Whether ``parent`` lets its children be placed."""
        if self.config.mode == "ready":
            return parent.state is TaskState.DONE
        return parent.state in _HOLDS_NODE or parent.state is TaskState.DONE

    def _enqueue(self, task_id: str) -> None:
        task = self._tasks[task_id]
        task.state = TaskState.QUEUED
        heapq.heappush(self._heap, (-task.priority, task.seq, task_id))

    def _release_children(self, task_id: str) -> None:
        for child_id in self._tasks[task_id].children:
            child = self._tasks[child_id]
            if child.state is TaskState.WAITING:
                child.unsatisfied -= 1
                if child.unsatisfied == 0:
                    self._enqueue(child_id)

    def _requeue(self, task_id: str, reason: str) -> None:
        """Take a placed task off its node and queue it again (plans below it are redone)."""
        task = self._tasks[task_id]
        task.moved_from = task.node
        task.move_reason = reason
        task.lanes = []
        self._links.release(task_id)
        self._enqueue(task_id)
        if self.config.mode == "plan":
            # The task no longer lets its children be placed: children planned against the old
            # placement would start before their inputs exist, and waiting ones must wait again.
            changed = [task_id, *self._unplan_descendants(task_id)]
            for changed_id in changed:
                for child_id in [changed_id, *self._tasks[changed_id].children]:
                    self._recount(child_id)

    def _recount(self, task_id: str) -> None:
        """Send a not-yet-placed task back to waiting if a parent no longer lets it go."""
        task = self._tasks[task_id]
        if task.state not in (TaskState.WAITING, TaskState.PARKED, TaskState.QUEUED):
            return
        unsatisfied = sum(
            1 for parent in task.spec.depends_on if not self._satisfies(self._tasks[parent])
        )
        if unsatisfied:
            self._parked.pop(task_id, None)
            task.state = TaskState.WAITING  # a queued entry goes stale and is skipped
            task.unsatisfied = unsatisfied

    def _requeue_or_abandon(
        self, task_id: str, reason: str, out: list[Decision], cause: str
    ) -> None:
        if self._tasks[task_id].failures >= self.config.max_attempts:
            attempts = self._tasks[task_id].failures
            self._abandon(task_id, f"{reason}; gave up after {attempts} attempts", out, cause)
        else:
            self._requeue(task_id, reason)

    def _unplan_descendants(self, root_id: str) -> list[str]:
        stack = list(self._tasks[root_id].children)
        reset: list[str] = []
        while stack:
            child_id = stack.pop()
            child = self._tasks[child_id]
            if child.state is not TaskState.PLANNED:
                continue
            self._free(child.node, child_id)
            child.moved_from = child.node
            child.move_reason = f"parent {root_id} was moved"
            child.lanes = []
            child.state = TaskState.WAITING
            reset.append(child_id)
            stack.extend(child.children)
        return reset

    def _abandon(self, root_id: str, reason: str, out: list[Decision], cause: str) -> None:
        stack = [(root_id, reason)]
        while stack:
            task_id, why = stack.pop()
            task = self._tasks[task_id]
            if task.state is TaskState.DONE or (
                task.state is TaskState.ABANDONED and task_id != root_id
            ):
                continue
            if task.state in _HOLDS_NODE:
                self._free(task.node, task_id)
            self._parked.pop(task_id, None)
            task.state = TaskState.ABANDONED
            task.lanes = []
            out.append(Abandon(self._decision_id(), task_id, why, cause))
            stack.extend((child, f"parent {task_id} was abandoned") for child in task.children)

    def _drain(self, out: list[Decision], cause: str) -> None:
        while self._heap:
            _, _, task_id = heapq.heappop(self._heap)
            task = self._tasks[task_id]
            if task.state is not TaskState.QUEUED:
                continue  # a stale entry: the task moved on since it was queued
            decision = self._place(task_id, task, cause)
            if decision is None:
                task.state = TaskState.PARKED
                self._parked[task_id] = None
                continue
            deadline = task.spec.deadline_s
            if deadline is not None and decision.est_finish_s > deadline + _EPSILON_S:
                # The earliest finish any node offers is too late: say so rather than run it
                # (abandoning takes the reservation back).
                late_s = decision.est_finish_s - deadline
                reason = (
                    f"deadline: earliest estimated finish {decision.est_finish_s:.1f} s "
                    f"(on {decision.node_id}) is {late_s:.1f} s after the deadline"
                )
                self._abandon(task_id, reason, out, cause)
                continue
            out.append(decision)
            if self.config.mode == "plan":
                self._release_children(task_id)

    # ------------------------------------------------------------ placement

    def _place(self, task_id: str, task: _Task, cause: str) -> Place | Replace | None:
        spec = task.spec
        found = self._candidates_for(spec.requirements)
        if task.excluded and found.idx.size:
            found = found.without(task.excluded)
        cand = found.idx
        if cand.size == 0:
            return None
        table = self._nodes
        duration = spec.work_s * found.inv_speed
        if spec.cost_s:
            for position, idx in enumerate(cand.tolist()):
                override = spec.cost_s.get(table.infos[idx].node_id)
                if override is not None:
                    duration[position] = override
        ready = self._ready_s(spec, found)
        cores = spec.requirements.lanes
        start = np.maximum(ready, table.sorted_ends[cand, cores - 1])
        penalty = found.penalty_s
        if self.config.minimize_energy or self.config.joule_weight_s > 0:
            penalty = penalty + self._energy_penalty_s(spec, cand, start, duration)
        cost = start + duration + penalty
        best = int(np.argmin(cost))
        best_cost = float(cost[best])
        best_start = float(start[best])
        if self.config.insertion and cores == 1:
            lower = ready + duration + penalty
            promising = np.nonzero(
                (lower < best_cost - _EPSILON_S) & (table.gap_s[cand] >= duration - _EPSILON_S)
            )[0]
            for position in promising[np.argsort(lower[promising], kind="stable")].tolist():
                if float(lower[position]) >= best_cost - _EPSILON_S:
                    break
                idx = int(cand[position])
                dur = float(duration[position])
                gap_start = min(
                    (
                        lane.earliest_start(float(ready[position]), dur)
                        for lane in table.usable_lanes(idx)
                        if lane.max_gap_s >= dur - _EPSILON_S
                    ),
                    default=math.inf,
                )
                gap_cost = gap_start + dur + float(penalty[position])
                if gap_cost < best_cost - _EPSILON_S:
                    best, best_cost, best_start = position, gap_cost, gap_start
        idx = int(cand[best])
        dur = float(duration[best])
        lanes = self._pick_lanes(idx, best_start, dur, cores)
        finish = best_start + dur
        table.reserve(idx, lanes, best_start, finish, task_id, self.now_s)
        if self.config.book_transfers:
            # An executor stages a task's inputs when a lane takes it: a task that waits for
            # its lanes moves its bytes that much later.
            self._book(task_id, spec, idx, best_start - float(ready[best]))
        task.state = TaskState.PLANNED
        task.node, task.lanes = idx, lanes
        task.est_start_s, task.est_finish_s = best_start, finish
        task.placements += 1
        node_id = table.infos[idx].node_id
        attempt = task.failures + 1
        if task.moved_from < 0:
            return Place(self._decision_id(), task_id, node_id, best_start, finish, attempt, cause)
        moved_from = table.infos[task.moved_from].node_id
        task.moved_from = -1
        return Replace(
            self._decision_id(),
            task_id,
            moved_from,
            node_id,
            best_start,
            finish,
            attempt,
            cause,
            task.move_reason,
        )

    def _energy_penalty_s(
        self, spec: TaskSpec, cand: IntArray, start: FloatArray, duration: FloatArray
    ) -> FloatArray:
        """What the energy objective adds to each candidate's estimated finish: 0 or inf
        (only the frugal nodes stay) with ``minimize_energy``, else ``joule_weight_s`` times
        the estimated joules."""
        joules = self._nodes.watts_per_core[cand] * spec.requirements.cpu_cores * duration
        known = ~np.isnan(joules)
        if not known.any():
            return np.zeros(cand.size)  # no power known anywhere: time alone decides
        if not self.config.minimize_energy:
            return self.config.joule_weight_s * np.where(known, joules, joules[known].max())
        eligible = known
        if spec.deadline_s is not None:
            on_time = known & (start + duration <= spec.deadline_s + _EPSILON_S)
            if on_time.any():
                eligible = on_time
        least = float(joules[eligible].min())
        frugal = eligible & (joules <= least * (1.0 + 1e-9) + _EPSILON_S)
        return np.where(frugal, 0.0, math.inf)

    def _pick_lanes(self, idx: int, start_s: float, duration_s: float, cores: int) -> list[Lane]:
        lanes = self._nodes.usable_lanes(idx)
        if cores == 1:
            for lane in lanes:
                if lane.end_s <= start_s:
                    return [lane]  # appending after its last reservation
            for lane in lanes:
                if abs(lane.earliest_start(start_s, duration_s) - start_s) <= _EPSILON_S:
                    return [lane]
            raise AssertionError("no lane has the gap the estimate found")  # pragma: no cover
        return sorted(lanes, key=lambda lane: lane.end_s)[:cores]

    def _ready_s(self, spec: TaskSpec, found: _Candidates) -> FloatArray:
        """When every input could be on each candidate node (and the task may start)."""
        drains = self._drains()
        earliest = self.now_s if spec.not_before_s is None else max(self.now_s, spec.not_before_s)
        ready = np.full(found.idx.size, earliest)
        for need in self._needs(spec):
            np.maximum(ready, self._arrival_s(need, found.idx, drains), out=ready)
        return ready

    def _needs(self, spec: TaskSpec) -> Iterator[_Need]:
        """What must move for ``spec``: each parent's output, then each dataset."""
        table = self._nodes
        for parent_id, size_bytes in spec.depends_on.items():
            parent = self._tasks[parent_id]
            if parent.node < 0:
                continue
            finished = parent.finished_s if parent.finished_s is not None else parent.est_finish_s
            source = Source(parent.node, int(table.site[parent.node]))
            yield _Need((source,), size_bytes, finished, ("output", parent_id))
        for data in spec.inputs:
            holders = [table.index[n] for n in data.node_ids if n in table.index]
            sources = [Source(src, int(table.site[src])) for src in holders]
            if not holders or data.site is not None:
                site = -1 if data.site is None else table.site_index.get(data.site, -1)
                sources.append(Source(-1, site))  # the copy outside the fleet
            yield _Need(tuple(sources), data.size_bytes, self.now_s, ("dataset", data.dataset_id))

    def _arrival_s(self, need: _Need, dst: IntArray, drains: Drains | None) -> FloatArray:
        """When ``need`` could be on each of ``dst``: its cheapest source, or a booked copy."""
        table = self._nodes
        arrival = transfer_finish_s(
            table, dst, need.sources[0], need.size_bytes, need.start_s, drains
        )
        for source in need.sources[1:]:
            other = transfer_finish_s(table, dst, source, need.size_bytes, need.start_s, drains)
            np.minimum(arrival, other, out=arrival)
        if self.config.book_transfers:
            for node, (copy_s, _) in self._links.copies(need.copy_key).items():
                position = int(np.searchsorted(dst, node))
                if position < dst.size and dst[position] == node:
                    arrival[position] = min(arrival[position], max(copy_s, need.start_s))
        return arrival

    def _drains(self) -> Drains | None:
        return self._links.drains(self.now_s, self._nodes) if self.config.book_transfers else None

    def _book(self, task_id: str, spec: TaskSpec, idx: int, delay_s: float) -> None:
        """Book on the links the transfers that placing ``task_id`` on ``idx`` implies.

        Each moves ``delay_s`` later than it could (the task waits that long for its lanes).
        """
        drains = self._drains()
        dst = np.asarray([idx], dtype=np.int64)
        for need in self._needs(spec):
            if need.size_bytes <= 0 or idx in self._links.copies(need.copy_key):
                continue  # nothing moves, or it arrives with an earlier task's copy
            arrivals = [
                float(transfer_finish_s(self._nodes, dst, source, need.size_bytes,
                                        need.start_s, drains)[0])
                for source in need.sources
            ]  # fmt: skip
            best = int(np.argmin(arrivals))
            source = need.sources[best]
            if source.node == idx:
                continue
            links = crossed(self._nodes, source, idx)
            start_s, arrival_s = need.start_s + delay_s, arrivals[best] + delay_s
            self._links.add(task_id, links, need.size_bytes, start_s, arrival_s)
            self._links.add_copy(need.copy_key, idx, arrival_s, task_id)

    def _candidates_for(self, req: Requirements) -> _Candidates:
        if self._candidates_version != self._nodes.version:
            self._candidates.clear()
            self._candidates_version = self._nodes.version
        cached = self._candidates.get(req)
        if cached is None:
            table = self._nodes
            live = [info for idx, info in enumerate(table.infos) if table.placeable[idx]]
            ranked = self._ranker(req, live)
            ids = [table.index[node_id] for node_id in ranked if node_id in table.index]
            # The ranker judges the node's capacity; the task must also fit the lanes the
            # node offers now (a busy node offers fewer), or it waits for a later offer.
            ids = [idx for idx in ids if table.placeable[idx] and meets(table.infos[idx], req)]
            ids.sort()
            scores = [float(ranked[table.infos[idx].node_id]) for idx in ids]
            idx = np.asarray(ids, dtype=np.int64)
            score = np.asarray(scores, dtype=np.float64)
            cached = _Candidates(
                idx,
                self.config.score_weight_s * (1.0 - score) - _TIE_BREAK_S * score,
                table.inv_speed[idx],
            )
            self._candidates[req] = cached
        return cached

    def _mean_cost_s(self, spec: TaskSpec, mean_inv_speed: float) -> float:
        if not spec.cost_s:
            return spec.work_s * mean_inv_speed
        table = self._nodes
        costs = [
            spec.cost_s.get(info.node_id, spec.work_s * float(table.inv_speed[idx]))
            for idx, info in enumerate(table.infos)
            if table.alive[idx]
        ]
        return sum(costs) / len(costs) if costs else spec.work_s

    def _held_by(self, idx: int, state: TaskState) -> list[str]:
        held = {task_id for lane in self._nodes.lanes[idx] for task_id in lane.task_ids}
        return sorted(
            (t for t in held if self._tasks[t].state is state), key=lambda t: self._tasks[t].seq
        )

    def _free(self, idx: int, task_id: str) -> None:
        """Take ``task_id``'s reservation off node ``idx`` and its bookings off the links."""
        self._nodes.release(idx, task_id, self.now_s)
        self._links.release(task_id)

    def _decision_id(self) -> int:
        decision_id = self._next_decision
        self._next_decision += 1
        return decision_id


def _validate(engine: PlacementEngine) -> None:
    tasks = engine._tasks
    table = engine._nodes
    assert not any(tasks[t].state is TaskState.QUEUED for _, _, t in engine._heap), (
        "queued tasks left after handle()"
    )
    reserved: dict[str, list[tuple[int, Lane]]] = {}
    for idx, lanes in enumerate(table.lanes):
        if not table.alive[idx]:
            assert all(not lane.task_ids for lane in lanes), f"dead node {idx} holds reservations"
        for lane in lanes:
            pairs = list(zip(lane.starts, lane.finishes, strict=True))
            assert pairs == sorted(pairs), f"node {idx}: lane not sorted"
            for (s0, f0), (s1, _) in itertools.pairwise(pairs):
                assert f0 <= s1 + _EPSILON_S, (
                    f"node {idx}: overlapping reservations {s0}-{f0}, {s1}"
                )
            internal = [s1 - f0 for (_, f0), (s1, _) in itertools.pairwise(pairs)]
            assert max(internal, default=0.0) <= lane.max_gap_s + _EPSILON_S, (
                f"node {idx}: a gap is wider than the lane's bound {lane.max_gap_s}"
            )
            for task_id in lane.task_ids:
                reserved.setdefault(task_id, []).append((idx, lane))
        if table.alive[idx]:
            ends = sorted(lane.end_s for lane in table.usable_lanes(idx))
            assert table.avail_s[idx] == ends[0], f"node {idx}: stale availability"
            row = table.sorted_ends[idx, : len(ends)].tolist()
            assert row == ends, f"node {idx}: stale lane ends"
    for task_id, task in tasks.items():
        state = task.state
        assert state is not TaskState.QUEUED, f"{task_id} left queued"
        assert (task_id in engine._parked) == (state is TaskState.PARKED), f"{task_id} parked?"
        assert task.failures <= engine.config.max_attempts, f"{task_id}: too many attempts"
        held = reserved.get(task_id, [])
        if state in _HOLDS_NODE:
            assert bool(table.alive[task.node]), f"{task_id} on dead node"
            assert len(held) == task.spec.requirements.lanes, f"{task_id}: lanes {len(held)}"
            assert {idx for idx, _ in held} == {task.node}, f"{task_id}: reserved elsewhere"
            assert task.est_finish_s >= task.est_start_s, f"{task_id}: finish before start"
            for parent_id in task.spec.depends_on:
                parent = tasks[parent_id]
                assert engine._satisfies(parent) or state is TaskState.RUNNING, (
                    f"{task_id} placed before parent {parent_id}"
                )
                bound = parent.est_finish_s
                if parent.finished_s is not None:
                    bound = (
                        min(bound, parent.finished_s)
                        if not math.isnan(bound)
                        else parent.finished_s
                    )
                if state is TaskState.PLANNED and not math.isnan(bound):
                    assert task.est_start_s >= bound - _EPSILON_S, (
                        f"{task_id} starts at {task.est_start_s} before {parent_id} ends {bound}"
                    )
        else:
            assert not held, f"{task_id} ({state.value}) still holds a reservation"
        if state is TaskState.WAITING:
            unsatisfied = sum(1 for p in task.spec.depends_on if not engine._satisfies(tasks[p]))
            assert unsatisfied == task.unsatisfied > 0, (
                f"{task_id}: waiting count {task.unsatisfied}"
            )
        if state is TaskState.ABANDONED:
            continue
        for parent_id in task.spec.depends_on:
            assert tasks[parent_id].state is not TaskState.ABANDONED, (
                f"{task_id} alive under abandoned {parent_id}"
            )
