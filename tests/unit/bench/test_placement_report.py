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
