"""Task data over real HTTP: a node's data server, a store, fetching inputs and publishing
outputs, with tokens, TLS and the failures a worker must report rather than hide."""

from __future__ import annotations

import io
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agents.worker._data import DataDirectory, DataError, DataServer, fetch, push
from agents.worker._settings import DataSettings
from agents.worker._staging import TaskData
from scheduler_api.workflow import Dataset, data_url, datasets_in, to_wire
from tests.certificates import CertificateAuthority

TOKEN = "data-token-1"


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[DataServer]:
    """A node's own data server: read-only, token required."""
    held = DataDirectory(tmp_path / "peer")
    held.root.mkdir()
    (held.root / "reads").write_bytes(b"ACGT" * 1000)
    server = DataServer(held, "127.0.0.1", 0, token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DataServer]:
    server = DataServer(
        DataDirectory(tmp_path / "store"), "127.0.0.1", 0, token=TOKEN, writable=True
    )
    yield server.start()
    server.stop()


def _base(server: DataServer) -> str:
    return f"{server.scheme}://127.0.0.1:{server.port}"


def test_a_peer_serves_what_it_holds_to_a_client_with_the_token(
    peer: DataServer, tmp_path: Path
) -> None:
    target = tmp_path / "here" / "reads"
    assert fetch(data_url(_base(peer), "reads"), target, token=TOKEN) == 4000
    assert target.read_bytes() == b"ACGT" * 1000
    with pytest.raises(DataError, match="HTTP 401"):
        fetch(data_url(_base(peer), "reads"), tmp_path / "x", token="wrong")
    with pytest.raises(DataError, match="HTTP 404"):
        fetch(data_url(_base(peer), "absent"), tmp_path / "x", token=TOKEN)
    # No path out of the directory: an id is one plain file name.
    with pytest.raises(DataError, match="HTTP 404"):
        fetch(_base(peer) + "/v1/data/..%2Fpeer%2Freads", tmp_path / "x", token=TOKEN)
    assert not (tmp_path / "x").exists()  # a failed fetch leaves nothing half-written
    with pytest.raises(DataError, match="HTTP 405"):
        push(target, data_url(_base(peer), "copy"), token=TOKEN)  # a peer takes no PUT
    health = urllib.request.urlopen(_base(peer) + "/healthz", timeout=5)
    assert health.status == 200  # health needs no token


def test_a_store_takes_a_dataset_whole_and_serves_it_back(
    store: DataServer, tmp_path: Path
) -> None:
    source = tmp_path / "counts"
    source.write_bytes(b"x" * 70_000)
    url = data_url(_base(store), "counts")
    assert push(source, url, token=TOKEN) == 70_000
    assert fetch(url, tmp_path / "back", token=TOKEN) == 70_000
    assert (tmp_path / "back").read_bytes() == source.read_bytes()
    with pytest.raises(DataError, match="short"):
        store.directory.receive("cut", io.BytesIO(b"abc"), 10)
    assert not store.directory.has("cut")
    assert [p.name for p in store.directory.root.iterdir()] == ["counts"]
    with pytest.raises(DataError, match="not a catalogue id"):
        store.directory.path("../escape")


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[DataServer, Path]]:
    """A data server over TLS holding ``tiles`` (token required), and its CA's certificate."""
    ca = CertificateAuthority.create(tmp_path / "ca", "continuum test CA")
    cert = ca.issue("data", "localhost", ip="127.0.0.1")
    held = DataDirectory(tmp_path / "held")
    held.root.mkdir()
    (held.root / "tiles").write_bytes(b"t" * 10)
    server = DataServer(
        held, "127.0.0.1", 0, token=TOKEN, tls_certfile=cert.cert_path, tls_keyfile=cert.key_path
    ).start()
    yield server, ca.cert_path
    server.stop()


def test_tls_is_served_with_a_certificate_and_checked_against_the_ca(
    tls_server: tuple[DataServer, Path], tmp_path: Path
) -> None:
    server, ca = tls_server
    url = data_url(_base(server), "tiles")
    assert url.startswith("https://")
    assert fetch(url, tmp_path / "tiles", token=TOKEN, ca_file=ca) == 10
    with pytest.raises(DataError, match="CERTIFICATE_VERIFY_FAILED"):
        fetch(url, tmp_path / "unchecked", token=TOKEN)  # the system's CAs do not know it


def test_inputs_are_fetched_from_the_first_place_that_has_them(
    peer: DataServer, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    settings = DataSettings(token_file=tmp_path / "token")
    data = TaskData("edge-1", DataDirectory(tmp_path / "edge"), settings)
    gone = "http://127.0.0.1:9/v1/data/reads"  # the discard port: nothing listens
    reads = Dataset("reads", urls=(gone, data_url(_base(peer), "reads")))
    own = Dataset("genome", path="/shared/genome")  # no URLs: the task reads its own path
    assert data.stage_in([reads, own]) == 4000
    assert data.held.has("reads")
    assert not data.held.has("genome")
    assert data.stage_in([reads]) == 0  # held now: nothing crosses the link again
    with pytest.raises(DataError) as failed:
        data.stage_in([Dataset("tiles", urls=(gone, data_url(_base(peer), "tiles")))])
    assert "input tiles: no copy could be fetched" in str(failed.value)
    assert "127.0.0.1:9" in str(failed.value)
    assert "HTTP 404" in str(failed.value)


def test_outputs_are_offered_by_their_node_and_put_in_the_store(
    store: DataServer, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text(TOKEN)
    settings = DataSettings(
        listen="10.0.0.5:9470", store_url=_base(store), token_file=tmp_path / "token"
    )
    data = TaskData("cloud-1", DataDirectory(tmp_path / "cloud"), settings)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "out.bin").write_bytes(b"o" * 1234)
    value = to_wire({"n": 3, "made": Dataset("made", path="out.bin"), "in": Dataset("reads")})
    published, sent = data.publish(value, inputs={"reads"}, workdir=tmp_path / "work")
    assert sent == 1234
    made, handed_on = datasets_in(published)
    assert made.urls == ("http://10.0.0.5:9470/v1/data/made", data_url(_base(store), "made"))
    assert (made.nodes, made.size_bytes, made.path) == (("cloud-1",), 1234, "")
    assert handed_on == Dataset("reads")  # an input handed on is not published again
    assert data.held.path("made").read_bytes() == b"o" * 1234
    assert store.directory.path("made").read_bytes() == b"o" * 1234


def test_a_node_nothing_reaches_fails_the_task_when_the_store_is_down(tmp_path: Path) -> None:
    settings = DataSettings(store_url="http://127.0.0.1:9")  # behind NAT: no listen
    data = TaskData("edge-1", DataDirectory(tmp_path / "edge"), settings)
    (tmp_path / "out").write_bytes(b"1")
    with pytest.raises(DataError, match=r"publishing to http://127\.0\.0\.1:9/v1/data/made"):
        data.publish(
            to_wire(Dataset("made", path=str(tmp_path / "out"))), inputs=(), workdir=tmp_path
        )


def test_data_settings_name_the_key_that_is_wrong() -> None:
    with pytest.raises(ValueError, match="advertise: required"):
        DataSettings(listen="0.0.0.0:9470")
    with pytest.raises(ValueError, match="store_url: expected an http"):
        DataSettings(store_url="10.0.0.1:9471")
    with pytest.raises(ValueError, match="tls_keyfile"):
        DataSettings(listen="10.0.0.1:9470", tls_certfile=Path("c.pem"))
    with pytest.raises(ValueError, match="token_file: required to serve task data"):
        DataSettings(listen="10.0.0.1:9470")  # beyond this machine, anyone could read it
    assert DataSettings(listen="127.0.0.1:9470").base_url == "http://127.0.0.1:9470"
    given = DataSettings(
        listen="0.0.0.0:9470", advertise="http://n1:9470/", token_file=Path("/etc/t")
    )
    assert given.base_url == "http://n1:9470"
    assert DataSettings().base_url == ""


def test_a_redirect_is_refused_so_the_token_never_follows_it(
    peer: DataServer, tmp_path: Path
) -> None:
    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", data_url(_base(peer), "reads"))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    elsewhere = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{elsewhere.server_address[1]}/v1/data/reads"
        with pytest.raises(DataError, match="HTTP 302"):
            fetch(url, tmp_path / "reads", token=TOKEN)
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()


def test_a_silent_client_does_not_hold_up_a_tls_server(
    tls_server: tuple[DataServer, Path], tmp_path: Path
) -> None:
    server, ca = tls_server
    # Connected, and never a ClientHello: its handshake waits in its own thread.
    with socket.create_connection(("127.0.0.1", server.port)):
        url = data_url(_base(server), "tiles")
        assert fetch(url, tmp_path / "t", token=TOKEN, ca_file=ca, timeout_s=5) == 10


def test_an_empty_token_file_is_an_error_not_an_open_door(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("\n")
    settings = DataSettings(listen="10.0.0.1:9470", token_file=tmp_path / "token")
    with pytest.raises(ValueError, match=r"token_file: .* is empty"):
        settings.token()
    data = TaskData("edge-1", DataDirectory(tmp_path / "edge"), settings)
    with pytest.raises(DataError, match="is empty"):
        data.stage_in([Dataset("reads", urls=("http://127.0.0.1:9/v1/data/reads",))])


def test_a_dataset_no_location_serves_falls_back_to_its_path_and_stale_copies_are_refetched(
    peer: DataServer, tmp_path: Path
) -> None:
    data = TaskData("hpc-1", DataDirectory(tmp_path / "hpc"), DataSettings())
    local = tmp_path / "genome.fa"
    local.write_text("ACGT")
    missing = data_url(_base(peer), "genome")  # the peer holds no such dataset
    genome = Dataset("genome", 4, nodes=("hpc-1",), path=str(local), urls=(missing,))
    data._token = lambda: TOKEN  # type: ignore[method-assign]
    assert data.stage_in([genome]) == 0  # the task reads its own path
    assert not data.held.has("genome")
    with pytest.raises(DataError, match="input genome"):
        data.stage_in([Dataset("genome", 4, path=str(tmp_path / "gone"), urls=(missing,))])
    data.held.root.mkdir(parents=True, exist_ok=True)
    data.held.path("reads").write_bytes(b"old")  # from an earlier run, of another size
    reads = Dataset("reads", 4000, urls=(data_url(_base(peer), "reads"),))
    assert data.stage_in([reads]) == 4000
    assert data.stage_in([reads]) == 0  # now the copy is of the right size


def test_an_output_outside_the_working_directory_is_copied_not_moved(tmp_path: Path) -> None:
    data = TaskData("hpc-1", DataDirectory(tmp_path / "hpc" / "data"), DataSettings())
    shared = tmp_path / "shared" / "genome.fa"
    shared.parent.mkdir()
    shared.write_text("ACGT")
    (tmp_path / "hpc").mkdir(exist_ok=True)
    value = to_wire(Dataset("genome-copy", path=str(shared)))
    published, _ = data.publish(value, inputs=(), workdir=tmp_path / "hpc")
    [made] = datasets_in(published)
    assert made.size_bytes == 4
    assert shared.read_text() == "ACGT"  # the shared file stays where it was
    assert data.held.path("genome-copy").read_text() == "ACGT"
