"""Shared helpers for the placement-benchmark tests: the shipped WfCommons data, when present."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.placement import data_dir
from bench.sim import load_schema


@pytest.fixture(scope="session")
def wf_data() -> Path:
    directory = data_dir()
    if not (directory / "wfcommons-schema.json").exists():
        pytest.skip(f"WfCommons data not found at {directory} (../shared/data/wfcommons)")
    return directory


@pytest.fixture(scope="session")
def schema(wf_data: Path) -> dict[str, Any]:
    return load_schema(wf_data / "wfcommons-schema.json")
