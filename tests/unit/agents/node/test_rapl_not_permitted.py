"""RAPL zones the agent may not read say so (source ``rapl`` not_permitted) and log the fix once.

Kernels since 5.10 make ``energy_uj`` readable by root only, so an agent running as its own user
is refused. Here the collector runs in a child process against a copy of sysfs whose counter it
may not read: as root, the counter belongs to ``nobody`` (mode 0400) and the child runs without
the capabilities that let root read any file; as anyone else, the counter has mode 0000.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.node._sensors import RAPL_FIX, SensorsCollector
from tests.unit.agents.node.fakes import SYS

_REPO = Path(__file__).resolve().parents[4]
_NOBODY = 65534

# Two cycles in one collector: the warning must come once, the state every cycle.
_CHILD = """
import json, logging, sys
from pathlib import Path
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
from agents.node._sensors import SensorsCollector
collector = SensorsCollector(Path(sys.argv[1]))
cycles = [
    [[r.instrument, r.value, r.attributes] for r in collector.collect()] for _ in range(2)
]
print(json.dumps(cycles))
"""


@pytest.fixture
def root_only_rapl(tmp_path: Path) -> Iterator[Path]:
    sys_root = Path(shutil.copytree(SYS, tmp_path / "sys"))
    counter = sys_root / "class" / "powercap" / "intel-rapl:0" / "energy_uj"
    if os.geteuid() == 0:
        os.chown(counter, _NOBODY, _NOBODY)
        counter.chmod(0o400)
    else:
        counter.chmod(0o000)
    yield sys_root
    counter.chmod(0o600)


def _collect_unprivileged(sys_root: Path) -> tuple[list[list[list[object]]], str]:
    argv = [sys.executable, "-c", _CHILD, str(sys_root)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to drop root's file capabilities")
        # Root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH obeys file modes.
        argv = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", *argv]
    child = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        cwd=_REPO,
        env={**os.environ, "PYTHONPATH": str(_REPO)},
        check=True,
        timeout=60,
    )
    cycles: list[list[list[object]]] = json.loads(child.stdout)
    return cycles, child.stderr


def _rapl_states(cycle: list[list[object]]) -> list[tuple[object, object]]:
    return [
        (value, attributes["continuum.hw.source.state"])  # type: ignore[index]
        for instrument, value, attributes in cycle
        if instrument == "continuum.hw.source.available"
        and attributes["continuum.hw.source"] == "rapl"  # type: ignore[index]
    ]


def test_unreadable_rapl_is_reported_not_permitted_with_the_fix_once(
    root_only_rapl: Path,
) -> None:
    cycles, log = _collect_unprivileged(root_only_rapl)
    for cycle in cycles:
        assert _rapl_states(cycle) == [(0.0, "not_permitted")]
        assert not [r for r in cycle if r[0] == "hw.energy"]
    warnings = [line for line in log.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, log
    assert RAPL_FIX in warnings[0]


def test_readable_rapl_is_reported_ok() -> None:
    readings = SensorsCollector(SYS).collect()
    states = [
        (r.value, r.attributes["continuum.hw.source.state"])
        for r in readings
        if r.instrument == "continuum.hw.source.available"
    ]
    assert states == [(1.0, "ok")]
    assert [r for r in readings if r.instrument == "hw.energy"]
