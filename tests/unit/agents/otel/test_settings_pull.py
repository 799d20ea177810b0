"""Settings loading (file, environment, errors), the resource, and the /metrics endpoint."""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.registry import CollectorRegistry

from agents._otel import (
    AgentSettings,
    ConfigError,
    IdentitySettings,
    InstrumentKind,
    InstrumentSpec,
    KafkaSettings,
    MetricsServer,
    PrometheusPull,
    Reading,
    ReadingBoard,
    SnapshotMeter,
    build_resource,
    load_section,
)
from agents.node import NodeSettings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "continuum.yaml"
    path.write_text(text)
    path.chmod(0o600)  # some hold a SASL password, which a readable file may not
    return path


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(
        tmp_path,
        "identity: {node_id: edge-01, tier: edge, labels: {rack: r1}}\n"
        "agent: {interval_s: 5, collectors: {gpu: false}}\n"
        "kafka: {bootstrap_servers: 'a:1,b:2', security_protocol: SASL_SSL, sasl_username: u,"
        " sasl_password: p, ssl_cafile: /etc/ca.pem}\n",
    )
    monkeypatch.setenv("CONTINUUM_AGENT__INTERVAL_S", "2")
    monkeypatch.setenv("CONTINUUM_AGENT__COLLECTORS__DISK", "false")
    settings = load_section(NodeSettings, "agent", config)
    assert settings.interval_s == 2
    assert settings.collectors.gpu is False
    assert settings.collectors.disk is False
    assert settings.listen == "127.0.0.1:9464"
    identity = load_section(IdentitySettings, "identity", config)
    assert (identity.node_id, identity.tier, identity.site) == ("edge-01", "edge", "local")
    options = load_section(KafkaSettings, "kafka", config).client_options()
    assert options["bootstrap_servers"] == ["a:1", "b:2"]
    assert options["sasl_plain_password"] == "p"
    assert options["ssl_cafile"] == "/etc/ca.pem"
    assert options["sasl_mechanism"] == "PLAIN"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "agent: {interval_s: 0.5}",
            r"agent\.interval_s: Expected `float` >= 1\.0 \(seconds between",
        ),
        ("agent: {listen: nowhere}", r"agent\.listen: .*host:port"),
        ("agent: {disk_skip_devices: '('}", r"agent\.disk_skip_devices: .*regular expression"),
        ("agent: {collectors: {gpu: maybe}}", r"agent\.collectors\.gpu: "),
    ],
)
def test_errors_name_the_key(tmp_path: Path, yaml_text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_section(NodeSettings, "agent", write(tmp_path, yaml_text))


def test_environment_holds_mappings_and_secrets_stay_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONTINUUM_IDENTITY__LABELS", '{"rack": "r7", "room": "b"}')
    monkeypatch.setenv("continuum_kafka__sasl_password", "hunter2")
    identity = load_section(IdentitySettings, "identity", None)
    assert identity.labels == {"rack": "r7", "room": "b"}
    kafka = load_section(KafkaSettings, "kafka", None)
    assert kafka.sasl_password is not None
    assert kafka.sasl_password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(kafka)
    assert "hunter2" not in str(kafka.sasl_password)


def test_cross_field_errors_name_their_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^agent\.listen: expected host:port, got 'x'"):
        load_section(AgentSettings, "agent", write(tmp_path, "agent: {listen: x}"))


def test_agent_daemons_do_not_load_pydantic() -> None:
    # pydantic and pydantic-settings cost a daemon ~20 MB of resident memory (docs/benchmarks.md).
    code = (
        "import sys, continuum.cli, agents.node, agents.containers, agents.probes, agents.forward;"
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('pydantic')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_agents_record_through_the_opentelemetry_sdk() -> None:
    # A cycle and a rendering of /metrics run: the SDK's meter provider records, its Prometheus
    # reader serves /metrics and its OTLP encoder makes the Kafka records.
    code = (
        "import sys, tempfile, pathlib;"
        "from prometheus_client import generate_latest;"
        "from agents._otel import Agent, IdentitySettings, KafkaSettings;"
        "from agents.node import NodeSettings, build_collectors;"
        "s = NodeSettings(listen='127.0.0.1:0', spool_dir=pathlib.Path(tempfile.mkdtemp()));"
        "a = Agent('node', build_collectors(s), identity=IdentitySettings(node_id='n'),"
        " kafka=KafkaSettings(), settings=s);"
        "a.run_cycle(); text = generate_latest(a.registry).decode(); a.shutdown(0);"
        "assert a.exporter.exported_points > 0;"
        "assert 'system_cpu_time_seconds_total{' in text;"
        "print(sorted({m for m in sys.modules if m in ("
        "'opentelemetry.sdk.metrics', 'opentelemetry.exporter.prometheus',"
        "'opentelemetry.exporter.otlp.proto.common.metrics_encoder')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == str(
        sorted(
            [
                "opentelemetry.exporter.otlp.proto.common.metrics_encoder",
                "opentelemetry.exporter.prometheus",
                "opentelemetry.sdk.metrics",
            ]
        )
    ), result.stdout + result.stderr


def test_identity_error_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"identity\.tier: .*edge, cloud, hpc"):
        load_section(IdentitySettings, "identity", write(tmp_path, "identity: {tier: moon}"))


def test_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_section(AgentSettings, "agent", write(tmp_path, "agent: [\n"))
    with pytest.raises(ConfigError, match="does-not-exist"):
        load_section(AgentSettings, "agent", tmp_path / "does-not-exist.yaml")


def test_resource_carries_identity_and_labels() -> None:
    identity = IdentitySettings(node_id="n1", tier="hpc", site="s", labels={"rack": "r9"})
    attrs = build_resource(identity, cpu_model="CPU X").attributes
    assert attrs["continuum.node.id"] == "n1"
    assert attrs["continuum.tier"] == "hpc"
    assert attrs["continuum.site"] == "s"
    assert attrs["continuum.label.rack"] == "r9"
    assert attrs["host.cpu.model.name"] == "CPU X"
    assert {"host.name", "host.arch", "os.type"} <= set(attrs)
    assert "service.name" not in attrs


def serve(basic_auth: tuple[str, str] | None = None) -> MetricsServer:
    identity = IdentitySettings(node_id="n1", tier="edge", site="s")
    pull = PrometheusPull({"node": "n1", "tier": "edge", "site": "s"})
    board = ReadingBoard([InstrumentSpec("up", InstrumentKind.GAUGE, "1", "Up.")])
    SnapshotMeter(board, build_resource(identity), "continuum.agents.x", [pull.reader])
    board.publish({"up": [Reading("up", 1)]})
    server = MetricsServer(pull.registry, ("127.0.0.1", 0), basic_auth=basic_auth)
    server.start()
    return server


def get(url: str, auth: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""


def test_basic_auth_and_paths() -> None:
    server = serve(("scraper", "s3cret"))
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert get(f"{base}/metrics")[0] == 401
        assert get(f"{base}/metrics", "scraper:wrong")[0] == 401
        status, body = get(f"{base}/metrics", "scraper:s3cret")
        assert status == 200
        assert "target_info{" in body
        assert 'node="n1"' in body
        assert "continuum_node_id" not in body
        assert get(f"{base}/other", "scraper:s3cret")[0] == 404
    finally:
        server.stop()
        server.stop()  # idempotent


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_tls_endpoint(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    registry = CollectorRegistry(auto_describe=False)
    server = MetricsServer(registry, ("127.0.0.1", 0), tls_certfile=cert, tls_keyfile=key)
    server.start()
    try:
        assert server.scheme == "https"
        context = ssl.create_default_context(cafile=str(cert))
        url = f"https://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=5)  # untrusted without the CA
    finally:
        server.stop()
