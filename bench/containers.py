"""`continuum bench containers`: container agent cost per cycle against the number of containers.

Creates N real cgroups (N = 10, 100, 500 by default) in runtime-shaped paths in every hierarchy
of the node (Kubernetes burstable pods with ``cri-containerd-<id>.scope`` groups and
``system.slice/docker-<id>.scope`` groups), each holding one sleeping process in its own network
namespace, then measures per cycle, as CPU time of this process (all threads):

- ``agent``: a full agent cycle as the daemon runs it by default, push on: collect, publish,
  encode the OTLP export and deliver it to a Kafka broker (a local Tansu the bench starts),
  then render ``/metrics`` once, as one scrape does; the cycle's clock stops when the broker has
  acknowledged its export;
- ``collector``: discovery, reading and readings alone;
- ``baseline``: exactly the system calls the agent's steady cycle makes to read its data,
  recorded from one agent cycle and replayed bare: the same directory listings, the same files
  opened and read once each, the same namespace ``stat`` calls, with nothing parsed (the
  least any reader of the same data can do).

Prints a table, writes the curve as a PNG, and ends with one JSON line::

    sudo continuum bench containers --counts 10,100,500 --cycles 15 --plot docs/bench-containers.png
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import click
from prometheus_client.exposition import generate_latest
from rich.console import Console
from rich.table import Table

from continuum.services import TansuBroker, free_port, wait_until

__all__ = ["command"]

_READ_SIZE = 65536  # what the agent's reader asks of each file (agents/containers/_reader.py)
_DELIVERY_TIMEOUT_S = 30.0


class _Fleet:
    """Real cgroups with one sleeping process each, removed on exit."""

    def __init__(self, roots: list[Path], netns: bool) -> None:
        self.roots = roots
        self.netns = netns
        self.created: list[Path] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    def _mkdir(self, rel: str) -> list[Path]:
        groups = []
        for root in self.roots:
            path = root
            for part in rel.split("/"):
                path = path / part
                if not path.exists():
                    path.mkdir()
                    self.created.append(path)
            groups.append(path)
        return groups

    def grow(self, count: int) -> None:
        while len(self.processes) < count:
            cid = secrets.token_hex(32)
            if len(self.processes) % 2 == 0:
                uid = secrets.token_hex(16)
                uid = "_".join((uid[:8], uid[8:12], uid[12:16], uid[16:20], uid[20:]))
                pod = f"kubepods-burstable.slice/kubepods-burstable-pod{uid}.slice"
                rel = f"kubepods.slice/{pod}/cri-containerd-{cid}.scope"
            else:
                rel = f"system.slice/docker-{cid}.scope"
            groups = self._mkdir(rel)
            argv = ["sleep", "3600"]
            if self.netns:
                argv = ["unshare", "--net", *argv]
            process = subprocess.Popen(argv)
            self.processes.append(process)
            for group in groups:
                (group / "cgroup.procs").write_text(str(process.pid))

    def close(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGKILL)
        for process in self.processes:
            process.wait()
        for path in sorted(self.created, key=lambda p: len(p.parts), reverse=True):
            deadline = time.monotonic() + 10
            while path.exists():
                try:
                    path.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)


@contextmanager
def _fleet(roots: list[Path], netns: bool) -> Iterator[_Fleet]:
    fleet = _Fleet(roots, netns)
    try:
        yield fleet
    finally:
        fleet.close()


def _cpu_ms(action: Callable[[], Any], cycles: int) -> tuple[float, float]:
    """Median CPU and wall milliseconds of ``action`` over ``cycles`` runs (after one warm-up)."""
    action()
    cpu, wall = [], []
    for _ in range(cycles):
        c0, w0 = time.process_time(), time.perf_counter()
        action()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return statistics.median(cpu), statistics.median(wall)


@dataclass(frozen=True)
class _Reads:
    """The system calls one agent cycle made to read its data."""

    listed: list[str]
    opened: list[str]
    statted: list[str]


def _record_reads(cycle: Callable[[], Any]) -> _Reads:
    """Run ``cycle`` once with ``os.scandir``, ``os.open`` and ``os.stat`` recorded."""
    with (
        mock.patch.object(os, "scandir", wraps=os.scandir) as scandir,
        mock.patch.object(os, "open", wraps=os.open) as opener,
        mock.patch.object(os, "stat", wraps=os.stat) as stat,
    ):
        cycle()

    def paths(calls: list[Any]) -> list[str]:
        # Paths only: a call on a file descriptor reads nothing new.
        return [os.fspath(c.args[0]) for c in calls if isinstance(c.args[0], str | os.PathLike)]

    return _Reads(
        listed=paths(scandir.call_args_list),
        opened=paths(opener.call_args_list),
        statted=paths(stat.call_args_list),
    )


def _baseline(reads: _Reads) -> Callable[[], None]:
    """The recorded calls replayed bare: list, open and read once, stat; nothing parsed."""

    def run() -> None:
        for path in reads.listed:
            with os.scandir(path) as entries:
                for entry in entries:
                    entry.is_dir(follow_symlinks=False)
        for path in reads.opened:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.read(fd, _READ_SIZE)
            finally:
                os.close(fd)
        for path in reads.statted:
            os.stat(path)

    return run


def _delivered(agent: Any, before: int) -> Callable[[], bool]:
    """Whether the agent's sender has delivered past ``before`` messages, its queue empty."""

    def done() -> bool:
        return bool(agent.sender.delivered_messages > before and agent.queue.depth == 0)

    return done


def _measure(agent: Any, size: int, cycles: int) -> dict[str, float]:
    """One container count: the agent's cycle, its collector's, and the bare baseline."""
    collector = agent.containers

    def agent_cycle() -> None:
        before = agent.sender.delivered_messages
        agent.run_cycle()
        generate_latest(agent.registry)
        # The cycle ends when the broker has acknowledged its export (the sender thread's
        # encoding, compression and send are this process's CPU, and so the cycle's).
        wait_until(_delivered(agent, before), _DELIVERY_TIMEOUT_S, "the cycle's export", 0.001)

    def collector_cycle() -> None:
        agent.runner.collectors[0].collect()

    agent_cpu, agent_wall = _cpu_ms(agent_cycle, cycles)
    collector_cpu, _ = _cpu_ms(collector_cycle, cycles)
    found = collector.tracked
    reads = _record_reads(collector_cycle)
    baseline_cpu, _ = _cpu_ms(_baseline(reads), cycles)
    return {
        "containers": size,
        "found": found,
        "agent_cpu_ms": agent_cpu,
        "agent_wall_ms": agent_wall,
        "collector_cpu_ms": collector_cpu,
        "baseline_cpu_ms": baseline_cpu,
        "agent_ms_per_container": agent_cpu / max(found, 1),
        "ratio_to_baseline": agent_cpu / baseline_cpu if baseline_cpu else 0.0,
        "collector_ratio_to_baseline": collector_cpu / baseline_cpu if baseline_cpu else 0.0,
        "files_per_cycle": len(reads.opened),
        "directories_per_cycle": len(reads.listed),
        "stats_per_cycle": len(reads.statted),
    }


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares slope, intercept and R² of ys against xs."""
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = mean_y - slope * mean_x
    ss_res = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys, strict=True))
    ss_tot = sum((y - mean_y) ** 2 for y in ys) or 1.0
    return slope, intercept, 1 - ss_res / ss_tot


def _plot(rows: list[dict[str, float]], fit: tuple[float, float, float], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [r["containers"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(counts, [r["agent_cpu_ms"] for r in rows], "o-", label="agent cycle (+ one scrape)")
    ax.plot(counts, [r["collector_cpu_ms"] for r in rows], "s-", label="collector only")
    ax.plot(counts, [r["baseline_cpu_ms"] for r in rows], "^-", label="baseline: same reads, bare")
    slope, intercept, r2 = fit
    ax.plot(
        counts,
        [slope * n + intercept for n in counts],
        ":",
        color="grey",
        label=f"fit {slope:.3f} ms/container (R²={r2:.3f})",
    )
    ax.plot(counts, [2.0 * n for n in counts], "--", color="black", alpha=0.4, label="target 2 ms")
    ax.set_xlabel("containers")
    ax.set_ylabel("CPU ms per cycle (median)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Container agent: CPU per cycle against containers")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


@click.command(name="containers")
@click.option("--counts", default="10,100,500", show_default=True, help="Container counts.")
@click.option("--cycles", default=15, show_default=True, help="Measured cycles per count.")
@click.option(
    "--cgroup-root",
    type=click.Path(path_type=Path),
    default=Path("/sys/fs/cgroup"),
    show_default=True,
)
@click.option("--netns/--no-netns", default=True, show_default=True, help="Own network namespaces.")
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(path_type=Path),
    default=Path("docs/bench-containers.png"),
    show_default=True,
)
def command(counts: str, cycles: int, cgroup_root: Path, netns: bool, plot_path: Path) -> None:
    """Container agent cost per cycle against the number of containers (needs root)."""
    with warnings.catch_warnings():
        # kafka-python (imported by the agent wiring) uses a deprecated importlib API.
        warnings.simplefilter("ignore", DeprecationWarning)
        from agents._otel import IdentitySettings, KafkaSettings
        from agents.containers import ContainersAgent, ContainersSettings, detect_layout
    if os.geteuid() != 0:
        raise click.ClickException("creating cgroups needs root")
    layout = detect_layout(cgroup_root)
    if layout.empty:
        raise click.ClickException(f"no cgroup hierarchy under {cgroup_root}")
    roots = layout.walk_roots()
    sizes = sorted(int(c) for c in counts.split(","))
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-containers-") as tmp:
        broker = TansuBroker("127.0.0.1", free_port(), Path(tmp) / "tansu")
        broker.start()
        settings = ContainersSettings(
            listen="127.0.0.1:0", cgroup_root=cgroup_root, spool_dir=Path(tmp) / "spool"
        )
        assert settings.push, "the agent's default is push on, and so is the bench's"
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap)
        agent = ContainersAgent(settings, identity=IdentitySettings(), kafka=kafka)
        agent.start()
        try:
            with _fleet(roots, netns) as fleet:
                for size in sizes:
                    fleet.grow(size)
                    rows.append(_measure(agent, size, cycles))
        finally:
            agent.shutdown()
            broker.stop()
    fit = _fit([r["containers"] for r in rows], [r["agent_cpu_ms"] for r in rows])
    if len(rows) >= 2:
        _plot(rows, fit, plot_path)

    table = Table(
        title=f"Container agent, CPU per cycle (median of {cycles}), {len(roots)} hierarchies"
    )
    for column in (
        "containers",
        "found",
        "agent ms",
        "ms/container",
        "collector ms",
        "baseline ms",
        "agent/baseline",
        "agent wall ms",
    ):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            f"{r['containers']:.0f}",
            f"{r['found']:.0f}",
            f"{r['agent_cpu_ms']:.1f}",
            f"{r['agent_ms_per_container']:.3f}",
            f"{r['collector_cpu_ms']:.1f}",
            f"{r['baseline_cpu_ms']:.1f}",
            f"{r['ratio_to_baseline']:.2f}",
            f"{r['agent_wall_ms']:.1f}",
        )
    console = Console(width=120)
    console.print(table)
    slope, intercept, r2 = fit
    console.print(
        f"fit: {slope:.3f} ms per container + {intercept:.1f} ms (R² {r2:.3f}); "
        "target < 2 ms per container"
    )
    print(
        json.dumps(
            {
                "benchmark": "containers",
                "cycles": cycles,
                "hierarchies": len(roots),
                "netns": netns,
                "push": True,
                "rows": rows,
                "fit_ms_per_container": slope,
                "fit_intercept_ms": intercept,
                "fit_r2": r2,
                "max_ms_per_container": max(r["agent_ms_per_container"] for r in rows),
                "plot": str(plot_path),
            }
        )
    )
