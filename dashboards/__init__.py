"""Grafana dashboards as code (grafanalib) and the builder that writes their JSON."""

__all__: list[str] = []
