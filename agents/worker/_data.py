"""Task data on the wire: a node's data directory, the HTTP server that offers it, and the
client that fetches inputs and publishes outputs.

A worker keeps each dataset it holds as one file named by its catalogue id. Where peers can
reach the node it serves them (``GET /v1/data/<id>``); a node behind NAT, which nothing can
reach, publishes its outputs to a store instead: the same server in writable mode
(``continuum agent store``), which also takes ``PUT /v1/data/<id>``::

    held = DataDirectory(Path("/var/lib/continuum/worker/data"))
    server = DataServer(held, "0.0.0.0", 9470, token="s3cret")   # server.start() / .stop()
    fetch("http://10.213.1.2:9470/v1/data/reads", held.path("reads"), token="s3cret")
    push(held.path("counts"), "http://10.213.0.1:9471/v1/data/counts", token="s3cret")

A token, when set, is required on every data request (``Authorization: Bearer``); TLS is on
when the server has a certificate and the client a CA to check it against.
"""

from __future__ import annotations

import hmac
import http.client
import io
import logging
import os
import re
import shutil
import ssl
import tempfile
import threading
import urllib.error
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

from scheduler_api.workflow._wire import DATA_PATH

__all__ = ["DataDirectory", "DataError", "DataServer", "fetch", "push"]

_log = logging.getLogger(__name__)
# The catalogue's own id rule: no slash, no leading dot, so an id is always one plain file name.
_DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$")
_CHUNK = 1 << 16
_TIMEOUT_S = 30.0


class DataError(Exception):
    """A dataset could not be fetched, published or stored; the message says where and why."""


def _check_id(dataset_id: str) -> str:
    if not _DATASET_ID.fullmatch(dataset_id):
        raise DataError(
            f"dataset id {dataset_id!r} is not a catalogue id "
            "(letters, digits, '.', '_', ':', '-'; starting with a letter or digit)"
        )
    return dataset_id


class DataDirectory:
    """The datasets a node holds: one file per catalogue id under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, dataset_id: str) -> Path:
        """Where ``dataset_id`` is (or goes) on this node."""
        return self.root / _check_id(dataset_id)

    def has(self, dataset_id: str) -> bool:
        return self.path(dataset_id).is_file()

    def adopt(self, source: Path, dataset_id: str, *, move: bool = True) -> int:
        """Take a task's output file in as ``dataset_id`` (moved, or copied where the file is
        not the task's to give away); returns its size in bytes.

        Raises:
            DataError: ``source`` is not a file, or it could not be taken in.
        """
        target = self.path(dataset_id)
        if not source.is_file():
            raise DataError(f"output {dataset_id}: {source} is not a file")
        try:
            if source.resolve() != target.resolve():
                self.root.mkdir(parents=True, exist_ok=True)
                if move:
                    shutil.move(source, target)
                else:
                    shutil.copyfile(source, target)
            return target.stat().st_size
        except OSError as err:
            raise DataError(f"output {dataset_id}: {source} could not be kept: {err}") from err

    def receive(self, dataset_id: str, body: BinaryIO | io.BufferedIOBase, length: int) -> int:
        """Write ``length`` bytes of ``body`` as ``dataset_id``, whole or not at all."""
        target = self.path(dataset_id)
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                left = length
                while left > 0:
                    chunk = body.read(min(_CHUNK, left))
                    if not chunk:
                        raise DataError(f"{dataset_id}: the body ended {left} bytes short")
                    out.write(chunk)
                    left -= len(chunk)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return length


class DataServer:
    """Serves a :class:`DataDirectory` over HTTP(S); with ``writable``, it takes PUTs too.

    Args:
        directory: what it serves.
        host, port: where it listens (port 0: any free one; see ``port`` after ``start``).
        token: bearer token required on every request but ``/healthz`` (None: none asked).
        writable: accept ``PUT`` (a store); a worker's own server only offers what it holds.
        tls_certfile, tls_keyfile: serve HTTPS with this certificate.
    """

    def __init__(
        self,
        directory: DataDirectory,
        host: str,
        port: int,
        *,
        token: str | None = None,
        writable: bool = False,
        tls_certfile: Path | None = None,
        tls_keyfile: Path | None = None,
    ) -> None:
        self.directory = directory
        context = None
        if tls_certfile is not None:  # before binding: a bad certificate leaves no socket open
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(tls_certfile, tls_keyfile)
        self._server = _Server((host, port), _handler(directory, token, writable))
        self.scheme = "http"
        if context is not None:
            # The handshake happens in each request's thread (the handler's setup), so a
            # client that connects and stays silent holds its own thread, not the accept loop.
            self._server.socket = context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self.scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="data-server", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> DataServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up or fails its handshake is its own problem: noted, not printed.
        _log.debug("data request from %s failed", client_address, exc_info=True)


def _handler(
    directory: DataDirectory, token: str | None, writable: bool
) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {token}".encode() if token else None

    class Handler(BaseHTTPRequestHandler):
        server_version = "continuum-data"
        timeout = _TIMEOUT_S  # a client silent this long loses its connection

        def setup(self) -> None:
            super().setup()
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.do_handshake()

        def log_message(self, format: str, *args: object) -> None:
            _log.debug("data %s: " + format, self.address_string(), *args)

        def _dataset(self) -> str | None:
            if self.path == "/healthz":
                self._answer(HTTPStatus.OK, b"ok\n")
                return None
            given = self.headers.get("Authorization", "").encode()
            if expected is not None and not hmac.compare_digest(given, expected):
                self._answer(HTTPStatus.UNAUTHORIZED, b"a bearer token is required\n")
                return None
            name = self.path.removeprefix(DATA_PATH)
            if not self.path.startswith(DATA_PATH) or not _DATASET_ID.fullmatch(name):
                self._answer(HTTPStatus.NOT_FOUND, b"no such path: use /v1/data/<dataset id>\n")
                return None
            return name

        def _answer(self, status: HTTPStatus, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            name = self._dataset()
            if name is None:
                return
            try:
                source = directory.path(name).open("rb")
            except OSError:
                self._answer(HTTPStatus.NOT_FOUND, f"dataset {name} is not held here\n".encode())
                return
            with source:
                size = os.fstat(source.fileno()).st_size
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                if self.command != "HEAD":
                    shutil.copyfileobj(source, self.wfile, _CHUNK)

        def do_PUT(self) -> None:
            name = self._dataset()
            if name is None:
                return
            if not writable:
                self._answer(HTTPStatus.METHOD_NOT_ALLOWED, b"this data server takes no PUT\n")
                return
            length = self.headers.get("Content-Length", "")
            if not re.fullmatch(r"[0-9]+", length):
                self._answer(HTTPStatus.LENGTH_REQUIRED, b"Content-Length is required\n")
                return
            try:
                directory.receive(name, self.rfile, int(length))
            except (DataError, OSError) as err:
                _log.warning("storing dataset %s failed: %s", name, err)
                self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, f"{err}\n".encode())
                return
            self._answer(HTTPStatus.CREATED, b"stored\n")

    return Handler


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are refused: the bearer token would follow them to wherever they point."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _open(request: urllib.request.Request, ca_file: Path | None, timeout_s: float) -> Any:
    context = ssl.create_default_context(cafile=ca_file) if ca_file is not None else None
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=context))
    return opener.open(request, timeout=timeout_s)


def _request(url: str, token: str | None, method: str = "GET") -> urllib.request.Request:
    if not url.startswith(("http://", "https://")):
        raise DataError(f"{url}: a data location is an http:// or https:// URL")
    request = urllib.request.Request(url, method=method)  # noqa: S310 (checked just above)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    return request


# What a transfer can fail with: the network, the server's answer, a local file.
_TRANSFER_ERRORS = (OSError, ValueError, http.client.HTTPException)


def fetch(
    url: str,
    target: Path,
    *,
    token: str | None = None,
    ca_file: Path | None = None,
    timeout_s: float = _TIMEOUT_S,
) -> int:
    """Download ``url`` to ``target`` (whole or not at all); returns the bytes fetched.

    Raises:
        DataError: the server could not be reached, refused, redirected, or sent fewer bytes
            than it said; or the copy could not be written here.
    """
    temporary: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".fetching-")
        with (
            os.fdopen(handle, "wb") as out,
            _open(_request(url, token), ca_file, timeout_s) as response,
        ):
            expected = int(response.headers.get("Content-Length", -1))
            shutil.copyfileobj(response, out, _CHUNK)
            got = out.tell()
        if expected >= 0 and got != expected:
            raise DataError(f"{url}: got {got} of {expected} bytes")
        os.replace(temporary, target)
        return got
    except _TRANSFER_ERRORS as err:
        raise DataError(f"fetching {url} failed: {_reason(err)}") from err
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def push(
    source: Path,
    url: str,
    *,
    token: str | None = None,
    ca_file: Path | None = None,
    timeout_s: float = _TIMEOUT_S,
) -> int:
    """Upload ``source`` to a store's ``url``; returns the bytes sent.

    Raises:
        DataError: the store could not be reached or refused the dataset.
    """
    request = _request(url, token, "PUT")
    try:
        size = source.stat().st_size
        with source.open("rb") as body:
            request.data = body  # first: setting the body drops any Content-Length given
            request.add_header("Content-Length", str(size))
            request.add_header("Content-Type", "application/octet-stream")
            with _open(request, ca_file, timeout_s):
                pass
    except _TRANSFER_ERRORS as err:
        raise DataError(f"publishing to {url} failed: {_reason(err)}") from err
    return size


def _reason(err: Exception) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return str(err.reason)
    return str(err)
