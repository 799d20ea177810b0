"""Certificate subjects as sets of ``(attribute, value)`` pairs.

Configuration names a subject in RFC 4514 (``CN=kube-scheduler,O=continuum``); Python's ssl
module gives a peer certificate's subject as nested tuples of long attribute names. Both become
a :data:`Subject`, so ``CN=a,O=b`` and ``O=b,CN=a`` (RFC 4514's order against the certificate's)
name the same client.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Subject", "format_subject", "parse_subject", "subject_of_peercert"]

#: A distinguished name as a set of (attribute short name, value) pairs.
Subject = frozenset[tuple[str, str]]

# Python's ssl module names attributes by their long names; configuration uses RFC 4514's.
_SHORT_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
    "emailAddress": "EMAILADDRESS",
    "serialNumber": "SERIALNUMBER",
}


def _attribute(name: str) -> str:
    return _SHORT_NAMES.get(name, name).upper()


def parse_subject(text: str) -> Subject:
    """Parse an RFC 4514 distinguished name (``CN=kube-scheduler,O=continuum``).

    A backslash escapes the next character; ``,`` and ``+`` separate attributes.

    Raises:
        ValueError: an attribute has no ``=``, or an empty type or value.
    """
    pairs: list[tuple[str, str]] = []
    current: list[str] = []

    def close() -> None:
        item = "".join(current)
        current.clear()
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"not a distinguished name attribute: {item.strip()!r} in {text!r}")
        pairs.append((_attribute(name.strip()), value.strip()))

    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char in ",+":
            close()
        else:
            current.append(char)
    close()
    return frozenset(pairs)


def subject_of_peercert(cert: dict[str, Any]) -> Subject:
    """The subject of a certificate as ``ssl.SSLSocket.getpeercert()`` returns it."""
    rdns: Any = cert.get("subject", ())
    return frozenset((_attribute(name), value) for rdn in rdns for name, value in rdn)


def format_subject(subject: Subject) -> str:
    """A subject as one RFC 4514-style string (attributes sorted), for logs and the ASGI scope."""
    return ",".join(f"{name}={value}" for name, value in sorted(subject))
