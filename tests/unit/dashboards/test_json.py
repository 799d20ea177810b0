"""The Grafana JSON: golden structure, sound layout, and the provisioned copies kept current.

Regenerate after a deliberate change:
    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/dashboards/test_json.py
    .venv/bin/continuum dashboards build --out deploy/grafana/dashboards
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from dashboards import DASHBOARDS, DATASOURCE_UID, DashboardSpec, build, to_json

GOLDEN_DIR = Path(__file__).parent / "golden"
REPO_ROOT = Path(__file__).resolve().parents[3]
PROVISIONED_DIR = REPO_ROOT / "deploy" / "grafana" / "dashboards"


def _summary(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The parts of the JSON a reader of the dashboard sees, without grafanalib's defaults."""
    return {
        "uid": dashboard["uid"],
        "title": dashboard["title"],
        "variables": [
            {"name": t["name"], "query": t["query"]} for t in dashboard["templating"]["list"]
        ],
        "panels": [
            {
                "id": p["id"],
                "type": p["type"],
                "title": p["title"],
                "gridPos": p["gridPos"],
                "targets": [
                    {"refId": t["refId"], "expr": t["expr"], "legend": t["legendFormat"]}
                    for t in p.get("targets", [])
                ],
            }
            for p in dashboard["panels"]
        ],
    }


@pytest.mark.parametrize("spec", DASHBOARDS, ids=lambda s: s.uid)
def test_structure_matches_golden(spec: DashboardSpec) -> None:
    summary = _summary(json.loads(to_json(spec)))
    golden = GOLDEN_DIR / f"{spec.uid}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    assert summary == json.loads(golden.read_text())


@pytest.mark.parametrize("spec", DASHBOARDS, ids=lambda s: s.uid)
def test_layout_and_datasource(spec: DashboardSpec) -> None:
    dashboard = json.loads(to_json(spec))
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(set(ids)) == len(ids)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == DATASOURCE_UID
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID
    for template in dashboard["templating"]["list"]:
        assert template["datasource"]["uid"] == DATASOURCE_UID
        assert template["query"].startswith("label_values(")


def test_provisioned_copies_are_current() -> None:
    for spec in DASHBOARDS:
        path = PROVISIONED_DIR / f"{spec.uid}.json"
        assert path.read_text() == to_json(spec), (
            f"{path} is stale: run `continuum dashboards build --out deploy/grafana/dashboards`"
        )
    on_disk = {p.stem for p in PROVISIONED_DIR.glob("*.json")}
    assert on_disk == {s.uid for s in DASHBOARDS}, "remove dashboards that no longer exist"


def test_build_writes_one_file_per_dashboard(tmp_path: Path) -> None:
    paths = build(tmp_path / "out")
    assert [p.name for p in paths] == [f"{s.uid}.json" for s in DASHBOARDS]
    for path in paths:
        assert json.loads(path.read_text())["schemaVersion"] >= 12
