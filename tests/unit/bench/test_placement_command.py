from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.placement import command


def test_tiny_configuration_end_to_end(wf_data: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        command,
        [
            "--workflow", str(wf_data / "srasearch-chameleon-10a-001.json"),
            "--recipe", "epigenomics:100", "--seeds", "2", "--out-dir", str(tmp_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["mode"] == "quality"
    assert figures["instances"] == 2
    assert figures["seeds"] == 2
    assert figures["runs"] == 2 * 2 * 12
    kube = figures["schedulers"]["kube-least-allocated"]
    assert kube["wins"] + kube["ties"] + kube["losses"] == 4
    assert figures["ours_vs_heft_static_median"] > 0
    # Ours can be within the kube target only where a lower-bound schedule is.
    reach = figures["kube_target_reach"]
    assert reach["runs"] == 4
    assert 0 <= reach["ours_within"] <= reach["lower_bound_within"] <= reach["runs"]
    assert f"within it on {reach['ours_within']} of 4 runs" in result.output
    assert "win/tie/loss" in result.output
    assert figures["world"] == "shared"
    assert (tmp_path / "placement-shared-makespan.png").stat().st_size > 1000
    assert (tmp_path / "placement-shared-gantt.png").stat().st_size > 1000


def test_the_mild_world_is_a_flag_away(wf_data: Path, tmp_path: Path) -> None:
    args = ["--workflow", str(wf_data / "srasearch-chameleon-10a-001.json"),
            "--seeds", "1", "--out-dir", str(tmp_path)]  # fmt: skip
    mild = CliRunner().invoke(command, [*args, "--world", "mild"])
    shared = CliRunner().invoke(command, args)
    assert mild.exit_code == 0, mild.output
    mild_figures = json.loads(mild.output.strip().splitlines()[-1])
    shared_figures = json.loads(shared.output.strip().splitlines()[-1])
    assert mild_figures["world"] == "mild"
    assert "mild world" in mild.output
    assert (tmp_path / "placement-mild-makespan.png").exists()
    # Same workflow, same seed, another load: kube's makespan differs between the worlds.
    kube = "kube-least-allocated"
    assert (
        mild_figures["schedulers"][kube]["slr_median"]
        != shared_figures["schedulers"][kube]["slr_median"]
    )


def test_bad_recipe_is_a_usage_error(wf_data: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(command, ["--recipe", "montage", "--out-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "RECIPE:TASKS" in result.output


def test_speed_mode_says_when_the_engine_benchmark_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bench.placement as placement

    real = placement.importlib.util.find_spec
    monkeypatch.setattr(
        placement.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "bench.placement_speed" else real(name, *a),
    )
    result = CliRunner().invoke(command, ["--mode", "speed"])
    assert result.exit_code != 0
    assert "speed mode is not available" in result.output


def test_an_invalid_instance_is_named_not_a_traceback(wf_data: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    doc = json.loads((wf_data / "srasearch-chameleon-10a-001.json").read_text())
    del doc["workflow"]["specification"]["tasks"][0]["id"]
    bad.write_text(json.dumps(doc))
    result = CliRunner().invoke(command, ["--workflow", str(bad)])
    assert result.exit_code == 1
    assert "bad.json: not valid WfFormat" in result.output
    assert "'id' is a required property" in result.output


def test_the_protocol_holds_out_seeds_and_sizes() -> None:
    from bench.placement import HELD_OUT_SEEDS, TUNING_SEEDS, protocol_sets

    tuning, seeds, sizes = protocol_sets()
    assert [tuning.held_out, seeds.held_out, sizes.held_out] == [False, True, True]
    assert set(tuning.seeds).isdisjoint(HELD_OUT_SEEDS)
    assert list(tuning.seeds) == list(TUNING_SEEDS) == list(range(10))
    assert list(seeds.seeds) == list(sizes.seeds) == list(range(100, 120))
    assert [w.name for w in tuning.workflows] == [w.name for w in seeds.workflows]
    tuned_sizes = {len(w.tasks) for w in tuning.workflows}
    assert sizes.workflows
    assert all(len(w.tasks) > max(tuned_sizes) for w in sizes.workflows)


def test_a_crashing_scheduler_counts_as_a_loss(
    wf_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench.placement as placement

    real = placement.simulate

    def crash_ours(workflow, continuum, scheduler):  # type: ignore[no-untyped-def]
        if scheduler.name == "ours-heft":
            raise RuntimeError("engine crashed")
        return real(workflow, continuum, scheduler)

    monkeypatch.setattr(placement, "simulate", crash_ours)
    result = CliRunner().invoke(
        command,
        ["--workflow", str(wf_data / "srasearch-chameleon-10a-001.json"), "--seeds", "1",
         "--first-seed", "100", "--out-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["seed_values"] == [100]
    assert figures["failed"] == 1
    assert figures["max_loss_share"] == 1.0
    assert "engine crashed" in figures["failed_runs"][0]
    assert all(s["losses"] == 1 for n, s in figures["schedulers"].items() if n != "ours-heft")
    assert "no Gantt chart" in result.output


def test_lab_mode_without_a_lab_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No lab, no stack: the state directory holds no token.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    result = CliRunner().invoke(command, ["--lab", "--seeds", "1"])
    assert result.exit_code != 0
    assert "the lab is not ready" in result.output
    assert "continuum lab up --topology" in result.output
