"""A seeded corpus of hostile Kafka records mixed with good ones, with the expected outcome.

Every record states by construction what the pipeline must do with it: dead-letter it with a
reason, drop some of its samples with per-sample reasons, and land its good samples (counted
by metric name in Prometheus)::

    corpus = build_corpus(seed=11, records=320, tag="abc123", now_ms=now, series_limit=50)
    for record in corpus.records:
        run.send(record.key, record.value, record.content_type, record.headers)
    assert dead_letter_reasons == corpus.dead_letters
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field

from tests.unit.pipeline.otlp_factory import Payload

OTLP = "application/x-protobuf"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
PROMETHEUS_TEXT = "text/plain; version=0.0.4"

#: Extra rows of an explosion record past the per-node series limit.
EXPLOSION_EXCESS = 10

_HOUR_MS = 3_600_000

#: Texts the Prometheus and OpenMetrics parsers both refuse.
UNPARSEABLE_TEXTS = (
    'up{job="x" 1\n',
    "1bad_name 1\n",
    'm{1a="x"} 1\n',
    "m not-a-number\n",
    'm{a-b="x"} 1\n',
)


@dataclass(frozen=True)
class Record:
    """One Kafka record to produce, and the category it was drawn from."""

    category: str
    key: str
    value: bytes
    content_type: str = OTLP
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Corpus:
    """Records plus their expected outcomes.

    Attributes:
        records: in production order.
        dead_letters: reason -> records that must be dead-lettered.
        dropped: reason -> samples the cleaner must drop and count.
        landed: metric name -> series that must reach Prometheus.
    """

    records: list[Record] = field(default_factory=list)
    dead_letters: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    landed: Counter[str] = field(default_factory=Counter)

    @property
    def categories(self) -> Counter[str]:
        return Counter(r.category for r in self.records)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class _Builder:
    def __init__(
        self, rng: random.Random, tag: str, now_ms: int, series_limit: int, corpus: Corpus
    ):
        self.rng = rng
        self.tag = tag
        self.now_ms = now_ms
        self.series_limit = series_limit
        self.corpus = corpus
        self.seq = 0
        self.index = 0
        self.good_metric = f"rel.corpus.{tag}"
        self.good_name = f"rel_corpus_{tag}"
        self.text_name = f"rel_corpus_text_{tag}"
        self.explode_name = f"rel_explode_{tag}"

    def _ts(self) -> int:
        # A distinct timestamp per record: a node's target_info never repeats a timestamp.
        self.index += 1
        return self.now_ms - 60_000 + self.index

    def _seq(self) -> str:
        self.seq += 1
        return str(self.seq)

    def _good_points(self, ts_ms: int, count: int) -> list[tuple[int, float, dict[str, str]]]:
        self.corpus.landed[self.good_name] += count
        return [(ts_ms, self.rng.uniform(-1e6, 1e6), {"seq": self._seq()}) for _ in range(count)]

    def add(self, record: Record, dead_letter: str | None = None) -> None:
        self.corpus.records.append(record)
        if dead_letter is not None:
            self.corpus.dead_letters[dead_letter] += 1

    # -- good records -----------------------------------------------------------------------

    def good_otlp(self) -> None:
        node = f"good-{self.rng.randrange(8)}"
        ts = self._ts()
        payload = Payload().resource(node).gauge(self.good_metric, self._good_points(ts, 3))
        self.add(Record("good_otlp", node, bytes(payload)))

    def good_text(self) -> None:
        node = f"fw-{self.rng.randrange(4)}"
        ts = self._ts()
        lines = [f"# TYPE {self.text_name} gauge"]
        for _ in range(2):
            lines.append(f'{self.text_name}{{seq="{self._seq()}"}} {self.rng.random()}')
        self.corpus.landed[self.text_name] += 2
        content_type = self.rng.choice((OPENMETRICS, PROMETHEUS_TEXT))
        if content_type == OPENMETRICS:
            lines.append("# EOF")
        headers = {
            "continuum.node.id": node,
            "continuum.tier": "edge",
            "continuum.site": "rel",
            "scrape.timestamp_ms": str(ts),
        }
        text = "\n".join(lines) + "\n"
        self.add(Record("good_text", node, text.encode(), content_type, headers))

    # -- records dead-lettered as a whole -------------------------------------------------------

    def truncated_otlp(self) -> None:
        node = f"good-{self.rng.randrange(8)}"
        whole = bytes(Payload().resource(node).gauge("rel.trunc", [(self._ts(), 1.0, {})]))
        # One resource is one length-delimited field: any cut inside it leaves it short.
        cut = self.rng.randrange(1, len(whole))
        self.add(Record("truncated_otlp", node, whole[:cut]), "decode")

    def garbage(self) -> None:
        body = self.rng.randbytes(self.rng.randrange(0, 200))
        # Field 1, length-delimited, announcing more bytes than follow: never parses.
        value = b"\x0a" + _varint(len(body) + 1 + self.rng.randrange(1000)) + body
        self.add(Record("garbage", "good-0", value), "decode")

    def otlp_invalid_utf8(self) -> None:
        payload = bytes(Payload().resource("utf8-nodeX").gauge("rel.u", [(self._ts(), 1.0, {})]))
        # protobuf refuses a string field that is not UTF-8; the worker names the reason.
        self.add(
            Record("otlp_invalid_utf8", "k", payload.replace(b"nodeX", b"node\xff")), "invalid_utf8"
        )

    def wrong_content_type(self) -> None:
        content_type = self.rng.choice(("application/json", "text/html", "application/xml"))
        self.add(Record("wrong_content_type", "good-1", b'{"a": 1}', content_type), "content_type")

    def text_invalid_utf8(self) -> None:
        value = b'm_ok 1\nm_bad{a="\xff\xfe"} 2\n'
        headers = {"continuum.node.id": "fw-0"}
        self.add(
            Record("text_invalid_utf8", "fw-0", value, PROMETHEUS_TEXT, headers), "invalid_utf8"
        )

    def unparseable_text(self) -> None:
        text = self.rng.choice(UNPARSEABLE_TEXTS)
        content_type = self.rng.choice((OPENMETRICS, PROMETHEUS_TEXT))
        headers = {"continuum.node.id": "fw-1"}
        self.add(Record("unparseable_text", "fw-1", text.encode(), content_type, headers), "parse")

    def missing_identity(self) -> None:
        if self.rng.random() < 0.5:
            payload = Payload().resource(None).gauge("rel.noid", [(self._ts(), 1.0, {})])
            self.add(Record("missing_identity", "", bytes(payload)), "missing_identity")
        else:
            value = b"rel_noid 1\n"
            self.add(Record("missing_identity", "", value, PROMETHEUS_TEXT), "missing_identity")

    # -- records with bad samples next to good ones ---------------------------------------------

    def mixed(self) -> None:
        node = f"good-{self.rng.randrange(8)}"
        ts = self._ts()
        payload = Payload().resource(node)
        points = self._good_points(ts, 1)
        bad = self.rng.sample(
            [
                "nan",
                "future",
                "ancient",
                "negative_counter",
                "inf_counter",
                "invalid_label",
                "collision",
            ],
            3,
        )
        counters: list[tuple[int, float, dict[str, str]]] = []
        for kind in bad:
            seq = {"seq": self._seq()}
            if kind == "nan":
                points.append((ts, math.nan, seq))
                self.corpus.dropped["non_finite"] += 1
            elif kind == "future":
                points.append((ts + _HOUR_MS + self.rng.randrange(10**9), 1.0, seq))
                self.corpus.dropped["future_timestamp"] += 1
            elif kind == "ancient":
                points.append((self.rng.randrange(1, ts - _HOUR_MS), 1.0, seq))
                self.corpus.dropped["too_old"] += 1
            elif kind == "negative_counter":
                counters.append((ts, -self.rng.uniform(1, 1e9), seq))
                self.corpus.dropped["negative_counter"] += 1
            elif kind == "inf_counter":
                counters.append((ts, math.inf, seq))
                self.corpus.dropped["non_finite"] += 1
            elif kind == "invalid_label":
                # An empty attribute key translates to an empty label name, which is invalid.
                points.append((ts, 1.0, {**seq, "": "x"}))
                self.corpus.dropped["invalid_label_name"] += 1
            else:
                points.append((ts, 1.0, {**seq, "a.b": "x", "a_b": "y"}))
                self.corpus.dropped["label_collision"] += 1
        payload.gauge(self.good_metric, points)
        if counters:
            payload.sum(f"rel.counter.{self.tag}", counters)
        self.add(Record("mixed", node, bytes(payload)))

    def explosion(self) -> None:
        node = f"explode-{self._seq()}"
        ts = self._ts()
        rows = self.series_limit + EXPLOSION_EXCESS
        points = [(ts, float(i), {"row": str(i)}) for i in range(rows)]
        payload = Payload().resource(node).gauge(self.explode_name.replace("_", "."), points)
        # The node's first `series_limit` series pass; the rest and its target_info do not.
        self.corpus.landed[self.explode_name] += self.series_limit
        self.corpus.dropped["series_limit"] += EXPLOSION_EXCESS + 1
        self.add(Record("explosion", node, bytes(payload)))


#: Category -> relative weight in the corpus.
WEIGHTS = {
    "good_otlp": 6,
    "good_text": 2,
    "mixed": 4,
    "truncated_otlp": 3,
    "garbage": 2,
    "otlp_invalid_utf8": 1,
    "wrong_content_type": 1,
    "text_invalid_utf8": 1,
    "unparseable_text": 1,
    "missing_identity": 1,
    "explosion": 1,
}


def build_corpus(seed: int, records: int, tag: str, now_ms: int, series_limit: int) -> Corpus:
    """Draw ``records`` records (every category at least once) from a seeded generator.

    Args:
        seed: the random seed (the same seed gives the same corpus).
        records: how many records.
        tag: makes metric names unique to one run.
        now_ms: the producers' clock; good samples are a minute older.
        series_limit: the worker's ``max_series_per_node``.
    """
    rng = random.Random(seed)
    corpus = Corpus()
    builder = _Builder(rng, tag, now_ms, series_limit, corpus)
    names = list(WEIGHTS)
    draws = names + rng.choices(names, weights=[WEIGHTS[n] for n in names], k=records - len(names))
    rng.shuffle(draws)
    for name in draws:
        getattr(builder, name)()
    return corpus
