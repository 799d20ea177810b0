"""A small data-mining function (frequent itemsets, level by level as Apriori does), instrumented
with the plain OpenTelemetry SDK and pushed through the agents' path into Prometheus.

The metrics go to Kafka through :class:`continuum.otel.KafkaMetricExporter` (spooled while the
broker is away), the pipeline writes them to Prometheus with the node's ``node``, ``tier`` and
``site`` labels, and the workflow and task on ``target_info``::

    python examples/mining.py --workflow demo --task apriori
    # then, in Prometheus:
    #   mining_itemsets_total{node="..."}
    #   histogram_quantile(0.9, rate(mining_pass_duration_seconds_bucket[5m]))
    #   target_info{continuum_workflow="demo"}

The brokers come from continuum.yaml (``--config``) or ``CONTINUUM_KAFKA__BOOTSTRAP_SERVERS``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

from continuum.otel import KafkaMetricExporter, continuum_resource

Itemset = frozenset[str]

ITEMS = ("bread", "milk", "eggs", "butter", "cheese", "apples", "coffee", "tea", "jam", "rice")


def baskets(count: int, seed: int = 0) -> list[frozenset[str]]:
    """Shopping baskets with a few habits in them (bread goes with butter, tea with jam)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        basket = {item for item in ITEMS if rng.random() < 0.25}
        if "bread" in basket and rng.random() < 0.7:
            basket.add("butter")
        if "tea" in basket and rng.random() < 0.6:
            basket.add("jam")
        out.append(frozenset(basket))
    return out


class Instruments:
    """What the miner records: itemsets found, transactions scanned, each pass's duration."""

    def __init__(self, meter: Meter) -> None:
        self.itemsets = meter.create_counter(
            "mining.itemsets", unit="{itemset}", description="Frequent itemsets found, by size."
        )
        self.scanned = meter.create_counter(
            "mining.transactions.scanned",
            unit="{transaction}",
            description="Transactions read by the passes over the data.",
        )
        self.pass_duration = meter.create_histogram(
            "mining.pass.duration", unit="s", description="Wall time of one pass over the data."
        )


def frequent_itemsets(
    transactions: Sequence[frozenset[str]], min_support: float, instruments: Instruments
) -> dict[Itemset, int]:
    """Every itemset in at least ``min_support`` of the transactions, with its count."""
    threshold = min_support * len(transactions)
    found: dict[Itemset, int] = {}
    candidates: set[Itemset] = {frozenset([item]) for t in transactions for item in t}
    size = 1
    while candidates:
        started = time.perf_counter()
        counts: Counter[Itemset] = Counter()
        for transaction in transactions:
            for candidate in candidates:
                if candidate <= transaction:
                    counts[candidate] += 1
        frequent = {itemset: n for itemset, n in counts.items() if n >= threshold}
        attributes = {"itemset.size": size}
        instruments.scanned.add(len(transactions), attributes)
        instruments.itemsets.add(len(frequent), attributes)
        instruments.pass_duration.record(time.perf_counter() - started, attributes)
        found.update(frequent)
        # The next level's candidates: unions of two frequent sets, one item larger, whose
        # every subset one smaller is frequent (the Apriori property).
        size += 1
        level = list(frequent)
        candidates = {
            union
            for a, b in combinations(level, 2)
            if len(union := a | b) == size
            and all(frozenset(sub) in frequent for sub in combinations(union, size - 1))
        }
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="continuum.yaml (kafka, identity)")
    parser.add_argument("--workflow", default="mining-demo", help="continuum.workflow")
    parser.add_argument("--task", default="frequent-itemsets", help="continuum.task")
    parser.add_argument("--baskets", type=int, default=2_000)
    parser.add_argument("--min-support", type=float, default=0.1)
    parser.add_argument("--spool-dir", type=Path, help="the exporter's spool (default: state dir)")
    args = parser.parse_args(argv)

    exporter = KafkaMetricExporter(config_file=args.config, spool_dir=args.spool_dir)
    # A long interval: this run is short, and shutdown() exports what it recorded.
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(
        resource=continuum_resource(
            service_name="mining-example",
            workflow=args.workflow,
            task=args.task,
            config_file=args.config,
        ),
        metric_readers=[reader],
    )
    try:
        instruments = Instruments(provider.get_meter("examples.mining"))
        found = frequent_itemsets(baskets(args.baskets), args.min_support, instruments)
    finally:
        # The last export, then up to ten seconds to deliver it; the rest stays in the spool.
        provider.shutdown(timeout_millis=10_000)
    largest = max(found, key=lambda s: (len(s), found[s]))
    print(f"{len(found)} frequent itemsets; largest: {sorted(largest)} in {found[largest]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
