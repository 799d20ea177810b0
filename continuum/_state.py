"""The local state directory and the local API token.

``$XDG_STATE_HOME/continuum`` (default ``~/.local/state/continuum``) holds generated configs, TSDB
and spool directories, pid files, logs and the token::

    state = StateDir.default()
    token = state.ensure_token()
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["StateDir", "TokenFileError"]

_TOKEN_BYTES = 32


class TokenFileError(RuntimeError):
    """The token file is missing, empty or readable by others."""


@dataclass(frozen=True)
class StateDir:
    """Paths inside the state directory."""

    root: Path

    @classmethod
    def default(cls) -> StateDir:
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return cls(Path(base) / "continuum")

    @property
    def token_path(self) -> Path:
        return self.root / "token"

    @property
    def config_path(self) -> Path:
        return self.root / "continuum.yaml"

    @property
    def stack_path(self) -> Path:
        """What `continuum up` started, for `status` and `down` (JSON)."""
        return self.root / "run" / "stack.json"

    @property
    def supervisor_pid_path(self) -> Path:
        return self.root / "run" / "continuum-up.pid"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def database_path(self) -> Path:
        return self.root / "continuum.db"

    def pid_path(self, component: str) -> Path:
        return self.root / "run" / f"{component}.pid"

    def ensure(self) -> None:
        for folder in (self.root, self.root / "run", self.logs, self.root / "spool"):
            folder.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)

    def ensure_token(self) -> str:
        """Return the local API token, creating it (mode 0600) on first use."""
        self.ensure()
        if not self.token_path.exists():
            # O_EXCL + mode at creation: the secret is never readable by others, not even briefly.
            fd = os.open(self.token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(_TOKEN_BYTES) + "\n")
        return self.read_token()

    def read_token(self) -> str:
        """Return the local API token.

        Raises:
            TokenFileError: missing, empty or group/world-readable.
        """
        try:
            mode = self.token_path.stat().st_mode
            token = self.token_path.read_text().strip()
        except FileNotFoundError as err:
            raise TokenFileError(
                f"no API token at {self.token_path}: start the stack once with `continuum up`"
            ) from err
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise TokenFileError(
                f"{self.token_path} is readable by others: run `chmod 600 {self.token_path}`"
            )
        if not token:
            raise TokenFileError(f"{self.token_path} is empty: delete it and run `continuum up`")
        return token

    def write_json(self, path: Path, document: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=2))
        tmp.replace(path)

    def read_json(self, path: Path) -> dict[str, Any] | None:
        try:
            loaded = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return loaded if isinstance(loaded, dict) else None
