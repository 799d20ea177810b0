"""Every package declares its surface: ``__all__`` names exactly what it exports.

In the manner of httpx's test of its exported members: each name in ``__all__`` resolves (lazy
packages load it on first use), each public class and function the package defines and holds is
in ``__all__``, and no name is listed twice.
"""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "agents",
    "agents._otel",
    "agents.containers",
    "agents.forward",
    "agents.node",
    "agents.probes",
    "agents.worker",
    "bench",
    "bench.sim",
    "continuum",
    "continuum.config",
    "continuum.lab",
    "continuum.services",
    "pipeline",
    "pipeline.catalogue",
    "scheduler_api",
    "scheduler_api.executors",
    "scheduler_api.placement",
    "scheduler_api.ranking",
    "scheduler_api.routes",
    "scheduler_api.workflow",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exactly_the_public_members(name: str) -> None:
    package = importlib.import_module(name)
    declared = package.__all__
    assert len(declared) == len(set(declared)), f"{name}.__all__ lists a name twice"
    for member in declared:
        assert getattr(package, member) is not None, f"{name}.{member}"

    # After every lazy name has loaded, every public class and function the package defines
    # (in its own modules) is listed; what its __init__ merely imports for its own use is not.
    def defined_here(value: object) -> bool:
        module = str(getattr(value, "__module__", ""))
        return module == name or (
            isinstance(value, type | types.FunctionType) and module.startswith(name + ".")
        )

    public = {
        member
        for member, value in vars(package).items()
        if not member.startswith("_") and defined_here(value)
    }
    assert public <= set(declared), f"{name} exports {sorted(public - set(declared))} unlisted"


@pytest.mark.parametrize("name", PACKAGES)
def test_members_come_from_the_package(name: str) -> None:
    """A listed class or function is defined inside the package, not borrowed from elsewhere."""
    package = importlib.import_module(name)
    top = name.split(".")[0]
    for member in package.__all__:
        value = getattr(package, member)
        module = getattr(value, "__module__", None)
        if isinstance(value, type | types.FunctionType) and module is not None:
            assert module.split(".")[0] in (top, "continuum"), f"{name}.{member} from {module}"
