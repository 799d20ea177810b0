"""How a client authenticates to Prometheus (or a store like it): basic auth or a bearer token,
and TLS, with every secret read from a file. The pipeline's remote write
(``pipeline.remote_write_auth``) and the API's queries (``api.prometheus_auth``) take it::

    remote_write_auth:
      basic_auth: {username: continuum, password_file: /run/secrets/prometheus-password}
      # or: bearer_token_file: /run/secrets/prometheus-token
      tls:
        ca_file: /etc/continuum/prometheus-ca.crt
        cert_file: /etc/continuum/client.crt   # a client certificate, if Prometheus asks one
        key_file: /etc/continuum/client.key

    auth = settings.pipeline.remote_write_auth
    headers = {"Authorization": auth.authorization()} if auth.authorization() else {}
    context = auth.ssl_context()   # None: the default verification

Secrets live in files so that configuration (and what logs it) never holds them; the header is
built on first use, from the files as they are then, and is not part of any ``repr``.
"""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["BasicAuth", "ClientTls", "HttpAuth", "HttpAuthError"]


class HttpAuthError(ValueError):
    """A secret or certificate file cannot be read; the message names it and the key."""


def _read_secret(path: Path, key: str) -> str:
    try:
        secret = path.read_text().strip()
    except OSError as err:
        raise HttpAuthError(f"{key}: cannot read {path}: {err.strerror}") from err
    if not secret:
        raise HttpAuthError(f"{key}: {path} is empty: write the secret into it")
    return secret


class BasicAuth(BaseModel):
    """HTTP basic auth: a user name, and a file holding the password."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str
    password_file: Path


class ClientTls(BaseModel):
    """TLS toward the server.

    Attributes:
        ca_file: CA certificates the server's certificate must chain to (default: the system's).
        cert_file: a client certificate to present (with ``key_file``).
        key_file: the client certificate's private key.
        insecure_skip_verify: accept any server certificate (tests only: it gives up on knowing
            who answers).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure_skip_verify: bool = False

    @model_validator(mode="after")
    def _pair(self) -> ClientTls:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        return self

    @property
    def configured(self) -> bool:
        return self != ClientTls()


class HttpAuth(BaseModel):
    """Credentials and TLS options of one HTTP client (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    basic_auth: BasicAuth | None = None
    bearer_token_file: Path | None = None
    tls: ClientTls = ClientTls()

    @model_validator(mode="after")
    def _one_scheme(self) -> HttpAuth:
        if self.basic_auth is not None and self.bearer_token_file is not None:
            raise ValueError("give basic_auth or bearer_token_file, not both")
        return self

    def authorization(self, key: str = "auth") -> str | None:
        """The ``Authorization`` header value; None without credentials.

        Args:
            key: the setting's dotted name, for error messages.

        Raises:
            HttpAuthError: the password or token file is unreadable or empty.
        """
        if self.basic_auth is not None:
            password = _read_secret(self.basic_auth.password_file, f"{key}.basic_auth")
            pair = f"{self.basic_auth.username}:{password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        if self.bearer_token_file is not None:
            return "Bearer " + _read_secret(self.bearer_token_file, f"{key}.bearer_token_file")
        return None

    def ssl_context(self, key: str = "auth") -> ssl.SSLContext | None:
        """A client context for the TLS options; None when none is set (the defaults apply).

        Raises:
            HttpAuthError: a CA, certificate or key file cannot be loaded.
        """
        tls = self.tls
        if not tls.configured:
            return None
        try:
            context = ssl.create_default_context(
                cafile=str(tls.ca_file) if tls.ca_file is not None else None
            )
            if tls.cert_file is not None and tls.key_file is not None:
                context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        except (OSError, ssl.SSLError) as err:
            raise HttpAuthError(f"{key}.tls: {err}") from err
        if tls.insecure_skip_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context
