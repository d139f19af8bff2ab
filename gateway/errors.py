"""The one place that knows HTTP status codes: domain errors in, JSON problem responses out.

Validation errors are rewritten so they name the field and the problem but never echo the submitted value.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from common import errors

log = logging.getLogger("shuyu.gateway")

STATUS: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 422,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.InvalidTransition: 409,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMedia: 415,
    errors.PolicyViolation: 422,
    errors.BudgetExceeded: 409,
    errors.RateLimited: 429,
    errors.SandboxUnavailable: 503,
    errors.SandboxError: 500,
}


def status_for(error: errors.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem(status: int, code: str, message: str, **details) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code, "message": message, **details}}, status_code=status, headers=headers
    )


async def _domain(_: Request, exc: errors.DomainError) -> JSONResponse:
    body = exc.to_dict()
    return problem(status_for(exc), body.pop("code"), body.pop("message"), **body)


async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg", "")}
        for e in exc.errors()
    ]
    names = ", ".join(f["field"] or "body" for f in fields)
    return problem(422, "invalid_input", f"invalid request: {names}", fields=fields)


async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    if isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI's 400 for a body that is not UTF-8
        return problem(422, "invalid_input", "request body is not valid UTF-8 JSON", field="body")
    return problem(exc.status_code, "http_error", str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Never leak internals (or data) through a 500; the log carries the type and route only.
    log.exception("unhandled error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return problem(500, "internal_error", "internal error; the incident was logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
