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
from scheduler_api.workflow._graph import check_graph, to_specs
from scheduler_api.workflow._history import (
    PlacementHistory,
    PlanRecord,
    TaskHistory,
    Transition,
)
from scheduler_api.workflow._session import RunRecord, Session, current_session, session, wait_on

if TYPE_CHECKING:
    from scheduler_api.workflow._gantt import write_gantt
    from scheduler_api.workflow._logs import LogRecordingExecutor, log_capture

__all__ = [
    "DEFAULT_WORK_S",
    "CostEstimate",
    "CostSource",
    "Dataset",
    "Future",
    "LogRecordingExecutor",
    "PlacementHistory",
    "PlanRecord",
    "RunRecord",
    "RunSample",
    "Session",
    "TaskCosts",
    "TaskFunction",
    "TaskHistory",
    "Transition",
    "WorkflowError",
    "check_graph",
    "constraint",
    "current_session",
    "depends",
    "estimate_work",
    "log_capture",
    "parse_size",
    "session",
    "storage",
    "task",
    "to_specs",
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
