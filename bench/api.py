"""``continuum bench api``: ranking latency and throughput over HTTP with 1,000 nodes.

The API runs in its own process under uvicorn, its snapshot holding ``--nodes`` synthetic nodes
(answered to its snapshot queries in the shape Prometheus gives; Prometheus itself is not what is
measured). A raw asyncio HTTP/1.1 keep-alive load generator in this process drives it with
``--concurrency`` connections: first ``GET /healthz`` (the baseline: what the server stack costs
with no work), then ``POST /v1/rankings`` with a mix of requirements. It also times the pure
ranking model in-process. Ends with one JSON line of the figures::

    continuum bench api --nodes 1000 --duration 5 --rounds 3 --concurrency 2
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import click
import httpx
import uvloop
from rich.console import Console
from rich.table import Table

__all__ = ["LoadResult", "command", "fleet_answers", "run_load"]

_TOKEN = "bench-token"
_TIERS = ("edge", "cloud", "hpc")
_TARGET_P99_MS = 10.0
_TARGET_RANKINGS_PER_S = 1000.0


def fleet_answers(nodes: int, seed: int, now_s: float) -> dict[str, list[dict[str, Any]]]:
    """Prometheus-shaped answers to the snapshot queries for a synthetic fleet."""
    rng = random.Random(seed)
    aggregates: list[dict[str, Any]] = []
    freshness: list[dict[str, Any]] = []
    info: list[dict[str, Any]] = []
    for i in range(nodes):
        tier = _TIERS[i % 3]
        identity = {"node": f"{tier}-{i:04d}", "tier": tier, "site": f"site-{i % 20}"}
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


def _serve(port: int, nodes: int, seed: int, workdir: str, ready: Event) -> None:
    """The API process: a snapshot of the synthetic fleet, served by uvicorn."""
    import uvicorn

    from scheduler_api import create_app, load_settings
    from scheduler_api._snapshot import SNAPSHOT_QUERIES

    answers = fleet_answers(nodes, seed, time.time())
    by_query = {expr: answers.get(name, []) for name, expr in SNAPSHOT_QUERIES.items()}

    def prometheus(request: httpx.Request) -> httpx.Response:
        expr = dict(httpx.QueryParams(request.content.decode()))["query"]
        result = by_query.get(expr, [])
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        return httpx.Response(200, json=body)

    settings = load_settings(
        None,
        tokens=[{"token": _TOKEN, "scopes": ["read", "schedule"]}],
        database=Path(workdir) / "bench.db",
        stale_after_s=120,
        snapshot_max_age_s=86400,
    )
    app = create_app(
        settings, prometheus_transport=httpx.MockTransport(prometheus), refresh_in_background=False
    )
    app.state.context.cluster.refresh()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    ready.set()
    server.run()


@dataclass
class LoadResult:
    """One load phase's outcome."""

    name: str
    requests: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def figures(self) -> dict[str, float]:
        return {
            "per_s": round(self.per_s, 1),
            "p50_ms": round(self.percentile_ms(0.50), 3),
            "p90_ms": round(self.percentile_ms(0.90), 3),
            "p99_ms": round(self.percentile_ms(0.99), 3),
            "requests": self.requests,
            "errors": self.errors,
        }


def _request(method: str, path: str, body: dict[str, Any] | None, port: int) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {_TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _connection(
    port: int, requests: list[bytes], offset: int, deadline: float, result: LoadResult
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = offset
    try:
        while time.perf_counter() < deadline:
            request = requests[index % len(requests)]
            index += 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            result.latencies_s.append(time.perf_counter() - started)
            result.requests += 1
            if head[9:12] != b"200":
                result.errors += 1
    finally:
        writer.close()


def run_load(
    name: str, port: int, requests: list[bytes], concurrency: int, duration_s: float
) -> LoadResult:
    """Drive ``requests`` round-robin over ``concurrency`` keep-alive connections."""
    result = LoadResult(name)

    async def main() -> None:
        deadline = time.perf_counter() + duration_s
        started = time.perf_counter()
        await asyncio.gather(
            *(_connection(port, requests, i, deadline, result) for i in range(concurrency))
        )
        result.elapsed_s = time.perf_counter() - started

    # uvloop keeps the generator's own cost per request small next to the server's.
    uvloop.run(main())
    return result


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


def _model_timing(nodes: int, seed: int) -> float:
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
    for _ in range(200):
        started = time.perf_counter()
        rank(requirements, table, now_s=now_s, stale_after_s=120, limit=10, rejected_limit=20)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def _median_figures(rounds: list[LoadResult]) -> dict[str, float]:
    """Median over rounds of each figure (rounds interleave with the baseline's)."""
    per_round = [r.figures() for r in rounds]
    return {key: statistics.median(f[key] for f in per_round) for key in per_round[0]}


@click.command(name="api")
@click.option("--nodes", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--duration", "duration_s", type=float, default=5.0, show_default=True,
              help="Seconds per load phase and round.")  # fmt: skip
@click.option("--rounds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Baseline and ranking phases alternate; medians reported.")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(min=1), default=2, show_default=True,
              help="Keep-alive connections of the load generator.")  # fmt: skip
@click.option("--seed", type=int, default=1, show_default=True)
def command(nodes: int, duration_s: float, rounds: int, concurrency: int, seed: int) -> None:
    """Ranking latency and throughput over HTTP, against /healthz as the baseline."""
    from continuum._services import free_port, http_ok, wait_until

    console = Console()
    port = free_port()
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    baselines: list[LoadResult] = []
    rankings: list[LoadResult] = []
    with tempfile.TemporaryDirectory(prefix="continuum-bench-api-") as workdir:
        server = context.Process(
            target=_serve, args=(port, nodes, seed, workdir, ready), daemon=True
        )
        server.start()
        try:
            ready.wait(60)
            wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/readyz"), 60, "bench API")
            health = [_request("GET", "/healthz", None, port)]
            bodies = [
                _request("POST", "/v1/rankings", body, port) for body in _ranking_bodies(seed)
            ]
            run_load("warmup", port, bodies, concurrency, min(duration_s, 2.0))
            # Alternating phases share the machine's noise (other jobs) evenly.
            for _ in range(rounds):
                baselines.append(run_load("GET /healthz", port, health, concurrency, duration_s))
                rankings.append(
                    run_load("POST /v1/rankings", port, bodies, concurrency, duration_s)
                )
        finally:
            server.terminate()
            server.join(10)
    model_ms = _model_timing(nodes, seed)
    baseline, ranking = _median_figures(baselines), _median_figures(rankings)

    table = Table(
        title=f"scheduler API, {nodes} nodes, {concurrency} connections, "
        f"median of {rounds} rounds of {duration_s:g} s"
    )
    for column in ("phase", "req/s", "p50 ms", "p90 ms", "p99 ms", "requests", "errors"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for name, f in (("GET /healthz (baseline)", baseline), ("POST /v1/rankings", ranking)):
        table.add_row(
            name,
            f"{f['per_s']:.0f}",
            f"{f['p50_ms']:.2f}",
            f"{f['p90_ms']:.2f}",
            f"{f['p99_ms']:.2f}",
            f"{f['requests']:.0f}",
            f"{f['errors']:.0f}",
        )
    console.print(table)
    ratio = ranking["per_s"] / baseline["per_s"] if baseline["per_s"] else 0.0
    errors = sum(r.errors for r in rankings)
    passed = (
        ranking["p99_ms"] < _TARGET_P99_MS
        and ranking["per_s"] >= _TARGET_RANKINGS_PER_S
        and errors == 0
    )
    console.print(
        f"ranking model alone: {model_ms:.3f} ms median per ranking of {nodes} nodes; "
        f"rankings run at {ratio:.0%} of the /healthz rate; targets "
        f"(p99 < {_TARGET_P99_MS:g} ms, >= {_TARGET_RANKINGS_PER_S:g}/s): "
        + ("[green]met" if passed else "[red]missed")
    )
    figures = {
        "benchmark": "api",
        "nodes": nodes,
        "concurrency": concurrency,
        "rounds": rounds,
        "duration_s": duration_s,
        "baseline_healthz": baseline,
        "rankings": ranking,
        "rankings_per_round_per_s": [round(r.per_s, 1) for r in rankings],
        "rankings_p99_per_round_ms": [round(r.percentile_ms(0.99), 3) for r in rankings],
        "rankings_vs_baseline_ratio": round(ratio, 3),
        "model_rank_median_ms": round(model_ms, 4),
        "targets_met": passed,
    }
    click.echo(json.dumps(figures))
