"""`continuum dashboards build | preview`: Grafana JSON, and PNGs from live Prometheus data."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["dashboards"]

_DEFAULT_OUT = Path("deploy/grafana/dashboards")
_DEFAULT_PROMETHEUS = "http://127.0.0.1:9090"


@click.group()
def dashboards() -> None:
    """Grafana dashboards: write their JSON, or preview them as PNGs."""


@dashboards.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=_DEFAULT_OUT,
    show_default=True,
    help="Folder for the <uid>.json files (the Grafana provider reads deploy/grafana/dashboards).",
)
def build(out_dir: Path) -> None:
    """Write every dashboard's Grafana JSON."""
    from dashboards import build as build_dashboards

    for path in build_dashboards(out_dir):
        click.echo(str(path))


@dashboards.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the <uid>.png files.",
)
@click.option(
    "--prometheus",
    "prometheus_url",
    default=_DEFAULT_PROMETHEUS,
    show_default=True,
    help="Prometheus base URL to query.",
)
@click.option(
    "--range",
    "range_s",
    type=click.FloatRange(min=60),
    default=3600.0,
    show_default=True,
    help="Seconds of history shown, ending now.",
)
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="Value of a dashboard variable (default: the first value it offers), e.g. node=edge-01.",
)
def preview(out_dir: Path, prometheus_url: str, range_s: float, variables: tuple[str, ...]) -> None:
    """Render each dashboard's panels to PNG from live Prometheus range queries."""
    from dashboards import PrometheusQueryError
    from dashboards import preview as render_previews

    values: dict[str, str] = {}
    for item in variables:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--var")
        values[name] = value
    try:
        results = render_previews(out_dir, prometheus_url, variables=values, range_s=range_s)
    except PrometheusQueryError as err:
        raise click.ClickException(f"Prometheus at {prometheus_url}: {err}") from err
    for result in results:
        note = f"  (no data: {', '.join(result.empty_panels)})" if result.empty_panels else ""
        click.echo(f"{result.path}{note}")
