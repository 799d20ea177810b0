"""The extender over mutual TLS, as kube-scheduler calls it: `continuum api` serving HTTPS with a
client CA, a client certificate whose subject api.client_certificates maps to `schedule`.

Certificates are issued here with the `cryptography` package; the API is the real daemon
against a real Prometheus.
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from continuum.services import ManagedProcess, PrometheusServer, free_port, wait_until
from tests.certificates import CertificateAuthority, IssuedCertificate

SCHEDULER_SUBJECT = "CN=continuum-scheduler,O=continuum"
_FILTER_BODY = {
    "Pod": {"spec": {"containers": [{"resources": {"requests": {"cpu": "100m"}}}]}},
    "NodeNames": ["k8s-node-a", "k8s-node-b"],
}


@dataclass
class MutualTlsApi:
    url: str
    ca: CertificateAuthority
    scheduler: IssuedCertificate
    token: str

    def trusting(self) -> ssl.SSLContext:
        """A client context that trusts the API and presents no certificate."""
        return ssl.create_default_context(cafile=str(self.ca.cert_path))


@pytest.fixture
def mtls_api(tmp_path: Path, prometheus: PrometheusServer) -> Iterator[MutualTlsApi]:
    ca = CertificateAuthority.create(tmp_path / "pki", "continuum cluster CA")
    server = ca.issue("api", "continuum-api", ip="127.0.0.1")
    scheduler = ca.issue("scheduler", "continuum-scheduler", organization="continuum", client=True)
    ca.issue("reader", "some-reader", organization="continuum", client=True)
    token = "t-" + os.urandom(8).hex()
    token_file = tmp_path / "token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    port = free_port()
    config = {
        "api": {
            "listen": f"127.0.0.1:{port}",
            "prometheus_url": prometheus.url,
            "token_file": str(token_file),
            "database": str(tmp_path / "continuum.db"),
            "snapshot_interval_s": 0.5,
            "tls_certfile": str(server.cert_path),
            "tls_keyfile": str(server.key_path),
            "tls_client_ca_file": str(ca.cert_path),
            "client_certificates": [{"subject": SCHEDULER_SUBJECT, "scopes": ["schedule"]}],
        }
    }
    config_path = tmp_path / "continuum.yaml"
    config_path.write_text(yaml.safe_dump(config))
    config_path.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    argv = [sys.executable, "-m", "continuum", "api", "--config", str(config_path)]
    process = ManagedProcess("api", argv, tmp_path / "api.log", env=env)
    process.start()
    api = MutualTlsApi(f"https://127.0.0.1:{port}", ca, scheduler, token)

    def ready() -> bool:
        if not process.running():
            raise RuntimeError(f"API exited at start:\n{process.log_tail()}")
        try:
            return httpx.get(f"{api.url}/readyz", verify=api.trusting(), timeout=2).is_success
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, 30, "scheduler API over TLS with a first snapshot")
        yield api
    finally:
        process.stop()


def test_the_extender_answers_the_scheduler_certificate(mtls_api: MutualTlsApi) -> None:
    context = mtls_api.scheduler.client_context(mtls_api.ca.cert_path)
    with httpx.Client(base_url=mtls_api.url, verify=context, timeout=5) as client:
        filtered = client.post("/v1/extender/filter", json=_FILTER_BODY)
        prioritized = client.post("/v1/extender/prioritize", json=_FILTER_BODY)
        # The certificate is given `schedule` only: reading the fleet is refused.
        nodes = client.get("/v1/nodes")
    assert filtered.status_code == 200, filtered.text
    # Nodes continuum does not monitor pass the filter (monitoring gaps never block a cluster).
    assert filtered.json()["NodeNames"] == _FILTER_BODY["NodeNames"]
    assert prioritized.status_code == 200, prioritized.text
    assert [p["Host"] for p in prioritized.json()] == _FILTER_BODY["NodeNames"]
    assert nodes.status_code == 403
    assert "lacks the 'read' scope" in nodes.json()["message"]


def test_a_client_without_a_certificate_needs_a_token(mtls_api: MutualTlsApi) -> None:
    with httpx.Client(base_url=mtls_api.url, verify=mtls_api.trusting(), timeout=5) as client:
        bare = client.post("/v1/extender/filter", json=_FILTER_BODY)
        with_token = client.post(
            "/v1/extender/filter",
            json=_FILTER_BODY,
            headers={"Authorization": f"Bearer {mtls_api.token}"},
        )
    assert bare.status_code == 401
    assert bare.headers["WWW-Authenticate"] == "Bearer"
    assert with_token.status_code == 200


def test_a_certificate_of_the_ca_with_an_unmapped_subject_gets_401(
    mtls_api: MutualTlsApi,
) -> None:
    reader = IssuedCertificate(mtls_api.ca.folder / "reader.crt", mtls_api.ca.folder / "reader.key")
    context = reader.client_context(mtls_api.ca.cert_path)
    with httpx.Client(base_url=mtls_api.url, verify=context, timeout=5) as client:
        refused = client.post("/v1/extender/filter", json=_FILTER_BODY)
    assert refused.status_code == 401
    assert "is not one of api.client_certificates" in refused.json()["message"]


def test_a_certificate_from_another_ca_is_refused_at_the_handshake(
    mtls_api: MutualTlsApi, tmp_path: Path
) -> None:
    other = CertificateAuthority.create(tmp_path / "other-pki", "someone else's CA")
    # The same subject as the scheduler's: only the issuer differs.
    impostor = other.issue("impostor", "continuum-scheduler", organization="continuum", client=True)
    context = impostor.client_context(mtls_api.ca.cert_path)
    with (
        httpx.Client(base_url=mtls_api.url, verify=context, timeout=5) as client,
        pytest.raises(httpx.TransportError),
    ):
        # TLS 1.3: the client's handshake ends before the server checks its certificate, so the
        # refusal arrives as a closed connection instead of an answer.
        client.post("/v1/extender/filter", json=_FILTER_BODY)
    # TLS 1.2 shows the refusal as what it is: the handshake fails (the server drops it), while
    # the scheduler's own certificate completes the same handshake.
    tls12 = impostor.client_context(mtls_api.ca.cert_path)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        httpx.Client(base_url=mtls_api.url, verify=tls12, timeout=5) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.post("/v1/extender/filter", json=_FILTER_BODY)
    genuine = mtls_api.scheduler.client_context(mtls_api.ca.cert_path)
    genuine.maximum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(base_url=mtls_api.url, verify=genuine, timeout=5) as client:
        assert client.post("/v1/extender/filter", json=_FILTER_BODY).status_code == 200
