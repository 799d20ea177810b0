from __future__ import annotations

import pytest

from bench.sim import RunMetrics, failed_run, summarise, with_ratios


def _row(instance: str, seed: int, scheduler: str, makespan_s: float) -> RunMetrics:
    return RunMetrics(instance, seed, scheduler, makespan_s, makespan_s / 10, 0, 0, 0.0)


def test_ratios_and_win_tie_loss() -> None:
    rows = [
        _row("w", 0, "ours", 100.0), _row("w", 0, "base", 200.0),
        _row("w", 1, "ours", 100.0), _row("w", 1, "base", 100.5),
        _row("w", 2, "ours", 150.0), _row("w", 2, "base", 100.0),
    ]  # fmt: skip
    ratios = {(r.seed, r.scheduler): r.ratio_to_best for r in with_ratios(rows)}
    assert ratios[(0, "base")] == 2.0
    assert ratios[(0, "ours")] == 1.0
    assert ratios[(2, "ours")] == 1.5
    base = {s.scheduler: s for s in summarise(rows, ours="ours")}["base"]
    assert (base.wins, base.ties, base.losses) == (1, 1, 1)
    assert base.ours_over_this_median == pytest.approx(100.0 / 100.5)
    assert base.makespan_ratio_median == pytest.approx(1.005)
    assert base.runs == 3


def test_a_failed_run_is_a_loss_for_whoever_failed() -> None:
    rows = [
        failed_run("w", 0, "ours"), _row("w", 0, "base", 200.0),
        _row("w", 1, "ours", 300.0), failed_run("w", 1, "base"),
        failed_run("w", 2, "ours"), failed_run("w", 2, "base"),
        _row("w", 3, "ours", 100.0), _row("w", 3, "base", 100.0),
    ]  # fmt: skip
    summaries = {s.scheduler: s for s in summarise(rows, ours="ours")}
    base = summaries["base"]
    # Ours failing loses even where the baseline failed too; the baseline failing is our win.
    assert (base.wins, base.ties, base.losses) == (1, 1, 2)
    assert (base.failed, summaries["ours"].failed) == (2, 2)
    # Failed runs rank last and stay in the medians; bytes come from completed runs only.
    ratios = {(r.seed, r.scheduler): r.ratio_to_best for r in with_ratios(rows)}
    assert ratios[(0, "ours")] == float("inf")
    assert ratios[(1, "ours")] == 1.0
    assert ratios[(2, "ours")] == ratios[(2, "base")] == 1.0
    assert summaries["ours"].makespan_ratio_iqr == (1.0, 1.0)
    assert base.gb_moved_median == 0.0
