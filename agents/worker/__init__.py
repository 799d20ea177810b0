"""The pull-mode worker (``continuum agent worker``): runs its node's tasks from Kafka.

It takes the assignments addressed to its node (topic ``continuum.tasks.<node>``) over the
same outbound connection the telemetry uses, runs each in a child process inside the node's
cgroup, and reports started, finished and failed task events (``continuum.task_events``) with
wall time, CPU time, peak memory and bytes read and written, plus a heartbeat every second::

    agents.worker.run(Path("continuum.yaml"))     # blocks until SIGINT or SIGTERM

Reads sections ``identity``, ``kafka`` and ``worker``. Task data moves over HTTP: each worker
fetches its tasks' input datasets from the places the executor names (peers' data servers, a
store), serves its node's datasets to peers where it can be reached (``worker.data.listen``),
and puts outputs in a store (``serve_store``, ``continuum agent store``) where it cannot.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from continuum._lazy import lazy_members

if TYPE_CHECKING:
    from agents.worker._execute import Outcome, run_attempt
    from agents.worker._settings import WorkerSettings
    from agents.worker._worker import Worker

__all__ = ["Outcome", "Worker", "WorkerSettings", "run", "run_attempt", "serve_store"]

_log = logging.getLogger(__name__)
# Imported on first use: each attempt's process (``python -m agents.worker._runner``) imports
# this package, and on a fraction of a core the worker's own imports would cost the task a
# third of a CPU second.
_LAZY = {
    "Outcome": "agents.worker._execute",
    "run_attempt": "agents.worker._execute",
    "WorkerSettings": "agents.worker._settings",
    "Worker": "agents.worker._worker",
}


__getattr__ = lazy_members(__name__, _LAZY)


def _until_signalled() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def serve_store(config_file: Path | None, directory: Path, listen: str) -> None:
    """Serve a writable data store (``GET``/``PUT /v1/data/<id>``) until SIGINT or SIGTERM.

    Its token and TLS files are those of the ``worker.data`` section.

    Raises:
        ConfigError: a setting is invalid (the message names the key).
        ValueError: ``listen`` is not ``host:port``.
    """
    from agents._otel import load_section, parse_listen
    from agents.worker._data import DataDirectory
    from agents.worker._settings import WorkerSettings, check_data_token
    from agents.worker._worker import start_data_server

    data = load_section(WorkerSettings, "worker", config_file).data
    try:
        host, _port = parse_listen(listen)
    except ValueError as err:
        raise ValueError(f"--listen: {err}") from None
    check_data_token(data.token_file, listen, "worker.data.token_file")
    store = DataDirectory(directory)
    server = start_data_server(data, store, listen, key="--listen", writable=True)
    _log.info("data store of %s on %s://%s:%d", directory, server.scheme, host, server.port)
    _until_signalled().wait()
    server.stop()


def run(config_file: Path | None) -> None:
    """Run the worker until SIGINT or SIGTERM, letting running attempts finish.

    Raises:
        ConfigError: a setting is invalid (the message names the key).
    """
    from agents._otel import IdentitySettings, KafkaSettings, load_section
    from agents.node._cgroup_limits import cgroup_limits
    from agents.worker._settings import WorkerSettings
    from agents.worker._worker import Worker

    identity = load_section(IdentitySettings, "identity", config_file)
    kafka = load_section(KafkaSettings, "kafka", config_file)
    settings = load_section(WorkerSettings, "worker", config_file)
    limits = cgroup_limits(Path("/proc"), Path("/sys"))
    capacity = limits.cpu_cores or float(os.cpu_count() or 1)
    worker = Worker(identity.node_id, kafka, settings, cpu_capacity=capacity)
    stop = _until_signalled()
    _log.info("worker for node %s taking assignments", identity.node_id)
    worker.run(stop)
