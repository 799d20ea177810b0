"""Placement history: plans, and every state a placed task goes through, in SQLite.

Uses the API's database (the same file as the dataset catalogue), with its own tables::

    history = PlacementHistory(db)
    plan_id = history.record_plan("heft", plan, at_s=time.time())
    history.record_transition(plan_id, "square-1", "started", "edge-1", at_s=time.time())
    history.get(plan_id).tasks["square-1"].state   # "started"
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from scheduler_api._store import Database
from scheduler_api.placement import Plan

__all__ = ["PlacementHistory", "PlanRecord", "TaskHistory", "Transition", "TransitionState"]

TransitionState = Literal["placed", "replaced", "started", "finished", "failed", "abandoned"]

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS placement_plans (
        id TEXT PRIMARY KEY,
        created_at_s REAL NOT NULL,
        heuristic TEXT NOT NULL,
        makespan_s REAL NOT NULL,
        task_count INTEGER NOT NULL,
        unplaced TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS placement_transitions (
        plan_id TEXT NOT NULL REFERENCES placement_plans(id),
        seq INTEGER NOT NULL,
        task_id TEXT NOT NULL,
        state TEXT NOT NULL,
        node_id TEXT NOT NULL,
        at_s REAL NOT NULL,
        est_start_s REAL,
        est_finish_s REAL,
        detail TEXT NOT NULL,
        PRIMARY KEY (plan_id, seq)
    )
    """,
    "CREATE INDEX IF NOT EXISTS placement_plans_created ON placement_plans (created_at_s)",
)


@dataclass(frozen=True, slots=True)
class Transition:
    """One state a task entered."""

    task_id: str
    state: str
    node_id: str
    at_s: float
    est_start_s: float | None = None
    est_finish_s: float | None = None
    detail: str = ""


@dataclass(slots=True)
class TaskHistory:
    """A task's latest state and where it is (or was) placed."""

    task_id: str
    state: str
    node_id: str
    est_start_s: float | None
    est_finish_s: float | None


@dataclass(slots=True)
class PlanRecord:
    """A stored plan."""

    plan_id: str
    created_at_s: float
    heuristic: str
    makespan_s: float
    task_count: int
    unplaced: dict[str, str]
    tasks: dict[str, TaskHistory] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)


class PlacementHistory:
    """Plans and transitions persisted in the API's SQLite database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(*_SCHEMA)

    def record_plan(
        self, heuristic: str, plan: Plan, at_s: float, unplaced: dict[str, str] | None = None
    ) -> str:
        """Store a plan with one ``placed`` transition per task; return its new id."""
        plan_id = uuid.uuid4().hex
        reasons = unplaced if unplaced is not None else dict.fromkeys(plan.unplaced, "")
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO placement_plans VALUES (?, ?, ?, ?, ?, ?)",
                (
                    plan_id,
                    at_s,
                    heuristic,
                    plan.makespan_s,
                    len(plan.assignments) + len(reasons),
                    json.dumps(reasons),
                ),
            )
            conn.executemany(
                "INSERT INTO placement_transitions VALUES (?, ?, ?, 'placed', ?, ?, ?, ?, '')",
                [
                    (plan_id, seq, p.task_id, p.node_id, at_s, p.est_start_s, p.est_finish_s)
                    for seq, p in enumerate(plan.assignments.values())
                ],
            )
        return plan_id

    def open_run(self, heuristic: str, at_s: float) -> str:
        """Start an empty record for a run placed elsewhere (``continuum run``'s own engine);
        its tasks join it with ``placed`` transitions. Returns its id.
        """
        plan_id = uuid.uuid4().hex
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO placement_plans VALUES (?, ?, ?, 0.0, 0, '{}')",
                (plan_id, at_s, heuristic),
            )
        return plan_id

    def record_transition(
        self,
        plan_id: str,
        task_id: str,
        state: TransitionState,
        node_id: str,
        at_s: float,
        detail: str = "",
        est_start_s: float | None = None,
        est_finish_s: float | None = None,
    ) -> bool:
        """Append a transition; False when the plan is unknown, or the task is not in it and
        the transition is not a ``placed`` one (which adds the task)."""
        with self._db.transaction() as conn:
            plan = conn.execute(
                "SELECT created_at_s FROM placement_plans WHERE id = ?", (plan_id,)
            ).fetchone()
            if plan is None:
                return False
            known = conn.execute(
                "SELECT 1 FROM placement_transitions WHERE plan_id = ? AND task_id = ? LIMIT 1",
                (plan_id, task_id),
            ).fetchone()
            if known is None:
                if state != "placed":
                    return False
                conn.execute(
                    "UPDATE placement_plans SET task_count = task_count + 1 WHERE id = ?",
                    (plan_id,),
                )
            if state == "finished":
                # Makespan so far: the latest finish since the plan was made.
                conn.execute(
                    "UPDATE placement_plans SET makespan_s = MAX(makespan_s, ?) WHERE id = ?",
                    (at_s - plan[0], plan_id),
                )
            (seq,) = conn.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM placement_transitions WHERE plan_id = ?",
                (plan_id,),
            ).fetchone()
            conn.execute(
                "INSERT INTO placement_transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (plan_id, seq, task_id, state, node_id, at_s, est_start_s, est_finish_s, detail),
            )
        return True

    def list_plans(self, limit: int = 50, offset: int = 0) -> list[PlanRecord]:
        """Plans, newest first, without their tasks."""
        rows = self._db.query(
            "SELECT * FROM placement_plans ORDER BY created_at_s DESC, id LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [_plan(row) for row in rows]

    def get(self, plan_id: str) -> PlanRecord | None:
        """A plan with every task's latest state and all transitions, or None."""
        rows = self._db.query("SELECT * FROM placement_plans WHERE id = ?", (plan_id,))
        if not rows:
            return None
        record = _plan(rows[0])
        for row in self._db.query(
            "SELECT * FROM placement_transitions WHERE plan_id = ? ORDER BY seq", (plan_id,)
        ):
            transition = Transition(
                row["task_id"],
                row["state"],
                row["node_id"],
                row["at_s"],
                row["est_start_s"],
                row["est_finish_s"],
                row["detail"],
            )
            record.transitions.append(transition)
            previous = record.tasks.get(transition.task_id)
            record.tasks[transition.task_id] = TaskHistory(
                transition.task_id,
                transition.state,
                transition.node_id,
                transition.est_start_s
                if previous is None
                else _first(transition.est_start_s, previous.est_start_s),
                transition.est_finish_s
                if previous is None
                else _first(transition.est_finish_s, previous.est_finish_s),
            )
        return record


def _first(value: float | None, fallback: float | None) -> float | None:
    return fallback if value is None else value


def _plan(row: Any) -> PlanRecord:
    return PlanRecord(
        plan_id=row["id"],
        created_at_s=row["created_at_s"],
        heuristic=row["heuristic"],
        makespan_s=row["makespan_s"],
        task_count=row["task_count"],
        unplaced=json.loads(row["unplaced"]),
    )
