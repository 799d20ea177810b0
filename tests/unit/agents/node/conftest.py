"""A node agent over the fixture trees, with fake NVML and smartctl, a hung NFS mount and a fake
producer."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents._otel import Agent, IdentitySettings, KafkaSettings
from agents.node import NodeSettings, build_collectors
from tests.unit.agents.node.fakes import PROC, SYS, FakeNvml, FakeSmartctl, HungStatvfs
from tests.unit.agents.otel.fake_kafka import FakeProducer


@pytest.fixture
def fixture_agent(tmp_path: Path) -> Iterator[tuple[Agent, FakeProducer]]:
    """An agent on every collector and every instrument, cycled twice, serving on a free port."""
    proc = Path(shutil.copytree(PROC, tmp_path / "proc"))
    settings = NodeSettings(
        listen="127.0.0.1:0",
        proc_root=proc,
        sys_root=SYS,
        spool_dir=tmp_path / "spool",
        mount_timeout_s=0.05,
    )
    statvfs = HungStatvfs("/mnt/nfs")
    producer = FakeProducer()
    agent = Agent(
        "node",
        build_collectors(settings, statvfs=statvfs, nvml=FakeNvml(), smartctl=FakeSmartctl()),
        identity=IdentitySettings(
            node_id="edge-01", tier="edge", site="lab", labels={"rack": "r1"}
        ),
        kafka=KafkaSettings(),
        settings=settings,
        producer_factory=lambda: producer,
    )
    agent.start()
    agent.run_cycle()
    # Time passes on the CPUs, so utilisation has an interval to report.
    (proc / "stat").write_text(
        "cpu  2030 100 1010 20050 310 50 40 10 0 0\n"
        "cpu0 1030 50 510 10050 160 25 20 5 0 0\n"
        "cpu1 1000 50 500 10000 150 25 20 5 0 0\n"
    )
    agent.run_cycle()
    try:
        yield agent, producer
    finally:
        statvfs.release.set()
        agent.shutdown()
