"""``python -m continuum`` runs the CLI (the supervisor starts daemons this way)."""

from continuum.cli import main

main()
