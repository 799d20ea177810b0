"""Alert and recording rules: valid, unit-tested with promtool, named from the catalogue."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import metric_names
from pipeline.catalogue import CATALOGUE, is_catalogued

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
RULES_DIR = DEPLOY / "prometheus" / "rules"
TESTS_DIR = DEPLOY / "prometheus" / "tests"
RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
TEST_FILES = sorted(TESTS_DIR.glob("*.yml"))


def _rules(kind: str) -> list[dict[str, Any]]:
    found = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [rule for rule in group["rules"] if kind in rule]
    return found


def _alert_cases() -> list[tuple[str, list[dict[str, Any]]]]:
    """(alertname, expected alerts) of every alert_rule_test case."""
    cases = []
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.append((case["alertname"], case.get("exp_alerts", [])))
    return cases


def test_promtool_check_rules(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "rules", *map(str, RULE_FILES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda p: p.name)
def test_promtool_test_rules(test_file: Path, promtool: str) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", test_file.name],
        capture_output=True,
        text=True,
        cwd=test_file.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "rule", _rules("alert") + _rules("record"), ids=lambda r: r.get("alert") or r["record"]
)
def test_rules_read_only_catalogued_series(rule: dict[str, Any]) -> None:
    names = metric_names(rule["expr"])
    assert names
    unknown = sorted(n for n in names if not is_catalogued(n))
    assert not unknown, f"not catalogued: {unknown}"


def test_recorded_names_are_exactly_the_catalogued_rule_series() -> None:
    recorded = [rule["record"] for rule in _rules("record")]
    assert len(recorded) == len(set(recorded))
    catalogued = {s.name for s in CATALOGUE.values() if s.source == "rules"} - {"ALERTS"}
    assert set(recorded) == catalogued


@pytest.mark.parametrize("rule", _rules("alert"), ids=lambda r: r["alert"])
def test_every_alert_is_labelled_documented_and_tested(rule: dict[str, Any]) -> None:
    labels = rule["labels"]
    assert labels["severity"] in ("critical", "warning", "info")
    assert labels["scope"] in ("node", "fleet")
    assert rule["annotations"]["summary"]
    cases = [expected for name, expected in _alert_cases() if name == rule["alert"]]
    assert any(cases), f"{rule['alert']} has no promtool case where it fires"
    assert any(not expected for expected in cases), (
        f"{rule['alert']} has no case where it holds off"
    )
    for expected in cases:
        for alert in expected:
            assert alert["exp_labels"]["scope"] == labels["scope"]
            # The API marks nodes unhealthy by the `node` label of critical alerts.
            assert ("node" in alert["exp_labels"]) == (labels["scope"] == "node")
