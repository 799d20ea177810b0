"""Daemons that measure: node, containers, probes, forward."""

__all__: list[str] = []
