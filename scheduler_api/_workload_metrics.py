"""Workload distribution on the API's ``/metrics``, so dashboards graph it over time.

Computed from the placement history at each scrape (``scheduler_api.workflow._workload``):

- ``continuum_api_workload_tasks{node, state}``: tasks running and queued on each node;
- ``continuum_api_workload_placements{node}``: placements onto each node in the last bucket
  (five minutes), so its graph is placements per node over time;
- ``continuum_api_workload_share{node, workflow}``: each workflow's share of the node's busy
  time over the last hour.

::

    metrics.registry.register(WorkloadCollector(lambda: PlacementHistory(db), clock=time.time))
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from scheduler_api.workflow import PlacementHistory
from scheduler_api.workflow._workload import node_workload

__all__ = ["WorkloadCollector"]

_log = logging.getLogger(__name__)

#: The share window, the placement bucket and how many history records a scrape reads.
SHARE_WINDOW_S = 3600.0
PLACEMENT_BUCKET_S = 300.0
PLANS_READ = 200


class WorkloadCollector(Collector):
    """A prometheus_client collector over the placement history.

    Args:
        history: gives the placement history (opened lazily: the schema is the history's).
        clock: Unix time source.
    """

    def __init__(self, history: Callable[[], PlacementHistory], clock: Callable[[], float]):
        self._history = history
        self._clock = clock
        self._failing = False

    def describe(self) -> Iterator[Metric]:
        return iter(())  # families carry labels only known at scrape time

    def collect(self) -> Iterator[Metric]:
        try:
            history = self._history()
            records = [r for p in history.list_plans(PLANS_READ) if (r := history.get(p.plan_id))]
        except Exception as err:  # any database error: the scrape keeps its other metrics
            if not self._failing:
                _log.warning("workload metrics skipped until the history reads again: %s", err)
            self._failing = True
            return
        self._failing = False
        now = self._clock()
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
        yield from (tasks, placements, share)
