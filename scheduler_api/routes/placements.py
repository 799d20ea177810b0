"""``POST /v1/placements``: a workflow graph in, a placement plan out.

The app factory mounts this router under ``/v1`` behind the ``schedule`` scope.
"""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(tags=["placements"])
