"""Loopback servers for the probe tests: TCP, HTTP and HTTPS with a self-signed certificate."""

from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class SelfSigned:
    cert: Path
    key: Path
    not_after_s: float


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> SelfSigned:
    """A certificate for 127.0.0.1/localhost valid for 30 days, made with the openssl CLI."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    end = subprocess.run(
        ["openssl", "x509", "-noout", "-enddate", "-in", str(cert)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # notAfter=Dec 28 03:30:00 2026 GMT
    not_after = time.strptime(end.removeprefix("notAfter="), "%b %d %H:%M:%S %Y %Z")
    import calendar

    return SelfSigned(cert, key, float(calendar.timegm(not_after)))


@pytest.fixture
def tcp_listener() -> Iterator[str]:
    """A TCP server on a free loopback port that accepts and closes; yields ``127.0.0.1:PORT``.

    Nothing is read or answered, so a TLS handshake against it hangs until the client gives up.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)  # kept open: the peer closes first, as after a probe
            if len(held) > 64:
                held.pop(0).close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    thread.join(2)
    for conn in held:
        conn.close()


@pytest.fixture
def closed_port() -> str:
    """``127.0.0.1:PORT`` where nothing listens."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"127.0.0.1:{port}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        owner = self.server
        with owner.lock:
            owner.in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
        try:
            if owner.delay_s:
                time.sleep(owner.delay_s)
            code = 500 if self.path.startswith("/fail") else 200
            body = b"ok\n"
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            with owner.lock:
                owner.in_flight -= 1

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay_s = 0.0


@dataclass
class HttpServer:
    url: str
    server: _Server


def _serve(server: _Server, scheme: str) -> Iterator[HttpServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield HttpServer(f"{scheme}://127.0.0.1:{server.server_address[1]}", server)
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """A threaded HTTP server: ``/`` answers 200, ``/fail`` 500."""
    yield from _serve(_Server(), "http")


@pytest.fixture
def https_server(self_signed: SelfSigned) -> Iterator[HttpServer]:
    """The same server over TLS with the self-signed certificate."""
    server = _Server()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(self_signed.cert), str(self_signed.key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from _serve(server, "https")
