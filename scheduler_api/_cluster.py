"""The one cluster snapshot every request is answered from, refreshed in the background.

A refresh runs the snapshot queries (a handful, whatever the fleet size) and swaps in a new
immutable :class:`ClusterView`; requests only read the current view, so they never wait on
Prometheus. When Prometheus is down the last view keeps being served, with its age, until it is
older than ``max_age_s``; after that :meth:`Cluster.view` raises
:class:`SnapshotUnavailableError` with the reason (the routes turn it into a 503)::

    cluster = Cluster(PrometheusClient(url), alerts, metrics, interval_s=5, max_age_s=120)
    cluster.start()
    view = cluster.view()
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from scheduler_api._alerts import AlertBook
from scheduler_api._metrics import ApiMetrics
from scheduler_api._prometheus import (
    PrometheusClient,
    PrometheusError,
    PrometheusUnavailableError,
    Sample,
)
from scheduler_api._snapshot import SNAPSHOT_QUERIES, CpuWindow, build_network, build_nodes
from scheduler_api.ranking import Network, NodeSnapshot, NodeTable

__all__ = ["Cluster", "ClusterView", "SnapshotUnavailableError"]

log = logging.getLogger(__name__)

# A node that stopped reporting stays listed (as stale) this long before it is forgotten.
_FORGET_AFTER_S = 3600.0


class SnapshotUnavailableError(RuntimeError):
    """No snapshot fresh enough to answer from; the message says why."""


@dataclass(frozen=True)
class ClusterView:
    """One immutable snapshot of the fleet, with alert health applied.

    Attributes:
        nodes: every node, sorted by id.
        table: the same nodes as columns, for ranking.
        network: link costs between sites.
        taken_at_s: Unix time the data was fetched.
        refresh_error: why the latest refresh failed, when this view is older than it should be.
    """

    nodes: tuple[NodeSnapshot, ...]
    table: NodeTable
    network: Network
    taken_at_s: float
    refresh_error: str | None = None

    def age_s(self, now_s: float) -> float:
        return max(now_s - self.taken_at_s, 0.0)

    def node(self, node_id: str) -> NodeSnapshot | None:
        index = self.table.index.get(node_id)
        return None if index is None else self.nodes[index]


class Cluster:
    """Owner of the refresh loop and of the current view."""

    def __init__(
        self,
        client: PrometheusClient,
        alerts: AlertBook,
        metrics: ApiMetrics,
        *,
        interval_s: float,
        max_age_s: float,
        cpu_window: CpuWindow = "1m",
        clock: Callable[[], float] = time.time,
    ):
        self._client = client
        self._alerts = alerts
        self._metrics = metrics
        self.interval_s = interval_s
        self.max_age_s = max_age_s
        self.cpu_window: CpuWindow = cpu_window
        self._clock = clock
        self._lock = threading.Lock()
        self._base: dict[str, NodeSnapshot] = {}
        self._network = Network()
        self._taken_at_s: float | None = None
        self._error: str | None = None
        self._view: ClusterView | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- refreshing ---------------------------------------------------------------------

    def refresh(self) -> bool:
        """Fetch a new snapshot; on failure keep the last one and remember why."""
        started = time.perf_counter()
        try:
            answers: dict[str, list[Sample]] = {
                name: self._client.query(expr) for name, expr in SNAPSHOT_QUERIES.items()
            }
        except PrometheusError as err:
            reason = "unavailable" if isinstance(err, PrometheusUnavailableError) else "query"
            self._metrics.refresh_failures.labels(reason=reason).inc()
            message = f"Prometheus {reason}: {err}"
            with self._lock:
                if message != self._error:
                    log.warning("snapshot refresh failed, serving the last one: %s", message)
                self._error = message
                self._rebuild_locked()
            return False
        finally:
            self._metrics.refresh_duration.observe(time.perf_counter() - started)
        now_s = self._clock()
        fresh = {node.id: node for node in build_nodes(answers, self.cpu_window)}
        with self._lock:
            if self._error is not None:
                log.warning("snapshot refresh recovered")
            # Nodes that stopped reporting stay (they turn stale) until forgotten.
            for node_id, node in self._base.items():
                if node_id not in fresh and now_s - node.last_seen_s < _FORGET_AFTER_S:
                    fresh[node_id] = node
            self._base = fresh
            self._network = build_network(answers)
            self._taken_at_s = now_s
            self._error = None
            self._rebuild_locked()
        return True

    def alerts_changed(self) -> None:
        """Re-apply node health after the alert book changed."""
        with self._lock:
            self._rebuild_locked()

    def _rebuild_locked(self) -> None:
        unhealthy = self._alerts.unhealthy()
        self._metrics.unhealthy_nodes.set(len(unhealthy))
        if self._taken_at_s is None:
            return
        nodes = tuple(
            node
            if node.alerts == unhealthy.get(node.id, ())
            else dataclasses.replace(node, alerts=unhealthy.get(node.id, ()))
            for _, node in sorted(self._base.items())
        )
        self._view = ClusterView(
            nodes, NodeTable.build(nodes), self._network, self._taken_at_s, self._error
        )
        self._metrics.snapshot_nodes.set(len(nodes))

    # -- reading ------------------------------------------------------------------------

    def view(self) -> ClusterView:
        """The current view.

        Raises:
            SnapshotUnavailableError: no snapshot yet, or the last one is too old.
        """
        view = self._view
        now_s = self._clock()
        if view is None:
            raise SnapshotUnavailableError(
                "no cluster snapshot yet: " + (self._error or "the first refresh is running")
            )
        age_s = view.age_s(now_s)
        self._metrics.snapshot_age.set(age_s)
        if age_s > self.max_age_s:
            raise SnapshotUnavailableError(
                f"cluster snapshot is {age_s:.0f} s old (bound {self.max_age_s:.0f} s): "
                + (view.refresh_error or "refreshes are not keeping up")
            )
        return view

    @property
    def last_error(self) -> str | None:
        return self._error

    @property
    def client(self) -> PrometheusClient:
        """The store's query client, for reads beyond the snapshot (node history); shared
        with the refresh loop, which an httpx client allows."""
        return self._client

    # -- the loop -----------------------------------------------------------------------

    def start(self) -> None:
        """Refresh now and then every ``interval_s`` in a daemon thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="snapshot-refresh", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # a bug must not stop the loop; it is logged with its traceback
                log.exception("snapshot refresh crashed")
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        """Stop the loop (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._client.close()
