"""Dashboards name only catalogued series (docs/contracts.md §2: the catalogue is the contract)."""

from __future__ import annotations

import pytest

from dashboards import DASHBOARDS, DashboardSpec, metric_names, substitute, variables_in
from pipeline.catalogue import is_catalogued

_EXPRESSIONS = [
    pytest.param(spec, panel.title, query.expr, id=f"{spec.uid}:{panel.title}:{index}")
    for spec in DASHBOARDS
    for panel in spec.panels()
    for index, query in enumerate(panel.queries)
]


@pytest.mark.parametrize(("spec", "panel_title", "expr"), _EXPRESSIONS)
def test_every_expression_names_only_catalogued_series(
    spec: DashboardSpec, panel_title: str, expr: str
) -> None:
    names = metric_names(expr)
    assert names, f"{panel_title}: {expr!r} selects no series"
    unknown = sorted(n for n in names if not is_catalogued(n))
    assert not unknown, f"{spec.title} / {panel_title}: not catalogued: {unknown}"


@pytest.mark.parametrize("spec", DASHBOARDS, ids=lambda s: s.uid)
def test_variables_read_catalogued_series_and_are_all_defined(spec: DashboardSpec) -> None:
    defined = [v.name for v in spec.variables]
    for variable in spec.variables:
        unknown = [n for n in metric_names(variable.selector) if not is_catalogued(n)]
        assert not unknown, f"${variable.name} reads {unknown}"
        # A variable may only depend on the ones before it.
        earlier = defined[: defined.index(variable.name)]
        assert variables_in(variable.selector) <= set(earlier)
    for _panel, query in spec.queries():
        assert variables_in(query.expr) <= set(defined), query.expr
        substitute(query.expr, dict.fromkeys(defined, "x"))


def test_uids_and_titles_are_unique() -> None:
    assert len({s.uid for s in DASHBOARDS}) == len(DASHBOARDS)
    assert len({s.title for s in DASHBOARDS}) == len(DASHBOARDS)
