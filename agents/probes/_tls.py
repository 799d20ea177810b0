"""TLS helpers: client contexts and the leaf certificate's expiry.

``ssl.SSLObject.getpeercert()`` returns an empty dict when verification is off, so the expiry is
read from the DER bytes, which are always available. Only the path to ``validity.notAfter`` of an
X.509 certificate (RFC 5280 §4.1) is walked; nothing else is parsed::

    expiry_s = cert_not_after_s(ssl_object.getpeercert(binary_form=True))
"""

from __future__ import annotations

import calendar
import ssl
from pathlib import Path

__all__ = ["CertificateParseError", "cert_not_after_s", "client_context"]

_SEQUENCE = 0x30
_CONTEXT_0 = 0xA0
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18


class CertificateParseError(ValueError):
    """The bytes are not a DER X.509 certificate this parser understands."""


def client_context(
    *, ca_file: Path | None = None, insecure_skip_verify: bool = False
) -> ssl.SSLContext:
    """Build a client TLS context.

    Args:
        ca_file: PEM bundle of trusted CAs instead of the system store.
        insecure_skip_verify: accept any certificate (the expiry is still reported).
    """
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _read_tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """Return (tag, value start, value end) of the DER element at ``offset``."""
    if offset + 2 > len(data):
        raise CertificateParseError("truncated element header")
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise CertificateParseError("unsupported length encoding")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise CertificateParseError("element runs past the end")
    return tag, start, end


def _parse_time(tag: int, raw: bytes) -> float:
    text = raw.decode("ascii")
    if not text.endswith("Z"):
        raise CertificateParseError(f"time {text!r} is not in UTC")
    digits = text[:-1]
    if tag == _UTC_TIME:
        # RFC 5280 §4.1.2.5.1: two-digit years 50-99 are 19xx, 00-49 are 20xx.
        year = int(digits[:2])
        year += 1900 if year >= 50 else 2000
        rest = digits[2:]
    elif tag == _GENERALIZED_TIME:
        year = int(digits[:4])
        rest = digits[4:]
    else:
        raise CertificateParseError(f"unexpected time tag 0x{tag:02x}")
    month, day, hour, minute, second = (int(rest[i : i + 2]) for i in range(0, 10, 2))
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))


def cert_not_after_s(der: bytes) -> float:
    """Return a DER certificate's ``notAfter`` as a Unix timestamp in seconds.

    Raises:
        CertificateParseError: the bytes are not a certificate.
    """
    tag, cert_start, _ = _read_tlv(der, 0)
    if tag != _SEQUENCE:
        raise CertificateParseError("certificate is not a SEQUENCE")
    tag, offset, _ = _read_tlv(der, cert_start)
    if tag != _SEQUENCE:
        raise CertificateParseError("tbsCertificate is not a SEQUENCE")
    tag, _, end = _read_tlv(der, offset)
    if tag == _CONTEXT_0:  # explicit version, absent for v1 certificates
        offset = end
    # serialNumber, signature, issuer, then validity.
    for _ in range(3):
        _, _, offset = _read_tlv(der, offset)
    tag, validity_start, _ = _read_tlv(der, offset)
    if tag != _SEQUENCE:
        raise CertificateParseError("validity is not a SEQUENCE")
    _, _, not_after_offset = _read_tlv(der, validity_start)
    tag, start, end = _read_tlv(der, not_after_offset)
    try:
        return _parse_time(tag, der[start:end])
    except (UnicodeDecodeError, ValueError) as err:
        if isinstance(err, CertificateParseError):
            raise
        raise CertificateParseError(f"bad notAfter: {err}") from err
