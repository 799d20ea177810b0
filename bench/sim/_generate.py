"""Seeded synthetic workflows from the WfCommons recipes (``wfcommons`` package, WfChef).

The recipes draw from Python's ``random`` and NumPy's global generator; both are seeded here and
restored afterwards, so a (recipe, tasks, seed) triple always gives the same graph and runtimes.
The document goes through the same schema validation as the shipped instances.

Example::

    wf = generate_workflow("montage", num_tasks=300, seed=7, schema=schema)
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np

from bench.sim._wfformat import WfFormatError, Workflow, parse_wfformat

__all__ = ["RECIPES", "generate_workflow"]

#: Recipe names accepted by :func:`generate_workflow` (wfcommons class names without ``Recipe``).
RECIPES = ("montage", "epigenomics", "genome", "seismology", "blast", "cycles", "bwa", "srasearch")
_CLASS_NAMES = {"genome": "GenomeRecipe"}
#: wfcommons 1.6 stamps schemaVersion "1.6" on documents whose body is WfFormat 1.5 in shape; the
#: shipped schema pins the version enum to "1.5", so the stamp is rewritten and the body validated.
_SCHEMA_VERSION = "1.5"


def generate_workflow(
    recipe: str, *, num_tasks: int, seed: int, schema: Mapping[str, Any]
) -> Workflow:
    """Build one synthetic workflow from a WfCommons recipe.

    Args:
        recipe: One of :data:`RECIPES`.
        num_tasks: Requested size (the recipe lands within a few tasks of it; 100 to 1,000).
        seed: Seed for the recipe's random draws.
        schema: The WfFormat schema the document is validated against.

    Returns:
        The workflow, named ``<recipe>-<num_tasks>-s<seed>``.

    Raises:
        WfFormatError: Unknown recipe, a size the recipe cannot produce, or an invalid document.
    """
    if recipe not in RECIPES:
        raise WfFormatError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    from wfcommons import WorkflowGenerator
    from wfcommons.wfchef import recipes

    cls_name = _CLASS_NAMES.get(recipe, recipe.capitalize() + "Recipe")
    recipe_cls = getattr(recipes, cls_name)
    py_state = random.getstate()
    np_state = np.random.get_state()
    try:
        random.seed(seed)
        np.random.seed(seed)
        try:
            wf = WorkflowGenerator(recipe_cls.from_num_tasks(num_tasks)).build_workflow()
        except ValueError as err:
            raise WfFormatError(f"recipe {recipe!r} at {num_tasks} tasks: {err}") from err
        wf.generate_json()  # fills wf.workflow_json and returns None
        doc: dict[str, Any] = wf.workflow_json
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    doc["schemaVersion"] = _SCHEMA_VERSION
    doc["name"] = f"{recipe}-{num_tasks}-s{seed}"
    return parse_wfformat(doc, schema, source=f"recipe {recipe} ({num_tasks} tasks, seed {seed})")
