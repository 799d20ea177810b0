"""Peers come from the API's inventory: addressed nodes, minus this one and those behind NAT."""

from __future__ import annotations

import msgspec

from agents.probes import ProbesSettings, ProbeTarget
from agents.probes._inventory import InventorySettings, peers_from_inventory

INVENTORY = {
    "nodes": [
        {
            "id": "cloud-1",
            "site": "cloud-a",
            "labels": {"address": "10.213.2.10", "inbound": "open"},
        },
        {"id": "hpc-1", "site": "hpc-a", "labels": {"address": "10.213.3.10"}},
        {"id": "edge-1", "site": "edge-a", "labels": {"address": "10.213.1.10", "inbound": "none"}},
        {"id": "laptop", "site": "home", "labels": {}},
    ]
}


def test_every_dialable_peer_but_this_node_becomes_a_tcp_target() -> None:
    settings = InventorySettings(api_url="http://10.213.0.1:8080", port=9466)
    peers = peers_from_inventory(INVENTORY, "cloud-1", settings)
    assert peers == [
        {
            "name": "peer-hpc-1",
            "kind": "tcp",
            "address": "10.213.3.10:9466",
            "peer": "hpc-1",
            "site": "hpc-a",
        }
    ]
    target = msgspec.convert(peers[0], ProbeTarget)
    assert target.peer == "hpc-1"


def test_the_inventory_is_a_section_key_of_the_probes() -> None:
    section = msgspec.convert(
        {"inventory": {"api_url": "http://10.213.0.1:8080", "refresh_s": 5}}, ProbesSettings
    )
    assert section.inventory is not None
    assert section.inventory.refresh_s == 5.0
