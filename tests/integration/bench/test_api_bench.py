"""`continuum bench api` at its smallest: refresh on, open loop, bodies checked, its JSON line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from continuum._cmd_bench import bench


def test_api_bench_runs_the_refreshing_api_open_loop_and_checks_every_body() -> None:
    args = ["api", "--nodes", "200", "--rates", "100", "--duration-s", "6", "--connections", "4"]
    result = CliRunner().invoke(bench, args)
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["benchmark"] == "api"
    assert line["refresh_in_background"] is True
    assert line["lifespan"] == "on"
    assert line["open_loop"] is True
    assert (line["nodes"], line["rates_per_s"]) == ([200], [100])
    health, ranking = line["runs"]
    assert (health["path"], ranking["path"]) == ("/healthz", "/v1/rankings")
    assert ranking["requests"] == 600
    # Every ranking answered, and every body's totals add up to the fleet.
    assert ranking["answered"] == 600
    assert ranking["bad_answers"] == 0
    assert line["bad_answers"] == 0
    assert 0 < ranking["p50_ms"] <= ranking["p99_ms"] <= ranking["p999_ms"] <= ranking["max_ms"]
    # The refresh runs every 5 s: a 6 s phase overlaps at least one refresh window.
    assert ranking["refreshes"] >= 1
    assert ranking["requests_in_refresh"] > 0
    assert ranking["p99_in_refresh_ms"] is not None
    assert 0 < ranking["generator_cpu_share"] < 1
    assert isinstance(ranking["schedule_kept"], bool)
    # Flat keys: the figures at the target point are absent here (not 1,000 nodes at 1,000/s).
    for key in ("p50_ms", "p99_ms", "p999_ms", "p99_in_refresh_ms", "targets_met"):
        assert key in line, key
    assert line["rankings"] is None
    assert line["model_rank_median_ms"]["200"] > 0
