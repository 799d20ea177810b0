"""Bearer tokens with scopes, compared in constant time, and client certificate subjects with
theirs.

tokens = TokenBook.from_settings(settings)
scopes = tokens.scopes_of("s3cret")  # frozenset() when unknown
scopes = tokens.scopes_of_subject(parse_subject("CN=continuum-scheduler"))
"""

from __future__ import annotations

import hashlib
import hmac
import stat
from dataclasses import dataclass
from pathlib import Path

from scheduler_api._settings import ApiSettings, ConfigError, Scope
from scheduler_api._subjects import Subject, parse_subject

__all__ = ["TokenBook"]


def _read_token_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        token = path.read_text().strip()
    except OSError as err:
        raise ConfigError(f"api.token_file: cannot read {path}: {err.strerror}") from err
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"api.token_file: {path} is readable by others: chmod 600 {path}")
    if not token:
        raise ConfigError(f"api.token_file: {path} is empty: write a token into it")
    return token


@dataclass(frozen=True)
class TokenBook:
    """Known tokens (kept as SHA-256 digests) and their scopes; certificate subjects and theirs.

    A subject's certificate has been verified by the TLS handshake before it is looked up here.
    """

    entries: tuple[tuple[bytes, frozenset[Scope]], ...]
    subjects: tuple[tuple[Subject, frozenset[Scope]], ...] = ()

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> TokenBook:
        """Read every configured token.

        Raises:
            ConfigError: a token file is unreadable, empty or open to others, or no token is
                configured.
        """
        pairs: list[tuple[str, frozenset[Scope]]] = []
        if settings.token_file is not None:
            pairs.append((_read_token_file(settings.token_file), frozenset(Scope)))
        for spec in settings.tokens:
            secret = (
                spec.token
                if spec.token is not None
                else _read_token_file(Path(str(spec.token_file)))
            )
            pairs.append((secret, frozenset(spec.scopes)))
        if not pairs:
            raise ConfigError(
                "api.token_file: no API token configured: set api.token_file or api.tokens"
            )
        subjects = tuple(
            (parse_subject(spec.subject), frozenset(spec.scopes))
            for spec in settings.client_certificates
        )
        return cls(tuple((_digest(secret), scopes) for secret, scopes in pairs), subjects)

    @classmethod
    def of(cls, tokens: dict[str, frozenset[Scope]]) -> TokenBook:
        """A book from plain tokens (tests, embedding)."""
        return cls(tuple((_digest(t), s) for t, s in tokens.items()))

    def scopes_of_subject(self, subject: Subject) -> frozenset[Scope]:
        """Scopes of a verified client certificate's subject; empty when none is configured."""
        granted: frozenset[Scope] = frozenset()
        for known, scopes in self.subjects:
            if known == subject:
                granted = granted | scopes
        return granted

    def scopes_of(self, token: str) -> frozenset[Scope]:
        """Scopes of ``token``; empty when it is unknown.

        Every entry is compared, in constant time, so timing does not tell how close a guess was.
        """
        candidate = _digest(token)
        granted: frozenset[Scope] = frozenset()
        for digest, scopes in self.entries:
            if hmac.compare_digest(candidate, digest):
                granted = granted | scopes
        return granted


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
