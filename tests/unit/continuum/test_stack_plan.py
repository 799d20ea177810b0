"""What `continuum up` plans: the daemons' configuration and the component order."""

from __future__ import annotations

from pathlib import Path

from continuum._stack import LocalStack
from continuum._stack_settings import StackSettings
from continuum._state import StateDir


def _stack(tmp_path: Path, user_config: dict[str, object] | None = None) -> LocalStack:
    return LocalStack(StateDir(tmp_path / "continuum"), StackSettings(), user_config or {})


def test_daemon_config_points_every_component_at_the_local_services(tmp_path: Path) -> None:
    config = _stack(tmp_path).daemon_config()
    assert config["kafka"]["bootstrap_servers"] == "127.0.0.1:9092"
    assert config["pipeline"]["remote_write_url"] == "http://127.0.0.1:9090/api/v1/write"
    assert config["api"]["prometheus_url"] == "http://127.0.0.1:9090"
    assert config["api"]["token_file"].endswith("continuum/token")
    assert config["agent"]["listen"] == "127.0.0.1:9464"
    assert "stack" not in config


def test_user_sections_are_kept_and_addresses_win(tmp_path: Path) -> None:
    user = {"identity": {"node_id": "edge-7", "tier": "edge"}, "agent": {"listen": "0.0.0.0:1"}}
    config = _stack(tmp_path, user).daemon_config()
    assert config["identity"] == {"node_id": "edge-7", "tier": "edge"}
    assert config["agent"]["listen"] == "127.0.0.1:9464"


def test_core_components_start_in_dependency_order(tmp_path: Path) -> None:
    names = [c.name for c in _stack(tmp_path).plan()]
    core = ["kafka", "prometheus", "alertmanager", "pipeline", "api", "agent"]
    assert names[: len(core)] == core
