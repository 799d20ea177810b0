"""Every error is a JSON body ``{"error": kind, "message": text}``, whatever raised it.

Errors raised by handlers::

    ApiError(status, kind, message)      -> that status
    SnapshotUnavailableError             -> 503 service_unavailable
    RequestValidationError (FastAPI)     -> 422 invalid_request, naming the field
    HTTPException (Starlette: 404, 405)  -> its status
    anything else                        -> 500 internal (logged with its traceback)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from scheduler_api._cluster import SnapshotUnavailableError
from scheduler_api._schemas import ErrorBody

__all__ = ["ERROR_RESPONSES", "ApiError", "error_response", "install_error_handlers"]

log = logging.getLogger(__name__)

_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "service_unavailable",
}


def error_response(description: str) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry whose body is an :class:`ErrorBody`."""
    return {"model": ErrorBody, "description": description}


#: OpenAPI ``responses`` of the errors every authenticated route can answer.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: error_response("Missing or unknown bearer token."),
    403: error_response("The token lacks the scope this route needs."),
    422: error_response("The request does not match its schema; the message names the field."),
    503: error_response("No cluster snapshot fresh enough (Prometheus unreachable)."),
}


class ApiError(Exception):
    """An error answer with a status, a kind and a message."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.status_code = status_code
        self.kind = kind or _KINDS.get(status_code, "error")
        self.message = message
        self.headers = dict(headers or {})


def _respond(
    status_code: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=kind, message=message).model_dump()
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into an :class:`ErrorBody`."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _respond(exc.status_code, exc.kind, exc.message, exc.headers)

    async def snapshot_unavailable(request: Request, exc: Exception) -> JSONResponse:
        return _respond(503, "service_unavailable", str(exc), {"Retry-After": "5"})

    async def validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [f"{_field_path(e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        return _respond(422, "invalid_request", "; ".join(problems) or "invalid request")

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = _KINDS.get(exc.status_code, "error")
        return _respond(exc.status_code, kind, str(exc.detail), exc.headers)

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _respond(500, "internal", f"internal error: {type(exc).__name__}")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(SnapshotUnavailableError, snapshot_unavailable)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal)
