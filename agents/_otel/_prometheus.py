"""The pull path: the SDK's Prometheus reader, with the identity labels on every sample.

``opentelemetry-exporter-prometheus`` names the families (the standard OTel-to-Prometheus
translation: unit suffixes, ``_total``, cumulative non-monotonic sums as gauges) and puts the
resource on ``target_info``. One thing differs, by contract (docs/contracts.md §3.1): every
series carries ``node``, ``tier`` and ``site``, as the pipeline gives them on the push path, so
the two paths give identical series. The exporter would only copy resource attributes under
their own names (``continuum_node_id``), so :class:`IdentityLabels` adds the three labels to
each sample of the reader's output, and takes them off ``target_info`` in their raw form::

    pull = PrometheusPull(identity_labels(identity))
    meter = SnapshotMeter(board, resource, scope, [pull.reader, ...])
    generate_latest(pull.registry)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import CollectorRegistry

from agents._otel._meter import cardinality_limits
from agents._otel._resource import IDENTITY_ATTRIBUTES

__all__ = ["IdentityLabels", "PrometheusPull"]

# The exporter's label names of the identity attributes on target_info (its sanitizing: every
# character outside [a-zA-Z0-9_] becomes "_"); tests pin them against the exporter.
_RAW_IDENTITY_LABELS = frozenset(key.replace(".", "_") for key in IDENTITY_ATTRIBUTES)
_TARGET_INFO = "target"


class IdentityLabels:
    """A prometheus_client collector: another registry's families, with identity labels added.

    Identity labels win over a data point attribute that translates to the same name.

    Args:
        source: the registry the SDK's reader is registered in.
        labels: ``node``, ``tier``, ``site`` and their values.
    """

    def __init__(self, source: CollectorRegistry, labels: Mapping[str, str]) -> None:
        self._source = source
        self._labels = dict(labels)

    def collect(self) -> Iterator[Metric]:
        """Yield the source's families, relabelled."""
        identity = self._labels
        for family in self._source.collect():
            out = Metric(family.name, family.documentation, family.type, family.unit)
            if family.name == _TARGET_INFO:
                out.samples = [
                    s._replace(
                        labels={
                            **{k: v for k, v in s.labels.items() if k not in _RAW_IDENTITY_LABELS},
                            **identity,
                        }
                    )
                    for s in family.samples
                ]
            else:
                out.samples = [s._replace(labels={**s.labels, **identity}) for s in family.samples]
            yield out


class PrometheusPull:
    """The SDK's Prometheus reader in a private registry, and the registry ``/metrics`` serves.

    Nothing goes to prometheus_client's global registry: several agents (and tests) can live in
    one process.

    Args:
        labels: the identity labels (``node``, ``tier``, ``site``).
    """

    def __init__(self, labels: Mapping[str, str]) -> None:
        self._source = CollectorRegistry(auto_describe=False)
        # No otel_scope_* labels: the push path's series carry none either.
        self.reader = PrometheusMetricReader(
            scope_info_enabled=False,
            registry=self._source,
            cardinality_limits=cardinality_limits(),
        )
        #: What ``/metrics`` serves.
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(IdentityLabels(self._source, labels))
