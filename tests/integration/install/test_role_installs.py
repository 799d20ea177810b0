"""Each role installs on its own: a clean virtualenv per extra, from the project's wheel.

The wheel is built once from a copy of the sources; each role's virtualenv gets ``wheel[role]``
from the package index (pip's cache keeps repeat runs fast), then runs that role's commands and
imports its entry points, and shows that the other roles' heavy dependencies stayed out. The
agent's check goes further: one node agent cycle through the SDK, rendered as /metrics.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGES = ("agents", "pipeline", "scheduler_api", "dashboards", "continuum", "bench")


@dataclass(frozen=True)
class Role:
    """What a role's install must run, import and leave out.

    Attributes:
        commands: ``continuum`` command lines that must succeed.
        code: Python that must run (the role's entry points).
        absent: modules the install must not hold (the other roles' weight).
        unavailable: daemons of other roles, which must refuse to start in one line.
    """

    commands: tuple[tuple[str, ...], ...]
    code: str
    absent: tuple[str, ...]
    unavailable: tuple[str, ...] = ()


AGENT_CYCLE = """
import pathlib, tempfile
from prometheus_client import generate_latest
import agents.containers, agents.forward, agents.probes, continuum.otel
from agents._otel import Agent, IdentitySettings, KafkaSettings
from agents.node import NodeSettings, build_collectors
s = NodeSettings(listen="127.0.0.1:0", push=False, spool_dir=pathlib.Path(tempfile.mkdtemp()))
a = Agent("node", build_collectors(s), identity=IdentitySettings(node_id="n"),
          kafka=KafkaSettings(), settings=s)
a.run_cycle()
text = generate_latest(a.registry).decode()
a.shutdown(0)
assert 'system_cpu_time_seconds_total{' in text and 'node="n"' in text, text[:500]
"""

ROLES = {
    "agent": Role(
        commands=(
            ("agent", "node", "--help"),
            ("agent", "containers", "--help"),
            ("agent", "probes", "--help"),
            ("agent", "forward", "--help"),
        ),
        code=AGENT_CYCLE,
        absent=(
            "fastapi",
            "uvicorn",
            "pydantic",
            "numpy",
            "matplotlib",
            "grafanalib",
            "wfcommons",
            "psycopg",
            "rich",
        ),
        unavailable=("pipeline", "api"),
    ),
    "pipeline": Role(
        commands=(("pipeline", "--help"),),
        code="from pipeline import Worker, load_settings\nfrom pipeline._run import run\n",
        absent=("fastapi", "numpy", "matplotlib", "grafanalib", "opentelemetry.sdk", "psutil"),
    ),
    "api": Role(
        commands=(
            ("api", "--help"),
            ("run", "--help"),
            ("nodes", "--help"),
            ("agent", "worker", "--help"),
        ),
        code=(
            "from scheduler_api import create_app, run\n"
            "import scheduler_api.workflow, scheduler_api.executors\n"
            "import continuum._cmd_run, continuum._cmd_query\n"
            "from agents.worker import run as worker\n"
        ),
        absent=("grafanalib", "wfcommons", "opentelemetry.sdk", "jsonschema"),
    ),
    "dashboards": Role(
        commands=(("dashboards", "build", "--help"),),
        code="from dashboards import DASHBOARDS, build\nimport dashboards._preview\n",
        absent=("fastapi", "kafka", "pydantic", "opentelemetry", "wfcommons"),
        unavailable=("pipeline",),
    ),
}


def run(argv: list[str], cwd: Path, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    assert result.returncode == 0, f"{argv}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """The project's wheel, built from a copy of the sources (the checkout stays untouched)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(repo_root / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(repo_root / package, source / package, ignore=ignore)
    out = work / "dist"
    pip = [sys.executable, "-m", "pip"]
    run([*pip, "wheel", "-q", "--no-deps", "-w", str(out), str(source)], work)
    (built,) = out.glob("continuum_observatory-*.whl")
    return built


@pytest.mark.parametrize("role", list(ROLES))
def test_role_installs_alone_and_its_entry_points_import(
    role: str, wheel: Path, tmp_path: Path
) -> None:
    spec = ROLES[role]
    venv = tmp_path / f"venv-{role}"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run([*pip, f"{wheel}[{role}]"], tmp_path)
    # Run outside the checkout, so nothing is imported from the sources beside the venv.
    for command in spec.commands:
        shown = run([str(venv / "bin" / "continuum"), *command], tmp_path)
        assert "Usage: continuum" in shown.stdout
    run([str(python), "-c", spec.code], tmp_path, timeout_s=120)
    check_absent = (
        "import importlib.util, sys\n"
        "def found(name):\n"
        "    try:\n"
        "        return importlib.util.find_spec(name) is not None\n"
        "    except ModuleNotFoundError:\n"
        "        return False\n"
        "print(' '.join(n for n in sys.argv[1:] if found(n)))\n"
    )
    present = run([str(python), "-c", check_absent, *spec.absent], tmp_path).stdout.split()
    assert present == [], f"the {role} extra installs {present}"
    # Another role's daemon says it is not installed here, without a traceback.
    config = tmp_path / "continuum.yaml"
    config.write_text("{}\n")
    for daemon in spec.unavailable:
        refused = subprocess.run(
            [str(venv / "bin" / "continuum"), daemon, "--config", str(config)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode != 0
        assert f"{daemon if daemon != 'api' else 'scheduler_api'} is not available" in (
            refused.stderr
        ), refused.stderr
        assert "Traceback" not in refused.stderr
