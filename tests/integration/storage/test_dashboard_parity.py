"""Every dashboard query that returns data on Prometheus returns the same series on
VictoriaMetrics. One node agent's records are read by two pipeline workers (two consumer
groups), one writing into each store; each store runs the shipped rules. Series are compared by
their labels (the metric name aside, which PromQL functions drop on both) for the node under
test: other tests of the session write other nodes into the stores."""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from continuum._victoria import VictoriaMetricsServer
from continuum.services import (
    ManagedProcess,
    PrometheusServer,
    ServiceError,
    TansuBroker,
    free_port,
    wait_until,
)
from dashboards import DASHBOARDS, substitute

_NODE, _TIER, _SITE = "twin-node", "hpc", "twin"
_IDENTITY = {"node": _NODE, "tier": _TIER, "site": _SITE}
# A series VictoriaMetrics has never seen is searchable after about 10 s; rules then run on it.
_DEADLINE_S = 90.0


def _daemon(workdir: Path, name: str, args: list[str], config: dict[str, Any]) -> ManagedProcess:
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = [sys.executable, "-m", "continuum", *args, "--config", str(path)]
    return ManagedProcess(name, argv, workdir / f"{name}.log")


@pytest.fixture(scope="module")
def twins(
    tmp_path_factory: pytest.TempPathFactory,
    tansu: TansuBroker,
    ruled_prometheus: PrometheusServer,
    victoria_metrics: VictoriaMetricsServer,
) -> Iterator[tuple[PrometheusServer, VictoriaMetricsServer]]:
    workdir = tmp_path_factory.mktemp("twins")
    kafka = {"bootstrap_servers": tansu.bootstrap}
    identity = {"node_id": _NODE, "tier": _TIER, "site": _SITE}
    daemons = [
        _daemon(
            workdir,
            "agent",
            ["agent", "node"],
            {
                "identity": identity,
                "kafka": kafka,
                "agent": {
                    "listen": f"127.0.0.1:{free_port()}",
                    "interval_s": 1,
                    "spool_dir": str(workdir / "spool"),
                },
            },
        )
    ]
    for store in (ruled_prometheus, victoria_metrics):
        daemons.append(
            _daemon(
                workdir,
                f"pipeline-{store.name}",
                ["pipeline"],
                {
                    "kafka": kafka,
                    "pipeline": {
                        "listen": f"127.0.0.1:{free_port()}",
                        "remote_write_url": store.remote_write_url,
                        "group_id": f"twin-{store.name}-{secrets.token_hex(4)}",
                    },
                },
            )
        )
    try:
        for daemon in daemons:
            daemon.start()
        for store in (ruled_prometheus, victoria_metrics):
            # Raw counters with two samples in a minute, and the rules' results.
            store.wait_for(
                f'rate(system_cpu_time_seconds_total{{node="{_NODE}"}}[1m])', _DEADLINE_S
            )
            store.wait_for(f'continuum:node_up{{node="{_NODE}"}}', _DEADLINE_S)
        yield ruled_prometheus, victoria_metrics
    finally:
        for daemon in daemons:
            daemon.stop()


def _label_sets(result: list[dict[str, Any]]) -> set[tuple[tuple[str, str], ...]]:
    sets = set()
    for item in result:
        labels = {k: v for k, v in item["metric"].items() if k != "__name__"}
        # Only what concerns the node under test (or no node, tier or site at all).
        if all(labels.get(k, v) == v for k, v in _IDENTITY.items()):
            sets.add(tuple(sorted(labels.items())))
    return sets


def test_every_dashboard_query_with_data_answers_alike(
    twins: tuple[PrometheusServer, VictoriaMetricsServer],
) -> None:
    prometheus, victoria = twins
    values = {"node": _NODE, "pod": "none"}
    expected: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    titles: dict[str, str] = {}
    for spec in DASHBOARDS:
        for panel, query in spec.queries():
            expr = substitute(query.expr, values)
            found = _label_sets(prometheus.query(expr))
            if found:  # else no data here on Prometheus either (containers, probes, self-metrics)
                expected[expr] = found
                titles[expr] = f"{spec.uid} / {panel.title}"
    assert len(expected) >= 20, sorted(expected)
    # Roll-ups of recorded series show up one rule group and one new-series delay later.
    pending = dict(expected)

    def all_alike() -> bool:
        for expr, want in list(pending.items()):
            if _label_sets(victoria.query(expr)) == want:
                del pending[expr]
        return not pending

    with contextlib.suppress(ServiceError):
        wait_until(all_alike, _DEADLINE_S, "the same series on VictoriaMetrics", interval_s=1)
    differing = [
        f"{titles[e]}: {e}\n  Prometheus: {want}\n"
        f"  VictoriaMetrics: {_label_sets(victoria.query(e))}"
        for e, want in pending.items()
    ]
    assert not differing, "\n".join(differing)
