"""Run one assignment in a fresh process and write what came of it, with its I/O counters.

The worker starts ``python -m agents.worker._runner SPEC RESULT`` per attempt and reaps it with
``wait4(2)``, which yields the CPU time and peak RSS of this process and everything it waited
for. Bytes read and written come from ``/proc/self/io`` here, after the task's own children are
reaped: the kernel adds a reaped child's counters to its parent's (``wait_task_zombie``), so a
command's I/O is counted too.
"""

from __future__ import annotations

import importlib
import json
import runpy
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

__all__ = ["io_counters", "main", "resolve_function"]

_STDERR_TAIL_CHARS = 4000


def io_counters(proc_self: Path = Path("/proc/self/io")) -> tuple[int, int]:
    """(bytes read, bytes written) by this process and its reaped children."""
    try:
        fields = dict(line.split(": ", 1) for line in proc_self.read_text().splitlines())
    except OSError:
        return 0, 0
    return int(fields.get("rchar", 0)), int(fields.get("wchar", 0))


def resolve_function(module: str, file: str, qualname: str) -> Any:
    """The callable a task names, by module, else by the workflow script's path."""
    namespace: dict[str, Any]
    if module and module != "__main__":
        try:
            namespace = vars(importlib.import_module(module))
        except ModuleNotFoundError:
            if not file:
                raise
            namespace = runpy.run_path(file, run_name="__continuum_task__")
    else:
        namespace = runpy.run_path(file, run_name="__continuum_task__")
    head, *rest = qualname.split(".")
    target: Any = namespace[head]
    for part in rest:
        target = getattr(target, part)
    # A workflow task wrapper runs its plain function; anything else is called as is.
    return getattr(target, "run_inline", target)


def _with_local_copies(spec: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """The task's arguments, each dataset in them pointing at its copy in the data directory.

    The wire format is read only when a dataset travels (the spec marks it), so a task
    without datasets does not pay for the workflow package's import.
    """
    args, kwargs = spec.get("args", []), spec.get("kwargs", {})
    if "__dataset__" not in json.dumps([args, kwargs]):
        return args, kwargs
    import dataclasses

    from scheduler_api.workflow._wire import from_wire

    held = Path(spec.get("data_dir") or ".")

    def local(dataset: Any) -> Any:
        copy = held / dataset.dataset_id
        return dataclasses.replace(dataset, path=str(copy)) if copy.is_file() else dataset

    return from_wire(args, local), from_wire(kwargs, local)


def _result_value(value: Any) -> Any:
    """The task's result as JSON, its datasets marked (the DSL is loaded if it made any)."""
    if "scheduler_api.workflow._dsl" in sys.modules:
        from scheduler_api.workflow._wire import to_wire

        value = to_wire(value)
    json.dumps(value)  # a result that cannot travel back is the task's failure, said here
    return value


def _run(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("argv"):
        done = subprocess.run(spec["argv"], capture_output=True, text=True, check=False)
        # Passed on to this process's streams, which the worker keeps as the attempt's output.
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            tail = done.stderr[-_STDERR_TAIL_CHARS:].strip()
            return {"ok": False, "error": f"exit status {done.returncode}: {tail}"}
        return {"ok": True, "value": done.stdout[-_STDERR_TAIL_CHARS:]}
    function = resolve_function(spec.get("module", ""), spec.get("file", ""), spec["function"])
    args, kwargs = _with_local_copies(spec)
    return {"ok": True, "value": _result_value(function(*args, **kwargs))}


def main(argv: list[str] | None = None) -> int:
    spec_path, result_path = (argv or sys.argv[1:])[:2]
    spec = json.loads(Path(spec_path).read_text())
    try:
        result = _run(spec)
    except Exception as err:  # the task's failure is data for the worker to report
        result = {"ok": False, "error": "".join(traceback.format_exception(err)).strip()}
    result["read_bytes"], result["written_bytes"] = io_counters()
    Path(result_path).write_text(json.dumps(result))
    sys.stdout.flush()
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
