"""One attempt of one assignment, run in a child process and measured.

::

    outcome = run_attempt(assignment, Path("/tmp/worker"))
    outcome.cpu_s, outcome.peak_memory_bytes, outcome.read_bytes, outcome.output.stderr

The child inherits the worker's cgroup, so a lab node's CPU and memory limits hold for its tasks.
Its standard output and error go to files beside its spec; their tails (the assignment's
``max_output_bytes`` each, redacted) travel in the attempt's task event, as the local executor's
``LogCapture`` keeps them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from scheduler_api.executors._capture import TaskOutput, bound_text, secret_values
from scheduler_api.workflow._events import Assignment, TaskEvent

__all__ = ["Outcome", "run_attempt"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an attempt cost and returned."""

    ok: bool
    value: Any
    error: str
    started_s: float
    wall_s: float
    cpu_s: float
    peak_memory_bytes: int
    read_bytes: int
    written_bytes: int
    output: TaskOutput = field(default_factory=TaskOutput)
    fetched_bytes: int = 0
    published_bytes: int = 0

    def event(self, assignment: Assignment) -> TaskEvent:
        """The ``finished`` or ``failed`` task event of this attempt."""
        return TaskEvent(
            "finished" if self.ok else "failed",
            assignment.workflow,
            assignment.task,
            assignment.attempt,
            assignment.node,
            at_s=self.started_s + self.wall_s,
            started_s=self.started_s,
            wall_s=self.wall_s,
            cpu_s=self.cpu_s,
            peak_memory_bytes=self.peak_memory_bytes,
            read_bytes=self.read_bytes,
            written_bytes=self.written_bytes,
            error=self.error,
            value=self.value if self.ok else None,
            stdout=self.output.stdout,
            stderr=self.output.stderr,
            stdout_dropped_bytes=self.output.stdout_dropped_bytes,
            stderr_dropped_bytes=self.output.stderr_dropped_bytes,
            fetched_bytes=self.fetched_bytes,
            published_bytes=self.published_bytes,
        )


def run_attempt(assignment: Assignment, workdir: Path, data_dir: Path | None = None) -> Outcome:
    """Run the assignment in a child process, killed after its ``timeout_s``.

    ``data_dir`` holds the node's datasets: each input dataset found there reaches the task
    with its ``path`` set to the local copy.
    """
    stem = f"{assignment.workflow}-{assignment.task}-{assignment.attempt}".replace("/", "_")
    spec_path, result_path = workdir / f"{stem}.spec.json", workdir / f"{stem}.result.json"
    workdir.mkdir(parents=True, exist_ok=True)
    spec = asdict(assignment)
    if data_dir is not None:
        spec["data_dir"] = str(data_dir)
    spec_path.write_text(json.dumps(spec))
    result_path.unlink(missing_ok=True)
    with (
        (workdir / f"{stem}.stdout").open("w+b") as out,
        (workdir / f"{stem}.stderr").open("w+b") as err,
    ):
        # Unlinked at once: the open files hold the output, and nothing is left to clean up.
        for handle in (out, err):
            Path(handle.name).unlink()
        started_s, started = time.time(), time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "agents.worker._runner", str(spec_path), str(result_path)],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        timer = threading.Timer(assignment.timeout_s, child.kill)
        timer.start()
        try:
            # wait4, not Popen.wait: its rusage holds the task's CPU and peak RSS, children
            # included.
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        output = _tails(out, err, assignment)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall_s = time.monotonic() - started
    try:
        result = json.loads(result_path.read_text())
    except (OSError, ValueError):
        result = {"ok": False, "error": _death(child.returncode, assignment.timeout_s, wall_s)}
    finally:
        spec_path.unlink(missing_ok=True)
        result_path.unlink(missing_ok=True)
    return Outcome(
        ok=bool(result.get("ok")),
        value=result.get("value"),
        error=str(result.get("error", "")),
        started_s=started_s,
        wall_s=wall_s,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_memory_bytes=usage.ru_maxrss * 1024,  # Linux reports kilobytes
        read_bytes=int(result.get("read_bytes", 0)),
        written_bytes=int(result.get("written_bytes", 0)),
        output=output,
    )


def _tails(out: IO[bytes], err: IO[bytes], assignment: Assignment) -> TaskOutput:
    """The last ``max_output_bytes`` of each stream, redacted, with how much was dropped."""
    secrets = secret_values(assignment.redact_env)
    margin = max((len(s.encode()) for s in secrets), default=0)

    def tail(handle: IO[bytes], stream: str) -> tuple[str, int]:
        total = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, total - assignment.max_output_bytes - margin))
        return bound_text(handle.read(), total, stream, assignment.max_output_bytes, secrets)

    (stdout, out_dropped), (stderr, err_dropped) = tail(out, "stdout"), tail(err, "stderr")
    return TaskOutput(stdout, stderr, out_dropped, err_dropped)


def _death(code: int, timeout_s: float, wall_s: float) -> str:
    if code < 0 and wall_s >= timeout_s:
        return f"killed after its timeout of {timeout_s:g} s"
    if code == -9:
        return "killed (SIGKILL; out of memory in its cgroup?)"
    return f"the task process exited with status {code} before reporting"
