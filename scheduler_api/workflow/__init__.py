"""A COMPSs-style workflow DSL: decorate functions, call them, wait on the results.

Calling a task records it and returns a future; passing a future to another task makes an edge.
``wait_on`` validates the graph (cycles, constraints no node meets), places it with the
placement engine and runs it on an executor::

    from scheduler_api.workflow import constraint, task, wait_on

    @task(work_s=0.2)
    def square(x: int) -> int:
        return x * x

    @constraint(cpu_cores=1, memory="256M")
    @task(work_s=0.05)
    def total(*values: int) -> int:
        return sum(values)

    if __name__ == "__main__":
        print(wait_on(total(*[square(i) for i in range(10)])))   # 285

PyCOMPSs's forms work as written: ``@task(returns=int)``, ``@task(returns=2)``,
``@constraint(computing_units=2, memory_size=2, storage_size=10)``, ``@storage("memory")``,
``@depends(other_task)``, and futures inside lists and tuples.

A task that declares no ``work_s`` is placed with the cost learned from its finished runs in
the placement history (``TaskCosts``), normalised by the speed of the nodes they ran on.

The pull executor's wire contract is public too: the one task-event record (``TaskEvent``),
the ``Assignment`` a worker runs and its ``WorkerHeartbeat``, with their topics, and the JSON
form of task values, in which datasets stay datasets (``to_wire``, ``from_wire``).

Outside ``continuum run`` the session is local to this machine; ``continuum run`` picks the
heuristic, the executor and the nodes (from the API when it is reachable).

Exceptions:
    Exception
    └── WorkflowError: a cycle, an unsatisfiable constraint, or a task that gave up.
"""

from typing import TYPE_CHECKING

from continuum._lazy import lazy_members
from scheduler_api.workflow._costs import (
    DEFAULT_WORK_S,
    CostEstimate,
    CostSource,
    RunSample,
    TaskCosts,
    estimate_work,
)
from scheduler_api.workflow._dsl import (
    Dataset,
    Future,
    TaskFunction,
    WorkflowError,
    constraint,
    depends,
    parse_size,
    storage,
    task,
)
from scheduler_api.workflow._events import (
    HEARTBEATS_TOPIC,
    TASK_EVENTS_TOPIC,
    Assignment,
    EventError,
    TaskEvent,
    WorkerHeartbeat,
    assignments_topic,
)
from scheduler_api.workflow._graph import check_graph, to_specs
from scheduler_api.workflow._history import (
    PlacementHistory,
    PlanRecord,
    TaskHistory,
    Transition,
)
from scheduler_api.workflow._session import RunRecord, Session, current_session, session, wait_on
from scheduler_api.workflow._wire import data_url, datasets_in, from_wire, map_datasets, to_wire

if TYPE_CHECKING:
    from scheduler_api.workflow._gantt import write_gantt
    from scheduler_api.workflow._logs import LogRecordingExecutor, log_capture

__all__ = [
    "DEFAULT_WORK_S",
    "HEARTBEATS_TOPIC",
    "TASK_EVENTS_TOPIC",
    "Assignment",
    "CostEstimate",
    "CostSource",
    "Dataset",
    "EventError",
    "Future",
    "LogRecordingExecutor",
    "PlacementHistory",
    "PlanRecord",
    "RunRecord",
    "RunSample",
    "Session",
    "TaskCosts",
    "TaskEvent",
    "TaskFunction",
    "TaskHistory",
    "Transition",
    "WorkerHeartbeat",
    "WorkflowError",
    "assignments_topic",
    "check_graph",
    "constraint",
    "current_session",
    "data_url",
    "datasets_in",
    "depends",
    "estimate_work",
    "from_wire",
    "log_capture",
    "map_datasets",
    "parse_size",
    "session",
    "storage",
    "task",
    "to_specs",
    "to_wire",
    "wait_on",
    "write_gantt",
]

# matplotlib (the chart) and the API's settings (the log store) load on first use.
__getattr__ = lazy_members(
    __name__,
    {
        "write_gantt": "scheduler_api.workflow._gantt",
        "LogRecordingExecutor": "scheduler_api.workflow._logs",
        "log_capture": "scheduler_api.workflow._logs",
    },
)
