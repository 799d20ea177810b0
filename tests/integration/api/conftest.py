"""The scheduler API as a real daemon (`continuum api --config FILE`) on a free port."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from continuum.services import ManagedProcess, free_port, http_ok, wait_until


class ApiDaemon:
    """One API process and how to talk to it."""

    def __init__(self, workdir: Path, prometheus_url: str, **api: Any):
        self.token = secrets.token_urlsafe(16)
        self.token_file = workdir / "token"
        self.token_file.write_text(self.token + "\n")
        self.token_file.chmod(0o600)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "api": {
                "listen": f"127.0.0.1:{self.port}",
                "prometheus_url": prometheus_url,
                "token_file": str(self.token_file),
                "database": str(workdir / "continuum.db"),
                "snapshot_interval_s": 0.5,
                **api,
            }
        }
        config_path = workdir / "continuum.yaml"
        config_path.write_text(yaml.safe_dump(config))
        config_path.chmod(0o600)  # it may hold tokens
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
        argv = [sys.executable, "-m", "continuum", "api", "--config", str(config_path)]
        self.process = ManagedProcess("api", argv, workdir / "api.log", env=env)

    def start(self) -> None:
        self.process.start()

        def up() -> bool:
            if not self.process.running():
                raise RuntimeError(f"API exited at start:\n{self.process.log_tail()}")
            return http_ok(f"{self.url}/healthz")

        wait_until(up, 30, "scheduler API")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, headers=self.headers, timeout=5)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(self.url + path, json=body, headers=self.headers, timeout=5)


@pytest.fixture
def api_daemon(tmp_path: Path) -> Iterator[Callable[..., ApiDaemon]]:
    """Start API daemons against a Prometheus URL; all are stopped after the test."""
    started: list[ApiDaemon] = []

    def start(prometheus_url: str, **api: Any) -> ApiDaemon:
        workdir = tmp_path / f"api-{len(started)}"
        workdir.mkdir()
        daemon = ApiDaemon(workdir, prometheus_url, **api)
        daemon.start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.process.stop()
