"""`continuum bench placement-speed` at its smallest: its JSON line, makespans on one estimator."""

from __future__ import annotations

import json

from click.testing import CliRunner

from continuum._cmd_bench import bench


def test_placement_speed_line_holds_its_figures_and_one_estimator_for_makespans() -> None:
    args = ["placement-speed", "--nodes", "30", "--tasks", "300", "--repeats", "1"]
    result = CliRunner().invoke(bench, args)
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert (line["nodes"], line["tasks"], line["repeats"]) == (30, 300, 1)
    for key in (
        "independent_placements_per_s",
        "random_independent_placements_per_s",
        "heft_graph_plan_s",
        "lpt_graph_plan_s",
        "random_graph_plan_s",
        "heft_engine_makespan_estimate_s",
        "lpt_engine_makespan_estimate_s",
    ):
        assert line[key] > 0, key  # fmt: skip
    assert line["heft_graph_placements_per_s"] == 300 / line["heft_graph_plan_s"]
    # HEFT's and the random placer's makespans come from the same list schedule, so their
    # ratio compares placements, not estimators; earliest-finish placement wins by far.
    assert line["heft_makespan_vs_random"] == line["heft_makespan_s"] / line["random_makespan_s"]
    assert line["heft_makespan_vs_random"] < 1
    assert line["meets_placements_target"] in (0.0, 1.0)
    assert line["meets_graph_target"] == 1.0  # 300 tasks plan far inside 2 s
