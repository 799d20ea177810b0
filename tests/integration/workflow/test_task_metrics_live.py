"""Task-level metrics of continuum run reach Prometheus through Kafka and the pipeline."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from continuum.services import PrometheusServer
from tests.conftest import LiveStack, wait_until

pytestmark = pytest.mark.integration

_DEADLINE_S = 60.0


def _wait_for(prometheus: PrometheusServer, expr: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + _DEADLINE_S
    while time.monotonic() < deadline:
        result = prometheus.query(expr)
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"{expr} never answered within {_DEADLINE_S} s")


def test_attempts_land_in_prometheus_joinable_by_node_workflow_and_task(
    live_stack: LiveStack,
    prometheus: PrometheusServer,
    repo_root: Path,
    tmp_path: Path,
    clean_env: dict[str, str],
) -> None:
    # The run places on the API's inventory: wait until the live node is in it.
    _wait_for(prometheus, f'continuum:node_cpu_cores{{node="{live_stack.node_id}"}}')
    wait_until(
        lambda: (
            httpx.get(
                f"{live_stack.api_url}/v1/nodes/{live_stack.node_id}", headers=live_stack.headers()
            ).status_code
            == 200
        ),
        _DEADLINE_S,
        "the node in the API's inventory",
    )
    env = dict(clean_env)
    kafka = yaml.safe_load(live_stack.config_path.read_text())["kafka"]
    env["CONTINUUM_KAFKA__BOOTSTRAP_SERVERS"] = kafka["bootstrap_servers"]
    env["PYTHONPATH"] = str(repo_root)
    command = [sys.executable, "-m", "continuum", "run", "examples/compss_style.py"]
    command += ["--api", live_stack.api_url, "--token", live_stack.token, "--task-metrics"]
    command += ["--chart", str(tmp_path / "chart.svg")]
    result = subprocess.run(
        command, cwd=repo_root, capture_output=True, text=True, timeout=180, env=env
    )
    assert result.returncode == 0, result.stderr
    run_id = re.search(r"continuum logs ([0-9a-f]+)", result.stderr)
    assert run_id, result.stderr
    workflow = run_id.group(1)

    counts = _wait_for(
        prometheus, f'continuum_task_duration_seconds_count{{workflow="{workflow}"}}'
    )
    by_task = {s["metric"]["task"]: float(s["value"][1]) for s in counts}
    # Four parts squared, then one sum: every attempt counted, on the node it ran on.
    assert by_task == {"square_part": 4.0, "add_up": 1.0}
    # Each attempt on the node it ran on: nodes of the live inventory (the suite may add some).
    inventory = httpx.get(f"{live_stack.api_url}/v1/nodes", headers=live_stack.headers()).json()
    ran_on = {s["metric"]["node"] for s in counts}
    assert ran_on <= {n["id"] for n in inventory["nodes"]}
    assert {s["metric"]["outcome"] for s in counts} == {"finished"}
    # The tasks' series join the node's own on node: CPU of the run beside the node's cores.
    joined = _wait_for(
        prometheus,
        f'sum by (node) (continuum_task_cpu_time_seconds_total{{workflow="{workflow}"}})'
        " * on (node) group_left() continuum:node_cpu_cores",
    )
    assert {j["metric"]["node"] for j in joined} == ran_on
