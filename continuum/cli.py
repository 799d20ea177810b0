"""The ``continuum`` command line.

Subcommands live in ``continuum/_cmd_*.py`` modules and are imported only when used, so
``continuum --help`` stays fast and one broken optional dependency cannot take the whole CLI down::

    $ continuum up
    $ continuum rank --cpu 2 --memory 4G
"""

from __future__ import annotations

import importlib
import logging

import click

__all__ = ["main"]

# command name -> (module, attribute, one-line help shown by `continuum --help`)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "up": ("continuum._cmd_stack", "up", "Start the whole local stack and supervise it."),
    "down": ("continuum._cmd_stack", "down", "Stop a local stack started by `continuum up`."),
    "status": ("continuum._cmd_stack", "status", "Show the health of each local component."),
    "token": ("continuum._cmd_stack", "token", "Show the local API token."),
    "agent": ("continuum._cmd_daemons", "agent", "Run one measuring agent in the foreground."),
    "pipeline": ("continuum._cmd_daemons", "pipeline", "Run a pipeline worker in the foreground."),
    "api": ("continuum._cmd_daemons", "api", "Run the scheduler API in the foreground."),
    "nodes": ("continuum._cmd_query", "nodes", "List the nodes the API knows, with health."),
    "rank": ("continuum._cmd_query", "rank", "Rank nodes for a task's requirements."),
    "run": ("continuum._cmd_run", "run", "Run a workflow, placing its tasks by monitoring."),
    "logs": ("continuum._cmd_logs", "logs", "Show the stdout and stderr of a run's tasks."),
    "dashboards": ("continuum._cmd_dashboards", "dashboards", "Build or preview dashboards."),
    "bench": ("continuum._cmd_bench", "bench", "Measure a component against its baseline."),
    "lab": ("continuum._cmd_lab", "lab", "Build a continuum of nodes on this machine (root)."),
    "config": ("continuum._cmd_config", "config", "Check continuum.yaml or show it in effect."),
}


class _LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attribute, short_help = entry
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise

            @click.command(name=cmd_name, help=short_help)
            def unavailable() -> None:
                raise click.ClickException(f"'{cmd_name}' is not available in this build")

            unavailable.short_help = short_help
            return unavailable
        command = getattr(module, attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}.{attribute} is not a click command")
        command.short_help = short_help
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="continuum-observatory")
def cli(verbose: int) -> None:
    """Continuum Observatory: monitoring-first observability for edge, cloud and HPC nodes.

    Start with `continuum up`, then try `continuum nodes` and
    `continuum rank --cpu 2 --memory 4G`.
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    from continuum._logging import configure_logging

    configure_logging(level)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="continuum")
