"""Daemons with secrets: TLS on the API and the agent's /metrics, no secret in any log,
and Kafka over TLS through stunnel in front of a broker.
"""

from __future__ import annotations

import os
import secrets
import ssl
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from continuum.services import (
    ManagedProcess,
    PrometheusServer,
    TansuBroker,
    free_port,
    tcp_open,
    wait_until,
)
from tests.reliability.conftest import TunedRunFactory
from tests.unit.pipeline.otlp_factory import Payload

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.usefixtures("collect_leaked_sockets"),
]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}


def _daemon(workdir: Path, name: str, args: list[str], config: Path) -> ManagedProcess:
    argv = [sys.executable, "-m", "continuum", "-vv", *args, "--config", str(config)]
    process = ManagedProcess(name, argv, workdir / f"{name}.log", env=_env())
    process.start()
    return process


def _https_ok(url: str, cafile: Path) -> bool:
    try:
        return httpx.get(
            url, verify=ssl.create_default_context(cafile=cafile), timeout=2
        ).is_success
    except httpx.HTTPError:
        return False


def test_daemons_serve_tls_and_never_log_secrets(
    tmp_path: Path,
    tansu: TansuBroker,
    prometheus: PrometheusServer,
    tls_pair: tuple[Path, Path],
) -> None:
    cert, key = tls_pair
    secret = {
        "token": "tok-" + secrets.token_hex(12),
        "file_token": "ftok-" + secrets.token_hex(12),
        "sasl": "sasl-" + secrets.token_hex(12),
        "basic": "basic-" + secrets.token_hex(12),
    }
    token_file = tmp_path / "token"
    token_file.write_text(secret["file_token"])
    token_file.chmod(0o600)
    api_port, agent_port, pipeline_port = free_port(), free_port(), free_port()
    config = {
        "identity": {"node_id": "sec-node", "tier": "edge", "site": "sec"},
        "kafka": {
            "bootstrap_servers": tansu.bootstrap,
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "PLAIN",
            "sasl_username": "continuum",
            "sasl_password": secret["sasl"],
        },
        "agent": {
            "listen": f"127.0.0.1:{agent_port}",
            "interval_s": 1,
            "spool_dir": str(tmp_path / "spool"),
            "tls_certfile": str(cert),
            "tls_keyfile": str(key),
            "basic_auth_username": "scraper",
            "basic_auth_password": secret["basic"],
        },
        "pipeline": {
            "listen": f"127.0.0.1:{pipeline_port}",
            "remote_write_url": prometheus.remote_write_url,
            "group_id": f"sec-{secrets.token_hex(3)}",
        },
        "api": {
            "listen": f"127.0.0.1:{api_port}",
            "prometheus_url": prometheus.url,
            "token_file": str(token_file),
            "tokens": [{"token": secret["token"], "scopes": ["read"]}],
            "database": str(tmp_path / "continuum.db"),
            "tls_certfile": str(cert),
            "tls_keyfile": str(key),
        },
    }
    config_path = tmp_path / "continuum.yaml"
    config_path.write_text(yaml.safe_dump(config))
    config_path.chmod(0o600)
    daemons = [
        _daemon(tmp_path, "api", ["api"], config_path),
        _daemon(tmp_path, "agent", ["agent", "node"], config_path),
        _daemon(tmp_path, "pipeline", ["pipeline"], config_path),
    ]
    api, agent = f"https://127.0.0.1:{api_port}", f"https://127.0.0.1:{agent_port}"
    verify = ssl.create_default_context(cafile=cert)
    try:
        wait_until(lambda: _https_ok(f"{api}/healthz", cert), 30, "API over TLS")
        with httpx.Client(verify=verify, timeout=5) as client:
            for token in (secret["token"], secret["file_token"]):
                response = client.get(
                    f"{api}/v1/nodes", headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code in (200, 503)
            wrong = client.get(
                f"{api}/v1/nodes", headers={"Authorization": "Bearer x" + secret["token"]}
            )
            assert wrong.status_code == 401
            wait_until(lambda: tcp_open("127.0.0.1", agent_port), 30, "agent /metrics")
            wait_until(
                lambda: (
                    client.get(f"{agent}/metrics", auth=("scraper", secret["basic"])).is_success
                ),
                30,
                "agent /metrics over TLS",
            )
            assert client.get(f"{agent}/metrics").status_code == 401
            assert client.get(f"{agent}/metrics", auth=("scraper", "nope")).status_code == 401
        # Plain HTTP to a TLS port gets nothing useful.
        for port in (api_port, agent_port):
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).raise_for_status()
        # Let the agent fail a few exports against a broker that does not speak SASL.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (tmp_path / "agent.log").read_text().strip():
            time.sleep(0.5)
    finally:
        for daemon in daemons:
            daemon.stop()
    logs = {d.name: d.log_path.read_text(errors="replace") for d in daemons}
    assert any(logs.values()), "debug logging wrote nothing: the check would prove nothing"
    for name, text in logs.items():
        for what, value in secret.items():
            assert value not in text, f"{name} logged the {what} secret"


class _TerminatedTansu(TansuBroker):
    """A broker that advertises a TLS terminator's port instead of its own."""

    def __init__(self, port: int, workdir: Path, advertised_port: int):
        super().__init__("127.0.0.1", port, workdir)
        self.advertised_port = advertised_port

    def argv(self) -> list[str]:
        argv = super().argv()
        argv[-1] = f"tcp://127.0.0.1:{self.advertised_port}"
        return argv


def _stunnel(workdir: Path, accept: int, connect: int, cert: Path, key: Path) -> ManagedProcess:
    conf = workdir / "stunnel.conf"
    conf.write_text(
        "foreground = yes\npid =\n[kafka]\n"
        f"accept = 127.0.0.1:{accept}\nconnect = 127.0.0.1:{connect}\n"
        f"cert = {cert}\nkey = {key}\n"
    )
    process = ManagedProcess("stunnel", ["stunnel4", str(conf)], workdir / "stunnel.log")
    process.start()
    wait_until(lambda: tcp_open("127.0.0.1", accept), 15, "stunnel")
    return process


def test_kafka_over_tls_through_stunnel_agent_and_pipeline(
    tmp_path: Path,
    prometheus: PrometheusServer,
    tls_pair: tuple[Path, Path],
    tuned_run_factory: TunedRunFactory,
) -> None:
    cert, key = tls_pair
    tls_port = free_port()
    broker = _TerminatedTansu(free_port(), tmp_path / "tansu", tls_port)
    broker.start()
    terminator = _stunnel(tmp_path, tls_port, broker.port, cert, key)
    agent: ManagedProcess | None = None
    try:
        tls = {"security_protocol": "SSL", "ssl_cafile": str(cert)}
        bootstrap = f"127.0.0.1:{tls_port}"
        run = tuned_run_factory(bootstrap, prometheus.remote_write_url, kafka=tls, client=tls)
        tag = secrets.token_hex(3)
        now = int(time.time() * 1000)
        for seq in range(200):
            points = [(now, float(seq), {"seq": str(seq)})]
            run.send(
                f"tls-{seq % 5}",
                bytes(Payload().resource(f"tls-{seq % 5}").gauge(f"rel.tls.{tag}", points)),
            )
        run.flush()
        run.start_worker()
        # The node agent produces over TLS to the same terminator.
        node = f"tls-agent-{tag}"
        agent_config = tmp_path / "agent.yaml"
        agent_config.write_text(
            yaml.safe_dump(
                {
                    "identity": {"node_id": node, "tier": "edge", "site": "tls"},
                    "kafka": {"bootstrap_servers": bootstrap, "topic": run.topic, **tls},
                    "agent": {
                        "listen": f"127.0.0.1:{free_port()}",
                        "interval_s": 1,
                        "spool_dir": str(tmp_path / "spool"),
                    },
                }
            )
        )
        agent = _daemon(tmp_path, "agent", ["agent", "node"], agent_config)
        series = prometheus.wait_for(
            f"count(rel_tls_{tag})", timeout_s=60, predicate=lambda r: r[0]["value"][1] == "200"
        )
        assert series[0]["value"][1] == "200"
        assert prometheus.wait_for(f'count({{node="{node}"}})', timeout_s=60)
    finally:
        if agent is not None:
            agent.stop()
        terminator.stop()
        broker.stop()
