"""Peers from the scheduler API's inventory, so no deployment writes peer lists by hand.

Every node that reports an ``address`` operator label (``identity.labels.address``) is a peer;
the probe agent measures its round-trip time with a TCP connect to that address on ``port``
(the peers' probe agent, by default). A node labelled ``inbound: none`` (behind NAT) cannot be
dialled and is skipped, and so is this node itself::

    probes:
      inventory: {api_url: http://10.213.0.1:8080, token_file: /etc/continuum/token}

Targets are refreshed every ``refresh_s``; a peer that leaves the inventory stops being probed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import httpx
from msgspec import Meta, Struct

__all__ = ["InventorySettings", "fetch_peers", "peers_from_inventory"]

_log = logging.getLogger(__name__)
#: Names of discovered targets start with this, so they never clash with configured ones.
PEER_PREFIX = "peer-"


class InventorySettings(Struct, kw_only=True, forbid_unknown_fields=True):
    """Where the inventory is and how peers are probed.

    Attributes:
        api_url: the scheduler API (``GET /v1/nodes``).
        token_file: a file holding a bearer token with the ``read`` scope.
        refresh_s: seconds between two reads of the inventory.
        port: the TCP port dialled on each peer's address.
        address_label: the operator label that holds a node's address.
    """

    api_url: Annotated[str, Meta(pattern=r"^https?://")]
    token_file: Path | None = None
    refresh_s: Annotated[float, Meta(ge=1.0)] = 30.0
    port: Annotated[int, Meta(ge=1, le=65535)] = 9466
    address_label: str = "address"


def peers_from_inventory(
    body: dict[str, Any], self_node: str, settings: InventorySettings
) -> list[dict[str, str]]:
    """The probe targets (as ``ProbeTarget`` fields) for the nodes of one inventory answer."""
    out = []
    for node in body.get("nodes", []):
        node_id = str(node.get("id", ""))
        labels = node.get("labels") or {}
        address = labels.get(settings.address_label)
        if not node_id or node_id == self_node or not address or labels.get("inbound") == "none":
            continue
        out.append(
            {
                "name": PEER_PREFIX + node_id,
                "kind": "tcp",
                "address": f"{address}:{settings.port}",
                "peer": node_id,
                "site": str(node.get("site", "")),
            }
        )
    return out


async def fetch_peers(
    client: httpx.AsyncClient, self_node: str, settings: InventorySettings
) -> list[dict[str, str]] | None:
    """Read the inventory; None when it cannot be read (the last peers are kept)."""
    headers = {}
    if settings.token_file is not None:
        try:
            headers["Authorization"] = f"Bearer {settings.token_file.read_text().strip()}"
        except OSError as err:
            _log.warning("inventory token %s unreadable: %s", settings.token_file, err.strerror)
            return None
    try:
        response = await client.get(settings.api_url.rstrip("/") + "/v1/nodes", headers=headers)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as err:
        _log.info("inventory at %s not readable yet: %s", settings.api_url, type(err).__name__)
        return None
    return peers_from_inventory(body, self_node, settings)
