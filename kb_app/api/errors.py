"""KBError -> HTTP status. Every error body is `{"detail": msg, "error": {"message": msg, "type": t}}`:
`detail` is what FastAPI clients expect, `error` what OpenAI clients read."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from kb_app import errors

log = logging.getLogger(__name__)

# Checked in order: the first class the error is an instance of decides.
_STATUS: tuple[tuple[type[errors.KBError], int], ...] = (
    (errors.PermissionDenied, 403),
    (errors.UserNotFound, 404),
    (errors.KnowledgeBaseNotFound, 404),
    (errors.NotFound, 404),
    (errors.AlreadyExists, 409),
    (errors.ModelNotFound, 503),
    (errors.BackendNotFound, 503),
    (errors.GeneratorError, 503),
    (errors.IndexInconsistent, 503),
)
_TYPES = {400: "invalid_request", 401: "unauthorized", 403: "permission_denied", 404: "not_found"}
_TYPES.update({409: "conflict", 413: "too_large", 503: "unavailable"})


def status_of(exc: errors.KBError) -> int:
    """The HTTP status of a KBError; anything not listed is the caller's input, hence 400."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    # Classes other modules add later follow their names, so a new `...NotFound` is never a 400.
    name = type(exc).__name__
    if name.endswith("NotFound"):
        return 404
    if name.endswith(("TooLarge", "TooBig")):
        return 413
    if name.endswith(("Exists", "Conflict")):
        return 409
    return 400


def error_body(status: int, message: str) -> dict[str, object]:
    return {"detail": message, "error": {"message": message, "type": _TYPES.get(status, "error")}}


async def _kb_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.KBError)
    status = status_of(exc)
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc)
    return JSONResponse(error_body(status, str(exc)), status_code=status)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    body = error_body(exc.status_code, str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.KBError, _kb_error)
    app.add_exception_handler(HTTPException, _http_error)
