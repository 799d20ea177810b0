"""The product does not depend on its benchmarks: no module under scheduler_api imports bench."""

from __future__ import annotations

import ast
from pathlib import Path

import scheduler_api

_ROOT = Path(scheduler_api.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_scheduler_api_module_imports_bench() -> None:
    offenders = {
        str(path.relative_to(_ROOT)): sorted(
            name for name in _imported_modules(path) if name == "bench" or name.startswith("bench.")
        )
        for path in sorted(_ROOT.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}
    assert len(offenders) > 40  # the walk saw the package, not an empty directory
