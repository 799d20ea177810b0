"""`continuum bench NAME`: each benchmark lives in ``bench/NAME.py`` as a click command.

Every benchmark also takes ``--results``: its closing JSON line is then appended, with the
commit, date and core count, to ``bench/results/<bench>.jsonl`` (``--results-dir`` elsewhere),
and ``continuum bench report`` renders docs/benchmarks.md's tables from those files.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import shlex
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

__all__ = ["bench"]

_BENCHMARKS = {
    "agent": "Node agent against node_exporter on equal work: CPU per cycle and per sample, RSS.",
    "containers": "Container agent cost per cycle against the number of containers.",
    "pipeline": "Pipeline throughput and freshness against Prometheus's own ceiling.",
    "api": "Ranking latency at fixed arrival rates, refresh on, with 1,000 and 10,000 nodes.",
    "placement": "Placement quality on workflow traces against baseline schedulers.",
    "placement-speed": "Placement engine speed against a random placer.",
    "soak": "The full stack under load for minutes: throughput, freshness, memory, loss.",
    "report": "Regenerate docs/benchmarks.md's tables from bench/results/*.jsonl.",
}
#: Module of each command whose name is not its module's.
_MODULES = {"placement-speed": "placement_speed"}
#: Commands that are not measurements, so take no --results.
_NOT_MEASURED = frozenset({"report"})


class _Tee(io.TextIOBase):
    """Writes through to ``target`` and keeps a copy, to find the closing JSON line."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        written: int = self.target.write(text)
        return written

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return False


def _command_line(ctx: click.Context, command: click.Command) -> str:
    """The invocation as typed, from the options given on the command line or environment."""
    words = ctx.command_path.split()
    for param in command.params:
        if not isinstance(param, click.Option) or param.name in (None, "results", "results_dir"):
            continue
        source = ctx.get_parameter_source(param.name)
        if source not in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            continue
        value = ctx.params[param.name]
        if param.is_flag and param.secondary_opts:
            words.append(param.opts[0] if value else param.secondary_opts[0])
        elif param.is_flag:
            words.append(param.opts[0])
        else:
            words += [param.opts[0], str(value)]
    return shlex.join(words)


def _with_results(command: click.Command, name: str) -> click.Command:
    """Give ``command`` the ``--results`` and ``--results-dir`` options (once)."""
    from bench import _results
    from bench._results import RESULTS_DIR, append_record, last_json_object, make_record

    if any(param.name == "results" for param in command.params) or command.callback is None:
        return command
    original = command.callback

    @functools.wraps(original)
    def callback(*args: Any, results: bool, results_dir: Path, **kwargs: Any) -> Any:
        if not results:
            return original(*args, **kwargs)
        ctx = click.get_current_context()
        # The code the run starts on, whatever is committed meanwhile (looked up at call
        # time, not when the command was wrapped).
        commit = _results.git_commit()
        tee = _Tee(sys.stdout)
        with contextlib.redirect_stdout(tee):
            value = original(*args, **kwargs)
        figures = last_json_object(tee.copy.getvalue())
        if figures is None:
            raise click.ClickException(f"bench {name} printed no JSON line to keep")
        bench_name = str(figures.get("benchmark", name))
        record = make_record(bench_name, _command_line(ctx, command), figures, commit)
        path = append_record(results_dir, record)
        click.echo(f"result appended to {path}", err=True)
        return value

    command.callback = callback
    command.params += [
        click.Option(
            ["--results"],
            is_flag=True,
            help="Append the JSON line, commit, date and cores to bench/results/<bench>.jsonl.",
        ),
        click.Option(
            ["--results-dir"],
            type=click.Path(file_okay=False, path_type=Path),
            default=RESULTS_DIR,
            show_default=True,
            help="Where --results appends.",
        ),
    ]
    return command


class _BenchGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_BENCHMARKS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _BENCHMARKS:
            return None
        module_name = f"bench.{_MODULES.get(cmd_name, cmd_name)}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise

            @click.command(name=cmd_name, help=_BENCHMARKS[cmd_name])
            def unavailable() -> None:
                raise click.ClickException(f"benchmark '{cmd_name}' is not available")

            return unavailable
        command = module.command
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}.command is not a click command")
        command.short_help = _BENCHMARKS[cmd_name]
        if cmd_name in _NOT_MEASURED:
            return command
        return _with_results(command, cmd_name)


@click.group(cls=_BenchGroup)
def bench() -> None:
    """Measure a component against a baseline in the same run.

    Each prints a table and ends with one line holding a JSON object of its figures; with
    --results that line is kept in bench/results/<bench>.jsonl.
    """
