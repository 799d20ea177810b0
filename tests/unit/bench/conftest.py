"""Shared helpers for the placement-benchmark tests: the WfCommons data shipped in bench/data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.placement import data_dir
from bench.sim import load_schema


@pytest.fixture(scope="session")
def wf_data() -> Path:
    directory = data_dir()
    # The data ships with the repository: its absence is a broken checkout, not a reason to skip.
    assert (directory / "wfcommons-schema.json").exists(), f"WfCommons data missing at {directory}"
    return directory


@pytest.fixture(scope="session")
def schema(wf_data: Path) -> dict[str, Any]:
    return load_schema(wf_data / "wfcommons-schema.json")
