"""Settings of the pull-mode worker: section ``worker`` of continuum.yaml.

Example::

    worker:
      workdir: /var/lib/continuum/worker
      max_parallel: 0        # 0: the node's CPU capacity (its cgroup limit), at least 1
      heartbeat_s: 1

Every key can be overridden from the environment (``CONTINUUM_WORKER__HEARTBEAT_S=2``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from msgspec import Meta, Struct, field

__all__ = ["WorkerSettings"]


def _default_workdir() -> Path:
    return Path(tempfile.gettempdir()) / "continuum-worker"


class WorkerSettings(Struct, kw_only=True, forbid_unknown_fields=True):
    """The ``worker`` section.

    Attributes:
        workdir: where attempts keep their spec and result files.
        max_parallel: attempts run at once (0: the node's CPU capacity, rounded up).
        heartbeat_s: seconds between two heartbeats (the executor's liveness signal).
        poll_ms: longest wait for new assignments in one poll.
    """

    workdir: Path = field(default_factory=_default_workdir)
    max_parallel: Annotated[int, Meta(ge=0, le=256)] = 0
    heartbeat_s: Annotated[float, Meta(gt=0.0, le=60.0)] = 1.0
    poll_ms: Annotated[int, Meta(ge=10, le=10_000)] = 500
