"""``continuum bench agent``: the node agent against node_exporter on equal work, paired runs.

Each of ``--runs`` runs starts both daemons side by side on this machine for the same window:
the agent as ``continuum agent node`` with its real Kafka export on (gzip, to a local Tansu
broker), node_exporter (Debian package) with ``--collector.disable-defaults`` and only the
collectors that match the agent's metric families (:data:`EQUAL_WORK_COLLECTORS`), scraped once
per interval. The two daemons of a run share its noise, so each run gives a pair; the figures
are medians over the runs. Per run:

* **CPU per cycle**: each daemon's whole CPU time over the window (its process CPU clock, every
  thread, idle wakeups and for the agent the export to Kafka included) divided by the cycles
  that actually ran: the agent's are counted from its records on the broker (distinct
  collection timestamps), node_exporter's are the scrapes that completed in the window;
* **CPU per exposed sample**: that figure divided by the samples of one cycle, the agent's OTLP
  points per push and node_exporter's samples per scrape;
* steady RSS of each daemon at the end of the run.

The output lists the agent's families and the node_exporter collector each falls to, and the
families no collector covers. Example::

    continuum bench agent                                # 5 runs of 12 intervals of 10 s
    continuum bench agent --interval-s 1 --cycles 5 --runs 1
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import click
import yaml
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from rich.console import Console
from rich.table import Table

from continuum.services import TansuBroker, free_port, http_ok, wait_until

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # kafka-python 3.0.12 at import
    from kafka import KafkaConsumer, TopicPartition

__all__ = ["EQUAL_WORK_COLLECTORS", "RunFigures", "collector_for", "command", "otlp_points"]

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
_TARGET_RSS_BYTES = 45_000_000  # 45 MB, in the decimal MB the table shows
_TOPIC = "otlp_metrics"  # the agents' default topic

#: The agent's OTLP metric families (by name prefix, first match wins) and the node_exporter
#: collector that reads the same kernel source. Families with no entry (the agent's own
#: telemetry, hardware sources such as SMART, MCE and NVML) have no node_exporter collector.
_FAMILY_COLLECTORS: tuple[tuple[str, str], ...] = (
    ("system.cpu.load_average", "loadavg"),
    ("system.cpu.frequency", "cpufreq"),
    ("system.cpu.", "cpu"),
    ("continuum.node.logical_cpus", "cpu"),
    ("system.memory.", "meminfo"),
    ("system.linux.memory.", "meminfo"),
    ("system.paging.", "vmstat"),
    ("system.disk.", "diskstats"),
    ("system.filesystem.", "filesystem"),
    ("continuum.filesystem.read_only", "filesystem"),
    ("system.network.", "netdev"),
    ("continuum.pressure.", "pressure"),
    ("hw.temperature", "hwmon"),
    ("hw.fan", "hwmon"),
    ("hw.power", "hwmon"),
    ("hw.energy", "hwmon"),
    ("hw.battery", "powersupplyclass"),
    ("continuum.power_supply.", "powersupplyclass"),
    ("hw.errors", "edac"),
)
#: node_exporter runs with its defaults off and these on: the equal-work set.
EQUAL_WORK_COLLECTORS: tuple[str, ...] = tuple(sorted({c for _p, c in _FAMILY_COLLECTORS}))


def collector_for(family: str) -> str | None:
    """The node_exporter collector that matches an agent metric family, if any."""
    for prefix, collector in _FAMILY_COLLECTORS:
        if family.startswith(prefix):
            return collector
    return None


def _cpu_s(pid: int) -> float:
    """CPU seconds of a process, all its threads, exited ones included.

    Read from the process's CPU-time clock (nanosecond resolution; Linux encodes it as
    ``(~pid << 3) | CPUCLOCK_SCHED``, see clock_getcpuclockid(3)); /proc/PID/stat counts only
    whole clock ticks (10 ms), too coarse for cycles of a few milliseconds.
    """
    try:
        return time.clock_gettime((~pid << 3) | 2)
    except OSError:
        pass
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _samples(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
    return body.decode()


def otlp_points(value: bytes) -> tuple[dict[str, int], int]:
    """Data points per metric family in one OTLP record, and the record's collection stamp.

    Returns:
        points by metric name, and the latest ``time_unix_nano`` of its points (one cycle's
        points share their snapshot's stamp).
    """
    request = ExportMetricsServiceRequest()
    request.ParseFromString(value)
    points: dict[str, int] = {}
    stamp = 0
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                if kind is None:
                    continue
                data_points = getattr(metric, kind).data_points
                points[metric.name] = points.get(metric.name, 0) + len(data_points)
                for dp in data_points:
                    stamp = max(stamp, dp.time_unix_nano)
    return points, stamp


@dataclass
class _Cycles:
    """The agent's cycles seen on the broker: stamps, and points per family."""

    stamps: set[int] = field(default_factory=set)
    families: dict[str, int] = field(default_factory=dict)

    @property
    def points(self) -> int:
        return sum(self.families.values())


class _AgentRecords:
    """Reads the agent's records from the broker as they arrive (assigned, no group join)."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        wait_until(
            lambda: bool(self.consumer.partitions_for_topic(_TOPIC)), 60, "the agent's topic"
        )
        partitions = [TopicPartition(_TOPIC, p) for p in self.consumer.partitions_for_topic(_TOPIC)]
        self.consumer.assign(partitions)
        self.consumer.seek_to_end()

    def wait_for_cycle(self, into: _Cycles | None, timeout_s: float) -> int:
        """Block until a record of a new cycle arrives; returns its stamp.

        Records that arrive meanwhile are counted into ``into`` (``None`` counts nothing).
        """
        deadline = time.monotonic() + timeout_s
        known = set(into.stamps) if into is not None else set()
        while time.monotonic() < deadline:
            batches = self.consumer.poll(timeout_ms=100)
            newest = 0
            for records in batches.values():
                for record in records:
                    families, stamp = otlp_points(record.value)
                    newest = max(newest, stamp)
                    if into is not None:
                        into.stamps.add(stamp)
                        for name, n in families.items():
                            into.families[name] = into.families.get(name, 0) + n
            if newest and newest not in known:
                return newest
        raise click.ClickException(f"no agent record reached the broker in {timeout_s:g} s")

    def close(self) -> None:
        self.consumer.close()


@dataclass(frozen=True)
class RunFigures:
    """One paired run: both daemons over the same window."""

    agent_cpu_per_cycle_s: float
    agent_cycles: int
    agent_points_per_cycle: float
    agent_families: dict[str, int]
    agent_metrics_samples: int
    agent_rss_bytes: int
    exporter_cpu_per_scrape_s: float
    exporter_scrapes: int
    exporter_samples: int
    exporter_scrape_wall_s: float
    exporter_rss_bytes: int

    @property
    def agent_cpu_per_sample_s(self) -> float:
        # Per exposed sample, as for node_exporter: the samples its /metrics serves.
        return self.agent_cpu_per_cycle_s / max(self.agent_metrics_samples, 1)

    @property
    def exporter_cpu_per_sample_s(self) -> float:
        return self.exporter_cpu_per_scrape_s / max(self.exporter_samples, 1)

    @property
    def cpu_ratio(self) -> float:
        return self.agent_cpu_per_cycle_s / self.exporter_cpu_per_scrape_s

    @property
    def cpu_per_sample_ratio(self) -> float:
        return self.agent_cpu_per_sample_s / self.exporter_cpu_per_sample_s


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def _daemons(
    bootstrap: str, interval_s: float, workdir: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, subprocess.Popen[bytes], str]]:
    """The agent and node_exporter running, both answering; stopped on exit."""
    exporter_bin = shutil.which("prometheus-node-exporter")
    if exporter_bin is None:
        raise click.ClickException(
            "prometheus-node-exporter is not installed: apt-get install -y prometheus-node-exporter"
        )
    agent_port, exporter_port = free_port(), free_port()
    config = workdir / "continuum.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "identity": {"node_id": "bench-node", "tier": "cloud", "site": "bench"},
                "kafka": {"bootstrap_servers": bootstrap, "topic": _TOPIC},
                "agent": {
                    "listen": f"127.0.0.1:{agent_port}",
                    "interval_s": interval_s,
                    "spool_dir": str(workdir / "spool"),
                },
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    collectors = [f"--collector.{name}" for name in EQUAL_WORK_COLLECTORS]
    with (workdir / "agent.log").open("ab") as agent_log, (workdir / "ne.log").open("ab") as ne_log:
        agent = subprocess.Popen(
            [sys.executable, "-m", "continuum", "agent", "node", "--config", str(config)],
            env=env,
            stdout=agent_log,
            stderr=subprocess.STDOUT,
        )
        exporter = subprocess.Popen(
            [
                exporter_bin,
                f"--web.listen-address=127.0.0.1:{exporter_port}",
                "--collector.disable-defaults",
                *collectors,
            ],
            stdout=ne_log,
            stderr=subprocess.STDOUT,
        )
    agent_url = f"http://127.0.0.1:{agent_port}/metrics"
    exporter_url = f"http://127.0.0.1:{exporter_port}/metrics"
    try:
        wait_until(
            lambda: http_ok(agent_url) and http_ok(exporter_url), 60, "agent and node_exporter"
        )
        yield agent, agent_url, exporter, exporter_url
    finally:
        _stop(agent)
        _stop(exporter)


def paired_run(bootstrap: str, interval_s: float, cycles: int, workdir: Path) -> RunFigures:
    """Both daemons side by side for ``cycles`` intervals; each charged for what actually ran."""
    with _daemons(bootstrap, interval_s, workdir) as (agent, agent_url, exporter, exporter_url):
        records = _AgentRecords(bootstrap)
        try:
            _get(exporter_url)  # warm-up scrape
            records.wait_for_cycle(None, interval_s * 3 + 30)  # past start-up and first cycle
            # The window opens as one agent cycle has reached the broker and closes as the
            # cycle after the last scrape has: whole cycles in between, counted from the broker.
            seen = _Cycles()
            opened = records.wait_for_cycle(None, interval_s * 3)
            seen.stamps.add(opened)
            agent_cpu0, exporter_cpu0 = _cpu_s(agent.pid), _cpu_s(exporter.pid)
            started = time.monotonic()
            scrape_wall, text, scrapes = [], "", 0
            for i in range(cycles):
                w0 = time.perf_counter()
                text = _get(exporter_url)
                scrape_wall.append(time.perf_counter() - w0)
                scrapes += 1
                exporter_cpu1 = _cpu_s(exporter.pid)
                pause_s = started + (i + 1) * interval_s - time.monotonic()
                if i < cycles - 1 and pause_s > 0:
                    time.sleep(pause_s)
            while time.monotonic() < started + cycles * interval_s:
                time.sleep(0.05)
            closed = records.wait_for_cycle(seen, interval_s * 3)
            agent_cpu1 = _cpu_s(agent.pid)
            seen.stamps.discard(opened)
            agent_cycles = len({s for s in seen.stamps if opened < s <= closed})
        finally:
            records.close()
        metrics_samples = _samples(_get(agent_url))
        return RunFigures(
            agent_cpu_per_cycle_s=(agent_cpu1 - agent_cpu0) / max(agent_cycles, 1),
            agent_cycles=agent_cycles,
            agent_points_per_cycle=seen.points / max(len(seen.stamps), 1),
            agent_families={
                k: round(v / max(len(seen.stamps), 1)) for k, v in seen.families.items()
            },
            agent_metrics_samples=metrics_samples,
            agent_rss_bytes=_rss_bytes(agent.pid),
            exporter_cpu_per_scrape_s=(exporter_cpu1 - exporter_cpu0) / scrapes,
            exporter_scrapes=scrapes,
            exporter_samples=_samples(text),
            exporter_scrape_wall_s=statistics.median(scrape_wall),
            exporter_rss_bytes=_rss_bytes(exporter.pid),
        )


def _family_table(families: dict[str, int]) -> Table:
    table = Table(title="agent families (points per cycle) and node_exporter's matching collector")
    table.add_column("agent family")
    table.add_column("points", justify="right")
    table.add_column("node_exporter collector")
    for name in sorted(families):
        table.add_row(name, str(families[name]), collector_for(name) or "(none)")
    return table


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _median_of(runs: list[RunFigures], field: str, scale: float, digits: int) -> float:
    """The runs' median of one figure, scaled to the JSON line's unit and rounded."""
    return round(_median([float(getattr(r, field)) for r in runs]) * scale, digits)


def summarise(runs: list[RunFigures], interval_s: float, cycles: int) -> dict[str, object]:
    """The JSON line's figures: medians over the paired runs, and each run's ratios."""
    cpu_ratio = _median([r.cpu_ratio for r in runs])
    per_sample_ratio = _median([r.cpu_per_sample_ratio for r in runs])
    agent_rss = _median([float(r.agent_rss_bytes) for r in runs])
    families = runs[-1].agent_families
    covered = sorted({c for c in map(collector_for, families) if c is not None})
    return {
        "benchmark": "agent",
        "interval_s": interval_s,
        "cycles": cycles,
        "runs": len(runs),
        "agent_cycles_run": [r.agent_cycles for r in runs],
        "node_exporter_scrapes_run": [r.exporter_scrapes for r in runs],
        "agent_cpu_per_cycle_ms": _median_of(runs, "agent_cpu_per_cycle_s", 1e3, 3),
        "node_exporter_cpu_per_scrape_ms": _median_of(runs, "exporter_cpu_per_scrape_s", 1e3, 3),
        "cpu_ratio": round(cpu_ratio, 3),
        "cpu_ratio_per_run": [round(r.cpu_ratio, 3) for r in runs],
        "agent_cpu_per_sample_us": _median_of(runs, "agent_cpu_per_sample_s", 1e6, 2),
        "node_exporter_cpu_per_sample_us": _median_of(runs, "exporter_cpu_per_sample_s", 1e6, 2),
        "cpu_per_sample_ratio": round(per_sample_ratio, 3),
        "cpu_per_sample_ratio_per_run": [round(r.cpu_per_sample_ratio, 3) for r in runs],
        "node_exporter_scrape_wall_median_ms": _median_of(runs, "exporter_scrape_wall_s", 1e3, 3),
        "agent_rss_mb": round(agent_rss / 1e6, 1),
        "node_exporter_rss_mb": _median_of(runs, "exporter_rss_bytes", 1e-6, 1),
        "agent_samples": runs[-1].agent_metrics_samples,
        "agent_otlp_points_per_cycle": round(runs[-1].agent_points_per_cycle),
        "node_exporter_samples": runs[-1].exporter_samples,
        "node_exporter_collectors": list(EQUAL_WORK_COLLECTORS),
        "collectors_matching_agent_families": covered,
        "agent_families_without_collector": sorted(f for f in families if collector_for(f) is None),
        "kafka_export": True,
        "meets_cpu_target": cpu_ratio <= 1.0,
        "meets_cpu_per_sample_target": per_sample_ratio <= 1.0,
        "meets_rss_target": agent_rss < _TARGET_RSS_BYTES,
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


@click.command(name="agent")
@click.option(
    "--interval-s",
    type=click.FloatRange(min=1.0),
    default=10.0,
    show_default=True,
    help="Agent interval and node_exporter scrape period.",
)
@click.option(
    "--cycles",
    type=click.IntRange(min=2),
    default=12,
    show_default=True,
    help="Intervals per run.",
)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Paired runs (medians reported; the issue's bar is at least 5).",
)
def command(interval_s: float, cycles: int, runs: int) -> None:
    """Node agent against node_exporter on equal work: CPU per cycle and per sample, RSS."""
    console = Console(width=110)
    console.print("node_exporter collectors (defaults off): " + ", ".join(EQUAL_WORK_COLLECTORS))
    paired: list[RunFigures] = []
    with tempfile.TemporaryDirectory(prefix="continuum-bench-agent-") as tmp:
        workdir = Path(tmp)
        broker = TansuBroker("127.0.0.1", free_port(), workdir / "tansu")
        broker.start()
        try:
            for n in range(runs):
                console.print(f"run {n + 1}/{runs}: {cycles} intervals of {interval_s:g} s ...")
                paired.append(paired_run(broker.bootstrap, interval_s, cycles, workdir))
        finally:
            broker.stop()
    figures = summarise(paired, interval_s, cycles)
    console.print(_family_table(paired[-1].agent_families))
    table = Table(title=f"node agent vs node_exporter, equal work, median of {runs} paired runs")
    table.add_column("figure")
    table.add_column("agent", justify="right")
    table.add_column("node_exporter", justify="right")
    table.add_column("ratio", justify="right")
    table.add_row(
        "CPU per cycle / scrape (ms)",
        str(figures["agent_cpu_per_cycle_ms"]),
        str(figures["node_exporter_cpu_per_scrape_ms"]),
        str(figures["cpu_ratio"]),
    )
    table.add_row(
        "CPU per exposed sample (µs)",
        str(figures["agent_cpu_per_sample_us"]),
        str(figures["node_exporter_cpu_per_sample_us"]),
        str(figures["cpu_per_sample_ratio"]),
    )
    table.add_row(
        "samples per cycle (OTLP points / scrape)",
        str(figures["agent_otlp_points_per_cycle"]),
        str(figures["node_exporter_samples"]),
        "",
    )
    table.add_row(
        "steady RSS (MB)", str(figures["agent_rss_mb"]), str(figures["node_exporter_rss_mb"]), ""
    )
    console.print(table)
    verdict = {True: "met", False: "missed"}
    console.print(
        f"targets: CPU per cycle <= 1.0x: {verdict[bool(figures['meets_cpu_target'])]}; "
        f"per sample <= 1.0x: {verdict[bool(figures['meets_cpu_per_sample_target'])]}; "
        f"RSS < 45 MB: {verdict[bool(figures['meets_rss_target'])]}"
    )
    click.echo(json.dumps(figures))
