"""`continuum nodes` and `continuum rank` against the API served over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from continuum._cmd_query import nodes, parse_size, rank


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512M", 512 * 2**20),
        ("4G", 4 * 2**30),
        ("1.5Gi", 3 * 2**29),
        ("100", 100),
        ("2GB", 2 * 2**30),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_parse_size_refuses_garbage() -> None:
    with pytest.raises(click.BadParameter, match="not a size"):
        parse_size("lots")


def test_nodes_table(served_api: str) -> None:
    result = CliRunner().invoke(nodes, ["--api", served_api, "--token", "read-token"])
    assert result.exit_code == 0, result.output
    for text in ("edge-1", "cloud-1", "healthy", "16", "8.0 GiB", "20%"):
        assert text in result.output


def test_nodes_json(served_api: str) -> None:
    result = CliRunner().invoke(nodes, ["--api", served_api, "--token", "read-token", "--json"])
    assert {n["id"] for n in json.loads(result.output)["nodes"]} == {"edge-1", "edge-2", "cloud-1"}


def test_rank_shows_breakdown_and_reasons(served_api: str) -> None:
    args = ["--cpu", "2", "--memory", "1G", "--gpu", "1", "--api", served_api]
    result = CliRunner(env={"COLUMNS": "160"}).invoke(rank, [*args, "--token", "all-token"])
    assert result.exit_code == 0, result.output
    assert "1 feasible, 2 filtered" in result.output
    assert "cloud-1" in result.output
    assert "cpu=cpu_headroom x1" in result.output
    assert "gpu: needs 1, 0 free" in result.output


def test_rank_json_and_filters(served_api: str) -> None:
    args = ["--memory", "512M", "--tier", "edge", "--api", served_api, "--token", "all-token"]
    result = CliRunner().invoke(rank, [*args, "--json"])
    body = json.loads(result.output)
    assert [r["node"] for r in body["ranked"]] == ["edge-2", "edge-1"]


def test_rank_reports_api_errors_in_one_line(served_api: str) -> None:
    result = CliRunner().invoke(
        rank, ["--memory", "1G", "--dataset", "nope", "--api", served_api, "--token", "all-token"]
    )
    assert result.exit_code == 1
    assert "HTTP 404: dataset 'nope' is not in the catalogue" in result.output
    refused = CliRunner().invoke(
        rank, ["--memory", "1G", "--api", served_api, "--token", "read-token"]
    )
    assert "HTTP 403: this token lacks the 'schedule' scope" in refused.output


def test_default_token_comes_from_the_state_directory(
    served_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("CONTINUUM_API_URL", served_api)
    monkeypatch.delenv("CONTINUUM_API_TOKEN", raising=False)
    missing = CliRunner().invoke(nodes, [])
    assert "continuum up" in missing.output
    token = tmp_path / "continuum" / "token"
    token.parent.mkdir()
    token.write_text("read-token\n")
    token.chmod(0o600)
    assert CliRunner().invoke(nodes, []).exit_code == 0


def test_unreachable_api_is_one_line(tmp_path: Path) -> None:
    from continuum.services import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(nodes, ["--api", url, "--token", "t"])
    assert result.exit_code == 1
    assert f"cannot reach the scheduler API at {url}" in result.output


def test_rank_sends_a_disk_requirement_the_api_accepts(served_api: str) -> None:
    args = ["--memory", "512M", "--api", served_api, "--token", "all-token", "--json"]
    result = CliRunner().invoke(rank, [*args, "--disk", "10G"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["feasible_total"] >= 1
    bad = CliRunner().invoke(rank, [*args, "--disk", "lots"])
    assert bad.exit_code != 0
    assert "'lots' is not a size" in bad.output


def test_the_ranking_request_takes_disk_bytes() -> None:
    from pydantic import ValidationError

    from scheduler_api._schemas import RankingRequest

    assert RankingRequest(disk_bytes=10 * 2**30).disk_bytes == 10 * 2**30
    assert RankingRequest().disk_bytes == 0
    with pytest.raises(ValidationError, match="disk_bytes"):
        RankingRequest(disk_bytes=-1)
