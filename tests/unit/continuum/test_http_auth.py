"""Client auth toward Prometheus: headers and TLS from files, errors naming the key, and the two
clients that take it (the pipeline's remote write, the API's queries) sending it."""

from __future__ import annotations

import base64
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from continuum._http_auth import HttpAuth, HttpAuthError
from pipeline import load_settings as load_pipeline_settings
from pipeline._remote_write import SeriesRef
from pipeline._selfmetrics import SelfMetrics
from pipeline._writer import Batch, Part, RemoteWriter, Ticket
from scheduler_api import load_settings as load_api_settings
from scheduler_api._prometheus import PrometheusClient, PrometheusUnavailableError
from tests.certificates import CertificateAuthority


def _secret(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def test_basic_auth_and_bearer_headers_come_from_files(tmp_path: Path) -> None:
    password = _secret(tmp_path, "password", "s3cret")
    basic = HttpAuth.model_validate(
        {"basic_auth": {"username": "continuum", "password_file": str(password)}}
    )
    assert basic.authorization() == "Basic " + base64.b64encode(b"continuum:s3cret").decode()
    bearer = HttpAuth(bearer_token_file=_secret(tmp_path, "token", "t0k3n-9f2a"))
    assert bearer.authorization() == "Bearer t0k3n-9f2a"
    assert HttpAuth().authorization() is None
    assert HttpAuth().ssl_context() is None
    # Configuration shows where secrets are, never what they are.
    assert "s3cret" not in repr(basic)
    assert "t0k3n-9f2a" not in repr(bearer)


def test_unreadable_secrets_name_the_key(tmp_path: Path) -> None:
    missing = HttpAuth(bearer_token_file=tmp_path / "absent")
    with pytest.raises(HttpAuthError, match=r"^api.prometheus_auth.bearer_token_file: cannot"):
        missing.authorization("api.prometheus_auth")
    empty = HttpAuth(bearer_token_file=_secret(tmp_path, "empty", ""))
    with pytest.raises(HttpAuthError, match="is empty"):
        empty.authorization()
    with pytest.raises(HttpAuthError, match=r"^pipeline.remote_write_auth.tls: "):
        HttpAuth.model_validate({"tls": {"ca_file": str(tmp_path / "absent.crt")}}).ssl_context(
            "pipeline.remote_write_auth"
        )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"basic_auth": {"username": "u", "password_file": "/p"}, "bearer_token_file": "/t"},
            "not both",
        ),
        ({"tls": {"cert_file": "/c.crt"}}, "cert_file and key_file go together"),
        ({"bearer_token": "inline"}, "Extra inputs are not permitted"),
    ],
)
def test_contradictory_options_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HttpAuth.model_validate(values)


def test_both_settings_sections_take_the_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "continuum.yaml"
    config.write_text(
        "pipeline:\n  remote_write_auth:\n    bearer_token_file: /run/secrets/token\n"
        "api:\n  prometheus_auth:\n    basic_auth: {username: u, password_file: /run/p}\n"
    )
    monkeypatch.setenv("CONTINUUM_API__PROMETHEUS_AUTH__TLS__CA_FILE", "/etc/ca.crt")
    pipeline = load_pipeline_settings(config).pipeline.remote_write_auth
    assert pipeline.bearer_token_file == Path("/run/secrets/token")
    api = load_api_settings(config).prometheus_auth
    assert api.basic_auth is not None
    assert api.basic_auth.password_file == Path("/run/p")
    assert api.tls.ca_file == Path("/etc/ca.crt")


class _Guarded:
    """An HTTPS endpoint answering 204 to the expected Authorization header, 401 to others."""

    def __init__(self, tmp_path: Path, expected: str):
        self.ca = CertificateAuthority.create(tmp_path / "pki", "test CA")
        issued = self.ca.issue("server", "localhost", ip="127.0.0.1")
        self.seen: list[str | None] = []
        guarded = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                guarded.seen.append(self.headers.get("Authorization"))
                ok = self.headers.get("Authorization") == expected
                self.send_response(204 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(issued.cert_path), str(issued.key_path))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/api/v1/write"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[_Guarded]:
    endpoint = _Guarded(tmp_path, "Bearer right")
    yield endpoint
    endpoint.close()


def _write(url: str, auth: HttpAuth, timeout_s: float) -> tuple[bool, list[Batch], list[int]]:
    done: list[Batch] = []
    rejected: list[int] = []
    writer = RemoteWriter(
        url,
        shards=1,
        on_done=done.append,
        on_reject=lambda batch, part, status, body: rejected.append(status),
        metrics=SelfMetrics(),
        initial_backoff_s=0.01,
        max_backoff_s=0.05,
        auth=auth,
    )
    writer.start()
    part = Part([(SeriesRef((("__name__", "up"),)), 1_800_000_000_000, 1.0)], None, 0)
    writer.export(Batch(0, [part], Ticket(), 1))
    writer.shutdown(timeout_s * 1000)
    return writer.clean, done, rejected


def test_remote_write_sends_the_token_over_verified_tls(guarded: _Guarded, tmp_path: Path) -> None:
    auth = HttpAuth.model_validate(
        {
            "bearer_token_file": str(_secret(tmp_path, "token", "right")),
            "tls": {"ca_file": str(guarded.ca.cert_path)},
        }
    )
    closed, done, rejected = _write(guarded.url, auth, 10)
    assert closed
    assert len(done) == 1
    assert rejected == []
    assert guarded.seen == ["Bearer right"]


def test_refused_credentials_are_retried_not_dead_lettered(
    guarded: _Guarded, tmp_path: Path
) -> None:
    auth = HttpAuth.model_validate(
        {
            "bearer_token_file": str(_secret(tmp_path, "token", "wrong")),
            "tls": {"ca_file": str(guarded.ca.cert_path)},
        }
    )
    closed, done, rejected = _write(guarded.url, auth, 0.5)
    # Unacknowledged: the batch's offsets stay uncommitted, its samples wait in Kafka.
    assert not closed
    assert done == []
    assert rejected == []
    assert len(guarded.seen) > 1
    assert set(guarded.seen) == {"Bearer wrong"}


def test_an_unknown_server_certificate_is_not_written_to(guarded: _Guarded) -> None:
    # No ca_file: the system's CAs do not know the test CA, so nothing is sent.
    auth = HttpAuth.model_validate({"bearer_token_file": None, "tls": {}})
    closed, done, _ = _write(guarded.url, auth, 0.5)
    assert not closed
    assert done == []
    assert guarded.seen == []


def test_the_query_client_sends_the_header_and_reads_401_as_unavailable(tmp_path: Path) -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != "Bearer right":
            return httpx.Response(401, text="Unauthorized")
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector"}})

    transport = httpx.MockTransport(answer)
    right = HttpAuth(bearer_token_file=_secret(tmp_path, "right", "right"))
    wrong = HttpAuth(bearer_token_file=_secret(tmp_path, "wrong", "wrong"))
    assert PrometheusClient("http://p", transport=transport, auth=right).query("up") == []
    with pytest.raises(PrometheusUnavailableError, match="credentials refused") as refused:
        PrometheusClient("http://p", transport=transport, auth=wrong).query("up")
    assert "wrong" not in str(refused.value)
    assert seen == ["Bearer right", "Bearer wrong"]
