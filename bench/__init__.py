"""Benchmarks and the continuum simulator; one module per `continuum bench NAME`."""

__all__: list[str] = []
