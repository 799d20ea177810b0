"""Start a program inside a lab node: its network namespace and its cgroup.

``ip netns exec`` would also remount ``/sys``, which hides ``/sys/fs/cgroup`` from the program
(the node agent reads its limits there), so this enters only the network namespace, with
``setns(2)``, joins the cgroup, and ``exec``\\ s::

    python -m continuum.lab._enter --netns continuum-lab-edge-1 \\
        --procs /sys/fs/cgroup/cpu/lab/edge-1/cgroup.procs -- continuum agent node
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["enter_argv", "main"]

_CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")


def enter_argv(namespace: str, procs_files: Sequence[Path], argv: Sequence[str]) -> list[str]:
    """The command line that runs ``argv`` inside a node."""
    out = [sys.executable, "-m", "continuum.lab._enter", "--netns", namespace]
    for path in procs_files:
        out += ["--procs", str(path)]
    return [*out, "--", *argv]


def _setns(namespace: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(NETNS_DIR / namespace, os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({namespace}): {os.strerror(err)}")
    finally:
        os.close(fd)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="continuum.lab._enter")
    parser.add_argument("--netns", required=True)
    parser.add_argument("--procs", action="append", default=[], type=Path)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    # The cgroup first: everything after, the exec'd program included, is charged to the node.
    for procs in args.procs:
        procs.write_text(str(os.getpid()))
    _setns(args.netns)
    os.execvp(command[0], command)  # noqa: S606 - argv as given, no shell


if __name__ == "__main__":
    main()
