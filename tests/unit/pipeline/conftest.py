"""Shared fixtures of the pipeline's unit tests: a scripted remote-write endpoint."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cramjam
import pytest

__all__ = ["Endpoint"]


class Endpoint:
    """Answers each POST with the next scripted status (then 204), keeping the bodies."""

    def __init__(self) -> None:
        self.script: list[tuple[int, bytes]] = []
        self.bodies: list[bytes] = []
        self.statuses: list[int] = []
        self.reject_marker: bytes | None = None
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = bytes(
                    cramjam.snappy.decompress_raw(
                        self.rfile.read(int(self.headers["Content-Length"]))
                    )
                )
                status, answer = endpoint.script.pop(0) if endpoint.script else (204, b"")
                if endpoint.reject_marker and endpoint.reject_marker in body:
                    status, answer = 400, b"bad sample"
                endpoint.statuses.append(status)
                if 200 <= status < 300:
                    endpoint.bodies.append(body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/write"


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    yield e
    e.server.shutdown()
    e.server.server_close()
