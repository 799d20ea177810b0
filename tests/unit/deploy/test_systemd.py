"""systemd units: verified by systemd-analyze, hardened, and running real CLI commands."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from continuum.cli import cli

SYSTEMD_DIR = Path(__file__).resolve().parents[3] / "deploy" / "systemd"
UNITS = sorted(SYSTEMD_DIR.glob("*.service"))
INSTALLED_CLI = "/opt/continuum/bin/continuum"


def _service(unit: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text())
    return parser["Service"]


def test_the_units_are_all_there() -> None:
    names = {u.name for u in UNITS}
    assert {
        "continuum-agent-node.service",
        "continuum-agent-containers.service",
        "continuum-agent-probes.service",
        "continuum-pipeline@.service",
        "continuum-api.service",
    } <= names


def test_systemd_analyze_verify(systemd_analyze: str, tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this checkout's CLI instead of the
    # install location. Template units are verified through an instance.
    cli_path = str(Path(sys.executable).with_name("continuum"))
    verified = []
    for unit in UNITS:
        name = unit.name.replace("@.service", "@9465.service")
        copy = tmp_path / name
        copy.write_text(unit.read_text().replace(INSTALLED_CLI, cli_path))
        verified.append(str(copy))
    result = subprocess.run(
        [systemd_analyze, "verify", *verified], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_hardened_and_unprivileged(unit: Path) -> None:
    service = _service(unit)
    assert service["User"] == "continuum"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["Restart"] == "on-failure"
    capabilities = service["CapabilityBoundingSet"].split()
    assert set(capabilities) <= {"CAP_NET_RAW"}
    if capabilities:
        assert unit.name == "continuum-agent-probes.service"


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_exec_start_is_a_real_cli_command(unit: Path) -> None:
    argv = shlex.split(_service(unit)["ExecStart"])
    assert argv[0] == INSTALLED_CLI
    config_at = argv.index("--config")
    assert argv[config_at + 1] == "/etc/continuum/continuum.yaml"
    command = argv[1:config_at]
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "--config" in result.output


def test_the_rapl_rule_lets_the_continuum_group_read_energy_counters_only(tmp_path: Path) -> None:
    tmpfiles = shutil.which("systemd-tmpfiles")
    if tmpfiles is None:
        pytest.skip("systemd-tmpfiles is not installed")
    # A powercap tree as recent kernels leave it: energy_uj readable by root only.
    zones = tmp_path / "sys/class/powercap"
    for zone in ("intel-rapl:0", "intel-rapl:0:0", "intel-rapl:1"):
        (zones / zone).mkdir(parents=True)
        for name in ("energy_uj", "max_energy_range_uj"):
            (zones / zone / name).write_text("1\n")
            (zones / zone / name).chmod(0o400)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/group").write_text("root:x:0:\ncontinuum:x:4242:\n")
    (tmp_path / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    rule = SYSTEMD_DIR / "continuum-rapl.tmpfiles.conf"
    subprocess.run([tmpfiles, f"--root={tmp_path}", "--create", str(rule)], check=True)
    for zone in ("intel-rapl:0", "intel-rapl:0:0", "intel-rapl:1"):
        energy = (zones / zone / "energy_uj").stat()
        assert (oct(energy.st_mode & 0o777), energy.st_gid) == (oct(0o440), 4242)
        untouched = (zones / zone / "max_energy_range_uj").stat()
        assert oct(untouched.st_mode & 0o777) == oct(0o400)
