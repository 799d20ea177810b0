"""Bridges between the placement engine and the API's ranking model.

The engine asks a ``NodeRanker`` which nodes may run a task and how well they score; this one
answers with ``scheduler_api.ranking.rank`` so ``continuum run``, ``POST /v1/placements`` and
``POST /v1/rankings`` judge nodes the same way::

    ranker = ModelRanker(weights=api_weights)
    ranker.update(node_view)  # the newest figures of one node
    scores = ranker(Requirements(cpu_cores=2), engine_nodes)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from scheduler_api import ranking
from scheduler_api.placement._types import NodeInfo, Requirements

__all__ = ["ModelRanker", "snapshot_from_node_info"]

# The engine has no clock: freshness is judged where snapshots are taken, not here.
_NEVER_STALE_S = float("inf")


def snapshot_from_node_info(node: NodeInfo, now_s: float = 0.0) -> ranking.NodeSnapshot:
    """A ranking-model snapshot for a node known only to the engine (simulator, tests)."""
    return ranking.NodeSnapshot(
        id=node.node_id,
        capacity=ranking.Capacity(float(node.cpu_cores), float(node.memory_bytes), node.gpus),
        tier=node.tier,
        site=node.site,
        arch=node.arch,
        labels=dict(node.labels),
        usage=ranking.Usage(
            cpu_utilization=node.cpu_utilization,
            memory_available_bytes=(
                float(node.memory_bytes)
                if node.memory_available_bytes is None
                else float(node.memory_available_bytes)
            ),
        ),
        last_seen_s=now_s,
        alerts=() if node.healthy else ("Unhealthy",),
        relative_speed=node.speed,
    )


class ModelRanker:
    """A ``NodeRanker`` backed by ``scheduler_api.ranking.rank``.

    Args:
        snapshots: Full monitoring snapshots by node id (usage windows, pressure, power); nodes
            without one are described from their ``NodeInfo``.
        weights: Score weights (the API's configured weights).
        network: Link costs between sites.
    """

    def __init__(
        self,
        snapshots: Mapping[str, ranking.NodeSnapshot] | None = None,
        weights: ranking.Weights | None = None,
        network: ranking.Network | None = None,
    ) -> None:
        self._snapshots = dict(snapshots or {})
        self._weights = weights
        self._network = network
        self._table_nodes: tuple[NodeInfo, ...] = ()
        self._table: ranking.NodeTable | None = None

    def update(self, snapshot: ranking.NodeSnapshot) -> None:
        """Use ``snapshot`` as the node's newest figures from now on."""
        self._snapshots[snapshot.id] = snapshot
        self._table = None

    def __call__(self, requirements: Requirements, nodes: Sequence[NodeInfo]) -> dict[str, float]:
        table = self._table_for(nodes)
        answer = ranking.rank(
            # The engine queues work on a node's lanes: a busy node is slower, not closed.
            dataclasses.replace(requirements, allow_oversubscribe=True),
            table,
            now_s=0.0,
            weights=self._weights,
            stale_after_s=_NEVER_STALE_S,
            network=self._network,
        )
        return {entry.node.id: entry.score for entry in answer.ranked}

    def _table_for(self, nodes: Sequence[NodeInfo]) -> ranking.NodeTable:
        # The engine asks once per requirement set with the same node objects: build once. The
        # nodes are held, not their ids, so a freed node's id cannot alias a new one.
        same = len(nodes) == len(self._table_nodes) and all(
            a is b for a, b in zip(nodes, self._table_nodes, strict=True)
        )
        if self._table is None or not same:
            snapshots = [self._snapshot(node) for node in nodes]
            self._table = ranking.NodeTable.build(snapshots)
            self._table_nodes = tuple(nodes)
        return self._table

    def _snapshot(self, node: NodeInfo) -> ranking.NodeSnapshot:
        known = self._snapshots.get(node.node_id)
        if known is None:
            return snapshot_from_node_info(node)
        # Freshness was judged by whoever took the snapshot; health follows the engine's view.
        return dataclasses.replace(known, last_seen_s=0.0)
