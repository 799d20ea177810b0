"""``continuum bench api``: ranking latency at fixed arrival rates, with the snapshot refresh on.

The API runs as ``continuum api`` runs it: its own process (``python -m continuum api
--config``), uvicorn with the lifespan on, so the snapshot refresh loop runs in the background
every ``snapshot_interval_s`` (5 s by default) against a Prometheus-shaped backend: a process
of its own answering the snapshot queries for ``--nodes`` synthetic nodes (three tiers, 20
sites, ~2 % stale, mixed cores, memory and GPUs) over HTTP, pre-encoded, so the API parses and
builds a real snapshot of that size at every refresh.

The load is open-loop: requests are due at fixed arrival rates (``--rates``), one every
``1/rate`` seconds whatever the answers do, spread over ``--connections`` keep-alive
connections, and each latency counts from the request's scheduled send time, so a stall
delays every request due during it (a closed-loop generator would wait and hide it). The API
is pinned to one core and the generator and the backend to another (``taskset`` and
``sched_setaffinity``), so contention with the generator is not counted as API latency; the
generator reports its own CPU, and how late it woke for its scheduled sends: when that exceeds
2 ms at the 99th percentile the line says ``schedule_kept: false``. Every ranking body is
checked: its feasible and rejected totals must add up to the fleet.

Per fleet size and rate: p50, p99 and p99.9 and, for the requests that overlapped a refresh
(from the refresh's first query reaching the backend to its last answer plus twice the time
the snapshot takes to build from the answers, measured in-process), their p99. Baseline in
the same run: ``GET /healthz`` at 1,000 requests/s, the server stack with no work. A request
left unanswered counts as infinitely slow. Ends with one JSON line::

    continuum bench api                       # 1,000 and 10,000 nodes; 250 to 2,000/s
    continuum bench api --nodes 1000 --rates 1000 --duration-s 5
"""

from __future__ import annotations

import http.server
import itertools
import json
import math
import multiprocessing
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table

from continuum.services import ManagedProcess, free_port, http_ok, wait_until

__all__ = ["Phase", "command", "fleet_answers", "percentile", "refresh_windows"]

_TOKEN = "bench-token"
_TIERS = ("edge", "cloud", "hpc")
_TARGET_P99_MS = 10.0
_TARGET_NODES = 1000
_TARGET_RATE = 1000
_BASELINE_RATE = 1000
_SCHEDULE_SLACK_S = 0.002  # the generator's p99 wake-up lateness beyond which it fell behind
_GRACE_S = 2.0  # after the last due time, for answers still on the way
_REFRESH_GAP_S = 1.0  # snapshot queries closer than this belong to one refresh
_TOTALS = re.compile(rb'"feasible_total":(\d+),"rejected_total":(\d+)')


def fleet_answers(nodes: int, seed: int, now_s: float) -> dict[str, list[dict[str, Any]]]:
    """Prometheus-shaped answers to the snapshot queries for a synthetic fleet."""
    rng = random.Random(seed)
    aggregates: list[dict[str, Any]] = []
    freshness: list[dict[str, Any]] = []
    info: list[dict[str, Any]] = []
    for i in range(nodes):
        tier = _TIERS[i % 3]
        identity = {"node": f"{tier}-{i:05d}", "tier": tier, "site": f"site-{i % 20}"}
        cores = rng.choice((2, 4, 8, 16, 32, 64))
        memory = rng.choice((4, 8, 16, 64, 256)) * 2**30
        cpu = rng.random()
        values = {
            "continuum:node_cpu_cores": cores,
            "continuum:node_memory_bytes": memory,
            "continuum:node_gpus": rng.choice((0, 0, 0, 1, 4)),
            "continuum:node_cpu_utilization:avg1m": cpu,
            "continuum:node_cpu_utilization:avg5m": min(1.0, cpu * rng.uniform(0.8, 1.2)),
            "continuum:node_cpu_utilization:stddev5m": rng.random() * 0.2,
            "continuum:node_memory_available_bytes:min1m": memory * rng.uniform(0.05, 0.9),
            "continuum:node_pressure_cpu:rate1m": rng.random() * 0.1,
        }
        aggregates += [
            {"metric": {"__name__": name, **identity}, "value": [now_s, str(value)]}
            for name, value in values.items()
        ]
        # A few stale nodes, as in any real fleet.
        seen_s = now_s - (600 if rng.random() < 0.02 else rng.uniform(0, 10))
        freshness.append({"metric": identity, "value": [now_s, str(seen_s)]})
        arch = "arm64" if tier == "edge" else "amd64"
        info.append({"metric": {**identity, "host_arch": arch}, "value": [now_s, "1"]})
    return {"aggregates": aggregates, "freshness": freshness, "info": info}


def _pin(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


# -- the Prometheus-shaped backend ------------------------------------------------------------


def _serve_prometheus(
    port: int, nodes: int, seed: int, log_path: str, cpu: int | None, ready: Event
) -> None:
    """Answer the snapshot queries for the fleet, logging when each arrived and was answered."""
    from scheduler_api._snapshot import SNAPSHOT_QUERIES

    _pin(cpu)
    answers = fleet_answers(nodes, seed, time.time())
    empty = {"status": "success", "data": {"resultType": "vector", "result": []}}
    bodies = {
        expr: json.dumps(
            {"status": "success", "data": {"resultType": "vector", "result": answers.get(name, [])}}
        ).encode()
        for name, expr in SNAPSHOT_QUERIES.items()
    }
    fallback = json.dumps(empty).encode()
    log = open(log_path, "a", buffering=1, encoding="ascii")  # noqa: SIM115 (the process's life)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, query: str, arrived: float) -> None:
            body = bodies.get(query, fallback)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with lock:
                log.write(f"{arrived:.6f} {time.monotonic():.6f}\n")

        def do_POST(self) -> None:
            arrived = time.monotonic()
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            self._answer(form.get("query", [""])[0], arrived)

        def do_GET(self) -> None:
            arrived = time.monotonic()
            form = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            self._answer(form.get("query", [""])[0], arrived)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    ready.set()
    server.serve_forever()


def refresh_windows(
    log_lines: Sequence[str], tail_s: float, gap_s: float = _REFRESH_GAP_S
) -> list[tuple[float, float]]:
    """The refreshes in the backend's log as (start, end) windows on the monotonic clock.

    A refresh is a run of queries each arriving within ``gap_s`` of the previous answer; its
    window runs from its first query's arrival to its last answer plus ``tail_s`` (the API
    still builds the snapshot from the answers).
    """
    pairs = sorted(tuple(map(float, line.split())) for line in log_lines if line.strip())
    windows: list[tuple[float, float]] = []
    for arrived, answered in pairs:
        if windows and arrived - windows[-1][1] <= gap_s:
            windows[-1] = (windows[-1][0], max(windows[-1][1], answered))
        else:
            windows.append((arrived, answered))
    return [(start, end + tail_s) for start, end in windows]


# -- the open-loop generator ------------------------------------------------------------------


def _request(method: str, path: str, body: dict[str, Any] | None, port: int) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {_TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


def _read_response(sock: socket.socket, pending: bytearray) -> tuple[bytes, bytes]:
    """One HTTP/1.1 response off a keep-alive connection: its status code and body."""
    while (end := pending.find(b"\r\n\r\n")) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the API closed the connection")
        pending += chunk
    head = bytes(pending[:end])
    del pending[: end + 4]
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    while len(pending) < length:
        chunk = sock.recv(max(65536, length - len(pending)))
        if not chunk:
            raise ConnectionError("the API closed the connection")
        pending += chunk
    body = bytes(pending[:length])
    del pending[:length]
    return head[9:12], body


@dataclass
class Phase:
    """One open-loop phase: when each request was due and answered, and the generator's cost.

    ``done`` holds each request's answer time on the monotonic clock (NaN: never answered).
    """

    path: str
    rate: float
    start: float
    count: int
    done: list[float]
    good: list[bool]
    wake_lags_s: list[float]
    late_pickups: int
    generator_cpu_s: float
    wall_s: float

    def due(self, i: int) -> float:
        return self.start + i / self.rate

    def latencies_s(self, windows: Sequence[tuple[float, float]] | None = None) -> list[float]:
        """Latency of each request from its due time (infinite if unanswered).

        Args:
            windows: keep only requests whose [due, answered] overlaps one of these.
        """
        out = []
        for i, answered in enumerate(self.done):
            due = self.due(i)
            latency = math.inf if math.isnan(answered) else answered - due
            if windows is not None:
                end = due + latency
                if not any(due <= w_end and end >= w_start for w_start, w_end in windows):
                    continue
            out.append(latency)
        return out


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank above); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def _run_phase(
    port: int,
    requests: list[bytes],
    nodes: int | None,
    rate: float,
    duration_s: float,
    connections: int,
    cpu: int | None,
) -> Phase:
    """Send ``rate * duration_s`` requests at their due times over ``connections`` threads.

    Each thread takes the next due request, sleeps until it is due (if it is still ahead) and
    sends it on its own keep-alive connection. A request picked up after its due time waited
    for a connection (all were busy: the API is behind); one still unsent ``_GRACE_S`` after
    the last due time is left unanswered.
    """
    _pin(cpu)
    # A thread waking for its due time must get the GIL at once, not after another thread's
    # 5 ms default slice.
    sys.setswitchinterval(0.0002)
    count = max(1, round(rate * duration_s))
    done = [math.nan] * count
    good = [False] * count
    wake_lags: list[float] = []
    late = [0]
    order = itertools.count()  # next() on it is atomic under the GIL
    start = time.monotonic() + 0.5
    give_up = start + duration_s + _GRACE_S

    def worker(sock: socket.socket) -> None:
        pending = bytearray()
        while (i := next(order)) < count:
            due = start + i / rate
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
                wake_lags.append(time.monotonic() - due)
            elif now > give_up:
                break
            else:
                late[0] += 1
            sock.sendall(requests[i % len(requests)])
            status, body = _read_response(sock, pending)
            done[i] = time.monotonic()
            ok = status == b"200"
            if ok and nodes is not None:
                totals = _TOTALS.search(body)
                ok = totals is not None and int(totals[1]) + int(totals[2]) == nodes
            good[i] = ok

    sockets = []
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sockets.append(sock)
    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in sockets]
    cpu_started, wall_started = time.process_time(), time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration_s + _GRACE_S + 30)
    for sock in sockets:
        sock.close()
    return Phase(
        path=requests[0].split(b" ", 2)[1].decode(),
        rate=rate,
        start=start,
        count=count,
        done=list(done),
        good=list(good),
        wake_lags_s=list(wake_lags),
        late_pickups=late[0],
        generator_cpu_s=time.process_time() - cpu_started,
        wall_s=time.monotonic() - wall_started,
    )


def _phase_process(queue: Any, *args: Any) -> None:
    queue.put(_run_phase(*args))


def _phase(context: Any, *args: Any) -> Phase:
    """Run one phase in a fresh generator process (pinned to its own core)."""
    queue = context.Queue()
    process = context.Process(target=_phase_process, args=(queue, *args), daemon=True)
    process.start()
    try:
        phase: Phase = queue.get(timeout=600)
    finally:
        process.join(30)
    return phase


# -- the API as `continuum api` runs it -------------------------------------------------------


def _ranking_bodies(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    bodies = []
    for i in range(64):
        body: dict[str, Any] = {
            "cpu_cores": rng.choice((0.5, 1, 2, 4, 8)),
            "memory_bytes": rng.choice((256, 1024, 4096, 16384)) * 2**20,
            "limit": 10,
            "rejected_limit": 20,
        }
        if i % 4 == 1:
            body["tier"] = rng.choice(_TIERS)
        if i % 8 == 3:
            body["gpus"] = 1
        bodies.append(body)
    return bodies


def _start_api(workdir: Path, prometheus_port: int, cpu: int | None) -> tuple[ManagedProcess, int]:
    port = free_port()
    config = {
        "api": {
            "listen": f"127.0.0.1:{port}",
            "prometheus_url": f"http://127.0.0.1:{prometheus_port}",
            "tokens": [{"token": _TOKEN, "scopes": ["read", "schedule"]}],
            "database": str(workdir / "continuum.db"),
            # The synthetic fleet's timestamps are set once; a node is stale 10 minutes late.
            "stale_after_s": 300,
        }
    }
    path = workdir / "continuum.yaml"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    argv = [sys.executable, "-m", "continuum", "api", "--config", str(path)]
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu), *argv]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    process = ManagedProcess("api", argv, workdir / "api.log", env=env)
    process.start()
    wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/readyz"), 120, "bench API")
    return process, port


def _build_s(nodes: int, seed: int) -> float:
    """Median seconds to build the snapshot and its table from the answers, in-process."""
    from scheduler_api._prometheus import Sample
    from scheduler_api._snapshot import build_nodes
    from scheduler_api.ranking import NodeTable

    now_s = time.time()
    answers = {
        name: [Sample(s["metric"], float(s["value"][1]), s["value"][0]) for s in samples]
        for name, samples in fleet_answers(nodes, seed, now_s).items()
    }
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        NodeTable.build(build_nodes(answers))
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def _model_ms(nodes: int, seed: int) -> float:
    """Median milliseconds of one in-process ranking over the same fleet (no HTTP)."""
    from scheduler_api._prometheus import Sample
    from scheduler_api._snapshot import build_nodes
    from scheduler_api.ranking import NodeTable, TaskRequirements, rank

    now_s = time.time()
    answers = {
        name: [Sample(s["metric"], float(s["value"][1]), s["value"][0]) for s in samples]
        for name, samples in fleet_answers(nodes, seed, now_s).items()
    }
    table = NodeTable.build(build_nodes(answers))
    requirements = TaskRequirements(cpu_cores=2, memory_bytes=2**30)
    timings = []
    for _ in range(100):
        started = time.perf_counter()
        rank(requirements, table, now_s=now_s, stale_after_s=300, limit=10, rejected_limit=20)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def _ms(seconds: float) -> float | None:
    """Milliseconds for the JSON line; None for an unanswered (infinite) or absent figure."""
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return round(seconds * 1000, 3)


def summarise(phase: Phase, nodes: int, windows: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """One phase's figures: percentiles from due time, in refresh windows, the generator's."""
    latencies = phase.latencies_s()
    in_refresh = phase.latencies_s(windows)
    phase_end = phase.due(phase.count - 1)
    refreshes = sum(1 for start, end in windows if start <= phase_end and end >= phase.start)
    answered = sum(1 for t in phase.done if not math.isnan(t))
    wake_p99 = percentile(phase.wake_lags_s, 0.99)
    return {
        "nodes": nodes,
        "path": phase.path,
        "rate_per_s": phase.rate,
        "requests": phase.count,
        "answered": answered,
        "unanswered": phase.count - answered,
        "bad_answers": sum(1 for ok, t in zip(phase.good, phase.done, strict=True)
                           if not ok and not math.isnan(t)),
        "p50_ms": _ms(percentile(latencies, 0.50)),
        "p99_ms": _ms(percentile(latencies, 0.99)),
        "p999_ms": _ms(percentile(latencies, 0.999)),
        "max_ms": _ms(max(latencies)),
        "refreshes": refreshes,
        "requests_in_refresh": len(in_refresh),
        "p99_in_refresh_ms": _ms(percentile(in_refresh, 0.99)),
        "generator_cpu_share": round(phase.generator_cpu_s / phase.wall_s, 3),
        "generator_wake_lag_p99_ms": _ms(wake_p99),
        "late_pickups": phase.late_pickups,
        "schedule_kept": bool(not math.isnan(wake_p99) and wake_p99 <= _SCHEDULE_SLACK_S),
    }  # fmt: skip


def _parse_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise click.BadParameter(f"{text!r}: comma-separated integers") from err
    if not values or min(values) < 1:
        raise click.BadParameter(f"{text!r}: positive integers")
    return values


@click.command(name="api")
@click.option("--nodes", "nodes_text", default="1000,10000", show_default=True,
              help="Fleet sizes, comma-separated.")  # fmt: skip
@click.option("--rates", "rates_text", default="250,500,1000,2000", show_default=True,
              help="Arrival rates of POST /v1/rankings, requests/s.")  # fmt: skip
@click.option("--duration-s", type=click.FloatRange(min=0.5), default=10.0, show_default=True,
              help="Seconds of arrivals per rate.")  # fmt: skip
@click.option("--connections", type=click.IntRange(min=1), default=32, show_default=True,
              help="Keep-alive connections (and threads) of the generator.")  # fmt: skip
@click.option("--api-cpu", type=int, default=0, show_default=True,
              help="Core the API is pinned to (-1: no pinning).")  # fmt: skip
@click.option("--generator-cpu", type=int, default=1, show_default=True,
              help="Core of the generator and the backend (-1: no pinning).")  # fmt: skip
@click.option("--seed", type=int, default=1, show_default=True)
def command(
    nodes_text: str,
    rates_text: str,
    duration_s: float,
    connections: int,
    api_cpu: int,
    generator_cpu: int,
    seed: int,
) -> None:
    """Ranking latency at fixed arrival rates, refresh on, with 1,000 and 10,000 nodes."""
    sizes, rates = _parse_list(nodes_text), _parse_list(rates_text)
    cores = os.cpu_count() or 1
    api_core = api_cpu if 0 <= api_cpu < cores and cores > 1 else None
    gen_core = generator_cpu if 0 <= generator_cpu < cores and cores > 1 else None
    console = Console(stderr=True)
    context = multiprocessing.get_context("spawn")
    runs: list[dict[str, Any]] = []
    model: dict[str, float] = {}
    bodies = _ranking_bodies(seed)
    for nodes in sizes:
        build_s = _build_s(nodes, seed)
        model[str(nodes)] = round(_model_ms(nodes, seed), 4)
        with tempfile.TemporaryDirectory(prefix="continuum-bench-api-") as tmp:
            workdir = Path(tmp)
            log_path = workdir / "prometheus.log"
            prometheus_port = free_port()
            ready = context.Event()
            backend = context.Process(
                target=_serve_prometheus,
                args=(prometheus_port, nodes, seed, str(log_path), gen_core, ready),
                daemon=True,
            )
            backend.start()
            api: ManagedProcess | None = None
            try:
                if not ready.wait(120):
                    raise click.ClickException("the Prometheus-shaped backend did not start")
                api, port = _start_api(workdir, prometheus_port, api_core)
                rankings = [_request("POST", "/v1/rankings", b, port) for b in bodies]
                health = [_request("GET", "/healthz", None, port)]
                console.print(f"{nodes} nodes: warm-up ...")
                _phase(context, port, rankings, nodes, 100.0, 2.0, connections, gen_core)
                phases = []
                console.print(f"{nodes} nodes: GET /healthz at {_BASELINE_RATE}/s ...")
                phases.append(
                    _phase(context, port, health, None, float(_BASELINE_RATE), duration_s,
                           connections, gen_core)
                )  # fmt: skip
                for rate in rates:
                    console.print(f"{nodes} nodes: POST /v1/rankings at {rate}/s ...")
                    phases.append(
                        _phase(context, port, rankings, nodes, float(rate), duration_s,
                               connections, gen_core)
                    )  # fmt: skip
            finally:
                if api is not None:
                    api.stop()
                backend.terminate()
                backend.join(10)
            lines = log_path.read_text().splitlines() if log_path.exists() else []
            windows = refresh_windows(lines, 2 * build_s)
            for phase in phases:
                figures_of_phase = summarise(phase, nodes, windows)
                figures_of_phase["snapshot_build_ms"] = round(build_s * 1000, 1)
                runs.append(figures_of_phase)

    table = Table(title=f"scheduler API, refresh on, open loop, {duration_s:g} s per rate")
    for column in (
        "nodes",
        "path",
        "rate/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "p99 in refresh",
        "refreshes",
        "bad/unanswered",
        "gen CPU",
        "on schedule",
    ):
        table.add_column(column, justify="left" if column == "path" else "right")  # fmt: skip

    def cell(value: float | None, requests: int = 1) -> str:
        if requests == 0:
            return "-"
        return "unanswered" if value is None else f"{value:.2f}"

    for r in runs:
        table.add_row(
            f"{r['nodes']:,}", r["path"], f"{r['rate_per_s']:,.0f}", cell(r["p50_ms"]),
            cell(r["p99_ms"]), cell(r["p999_ms"]),
            cell(r["p99_in_refresh_ms"], r["requests_in_refresh"]),
            str(r["refreshes"]), f"{r['bad_answers']}/{r['unanswered']}",
            f"{r['generator_cpu_share']:.0%}", "yes" if r["schedule_kept"] else "no",
        )  # fmt: skip
    Console(width=140).print(table)

    def find(nodes: int, path: str, rate: float) -> dict[str, Any] | None:
        for r in runs:
            if (r["nodes"], r["path"], r["rate_per_s"]) == (nodes, path, rate):
                return r
        return None

    target = find(_TARGET_NODES, "/v1/rankings", _TARGET_RATE)
    baseline = find(_TARGET_NODES, "/healthz", _BASELINE_RATE)
    met = None
    if target is not None:
        # Unanswered requests make a percentile infinite (None on the line): a miss.
        in_refresh_ok = target["requests_in_refresh"] == 0 or (
            target["p99_in_refresh_ms"] is not None and target["p99_in_refresh_ms"] < _TARGET_P99_MS
        )
        met = bool(
            target["p99_ms"] is not None
            and target["p99_ms"] < _TARGET_P99_MS
            and in_refresh_ok
            and target["bad_answers"] == 0
        )
        console.print(
            f"target (p99 < {_TARGET_P99_MS:g} ms at {_TARGET_RATE}/s with {_TARGET_NODES:,} "
            f"nodes, refresh windows included): " + ("[green]met" if met else "[red]missed")
        )
    figures: dict[str, Any] = {
        "benchmark": "api",
        "nodes": sizes,
        "rates_per_s": rates,
        "duration_s": duration_s,
        "connections": connections,
        "refresh_in_background": True,
        "lifespan": "on",
        "open_loop": True,
        "api_cpu": api_core,
        "generator_cpu": gen_core,
        "runs": runs,
        "rankings": target,
        "baseline_healthz": baseline,
        "p50_ms": target["p50_ms"] if target else None,
        "p99_ms": target["p99_ms"] if target else None,
        "p999_ms": target["p999_ms"] if target else None,
        "p99_in_refresh_ms": target["p99_in_refresh_ms"] if target else None,
        "model_rank_median_ms": model,
        "schedule_kept": all(r["schedule_kept"] for r in runs),
        "bad_answers": sum(r["bad_answers"] for r in runs),
        "targets_met": met,
    }
    click.echo(json.dumps(figures))
