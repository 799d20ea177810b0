"""Where the two stores differ, and what the stack does about it, on real servers.

- Remote write: Prometheus refuses a sample too old for its head (500 ``too old sample``) and
  a second value at one timestamp (400 ``duplicate sample``); VictoriaMetrics takes both (the
  old one inside its retention; of a duplicate, either value may be answered). The pipeline's writer
  treats each refusal as permanent, so it never retries what cannot succeed, and its cleaner
  removes too-old samples before either store sees them.
- Staleness: the launcher gives VictoriaMetrics Prometheus's fixed 5 m lookback, so a series
  whose last sample is two minutes old is in both stores' answers and one six minutes old in
  neither, for instant and range queries alike.
- Visibility: Prometheus answers a sample as soon as it is acknowledged; VictoriaMetrics
  answers a new sample of a known series within about a second (its latency offset, set to
  1 s by the launcher) but a series it has never seen only after about ten seconds (its index
  is searched in batches). The API tolerates both: a node shows up a few seconds later.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import httpx
import pytest

from continuum.services import wait_until
from pipeline._writer import is_permanent_rejection
from tests.integration.storage.conftest import BACKENDS, Store
from tests.integration.storage.series import remote_write

# A series VictoriaMetrics has never seen is searchable after about 10 s (see above).
_NEW_SERIES_S = 30.0
Key = tuple[tuple[str, str], ...]


def _key(store: Store, name: str) -> Key:
    return (("__name__", name), ("node", f"{store.name}-{secrets.token_hex(3)}"))


def _selector(key: Key) -> str:
    labels = dict(key)
    return f'{labels["__name__"]}{{node="{labels["node"]}"}}'


def _values(store: Store, key: Key) -> list[str]:
    return [s["value"][1] for s in store.query(_selector(key))]


@dataclass
class Seeded:
    """Series written once per store, so the new-series delay is waited for once."""

    store: Store
    now_ms: int
    keys: dict[str, Key] = field(default_factory=dict)
    new_series_visible_s: float = 0.0

    @property
    def is_prometheus(self) -> bool:
        return self.store.name == "prometheus"


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    name = "ruled_prometheus" if request.param == "prometheus" else "victoria_metrics"
    store: Store = request.getfixturevalue(name)
    seeded = Seeded(store, int(time.time() * 1000))
    keys = seeded.keys
    for what in ("duplicate", "recent", "gone", "known"):
        keys[what] = _key(store, f"storage_test_{what}")
    started = time.monotonic()
    written = remote_write(
        store.remote_write_url,
        {
            keys["duplicate"]: [(seeded.now_ms, 1.0)],
            keys["recent"]: [(seeded.now_ms - 120_000, 1.0)],
            keys["gone"]: [(seeded.now_ms - 360_000, 1.0)],
            keys["known"]: [(seeded.now_ms - 1000, 1.0)],
        },
    )
    assert written.status_code == 204, written.text
    wait_until(
        lambda: _values(store, keys["known"]) == ["1"], _NEW_SERIES_S, "the new series", 0.05
    )
    seeded.new_series_visible_s = time.monotonic() - started
    return seeded


def test_remote_write_rejections_and_what_the_writer_makes_of_them(seeded: Seeded) -> None:
    store = seeded.store
    # Older than Prometheus's head allows (it holds samples of now, and a 10 m window).
    old = _key(store, "storage_test_old")
    too_old = remote_write(store.remote_write_url, {old: [(seeded.now_ms - 3 * 3600_000, 1.0)]})
    duplicate = remote_write(
        store.remote_write_url, {seeded.keys["duplicate"]: [(seeded.now_ms, 2.0)]}
    )
    if seeded.is_prometheus:
        assert too_old.status_code == 500
        assert "too old sample" in too_old.text
        assert duplicate.status_code == 400
        assert "duplicate sample" in duplicate.text
        assert _values(store, seeded.keys["duplicate"]) == ["1"]
    else:
        assert too_old.status_code == 204
        assert duplicate.status_code == 204
        # Both values are kept; which one a query answers is not defined (no deduplication).
        assert _values(store, seeded.keys["duplicate"]) in (["1"], ["2"])
        # The old sample is kept, inside the retention, once its new series shows.
        wait_until(
            lambda: bool(store.query(f"count_over_time({_selector(old)}[4h])")),
            _NEW_SERIES_S,
            "the old sample",
        )
    for refused in (too_old, duplicate):
        if refused.status_code >= 300:
            assert is_permanent_rejection(refused.status_code, refused.text)
    corrupt = httpx.post(
        store.remote_write_url,
        content=b"not snappy",
        headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"},
        timeout=10,
    )
    assert corrupt.status_code == 400
    assert is_permanent_rejection(corrupt.status_code, corrupt.text)


def test_both_stores_look_back_five_minutes(seeded: Seeded) -> None:
    store, recent, gone = seeded.store, seeded.keys["recent"], seeded.keys["gone"]
    assert _values(store, recent) == ["1"]
    assert store.query(_selector(gone)) == []
    # The six-minute-old sample is there: only the lookback hides it.
    assert store.query(f"count_over_time({_selector(gone)}[10m])")
    end_s = seeded.now_ms / 1000
    body = httpx.get(
        f"{store.url}/api/v1/query_range",
        params={"query": _selector(recent), "start": end_s - 240, "end": end_s, "step": 60},
        timeout=10,
    ).json()
    (series,) = body["data"]["result"]
    # Points from the sample's time to the end of the range, two minutes on: all answered.
    assert [round(float(t) - end_s) for t, _ in series["values"]] == [-120, -60, 0]


def test_when_a_written_sample_is_answered(seeded: Seeded) -> None:
    store, known = seeded.store, seeded.keys["known"]
    if seeded.is_prometheus:
        assert seeded.new_series_visible_s < 5, seeded.new_series_visible_s
    started = time.monotonic()
    written = remote_write(store.remote_write_url, {known: [(int(time.time() * 1000), 7.0)]})
    assert written.status_code == 204
    wait_until(lambda: _values(store, known) == ["7"], 10, "the written sample", 0.05)
    # Prometheus at once; VictoriaMetrics within its one-second latency offset.
    assert time.monotonic() - started < 5
