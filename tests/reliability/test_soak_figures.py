"""The soak benchmark's figures: lag quantiles from a histogram, memory growth, the plot."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench import soak


def _exposition(values: list[float]) -> str:
    registry = CollectorRegistry()
    histogram = Histogram(
        "continuum_pipeline_write_lag_seconds", "lag", buckets=(0.5, 1, 2, 5), registry=registry
    )
    for value in values:
        histogram.observe(value)
    return generate_latest(registry).decode()


def test_lag_quantiles_interpolate_within_buckets_as_promql_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 100 observations: 50 in (0, 0.5], 40 in (0.5, 1], 10 in (1, 2].
    text = _exposition([0.25] * 50 + [0.75] * 40 + [1.5] * 10)
    monkeypatch.setattr(httpx, "get", lambda url, timeout: httpx.Response(200, text=text))
    quantiles = soak._lag_quantiles("http://unused", (0.5, 0.9, 0.99))
    assert quantiles[0.5] == pytest.approx(0.5)  # rank 50 is the top of the first bucket
    assert quantiles[0.9] == pytest.approx(1.0)
    assert quantiles[0.99] == pytest.approx(1.0 + (99 - 90) / 10 * 1.0)


def test_memory_growth_compares_first_and_last_minute_medians() -> None:
    points = [(float(t), 100.0 if t < 60 else 150.0) for t in range(0, 600, 5)]
    growth = soak._memory_growth({"pipeline": points})["pipeline"]
    assert growth["first_mib"] == 100.0
    assert growth["last_mib"] == 150.0
    assert growth["growth_ratio"] == 1.5
    assert growth["peak_mib"] == 150.0


def test_the_memory_plot_is_written(tmp_path: Path) -> None:
    path = tmp_path / "plot.png"
    soak._plot({"api": [(0.0, 10.0), (5.0, 11.0)]}, path, "title")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
