"""`continuum bench containers`: container agent cost per cycle against the number of containers.

Creates N real cgroups (N = 10, 100, 500 by default) in runtime-shaped paths in every hierarchy
of the node (Kubernetes burstable pods with ``cri-containerd-<id>.scope`` groups and
``system.slice/docker-<id>.scope`` groups), each holding one sleeping process in its own network
namespace, then measures per cycle, as CPU time of this process (all threads):

- ``agent``: a full agent cycle (collect, publish, render ``/metrics`` once, as one scrape does);
- ``collector``: discovery, reading and readings alone;
- ``baseline``: a bare walk of the same hierarchies plus plain ``open().read()`` of the same
  files (the least any cgroup reader can do).

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
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from prometheus_client.exposition import generate_latest
from rich.console import Console
from rich.table import Table

__all__ = ["command"]

# Published cAdvisor figures to compare with (see docs/benchmarks.md for the sources).
# google/cadvisor#2523: 29 containers on a 2-core Celeron G1610, default 1 s housekeeping,
# scraped every 15 s, about 7 % of a core.
CADVISOR_SOURCE = "google/cadvisor#2523"
CADVISOR_CONTAINERS = 29
CADVISOR_CPU_PERCENT_OF_CORE = 7.0
CADVISOR_HOUSEKEEPING_S = 1.0


def _cadvisor_ms_per_container_cycle() -> float:
    ms_per_s = CADVISOR_CPU_PERCENT_OF_CORE * 10.0  # 1 % of a core = 10 ms of CPU per second
    return ms_per_s * CADVISOR_HOUSEKEEPING_S / CADVISOR_CONTAINERS


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


def _baseline(roots: list[Path], files: list[str]) -> Callable[[], None]:
    def run() -> None:
        for root in roots:
            for _ in os.walk(root):
                pass
        for path in files:
            with open(path, "rb") as handle:
                handle.read()

    return run


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
    ax.plot(counts, [r["baseline_cpu_ms"] for r in rows], "^-", label="baseline: walk + read")
    slope, intercept, r2 = fit
    ax.plot(
        counts,
        [slope * n + intercept for n in counts],
        ":",
        color="grey",
        label=f"fit {slope:.3f} ms/container (R²={r2:.3f})",
    )
    cadvisor = _cadvisor_ms_per_container_cycle()
    ax.plot(counts, [cadvisor * n for n in counts], "--", color="tab:red", label="cAdvisor (#2523)")
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
    settings = ContainersSettings(listen="127.0.0.1:0", push=False, cgroup_root=cgroup_root)
    agent = ContainersAgent(settings, identity=IdentitySettings(), kafka=KafkaSettings())
    collector = agent.containers
    rows: list[dict[str, float]] = []
    with _fleet(roots, netns) as fleet:
        for size in sizes:
            fleet.grow(size)

            def agent_cycle() -> None:
                agent.run_cycle()
                generate_latest(agent.registry)

            def collector_cycle() -> None:
                agent.runner.collectors[0].collect()

            agent_cpu, agent_wall = _cpu_ms(agent_cycle, cycles)
            collector_cpu, _ = _cpu_ms(collector_cycle, cycles)
            found = collector.tracked
            files = [p for t in collector._tracked.values() for p in t.reader.paths()]
            baseline_cpu, _ = _cpu_ms(_baseline(roots, files), cycles)
            rows.append(
                {
                    "containers": size,
                    "found": found,
                    "agent_cpu_ms": agent_cpu,
                    "agent_wall_ms": agent_wall,
                    "collector_cpu_ms": collector_cpu,
                    "baseline_cpu_ms": baseline_cpu,
                    "agent_ms_per_container": agent_cpu / max(found, 1),
                    "ratio_to_baseline": agent_cpu / baseline_cpu if baseline_cpu else 0.0,
                    "files_per_cycle": len(files),
                }
            )
    agent.shutdown()
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
    cadvisor = _cadvisor_ms_per_container_cycle()
    console.print(
        f"fit: {slope:.3f} ms per container + {intercept:.1f} ms (R² {r2:.3f}); "
        f"target < 2 ms per container; cAdvisor ≈ {cadvisor:.1f} ms per container per "
        f"housekeeping cycle ({CADVISOR_SOURCE})"
    )
    print(
        json.dumps(
            {
                "benchmark": "containers",
                "cycles": cycles,
                "hierarchies": len(roots),
                "netns": netns,
                "rows": rows,
                "fit_ms_per_container": slope,
                "fit_intercept_ms": intercept,
                "fit_r2": r2,
                "max_ms_per_container": max(r["agent_ms_per_container"] for r in rows),
                "cadvisor_ms_per_container_cycle": cadvisor,
                "plot": str(plot_path),
            }
        )
    )
