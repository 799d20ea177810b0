"""The lab placement bench's smoke run: one workflow, one seed, every scheduler, on a real lab.

Each scheduler's run places the scaled WfCommons trace on the lab's pull-mode workers under the
same seeded background load; the figures end in one JSON line.
"""

from __future__ import annotations

import json

from bench.placement_lab import SCHEDULERS, LabTarget, run_lab, shipped_workflow
from tests.integration.lab.conftest import LabStack


def test_one_workflow_one_seed_runs_under_every_scheduler_on_the_lab(
    lab_stack: LabStack,
) -> None:
    workflow = shipped_workflow("srasearch")
    target = LabTarget(
        lab_stack.lab, lab_stack.api_url, lab_stack.stack.token, lab_stack.tansu.bootstrap
    )
    figures = run_lab(
        [workflow],
        [1],
        target=target,
        target_s=6.0,
        epoch_s=6.0,
        max_file_bytes=256 << 10,
        settle_timeout_s=150.0,
        run_timeout_s=240.0,
        log=print,
    )
    line = json.dumps(figures, sort_keys=True)
    assert json.loads(line) == figures
    runs = {r["scheduler"]: r for r in figures["runs"]}
    assert set(runs) == set(SCHEDULERS)
    for scheduler, run in runs.items():
        assert run["error"] == "", (scheduler, run["error"])
        assert sum(run["nodes"].values()) == len(workflow.tasks), run
        assert set(run["nodes"]) <= {n.node_id for n in lab_stack.topology.nodes}
        assert run["makespan_s"] > 0
    # Round robin cycles through every node, the NAT'd edge node included.
    assert "edge-1" in runs["round-robin"]["nodes"]
    for baseline in ("kube_least_allocated", "round_robin"):
        assert figures[f"ours_vs_{baseline}_runs"] == 1
        assert figures[f"ours_vs_{baseline}_median"] > 0
    print(line)
