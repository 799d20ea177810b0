"""Property-style: random graphs, fleets and executor behaviour; invariants after every event."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler_api.placement import (
    Abandon,
    DataInput,
    EngineConfig,
    Event,
    GraphSubmitted,
    Heuristic,
    NodeFailed,
    NodeInfo,
    NodeSnapshot,
    Place,
    PlacementEngine,
    Replace,
    Requirements,
    TaskFailed,
    TaskFinished,
    TaskSpec,
    TaskStarted,
    TaskState,
)


def _fleet(rng: random.Random) -> list[NodeInfo]:
    return [
        NodeInfo(
            f"n{i}",
            cpu_cores=rng.choice([1, 2, 4]),
            gpus=rng.choice([0, 0, 1]),
            tier=rng.choice(["edge", "cloud"]),
            speed=rng.uniform(0.5, 2.0),
            cpu_utilization=rng.random(),
            bandwidth_bytes_per_s=rng.choice([1e6, 1e8]),
            latency_s=rng.uniform(0, 0.05),
            site=rng.choice(["s0", "s1"]),
            uplink_bandwidth_bytes_per_s=rng.choice([None, 1e5, 1e7]),
            uplink_latency_s=rng.uniform(0, 0.05),
        )
        for i in range(rng.randint(1, 6))
    ]


def _graph(rng: random.Random, prefix: str, known: list[str]) -> list[TaskSpec]:
    tasks: list[TaskSpec] = []
    for i in range(rng.randint(1, 25)):
        pool = known + [t.task_id for t in tasks]
        parents = rng.sample(pool, min(len(pool), rng.randint(0, 3)))
        tasks.append(
            TaskSpec(
                f"{prefix}{i}",
                work_s=rng.choice([0.0, rng.uniform(0.1, 5.0)]),
                requirements=Requirements(
                    cpu_cores=rng.choice([1, 1, 1, 2]),
                    gpus=rng.choice([0, 0, 0, 1]),
                    tier=rng.choice([None, None, "edge"]),
                ),
                depends_on={p: rng.randint(0, 10**7) for p in parents},
                inputs=tuple(
                    DataInput(
                        f"d{j}",
                        rng.randint(0, 10**8),
                        rng.choice([(f"n{rng.randint(0, 5)}",), ()]),
                        rng.choice([None, "s0", "elsewhere"]),
                    )
                    for j in range(rng.randint(0, 2))
                ),
            )
        )
    return tasks


class _Driver:
    """Plays an executor: follows decisions, starts runnable tasks, finishes or fails them."""

    def __init__(self, engine: PlacementEngine, rng: random.Random) -> None:
        self.engine, self.rng, self.now = engine, rng, 0.0
        self.where: dict[str, str] = {}
        self.decision_ids: list[int] = []

    def send(self, event: Event) -> None:
        for decision in self.engine.handle(event):
            self.decision_ids.append(decision.decision_id)
            if isinstance(decision, Place | Replace):
                self.where[decision.task_id] = decision.node_id
                assert decision.est_finish_s >= decision.est_start_s >= self.now - 1e-9
            elif isinstance(decision, Abandon):
                self.where.pop(decision.task_id, None)
        self.engine.validate_state()

    def step(self, chaos: bool = True) -> bool:
        """One executor action; return whether any task was runnable or running."""
        self.now += self.rng.uniform(0.0, 1.0)
        states = {s.task_id: s for s in self.engine.tasks()}
        runnable = [
            s.task_id
            for s in states.values()
            if s.state is TaskState.PLANNED
            and all(states[p].state is TaskState.DONE for p in self.engine_spec_parents(s.task_id))
        ]
        running = [s.task_id for s in states.values() if s.state is TaskState.RUNNING]
        roll = self.rng.random()
        if running and roll < 0.45:
            task_id = self.rng.choice(running)
            node = self.where[task_id]
            if self.rng.random() < 0.15:
                self.send(TaskFailed(task_id, node, self.now, "random failure"))
            else:
                self.send(TaskFinished(task_id, node, self.now))
        elif runnable and roll < 0.9:
            task_id = self.rng.choice(runnable)
            self.send(TaskStarted(task_id, self.where[task_id], self.now))
        elif not chaos:
            pass
        elif roll < 0.95:
            alive = [n.node_id for n in self.engine.nodes() if self.engine.node_alive(n.node_id)]
            if alive:
                self.send(NodeFailed(self.rng.choice(alive), self.now, "chaos"))
        else:
            dead = [n for n in self.engine.nodes() if not self.engine.node_alive(n.node_id)]
            if dead:
                self.send(NodeSnapshot(self.rng.choice(dead), self.now))
        return bool(runnable or running)

    def engine_spec_parents(self, task_id: str) -> list[str]:
        return list(self.specs[task_id].depends_on)

    specs: dict[str, TaskSpec]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    heuristic=st.sampled_from(list(Heuristic)),
    mode=st.sampled_from(["plan", "ready"]),
    insertion=st.booleans(),
    book_transfers=st.booleans(),
)
def test_invariants_hold_after_every_event(
    seed: int, heuristic: Heuristic, mode: str, insertion: bool, book_transfers: bool
) -> None:
    rng = random.Random(seed)
    config = EngineConfig(
        heuristic=heuristic,
        mode=mode,  # type: ignore[arg-type]
        insertion=insertion,
        max_attempts=3,
        book_transfers=book_transfers,
    )
    engine = PlacementEngine(config)
    driver = _Driver(engine, rng)
    driver.specs = {}
    fleet = _fleet(rng)
    for node in fleet:
        driver.send(NodeSnapshot(node, 0.0))
    for batch in range(rng.randint(1, 3)):
        tasks = _graph(rng, f"b{batch}-", list(driver.specs))
        driver.specs.update({t.task_id: t for t in tasks})
        driver.send(GraphSubmitted(tuple(tasks), driver.now))
        for _ in range(rng.randint(0, 40)):
            driver.step()
    # Bring every node back, then run to completion: everything ends done, abandoned or parked.
    for node in fleet:
        if not engine.node_alive(node.node_id):
            driver.send(NodeSnapshot(node, driver.now))
    while driver.step(chaos=False):
        pass
    final = {s.task_id: s.state for s in engine.tasks()}
    parked = set(engine.parked())
    for task_id, state in final.items():
        assert state in (TaskState.DONE, TaskState.ABANDONED) or (
            task_id in parked or state is TaskState.WAITING
        ), (task_id, state)
    assert driver.decision_ids == sorted(set(driver.decision_ids))
