"""Free space where the node keeps task data: what a task's inputs and outputs must fit in.

The data path is the node agent's ``data_path`` setting (``/`` by default): the directory
workers stage inputs into. The scheduler checks a task's ``disk_bytes`` against the space an
unprivileged writer may still use there (``f_bavail``, not ``f_bfree``: the blocks reserved
for root are not the tasks')::

    collector = DataPathCollector(Path("/var/lib/continuum"))
    [available, limit] = collector.collect()
    available.attributes  # {"continuum.data_path": "/var/lib/continuum"}
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from agents._otel import InstrumentKind, InstrumentSpec, Reading

__all__ = ["DATA_PATH_ATTRIBUTE", "DataPathCollector"]

#: Attribute naming the data path on both series.
DATA_PATH_ATTRIBUTE = "continuum.data_path"


class DataPathCollector:
    """Bytes available to tasks, and the size of the filesystem, on the node's data path.

    Args:
        data_path: the directory task data lives in.
        statvfs: ``os.statvfs`` (tests pass a fake).
    """

    name = "data_path"
    instruments = (
        InstrumentSpec(
            "continuum.node.data_path.available",
            InstrumentKind.GAUGE,
            "By",
            "Bytes an unprivileged writer may still use on the filesystem of the data path.",
        ),
        InstrumentSpec(
            "continuum.node.data_path.limit",
            InstrumentKind.GAUGE,
            "By",
            "Size of the filesystem holding the data path.",
        ),
    )

    def __init__(
        self, data_path: Path, statvfs: Callable[[str], os.statvfs_result] = os.statvfs
    ) -> None:
        self._path = str(data_path)
        self._statvfs = statvfs

    def collect(self) -> list[Reading]:
        """Read the data path's filesystem (raises ``OSError`` when it is missing)."""
        stat = self._statvfs(self._path)
        attributes = {DATA_PATH_ATTRIBUTE: self._path}
        return [
            Reading(
                "continuum.node.data_path.available",
                float(stat.f_bavail * stat.f_frsize),
                attributes,
            ),
            Reading(
                "continuum.node.data_path.limit", float(stat.f_blocks * stat.f_frsize), attributes
            ),
        ]
