"""Benchmark results kept as data: one JSON line per run in ``bench/results/<bench>.jsonl``.

Every ``continuum bench ...`` ends its output with one JSON object of its figures. With
``--results`` that object is appended to the bench's file together with what makes it
reproducible and comparable: the command line, the git commit it ran on, the date and the
machine's core count. ``continuum bench report`` renders docs/benchmarks.md's tables from these
files only, so every figure there has a stored line and a command::

    record = make_record("agent", "continuum bench agent --runs 5", {"cpu_ratio": 0.9})
    path = append_record(RESULTS_DIR, record)     # bench/results/agent.jsonl
    latest = load_records(RESULTS_DIR)["agent"][-1]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "RESULTS_DIR",
    "ResultRecord",
    "append_record",
    "git_commit",
    "last_json_object",
    "load_records",
    "make_record",
]

#: Where the repository keeps its benchmark results (next to the benches themselves).
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class ResultRecord:
    """One stored run of a bench: its figures and where, when and how it ran."""

    bench: str
    command: str
    commit: str
    date: str
    cores: int
    result: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(
            {
                "bench": self.bench,
                "command": self.command,
                "commit": self.commit,
                "date": self.date,
                "cores": self.cores,
                "result": self.result,
            },
            sort_keys=False,
        )

    @classmethod
    def from_json(cls, line: str) -> ResultRecord:
        data = json.loads(line)
        return cls(
            bench=str(data["bench"]),
            command=str(data["command"]),
            commit=str(data["commit"]),
            date=str(data["date"]),
            cores=int(data["cores"]),
            result=dict(data["result"]),
        )


def git_commit(repository: Path = RESULTS_DIR.parent.parent) -> str:
    """The checked-out commit (``unknown`` outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(repository), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def make_record(
    bench: str, command: str, result: dict[str, Any], commit: str | None = None
) -> ResultRecord:
    """A record of ``result`` stamped with the commit, the UTC date and the core count.

    Args:
        commit: the commit the run started on (default: the one checked out now); a run of
            minutes should pass the one it started on, in case the checkout moves meanwhile.
    """
    return ResultRecord(
        bench=bench,
        command=command,
        commit=commit if commit is not None else git_commit(),
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        cores=os.cpu_count() or 1,
        result=result,
    )


def append_record(directory: Path, record: ResultRecord) -> Path:
    """Append ``record`` as one line to ``directory/<bench>.jsonl``; returns that path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record.bench}.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(record.to_json() + "\n")
    return path


def load_records(directory: Path) -> dict[str, list[ResultRecord]]:
    """Every stored record by bench name, oldest first; a missing directory holds none.

    Raises:
        ValueError: a line that is not a record, naming its file and line number.
    """
    records: dict[str, list[ResultRecord]] = {}
    if not directory.is_dir():
        return records
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = ResultRecord.from_json(line)
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"{path}:{number}: not a bench result record ({err})") from err
            records.setdefault(path.stem, []).append(record)
    return records


def last_json_object(output: str) -> dict[str, Any] | None:
    """The last line of ``output`` that holds a JSON object (a bench's figures), if any."""
    for line in reversed(output.splitlines()):
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None
