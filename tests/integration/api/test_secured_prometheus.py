"""Both components against a Prometheus that requires basic auth over TLS (--web.config.file):
the pipeline worker remote-writes a node's export, and the API's snapshot reads it back. The
password is read from a file and appears in neither process's log.
"""

from __future__ import annotations

import secrets
import ssl
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from continuum.services import PrometheusServer, TansuBroker, free_port, wait_until
from tests.certificates import CertificateAuthority
from tests.integration.api.conftest import ApiDaemon
from tests.integration.pipeline.conftest import PipelineRun
from tests.unit.pipeline.otlp_factory import node_payload

with warnings.catch_warnings():
    # crypt is deprecated from Python 3.11; it hashes with the system's libcrypt (bcrypt here).
    warnings.simplefilter("ignore", DeprecationWarning)
    crypt = pytest.importorskip("crypt")

_USER = "continuum"


class SecuredPrometheus(PrometheusServer):
    """Prometheus serving HTTPS only, and only to a basic-auth user."""

    def __init__(self, workdir: Path, ca: CertificateAuthority, password: str):
        super().__init__("127.0.0.1", free_port(), workdir)
        server = ca.issue("prometheus", "prometheus", ip="127.0.0.1")
        if crypt.METHOD_BLOWFISH not in crypt.methods:
            pytest.skip("libcrypt has no bcrypt, which --web.config.file requires")
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
        self.web_config = workdir / "web.yml"
        workdir.mkdir(parents=True, exist_ok=True)
        self.web_config.write_text(
            yaml.safe_dump(
                {
                    "tls_server_config": {
                        "cert_file": str(server.cert_path),
                        "key_file": str(server.key_path),
                    },
                    "basic_auth_users": {_USER: hashed},
                }
            )
        )
        self.context = ssl.create_default_context(cafile=str(ca.cert_path))
        self.auth = httpx.BasicAuth(_USER, password)

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def argv(self) -> list[str]:
        return [*super().argv(), f"--web.config.file={self.web_config}"]

    def get(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(
            self.url + path, params=params, auth=self.auth, verify=self.context, timeout=5
        )

    def healthy(self) -> bool:
        try:
            return self.get("/-/ready").status_code == 200
        except httpx.TransportError:
            return False

    def query(self, expr: str, timeout_s: float = 5.0) -> list[dict[str, Any]]:
        body = self.get("/api/v1/query", query=expr).json()
        assert body["status"] == "success", body
        return list(body["data"]["result"])


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[SecuredPrometheus, CertificateAuthority, Path]]:
    ca = CertificateAuthority.create(tmp_path / "pki", "prometheus CA")
    password = secrets.token_urlsafe(18)
    password_file = tmp_path / "prometheus-password"
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    server = SecuredPrometheus(tmp_path / "prometheus", ca, password)
    server.start()
    yield server, ca, password_file
    server.stop()


class _AuthenticatedRun(PipelineRun):
    """A pipeline run whose workers remote-write with basic auth over TLS."""

    def __init__(self, workdir: Path, bootstrap: str, url: str, auth: dict[str, Any]):
        super().__init__(workdir, bootstrap, url)
        self.auth = auth

    def config(self, port: int) -> Path:
        path = super().config(port)
        config = yaml.safe_load(path.read_text())
        config["pipeline"]["remote_write_auth"] = self.auth
        path.write_text(yaml.safe_dump(config))
        return path


def test_pipeline_and_api_work_against_prometheus_with_basic_auth_and_tls(
    tmp_path: Path,
    tansu: TansuBroker,
    secured: tuple[SecuredPrometheus, CertificateAuthority, Path],
    api_daemon: Callable[..., ApiDaemon],
) -> None:
    prometheus, ca, password_file = secured
    password = password_file.read_text().strip()
    # Prometheus itself refuses what carries no credentials, and plain HTTP.
    anonymous = httpx.get(f"{prometheus.url}/api/v1/query?query=up", verify=prometheus.context)
    assert anonymous.status_code == 401
    # Go's TLS server answers plain HTTP with a bare 400 and nothing else.
    plain = httpx.get(f"http://127.0.0.1:{prometheus.port}/-/ready", timeout=5)
    assert plain.status_code == 400
    assert "HTTPS server" in plain.text

    auth = {
        "basic_auth": {"username": _USER, "password_file": str(password_file)},
        "tls": {"ca_file": str(ca.cert_path)},
    }
    run = _AuthenticatedRun(tmp_path, tansu.bootstrap, prometheus.remote_write_url, auth)
    node = f"secured-{secrets.token_hex(3)}"
    api: ApiDaemon | None = None
    try:
        worker = run.start_worker()
        started_ms = int(time.time() * 1000)
        # A node's export every half second, so its aggregates stay fresh for the API.
        for i in range(6):
            run.send(node, node_payload(node, started_ms + 500 * i))
        run.flush()
        wait_until(
            lambda: bool(prometheus.query(f'continuum:node_cpu_cores{{node="{node}"}}')),
            30,
            f"the node's aggregates written through basic auth\n{run.logs()}",
        )
        api = api_daemon(prometheus.url, prometheus_auth=auth, stale_after_s=600)

        def node_listed() -> bool:
            assert api is not None
            listed = api.get("/v1/nodes")
            return listed.status_code == 200 and node in {n["id"] for n in listed.json()["nodes"]}

        wait_until(node_listed, 30, "the node in the API's snapshot")
        assert api.get("/readyz").status_code == 200
        written = prometheus.query(f'count({{node="{node}", __name__=~"system_.*"}})')
        assert float(written[0]["value"][1]) > 0
    finally:
        run.stop()
    logs = worker.log_tail(10_000) + (api.process.log_tail(10_000) if api is not None else "")
    assert password not in logs
