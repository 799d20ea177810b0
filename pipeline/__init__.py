"""Kafka consumers that decode, clean, aggregate and remote-write telemetry; the catalogue."""

__all__: list[str] = []
