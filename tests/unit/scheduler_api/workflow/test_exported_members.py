"""The workflow package's surface: ``__all__`` and what the package really exports agree."""

from __future__ import annotations

import types

import scheduler_api.workflow as workflow


def test_all_names_exactly_the_public_members() -> None:
    public = {
        name
        for name, value in vars(workflow).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(workflow.__all__) == public
    assert all(getattr(workflow, name) is not None for name in workflow.__all__)
