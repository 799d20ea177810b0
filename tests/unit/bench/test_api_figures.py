"""The API bench's figures: refresh windows from the backend's log, latencies from due times."""

from __future__ import annotations

import math

from bench.api import Phase, percentile, refresh_windows, summarise


def test_refresh_windows_group_a_refreshs_queries_and_add_the_build_tail() -> None:
    log = ["10.0 10.1", "10.1 10.3", "10.3 10.35", "15.4 15.5", "15.5 15.6", ""]
    assert refresh_windows(log, tail_s=0.05) == [(10.0, 10.4), (15.4, 15.65)]


def _phase(done: list[float]) -> Phase:
    # Ten requests due every 0.1 s from t=100.
    return Phase(
        path="/v1/rankings",
        rate=10.0,
        start=100.0,
        count=len(done),
        done=done,
        good=[not math.isnan(t) for t in done],
        wake_lags_s=[0.0001] * len(done),
        late_pickups=0,
        generator_cpu_s=0.1,
        wall_s=1.0,
    )


def test_latency_counts_from_the_due_time_and_a_stall_delays_all_due_during_it() -> None:
    # Requests 3 to 5 were due during a stall that ended at t=100.6: each waits till then.
    done = [100.0 + i / 10 + 0.001 for i in range(10)]
    for i in (3, 4, 5):
        done[i] = 100.6
    phase = _phase(done)
    latencies = phase.latencies_s()
    assert [round(v, 3) for v in latencies[2:7]] == [0.001, 0.3, 0.2, 0.1, 0.001]
    # Only requests whose [due, answered] overlaps the window count as in it.
    assert len(phase.latencies_s([(100.35, 100.55)])) == 3


def test_an_unanswered_request_is_infinitely_slow() -> None:
    done = [100.0 + i / 10 + 0.001 for i in range(10)]
    done[9] = math.nan
    figures = summarise(_phase(done), nodes=5, windows=[])
    assert figures["unanswered"] == 1
    assert figures["bad_answers"] == 0  # an unanswered request is not a bad body
    assert figures["max_ms"] is None  # infinite: no figure rather than a fake one
    assert figures["p50_ms"] == 1.0
    assert figures["requests_in_refresh"] == 0
    assert figures["schedule_kept"] is True


def test_percentile_is_the_nearest_rank_above() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.999) == 100.0
    assert math.isnan(percentile([], 0.5))
