"""`continuum config check [FILE]` and `continuum config show [FILE]`: the one configuration.

    $ continuum config check /etc/continuum/continuum.yaml
    kafka.bootstrap_server: unknown key in /etc/continuum/continuum.yaml; did you mean
    `bootstrap_servers`?
    $ continuum config show --section kafka       # file, environment and defaults; no secrets

FILE defaults to ``$CONTINUUM_CONFIG``; without either, only the environment and the defaults
are checked. Every section is checked against the type of the component that reads it
(continuum.config.SECTIONS); a section whose component is not installed here is listed as not
checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import yaml

from continuum.config import SECTIONS, ConfigError, check_file, effective_config

__all__ = ["config"]

_FILE = click.argument(
    "config_file",
    required=False,
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CONTINUUM_CONFIG",
)


@click.group()
def config() -> None:
    """Check continuum.yaml, or show the configuration every component would run with."""


@config.command()
@_FILE
def check(config_file: Path | None) -> None:
    """Validate FILE and the CONTINUUM_* environment; exit 1 on any error."""
    errors, absent = check_file(config_file)
    for error in errors:
        click.echo(f"error: {error}", err=True)
    for name in absent:
        click.echo(f"not checked: section `{name}` (its component is not installed here)")
    if errors:
        count = len(errors)
        click.echo(f"{count} error{'s' if count > 1 else ''}", err=True)
        sys.exit(1)
    where = str(config_file) if config_file is not None else "defaults and environment"
    click.echo(f"ok: {where} ({len(SECTIONS) - len(absent)} sections checked)")


@config.command()
@_FILE
@click.option(
    "--section",
    "sections",
    multiple=True,
    type=click.Choice([s.name for s in SECTIONS]),
    help="Show only this section (repeatable).",
)
def show(config_file: Path | None, sections: tuple[str, ...]) -> None:
    """Print the effective configuration as YAML: FILE, then the environment, then the
    defaults, with every password, secret and token redacted."""
    try:
        values = effective_config(config_file)
    except ConfigError as err:
        raise click.ClickException(
            f"{err} (run `continuum config check` for every error)"
        ) from None
    if sections:
        values = {name: value for name, value in values.items() if name in sections}
    click.echo(yaml.safe_dump(values, sort_keys=False), nl=False)
