"""The PromQL name extractor finds series names and nothing else."""

from __future__ import annotations

import pytest

from dashboards import PromQLSyntaxError, metric_names, substitute, variables_in


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ("continuum:node_cpu_utilization:avg1m", {"continuum:node_cpu_utilization:avg1m"}),
        ('foo{node="$node", tier=~"edge|cloud"}', {"foo"}),
        ("rate(foo_total[5m])", {"foo_total"}),
        ("sum by (tier, site) (rate(foo_total[$__rate_interval]))", {"foo_total"}),
        ("sum(rate(foo_total[1m])) without (cpu)", {"foo_total"}),
        ("a / on (node, tier) group_left (site) b", {"a", "b"}),
        ("a unless ignoring (x) b or c and d", {"a", "b", "c", "d"}),
        ("a > bool 0.5", {"a"}),
        ("foo offset 5m", {"foo"}),
        ("foo @ start()", {"foo"}),
        ("max_over_time(foo[1h:1m])", {"foo"}),
        ('label_replace(foo, "dst", "$1", "src", "(by|on)")', {"foo"}),
        ("histogram_quantile(0.99, sum by (le) (rate(lat_bucket[5m])))", {"lat_bucket"}),
        ('{__name__="via_name", node="a"}', {"via_name"}),
        ("topk(10, x) > 1e3", {"x"}),
        ("time() - timestamp(x)", {"x"}),
        ("vector(1)", set()),
        ("absent(x{node='it''s'})", {"x"}),
        ("sum by (le)(rate(y[5m])) / ignoring(le) group_right z", {"y", "z"}),
        ("clamp_min(NaN, Inf)", set()),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize("expr", ['foo{a="b}', "sum(foo", "foo)"])
def test_malformed_expressions_raise(expr: str) -> None:
    with pytest.raises(PromQLSyntaxError):
        metric_names(expr)


def test_substitute_fills_variables_and_builtins() -> None:
    expr = 'rate(x{node="$node", pod="${pod}"}[$__rate_interval])'
    assert substitute(expr, {"node": "a", "pod": "p"}) == 'rate(x{node="a", pod="p"}[1m])'
    assert variables_in(expr) == {"node", "pod"}


def test_substitute_names_a_missing_variable() -> None:
    with pytest.raises(KeyError, match="node"):
        substitute('x{node="$node"}', {})
