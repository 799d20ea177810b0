"""Processes known by pid and start time, and children that die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from continuum._processes import ProcessIdentity, start_ticks, stop_all

_SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]

# A parent that starts one child through ManagedProcess, prints the child's pid, and waits.
_PARENT = """
import sys, time
from pathlib import Path
from continuum.services import ManagedProcess
child = ManagedProcess("sleeper", {argv!r}, Path({log!r}), die_with_parent={die!r})
child.start()
print(child.pid, flush=True)
time.sleep(120)
"""


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"{what} within {timeout_s} s")
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(_SLEEPER, start_new_session=True)
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def _orphan(tmp_path: Path, *, die: bool) -> ProcessIdentity:
    """SIGKILL a parent that started a child; return the child's identity."""
    script = _PARENT.format(argv=_SLEEPER, log=str(tmp_path / "child.log"), die=die)
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as parent:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        identity = ProcessIdentity.of(pid)
        assert identity is not None
        assert identity.alive()
        parent.send_signal(signal.SIGKILL)
    return identity


def test_a_child_started_to_die_with_its_parent_goes_when_the_parent_is_killed(
    tmp_path: Path,
) -> None:
    child = _orphan(tmp_path, die=True)
    took = _wait(lambda: not child.alive(), 10, "the child ends with its parent")
    assert took < 5


def test_without_the_parent_death_signal_the_child_is_orphaned(tmp_path: Path) -> None:
    child = _orphan(tmp_path, die=False)
    try:
        assert child.alive()  # what `continuum up` used to leave behind
    finally:
        assert child.stop(timeout_s=5)
    assert not child.alive()


def test_start_ticks_is_field_22_and_a_reaped_process_is_not_alive() -> None:
    child = subprocess.Popen(_SLEEPER)
    fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
    assert start_ticks(child.pid) == int(fields[19])
    identity = ProcessIdentity.of(child.pid)
    assert identity == ProcessIdentity(child.pid, int(fields[19]))
    child.kill()
    _wait(lambda: not identity.alive(), 5, "a killed child (a zombie) is not alive")
    child.wait()
    assert not identity.alive()


def test_a_reused_pid_is_never_signalled(sleeper: subprocess.Popen[bytes]) -> None:
    real = ProcessIdentity.of(sleeper.pid)
    assert real is not None
    impostor = ProcessIdentity(sleeper.pid, real.start_ticks + 1)
    assert not impostor.alive()
    assert not impostor.send(signal.SIGKILL)
    assert not impostor.stop(timeout_s=0.1, group=True)
    assert stop_all([impostor], timeout_s=0.1, group=True) == []
    assert sleeper.poll() is None
    assert real.alive()


def test_stop_all_ends_the_group_and_says_which_were_alive() -> None:
    # A leader whose own child ignores SIGTERM: the group sweep must still end it.
    script = (
        "import signal, subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(flush=True); time.sleep(120)'])\n"
        "time.sleep(120)\n"
    )
    leader = subprocess.Popen(
        [sys.executable, "-c", script], start_new_session=True, stdout=subprocess.PIPE
    )
    assert leader.stdout is not None
    leader.stdout.readline()  # the member has set SIG_IGN
    leader.stdout.close()
    members = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and int(p.name) != leader.pid and _pgid(int(p.name)) == leader.pid
    ]
    assert len(members) == 1
    identity = ProcessIdentity.of(leader.pid)
    member = ProcessIdentity.of(members[0])
    assert identity is not None
    assert member is not None
    assert stop_all([identity], timeout_s=2.0, group=True) == [identity]
    leader.wait(timeout=5)
    _wait(lambda: not member.alive(), 5, "the member that ignored SIGTERM ends")


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
