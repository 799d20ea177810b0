"""Fixtures of the reliability tests: pipeline runs with extra worker settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.pipeline.conftest import PipelineRun


class TunedPipelineRun(PipelineRun):
    """A :class:`PipelineRun` whose workers get extra ``pipeline`` and ``kafka`` settings."""

    def __init__(
        self,
        workdir: Path,
        bootstrap: str,
        remote_write_url: str,
        pipeline: dict[str, Any] | None = None,
        kafka: dict[str, Any] | None = None,
    ):
        super().__init__(workdir, bootstrap, remote_write_url)
        self.extra_pipeline = dict(pipeline or {})
        self.extra_kafka = dict(kafka or {})

    def config(self, port: int) -> Path:
        path = super().config(port)
        document = yaml.safe_load(path.read_text())
        document["pipeline"].update(self.extra_pipeline)
        document["kafka"].update(self.extra_kafka)
        path.write_text(yaml.safe_dump(document))
        return path


TunedRunFactory = Callable[..., TunedPipelineRun]


@pytest.fixture
def tuned_run_factory(tmp_path: Path) -> Iterator[TunedRunFactory]:
    """Make a :class:`TunedPipelineRun`; its workers and producer stop after the test."""
    runs: list[TunedPipelineRun] = []

    def make(bootstrap: str, remote_write_url: str, **extra: Any) -> TunedPipelineRun:
        run = TunedPipelineRun(tmp_path, bootstrap, remote_write_url, **extra)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.stop()
