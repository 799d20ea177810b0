"""The data path's free space: what a task's data must fit in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents.node._datapath import DATA_PATH_ATTRIBUTE, DataPathCollector
from tests.unit.agents.node.fakes import fake_statvfs


def test_reports_the_space_an_unprivileged_writer_may_use() -> None:
    seen: list[str] = []

    def statvfs(path: str) -> os.statvfs_result:
        seen.append(path)
        return fake_statvfs(path)

    available, limit = DataPathCollector(Path("/var/lib/continuum"), statvfs).collect()
    assert seen == ["/var/lib/continuum"]
    # f_bavail (500 blocks), not f_bfree (600): root's reserve is not the tasks'.
    assert available.instrument == "continuum.node.data_path.available"
    assert available.value == 500 * 4096
    assert limit.value == 1000 * 4096
    assert available.attributes == {DATA_PATH_ATTRIBUTE: "/var/lib/continuum"}


def test_a_missing_data_path_raises_for_the_runner_to_count(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        DataPathCollector(tmp_path / "absent").collect()


def test_the_real_root_has_space() -> None:
    [available, limit] = DataPathCollector(Path("/")).collect()
    assert 0 < available.value <= limit.value
