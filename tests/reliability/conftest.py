"""Fixtures of the reliability tests: pipeline runs with extra worker settings."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.pipeline.conftest import PipelineRun

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaProducer


class TunedPipelineRun(PipelineRun):
    """A :class:`PipelineRun` whose workers get extra settings and whose producer extra options."""

    def __init__(
        self,
        workdir: Path,
        bootstrap: str,
        remote_write_url: str,
        pipeline: dict[str, Any] | None = None,
        kafka: dict[str, Any] | None = None,
        client: dict[str, Any] | None = None,
    ):
        super().__init__(workdir, bootstrap, remote_write_url)
        self.extra_pipeline = dict(pipeline or {})
        self.extra_kafka = dict(kafka or {})
        self.client_options = dict(client or {})

    @property
    def producer(self) -> KafkaProducer:
        """The test's producer, with ``client`` options (TLS) when given."""
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks=1,
                enable_idempotence=False,
                linger_ms=2,
                **self.client_options,
            )
        return self._producer

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


@pytest.fixture(scope="session")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (its own CA), and its key."""
    workdir = tmp_path_factory.mktemp("tls")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key


@pytest.fixture
def collect_leaked_sockets() -> Iterator[None]:
    """Close the sockets kafka-python leaks from connection attempts to a stopped broker.

    They stay referenced until the interpreter ends, where ``filterwarnings = error`` would turn
    their ResourceWarning into a failure of the whole session; here, after the test (its
    clients all closed), they are closed in the test that leaked them. Only TCP sockets that
    are neither connected nor listening are touched: nothing can still be using them.
    """
    yield
    import errno
    import gc
    import socket

    gc.collect()
    for obj in gc.get_objects():
        if not isinstance(obj, socket.socket) or obj.fileno() < 0:
            continue
        if obj.type != socket.SOCK_STREAM or obj.family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            if obj.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                continue
            obj.getpeername()
        except OSError as err:
            if err.errno == errno.ENOTCONN:
                obj.close()  # never connected, or the attempt failed: nothing uses it
