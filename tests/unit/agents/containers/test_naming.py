"""Container and pod recognition from cgroup directory names, for every runtime and driver."""

from __future__ import annotations

import pytest

from agents.containers._naming import PodRef, parse_container, parse_pod

ID = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("name", "parent", "runtime"),
    [
        (f"docker-{ID}.scope", "system.slice", "docker"),
        (f"cri-containerd-{ID}.scope", "kubepods-pod1.slice", "containerd"),
        (f"crio-{ID}.scope", "kubepods-pod1.slice", "crio"),
        (f"crio-{ID}", "pod1", "crio"),
        (f"libpod-{ID}.scope", "machine.slice", "podman"),
        (f"libpod-{ID}", "libpod_parent", "podman"),
        (ID, "docker", "docker"),
        (f"kubepods-burstable-pod1.slice:cri-containerd:{ID}", "system.slice", "containerd"),
    ],
)
def test_runtime_group_names_are_recognised(name: str, parent: str, runtime: str) -> None:
    ref = parse_container(name, parent, None, f"{parent}/{name}")
    assert ref is not None
    assert (ref.id, ref.runtime, ref.rel_path) == (ID, runtime, f"{parent}/{name}")


@pytest.mark.parametrize(
    ("name", "parent"),
    [
        (f"crio-conmon-{ID}.scope", "kubepods-pod1.slice"),
        (f"libpod-conmon-{ID}.scope", "machine.slice"),
        (ID, "system.slice"),  # a bare id is a container only under docker/ or a pod
        ("docker.service", "system.slice"),
        (f"docker-{ID[:12]}.scope", "system.slice"),
        ("kubepods-burstable.slice", "kubepods.slice"),
    ],
)
def test_other_groups_are_not_containers(name: str, parent: str) -> None:
    assert parse_container(name, parent, None, name) is None


def test_bare_id_under_a_pod_has_no_runtime_but_keeps_the_pod() -> None:
    pod = PodRef("uid-1", "besteffort")
    ref = parse_container(ID, "pod-uid-1", pod, "kubepods/besteffort/poduid-1/" + ID)
    assert ref is not None
    assert (ref.runtime, ref.pod) == (None, pod)


@pytest.mark.parametrize(
    ("name", "parent", "expected"),
    [
        (
            "kubepods-burstable-pod0a1b2c3d_1111_2222_3333_444455556666.slice",
            "kubepods-burstable.slice",
            PodRef("0a1b2c3d-1111-2222-3333-444455556666", "burstable"),
        ),
        (
            "kubepods-besteffort-podAAAA_BBBB.slice",
            "kubepods-besteffort.slice",
            PodRef("aaaa-bbbb", "besteffort"),
        ),
        ("kubepods-pod12_34.slice", "kubepods.slice", PodRef("12-34", "guaranteed")),
        ("pod1234-abcd", "burstable", PodRef("1234-abcd", "burstable")),
        ("pod1234-abcd", "besteffort", PodRef("1234-abcd", "besteffort")),
        ("pod1234-abcd", "kubepods", PodRef("1234-abcd", "guaranteed")),
    ],
)
def test_pod_groups_give_uid_and_qos_class(name: str, parent: str, expected: PodRef) -> None:
    assert parse_pod(name, parent) == expected


@pytest.mark.parametrize("name", ["kubepods-burstable.slice", "podman.service", "burstable"])
def test_qos_and_other_levels_are_not_pods(name: str) -> None:
    assert parse_pod(name, "kubepods") is None
