"""Client certificate subjects: parsed from RFC 4514 and from a peer certificate alike, mapped
to scopes, and the mutual-TLS settings checked together."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from scheduler_api._auth import TokenBook
from scheduler_api._settings import ConfigError, Scope, load_settings
from scheduler_api._subjects import format_subject, parse_subject, subject_of_peercert
from scheduler_api._tls import ClientCertProtocol, server_options

# What ssl.SSLSocket.getpeercert() gives for /O=continuum/CN=continuum-scheduler.
_PEERCERT = {
    "subject": ((("organizationName", "continuum"),), (("commonName", "continuum-scheduler"),)),
}


def test_rfc4514_and_the_peer_certificate_name_the_same_subject() -> None:
    configured = parse_subject("CN=continuum-scheduler, O=continuum")
    assert configured == parse_subject("o=continuum,cn=continuum-scheduler")
    assert configured == subject_of_peercert(_PEERCERT)
    assert format_subject(configured) == "CN=continuum-scheduler,O=continuum"


def test_escapes_and_multivalued_attributes() -> None:
    assert parse_subject(r"CN=a\,b+OU=ops") == {("CN", "a,b"), ("OU", "ops")}


@pytest.mark.parametrize("text", ["", "CN", "=x", "CN=", "CN=a,,O=b"])
def test_malformed_subjects_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a distinguished name attribute"):
        parse_subject(text)


def _pki(tmp_path: Path) -> dict[str, str]:
    for name in ("api.crt", "api.key", "ca.crt"):
        (tmp_path / name).write_text("")
    return {
        "tls_certfile": str(tmp_path / "api.crt"),
        "tls_keyfile": str(tmp_path / "api.key"),
        "tls_client_ca_file": str(tmp_path / "ca.crt"),
    }


def test_a_subject_gets_its_scopes_and_schedule_by_default(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        token_file=None,
        tokens=[{"token": "t", "scopes": ["read"]}],
        client_certificates=[
            {"subject": "CN=continuum-scheduler,O=continuum"},
            {"subject": "CN=dashboards", "scopes": ["read", "alerts"]},
        ],
        **_pki(tmp_path),
    )
    book = TokenBook.from_settings(settings)
    assert book.scopes_of_subject(subject_of_peercert(_PEERCERT)) == {Scope.SCHEDULE}
    assert book.scopes_of_subject(parse_subject("CN=dashboards")) == {Scope.READ, Scope.ALERTS}
    # An attribute more or less is another client.
    assert book.scopes_of_subject(parse_subject("CN=continuum-scheduler")) == frozenset()
    assert book.scopes_of("t") == {Scope.READ}


def test_the_server_asks_for_certificates_only_with_a_client_ca(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    options = server_options(load_settings(None, **pki))
    assert options["ssl_cert_reqs"] == ssl.CERT_OPTIONAL
    assert options["ssl_ca_certs"] == pki["tls_client_ca_file"]
    assert options["http"] is ClientCertProtocol
    del pki["tls_client_ca_file"]
    assert set(server_options(load_settings(None, **pki))) == {"ssl_certfile", "ssl_keyfile"}
    assert server_options(load_settings(None)) == {}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"tls_client_ca_file": "/ca.crt"}, "tls_client_ca_file needs tls_certfile"),
        ({"client_certificates": [{"subject": "CN=x"}]}, "client_certificates needs"),
        ({"client_certificates": [{"subject": "CN"}]}, "api.client_certificates.0.subject"),
        (
            {"client_certificates": [{"subject": "CN=x", "scopes": ["root"]}]},
            "api.client_certificates.0.scopes.0",
        ),
    ],
)
def test_mutual_tls_settings_name_what_to_fix(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(None, **values)
