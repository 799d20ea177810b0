"""The default probe targets of a local stack: its own services.

``continuum up`` passes the URLs of what it runs and writes the result into the ``probes``
section of the generated continuum.yaml::

    local_stack_targets({
        "kafka": "tcp://127.0.0.1:9092",
        "prometheus": "http://127.0.0.1:9090/-/ready",
        "api": "http://127.0.0.1:8080/healthz",
    })
    # [{'name': 'kafka', 'kind': 'tcp', 'address': '127.0.0.1:9092'}, ...]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from agents._otel._settings import validate_section
from agents.probes._settings import ProbeKind, ProbeTarget

__all__ = ["local_stack_targets"]


def local_stack_targets(services: Mapping[str, str]) -> list[dict[str, Any]]:
    """Build probe targets for a mapping of service name to URL.

    ``tcp://host:port`` (or ``kafka://``) becomes a TCP connect probe; ``http(s)://`` URLs become
    HTTP probes of that exact URL (health paths such as ``/-/ready`` or ``/healthz``).

    Args:
        services: service name to URL.

    Returns:
        Target mappings ready for the ``probes.targets`` key (validated here).

    Raises:
        ValueError: a URL has a scheme the probes cannot check, or no port for TCP.
    """
    targets: list[dict[str, Any]] = []
    for name, url in services.items():
        parts = urlsplit(url)
        if parts.scheme in ("http", "https"):
            target: dict[str, Any] = {"name": name, "kind": str(ProbeKind.HTTP), "address": url}
        elif parts.scheme in ("tcp", "kafka"):
            if parts.hostname is None or parts.port is None:
                raise ValueError(f"service {name}: {url!r} needs host and port")
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            target = {"name": name, "kind": str(ProbeKind.TCP), "address": f"{host}:{parts.port}"}
        else:
            raise ValueError(
                f"service {name}: cannot probe {url!r} (use tcp://, http:// or https://)"
            )
        validate_section(ProbeTarget, f"probes.targets.{name}", target)
        targets.append(target)
    return targets
