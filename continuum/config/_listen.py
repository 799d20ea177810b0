"""The one reading of a ``listen`` key: ``host:port``, for every daemon that serves.

::

    parse_listen("[::1]:9464")          # ("::1", 9464)
    check_listen("listen", "9464")      # ValueError: listen: expected host:port, got '9464'
"""

from __future__ import annotations

__all__ = ["check_listen", "parse_listen"]


def parse_listen(listen: str) -> tuple[str, int]:
    """Split a ``host:port`` listen address (``[::1]:9464`` for IPv6; port 0: any free one).

    Raises:
        ValueError: not ``host:port`` with a port in 0..65535.
    """
    host, sep, port_text = listen.rpartition(":")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"expected host:port, got {listen!r}")
    return host.strip("[]"), int(port_text)


def check_listen(key: str, listen: str) -> None:
    """Raise a ``ValueError`` naming ``key`` when ``listen`` is not ``host:port``.

    For settings checks: :func:`load_section` reads the leading ``key:`` as the key.
    """
    try:
        parse_listen(listen)
    except ValueError as err:
        raise ValueError(f"{key}: {err}") from None
