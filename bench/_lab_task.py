"""The body of every task `continuum bench placement --lab` runs on a lab node's worker.

It reads its input files from the bench's file store, burns its scaled CPU time, and writes
its output files of their scaled sizes back, so the data crosses the node's shaped link both
ways. Standard library only: each attempt starts a fresh interpreter on a fraction of a core.

WfCommons' own task program, ``wfbench`` (wfcommons 1.6), cannot serve here: its CPU work is
``stress-ng --monte-carlo``, which this machine's stress-ng (0.15.06) does not have, and wfbench
still exits 0 after the stressor fails, so its tasks would read and write but never compute.
"""

from __future__ import annotations

import time
import urllib.request
from typing import Any

__all__ = ["burn", "run_task"]

_CHUNK = 1 << 16
_TIMEOUT_S = 600.0


def burn(cpu_s: float) -> None:
    """Busy work costing ``cpu_s`` of CPU time, so the node's quota decides how long it takes."""
    end = time.process_time() + cpu_s
    while time.process_time() < end:
        pass


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
        got = 0
        while chunk := response.read(_CHUNK):
            got += len(chunk)
    return got


def _put(url: str, size: int) -> None:
    request = urllib.request.Request(url, data=b"\0" * size, method="PUT")
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S):
        pass


def run_task(spec: dict[str, Any], *parents: Any) -> dict[str, int]:
    """Read ``spec["inputs"]``, burn ``spec["cpu_s"]``, write ``spec["outputs"]``.

    Args:
        spec: ``store`` (the store's URL prefix for this run), ``inputs`` (file names),
            ``outputs`` (``[name, bytes]`` pairs) and ``cpu_s``.
        parents: the parent tasks' results (they order the tasks; the data is in the store).

    Returns:
        Bytes read and written over the link.
    """
    store = spec["store"].rstrip("/")
    read = sum(_get(f"{store}/{name}") for name in spec["inputs"])
    burn(float(spec["cpu_s"]))
    written = 0
    for name, size in spec["outputs"]:
        _put(f"{store}/{name}", int(size))
        written += int(size)
    return {"read": read, "written": written}
