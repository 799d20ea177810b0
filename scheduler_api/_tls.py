"""Mutual TLS for the API: uvicorn's TLS options, and the verified client certificate's subject
carried into each request.

uvicorn does not put the peer certificate into the ASGI scope, so with ``api.tls_client_ca_file``
the API serves with :class:`ClientCertProtocol`: it reads the certificate once per connection
(the handshake has verified it against the CA by then) and adds it to every request's scope, as
the ASGI TLS extension's ``client_cert_name`` and as a :data:`Subject` the auth check reads::

    config = uvicorn.Config(app, **server_options(settings))
    subject = client_subject(request.scope)  # frozenset({("CN", "kube-scheduler")}) or None
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from scheduler_api._settings import ApiSettings
from scheduler_api._subjects import Subject, format_subject, subject_of_peercert

__all__ = ["ClientCertProtocol", "client_subject", "server_options"]

_SUBJECT_KEY = "continuum.client_subject"


def _peer_subject(transport: asyncio.BaseTransport) -> Subject | None:
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    # With verification on, a certificate is only there when its chain verified.
    cert = ssl_object.getpeercert()
    return subject_of_peercert(dict(cert)) if cert else None


class ClientCertProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, adding the verified client certificate to each scope."""

    _subject: Subject | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._subject = _peer_subject(transport)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._subject is not None:
            tls = {"client_cert_name": format_subject(self._subject), "client_cert_error": None}
            scope: dict[str, Any] = self.scope  # type: ignore[assignment]
            scope["extensions"] = {"tls": tls, _SUBJECT_KEY: self._subject}


def client_subject(scope: Mapping[str, Any]) -> Subject | None:
    """The verified client certificate's subject of a request; None without one."""
    subject = (scope.get("extensions") or {}).get(_SUBJECT_KEY)
    return subject if isinstance(subject, frozenset) else None


def server_options(settings: ApiSettings) -> dict[str, Any]:
    """uvicorn.Config keyword arguments for the API's TLS settings (none for plain HTTP).

    With ``tls_client_ca_file`` the API asks every client for a certificate and refuses the
    handshake of one whose certificate that CA did not sign; a client without one still
    connects and needs a bearer token, as over plain TLS.
    """
    if settings.tls_certfile is None or settings.tls_keyfile is None:
        return {}
    options: dict[str, Any] = {
        "ssl_certfile": str(settings.tls_certfile),
        "ssl_keyfile": str(settings.tls_keyfile),
    }
    if settings.tls_client_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.tls_client_ca_file)
        options["ssl_cert_reqs"] = ssl.CERT_OPTIONAL
        options["http"] = ClientCertProtocol
    return options
