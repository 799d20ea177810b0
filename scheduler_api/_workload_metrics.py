"""Workload distribution on the API's ``/metrics``, so dashboards graph it over time.

Computed from the placement history at each scrape (``scheduler_api.workflow._workload``):

- ``continuum_api_workload_tasks{node, state}``: tasks running and queued on each node;
- ``continuum_api_workload_placements{node}``: placements onto each node in the last bucket
  (five minutes), so its graph is placements per node over time;
- ``continuum_api_workload_share{node, workflow}``: each workflow's share of the node's busy
  time over the last hour;
- ``continuum_api_workflow_efficiency{workflow, resource}``: CPU seconds over requested
  core-seconds (``cpu``) and peak over requested memory (``memory``) of the runs of the last
  hour, from their attempt records (``scheduler_api.workflow._efficiency``);
- ``continuum_api_task_idle_core_seconds{workflow, task}``: the ten tasks of those runs that held
  the most requested cores idle.

::

    metrics.registry.register(
        WorkloadCollector(lambda: PlacementHistory(db), time.time, lambda: TaskLogStore(db, s))
    )
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from scheduler_api.workflow import PlacementHistory, PlanRecord
from scheduler_api.workflow._efficiency import (
    TaskEfficiency,
    most_over_requested,
    task_efficiency,
    workflow_efficiency,
)
from scheduler_api.workflow._logs import TaskLogStore
from scheduler_api.workflow._workload import node_workload

__all__ = ["WorkloadCollector"]

_log = logging.getLogger(__name__)

#: The share window, the placement bucket and how many history records a scrape reads.
SHARE_WINDOW_S = 3600.0
PLACEMENT_BUCKET_S = 300.0
PLANS_READ = 200
#: Rows of the most over-requested tasks.
OVER_REQUESTED_SHOWN = 10


class WorkloadCollector(Collector):
    """A prometheus_client collector over the placement history.

    Args:
        history: gives the placement history (opened lazily: the schema is the history's).
        clock: Unix time source.
        attempts: gives the attempt records, for the efficiency figures (none without).
    """

    def __init__(
        self,
        history: Callable[[], PlacementHistory],
        clock: Callable[[], float],
        attempts: Callable[[], TaskLogStore] | None = None,
    ):
        self._history = history
        self._clock = clock
        self._attempts = attempts
        self._failing = False

    def describe(self) -> Iterator[Metric]:
        return iter(())  # families carry labels only known at scrape time

    def collect(self) -> Iterator[Metric]:
        now = self._clock()
        try:
            history = self._history()
            records = [r for p in history.list_plans(PLANS_READ) if (r := history.get(p.plan_id))]
            recent = [r for r in records if r.created_at_s >= now - SHARE_WINDOW_S]
            by_run = self._efficiency(recent)
        except Exception as err:  # any database error: the scrape keeps its other metrics
            if not self._failing:
                _log.warning("workload metrics skipped until the history reads again: %s", err)
            self._failing = True
            return
        self._failing = False
        view = node_workload(
            records, since_s=now - SHARE_WINDOW_S, until_s=now, bucket_s=PLACEMENT_BUCKET_S
        )
        tasks = GaugeMetricFamily(
            "continuum_api_workload_tasks",
            "Tasks running and queued on each node, from the placement history.",
            labels=("node", "state"),
        )
        placements = GaugeMetricFamily(
            "continuum_api_workload_placements",
            "Placements onto each node in the last five minutes.",
            labels=("node",),
        )
        share = GaugeMetricFamily(
            "continuum_api_workload_share",
            "Each workflow's share of a node's busy time over the last hour.",
            labels=("node", "workflow"),
        )
        for node in view.values():
            tasks.add_metric((node.node, "running"), node.running)
            tasks.add_metric((node.node, "queued"), node.queued)
            placements.add_metric((node.node,), node.placements[-1])
            for part in node.shares:
                share.add_metric((node.node, part.workflow_id), part.share)
        yield from (tasks, placements, share, *self._efficiency_families(by_run))

    def _efficiency(self, runs: list[PlanRecord]) -> dict[str, list[TaskEfficiency]]:
        if self._attempts is None:
            return {}
        store = self._attempts()
        return {r.plan_id: task_efficiency(r.plan_id, store.get(r.plan_id)) for r in runs}

    @staticmethod
    def _efficiency_families(by_run: dict[str, list[TaskEfficiency]]) -> list[Metric]:
        efficiency = GaugeMetricFamily(
            "continuum_api_workflow_efficiency",
            "Used over requested, per workflow run of the last hour: CPU seconds over requested "
            "core-seconds (cpu), peak over requested memory (memory).",
            labels=("workflow", "resource"),
        )
        idle = GaugeMetricFamily(
            "continuum_api_task_idle_core_seconds",
            "Requested core-seconds the most over-requested tasks of the last hour left unused.",
            labels=("workflow", "task"),
        )
        for run_id, run_tasks in by_run.items():
            total = workflow_efficiency(run_id, run_tasks)
            for resource, value in (
                ("cpu", total.cpu_efficiency),
                ("memory", total.memory_efficiency),
            ):
                if value is not None:
                    efficiency.add_metric((run_id, resource), value)
        every = [t for run_tasks in by_run.values() for t in run_tasks]
        for worst in most_over_requested(every, OVER_REQUESTED_SHOWN):
            idle.add_metric((worst.workflow_id, worst.task_id), worst.idle_core_s)
        return [efficiency, idle]
