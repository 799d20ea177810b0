"""Pod names from the kubelet's /pods: parsing, rate-limited refresh, outages, collector use."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from agents.containers import ContainerScanner, MetadataResolver, MetadataSources, detect_layout
from agents.containers._kubelet import KubeletPods

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "cgroup"
B = "b" * 64  # the besteffort CRI-O container of the v2 fixture, without runtime metadata
B_POD = "99998888-7777-6666-5555-444433332222"
PODS = {
    "kind": "PodList",
    "items": [
        {
            "metadata": {"uid": B_POD, "name": "batch-1", "namespace": "jobs"},
            "status": {
                "containerStatuses": [
                    {"name": "worker", "image": "acme/worker:3", "containerID": f"cri-o://{B}"}
                ]
            },
        },
        {"metadata": {"name": "no-uid"}},
        "garbage",
    ],
}


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _kubelet(handler: httpx.MockTransport, clock: _Clock, **kwargs: object) -> KubeletPods:
    return KubeletPods(
        "https://kubelet.test/pods",
        transport=handler,
        clock=clock,
        refresh_s=30,
        **kwargs,  # type: ignore[arg-type]
    )


def test_pods_and_containers_are_read_with_the_token(tmp_path: Path) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization", ""))
        return httpx.Response(200, json=PODS)

    token = tmp_path / "token"
    token.write_text("s3cret\n")
    kubelet = _kubelet(httpx.MockTransport(answer), _Clock(), token_file=token)
    assert kubelet.pod(B_POD) == ("batch-1", "jobs")
    assert kubelet.container(B) == ("worker", "acme/worker:3")
    assert seen == ["Bearer s3cret"]  # one fetch served both


def test_unknown_uids_refresh_at_most_once_per_period() -> None:
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json=PODS)

    clock = _Clock()
    kubelet = _kubelet(httpx.MockTransport(answer), clock)
    for _ in range(5):
        assert kubelet.pod("unknown") is None
    assert len(calls) == 1
    clock.now += 30
    kubelet.pod("unknown")
    assert len(calls) == 2


def test_outage_is_counted_and_recovers() -> None:
    up = False

    def answer(request: httpx.Request) -> httpx.Response:
        if not up:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=PODS)

    clock = _Clock()
    kubelet = _kubelet(httpx.MockTransport(answer), clock)
    assert kubelet.pod(B_POD) is None
    assert kubelet.errors == 1
    up = True
    clock.now += 30
    assert kubelet.pod(B_POD) == ("batch-1", "jobs")


def test_collector_names_pods_the_runtime_files_do_not(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "v2_systemd", tree)
    kubelet = _kubelet(httpx.MockTransport(lambda r: httpx.Response(200, json=PODS)), _Clock())
    sources = MetadataSources(tree / "docker", tree / "containerd", tree / "storage")
    collector = ContainerScanner(
        detect_layout(tree / "cgroup"), tree / "proc", MetadataResolver(sources), kubelet=kubelet
    )
    by_id = {s.attributes["container.id"]: s.attributes for s in collector.collect()}
    assert by_id[B]["k8s.pod.name"] == "batch-1"
    assert by_id[B]["k8s.namespace.name"] == "jobs"
    assert (by_id[B]["container.name"], by_id[B]["container.image.name"]) == (
        "worker",
        "acme/worker:3",
    )
    # The runtime's own files still win where they name the container.
    assert by_id["a" * 64]["k8s.pod.name"] == "web-0"
    assert "k8s.pod.name" not in by_id["c" * 64]  # podman, not in a pod
