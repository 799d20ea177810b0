"""Everything a request handler needs, built once by the app factory."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scheduler_api._alerts import AlertBook
from scheduler_api._auth import TokenBook
from scheduler_api._cluster import Cluster
from scheduler_api._datasets import DatasetCatalogue
from scheduler_api._metrics import ApiMetrics
from scheduler_api._pending import PendingLedger
from scheduler_api._settings import ApiSettings
from scheduler_api._store import Database
from scheduler_api.ranking import Weights

__all__ = ["ApiContext"]


@dataclass
class ApiContext:
    """The app's long-lived parts (one per app, shared by every request)."""

    settings: ApiSettings
    tokens: TokenBook
    db: Database
    datasets: DatasetCatalogue
    alerts: AlertBook
    cluster: Cluster
    pending: PendingLedger
    metrics: ApiMetrics
    weights: Weights
    clock: Callable[[], float] = field(default=time.time)
