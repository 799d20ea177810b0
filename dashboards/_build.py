"""Write every dashboard's Grafana JSON to a folder::

paths = build(Path("deploy/grafana/dashboards"))
"""

from __future__ import annotations

from pathlib import Path

from dashboards._containers import CONTAINERS
from dashboards._grafana import to_json
from dashboards._network import NETWORK
from dashboards._node import NODE_DETAIL
from dashboards._overview import OVERVIEW
from dashboards._pipeline import PIPELINE
from dashboards._scheduler import SCHEDULER
from dashboards._spec import DashboardSpec

__all__ = ["DASHBOARDS", "build"]

#: Every dashboard, in menu order.
DASHBOARDS: tuple[DashboardSpec, ...] = (
    OVERVIEW,
    NODE_DETAIL,
    CONTAINERS,
    NETWORK,
    PIPELINE,
    SCHEDULER,
)


def build(out_dir: Path) -> list[Path]:
    """Write ``<uid>.json`` for every dashboard into ``out_dir`` (created if missing).

    Args:
        out_dir: the folder Grafana's dashboard provider reads.

    Returns:
        The written files, in :data:`DASHBOARDS` order.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for spec in DASHBOARDS:
        path = out_dir / f"{spec.uid}.json"
        path.write_text(to_json(spec))
        paths.append(path)
    return paths
