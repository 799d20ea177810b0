"""Request dependencies, as ``Annotated`` types the routes declare.

They are coroutines although none awaits: FastAPI runs plain functions in a thread pool, and
that hop cost more than the whole ranking.

@router.get("/nodes", dependencies=[READ])
def list_nodes(ctx: Context, view: View) -> NodesOut: ...
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scheduler_api._cluster import ClusterView
from scheduler_api._context import ApiContext
from scheduler_api._errors import ApiError
from scheduler_api._settings import Scope
from scheduler_api._subjects import format_subject
from scheduler_api._tls import client_subject

__all__ = ["ALERTS", "READ", "SCHEDULE", "Context", "Scheduler", "View", "require_scope"]

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from `continuum token show` or one of `api.tokens`, with its scopes.",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


Context = Annotated[ApiContext, Depends(get_context)]


async def get_view(ctx: Context) -> ClusterView:
    """The current snapshot (503 via SnapshotUnavailableError when none is fresh enough)."""
    return ctx.cluster.view()


View = Annotated[ClusterView, Depends(get_view)]


def require_scope(scope: Scope) -> Callable[..., Coroutine[Any, Any, ApiContext]]:
    """A dependency that admits only a bearer token, or else a verified client certificate
    (mutual TLS, ``api.client_certificates``), holding ``scope``; it gives the context."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> ApiContext:
        ctx: ApiContext = request.app.state.context
        subject = client_subject(request.scope)
        if credentials is None and subject is not None:
            granted = ctx.tokens.scopes_of_subject(subject)
            if not granted:
                raise ApiError(
                    401,
                    f"client certificate {format_subject(subject)} is not one of "
                    "api.client_certificates",
                    headers=_CHALLENGE,
                )
            if scope not in granted:
                raise ApiError(
                    403,
                    f"client certificate {format_subject(subject)} lacks the '{scope}' scope "
                    "(api.client_certificates)",
                )
            return ctx
        if credentials is None:
            raise ApiError(
                401,
                "missing bearer token: send 'Authorization: Bearer <token>' "
                "(the local one is printed by `continuum token show`)",
                headers=_CHALLENGE,
            )
        scopes = ctx.tokens.scopes_of(credentials.credentials)
        if not scopes:
            raise ApiError(401, "unknown bearer token", headers=_CHALLENGE)
        if scope not in scopes:
            raise ApiError(403, f"this token lacks the '{scope}' scope")
        return ctx

    return check


def _security(scope: Scope) -> Any:
    return Security(require_scope(scope))


READ = _security(Scope.READ)
SCHEDULE = _security(Scope.SCHEDULE)
ALERTS = _security(Scope.ALERTS)

#: The context, once the token is known to hold the ``schedule`` scope (one dependency where a
#: hot route would otherwise solve three).
Scheduler = Annotated[ApiContext, SCHEDULE]
