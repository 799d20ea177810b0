"""A throwaway PostgreSQL server for integration tests (Debian's ``postgresql`` binaries).

``initdb`` and ``postgres`` refuse to run as root, so under root both run as ``nobody``
(``setpriv``), in a folder that user owns; the data directory is made once and each test asks
for a database of its own::

    server = PostgresServer("127.0.0.1", free_port())
    server.start()
    url = server.create_database("t1")   # postgresql://continuum@127.0.0.1:PORT/t1
    server.stop()
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import psycopg

from continuum.services import MissingBinaryError, _Service

__all__ = ["PostgresServer"]

_USER = "continuum"
# Unprivileged account the server runs as when the tests run as root.
_RUN_AS = "nobody"


def _binary(name: str) -> str:
    # Debian keeps the server's programs off PATH, under its major version.
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)),
        None,
    )
    if found is None:
        raise MissingBinaryError(f"{name} is not installed: run `apt-get install -y postgresql`")
    return found


class PostgresServer(_Service):
    """One PostgreSQL cluster on a loopback port, trusting local connections (tests only)."""

    name = "postgres"

    def __init__(self, host: str, port: int):
        # pytest's temporary folders are private to root: make one the server's user can own.
        workdir = Path(tempfile.mkdtemp(prefix="continuum-pg-"))
        super().__init__(host, port, workdir)
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(workdir, _RUN_AS)

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{_USER}@{self.host}:{self.port}/{database}"

    def _as_server_user(self, argv: list[str]) -> list[str]:
        if not self._as_root:
            return argv
        gid = pwd.getpwnam(_RUN_AS).pw_gid
        return ["setpriv", f"--reuid={_RUN_AS}", f"--regid={gid}", "--init-groups", *argv]

    def prepare(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        subprocess.run(
            self._as_server_user(
                [
                    _binary("initdb"),
                    f"--pgdata={self.data_dir}",
                    f"--username={_USER}",
                    "--auth=trust",
                    # Byte order for text, as SQLite sorts: the two databases answer alike.
                    "--locale=C",
                    "--encoding=UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def argv(self) -> list[str]:
        return self._as_server_user(
            [
                _binary("postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-k",
                str(self.workdir),
                "-c",
                f"listen_addresses={self.host}",
                # Test data: durability buys nothing and costs the shared cores.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        )

    def healthy(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        # SIGTERM is PostgreSQL's smart shutdown, which waits for every client to leave;
        # SIGINT is the fast one.
        if self.process is not None and self.process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGINT)
        super().stop()

    def remove(self) -> None:
        """Stop and delete the cluster."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
