"""`continuum bench NAME`: each benchmark lives in ``bench/NAME.py`` as a click command."""

from __future__ import annotations

import importlib

import click

__all__ = ["bench"]

_BENCHMARKS = {
    "agent": "Node agent against node_exporter: CPU and wall time per cycle, RSS.",
    "containers": "Container agent cost per cycle against the number of containers.",
    "pipeline": "Pipeline throughput and freshness against Prometheus's own ceiling.",
    "api": "Ranking latency and throughput over HTTP with 1,000 nodes.",
    "placement": "Placement quality on workflow traces against baseline schedulers.",
    "soak": "The full stack under load for minutes: throughput, freshness, memory, loss.",
}


class _BenchGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_BENCHMARKS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _BENCHMARKS:
            return None
        try:
            module = importlib.import_module(f"bench.{cmd_name}")
        except ModuleNotFoundError as err:
            if err.name != f"bench.{cmd_name}":
                raise

            @click.command(name=cmd_name, help=_BENCHMARKS[cmd_name])
            def unavailable() -> None:
                raise click.ClickException(f"benchmark '{cmd_name}' is not available")

            return unavailable
        command = module.command
        if not isinstance(command, click.Command):
            raise TypeError(f"bench.{cmd_name}.command is not a click command")
        command.short_help = _BENCHMARKS[cmd_name]
        return command


@click.group(cls=_BenchGroup)
def bench() -> None:
    """Measure a component against a baseline in the same run.

    Each prints a table and ends with one line holding a JSON object of its figures.
    """
