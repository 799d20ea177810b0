"""The pull path: ``/metrics`` in the Prometheus text format or OpenMetrics (by ``Accept``).

Serves a registry (the agent's: the SDK's Prometheus reader, relabelled by
:mod:`agents._otel._prometheus`) with optional TLS and basic auth; prometheus_client picks the
format from the ``Accept`` header::

    server = MetricsServer(registry, listen=("127.0.0.1", 9464))
    server.start()        # server.port is the bound port (0 picks a free one)
    server.stop()
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.exposition import make_wsgi_app
from prometheus_client.registry import CollectorRegistry

__all__ = ["MetricsServer"]

_log = logging.getLogger(__name__)

_WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        _log.debug("%s " + format, self.address_string(), *args)


def _basic_auth(app: _WSGIApp, username: str, password: str) -> _WSGIApp:
    expected = f"{username}:{password}".encode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        header = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, encoded = header.partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            given = b""
        if scheme.lower() == "basic" and hmac.compare_digest(given, expected):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("WWW-Authenticate", 'Basic realm="continuum"'), ("Content-Type", "text/plain")],
        )
        return [b"authentication required\n"]

    return guarded


def _only_metrics(app: _WSGIApp) -> _WSGIApp:
    def routed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in ("/metrics", "/metrics/"):
            return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found; metrics are at /metrics\n"]

    return routed


class MetricsServer:
    """Serves a registry at ``/metrics`` on a background thread.

    Args:
        registry: what to serve.
        listen: ``(host, port)``; port 0 binds a free port (see :attr:`port`).
        tls_certfile: serve HTTPS with this certificate (PEM) when given.
        tls_keyfile: the certificate's key.
        basic_auth: ``(username, password)`` required on every request when given.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        listen: tuple[str, int],
        *,
        tls_certfile: Path | None = None,
        tls_keyfile: Path | None = None,
        basic_auth: tuple[str, str] | None = None,
    ) -> None:
        app: _WSGIApp = make_wsgi_app(registry)
        if basic_auth is not None:
            app = _basic_auth(app, *basic_auth)
        self._app = _only_metrics(app)
        self._listen = listen
        self._tls = (tls_certfile, tls_keyfile) if tls_certfile is not None else None
        self._server: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_address[1])

    @property
    def scheme(self) -> str:
        """``https`` when TLS is on, else ``http``."""
        return "https" if self._tls else "http"

    def start(self) -> None:
        """Bind and serve; raises OSError when the address is taken."""
        host, port = self._listen
        server = make_server(
            host, port, self._app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        if self._tls is not None:
            certfile, keyfile = self._tls
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        # Block in select until a connection arrives: serve_forever() wakes twice a second to
        # check for shutdown, which at a 10 s interval cost more CPU than a scrape.
        server.timeout = None
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="metrics-http", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        server = self._server
        while server is not None and not self._stopping.is_set():
            server.handle_request()

    def _wake(self, server: _ThreadingWSGIServer) -> None:
        host, port = server.server_address[:2]
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        try:
            with socket.create_connection((str(host), int(port)), timeout=1.0):
                pass
        except OSError as err:
            _log.debug("could not wake the metrics server: %s", err)

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self._wake(server)
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        server.server_close()
