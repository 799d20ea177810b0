"""A remote-write endpoint that acknowledges every request and stores nothing.

It separates the worker's own cost from Prometheus's: the pipeline bench drains the same backlog
once into Prometheus and once into this receiver, so the second rate is what one worker sustains
when the storage answers at no cost to the worker's cores. It runs as its own process, whose
CPU time the bench reads like Prometheus's::

    python -m bench._ack_receiver 9999     # POST http://127.0.0.1:9999/api/v1/write -> 204

It checks nothing in the body beyond reading it whole, as a load balancer in front of storage
would; answers 404 to any other path.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["WRITE_PATH", "AckHandler", "main"]

WRITE_PATH = "/api/v1/write"


class AckHandler(BaseHTTPRequestHandler):
    """Reads a request body and answers 204 (remote write's success) on :data:`WRITE_PATH`."""

    # Keep-alive, as Prometheus serves it: the worker's shards reuse their connections.
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204 if self.path == WRITE_PATH else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Silent: one line per request would cost more than answering it."""


def main(argv: list[str]) -> None:
    """Serve on ``127.0.0.1:<argv[0]>`` until killed."""
    server = ThreadingHTTPServer(("127.0.0.1", int(argv[0])), AckHandler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
