from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bench._results import ResultRecord
from bench.placement import command
from bench.placement_report import render


def test_a_stored_run_renders_its_sets_and_targets(wf_data: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        command,
        ["--workflow", str(wf_data / "srasearch-chameleon-10a-001.json"), "--seeds", "2",
         "--first-seed", "100", "--out-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    record = ResultRecord("placement", "continuum bench placement", "0" * 40, "now", 2, figures)
    text = render([record])
    assert text.startswith(f"{figures['runs']} runs of 12 schedulers")
    assert "**custom (1 workflows x 2 seeds; the flat figures count it)**" in text
    kube = figures["schedulers"]["kube-least-allocated"]
    assert f"| {kube['wins']}/{kube['ties']}/{kube['losses']} | 0 |" in text
    assert f"ours / static HEFT {figures['ours_vs_heft_static_median']:.4f}" in text
    # One row per scheduler in the set's table, ours in bold.
    assert text.count("| **ours-heft** |") == 1
    assert "| workflow-test |" in text


def test_a_lab_run_renders_makespans_and_paired_ratios() -> None:
    def run(workflow: str, seed: int, scheduler: str, makespan: float | None) -> dict[str, object]:
        return {
            "workflow": workflow, "seed": seed, "scheduler": scheduler, "makespan_s": makespan,
            "attempts": 3, "nodes": {}, "error": "" if makespan else "TimeoutError: late",
        }  # fmt: skip

    runs = [
        run("blast", 1, "ours-heft", 40.0), run("blast", 1, "round-robin", 50.0),
        run("blast", 2, "ours-heft", 60.0), run("blast", 2, "round-robin", 50.0),
        run("blast", 3, "ours-heft", 45.0), run("blast", 3, "round-robin", None),
    ]  # fmt: skip
    result = {
        "mode": "lab",
        "ours": "ours-heft",
        "lab": {"edge-1": {"cpu_cores": 0.65}, "cloud-1": {"cpu_cores": 0.65}},
        "target_s": 30.0,
        "epoch_s": 15.0,
        "max_file_bytes": 1 << 20,
        "runs": runs,
        "failed": 1,
        "median_makespan_s": {"ours-heft": 45.0, "round-robin": 50.0},
        "median_makespan_s_by_workflow": {"blast": {"ours-heft": 45.0, "round-robin": 50.0}},
        "ours_vs_round_robin_median": 1.0,
        "ours_vs_round_robin_runs": 2,
    }
    record = ResultRecord(
        "placement", "continuum bench placement --lab", "0" * 40, "now", 2, result
    )
    text = render([record])
    assert text.startswith("6 runs (1 failed) on 2 lab nodes (1.3 cores; cloud-1, edge-1)")
    assert "| workflow | ours-heft | round-robin | ours-heft / round-robin |" in text
    # Seeds 1 and 2 pair (0.8 and 1.2); seed 3's baseline failed and pairs with nothing.
    assert "| blast | 45.0 s | 50.0 s | 1.00 |" in text
    assert "| all | 45.0 s | 50.0 s | **1.00** (2 pairs) |" in text
