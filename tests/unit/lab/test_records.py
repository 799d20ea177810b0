"""The lab's record: saved as it grows, read back, and processes known by pid and start time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from continuum.lab import LabRecord, ProcessRecord


def test_a_record_round_trips_and_adds_each_resource_once(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    record = LabRecord(name="lab")
    record.add("namespaces", "continuum-lab-router", path)
    record.add("namespaces", "continuum-lab-router", path)
    record.processes.append(ProcessRecord(123, 456, "edge-1", "agent"))
    record.save(path)
    loaded = LabRecord.load(path)
    assert loaded == record
    assert loaded is not None
    assert loaded.namespaces == ["continuum-lab-router"]
    assert LabRecord.load(tmp_path / "missing.json") is None


def test_a_process_is_itself_only_while_pid_and_start_time_agree() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        record = ProcessRecord.of(child.pid, node="n", role="agent")
        assert record.alive()
        impostor = ProcessRecord(child.pid, record.start_ticks + 1, "n", "agent")
        assert not impostor.alive()
        impostor.stop()  # not the same process: left alone
        assert child.poll() is None
        record.stop(timeout_s=5.0)
        assert not record.alive()
    finally:
        child.kill()
        child.wait()
