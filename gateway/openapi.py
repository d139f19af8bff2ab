"""The OpenAPI document as the API really behaves: every error is an RFC 9457 problem.

FastAPI documents its own ``{"detail": [...]}`` validation body for 422; Shuyu answers every 4xx and 5xx as
``application/problem+json`` (see ``gateway.errors``). This post-processing replaces those entries and adds
a ``4XX`` range to every operation, so a client generated from the spec, or a conformance check, sees the
bodies that are returned.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway.errors import PROBLEM_MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details. `code` is stable for programs; a refusal by the SQL checker "
    "adds `rule`, `column`, `clause` and `hint`; a refused field adds `field` (or `fields`).",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:shuyu:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what happened, never echoing data values"},
        "code": {"type": "string", "examples": ["policy_violation", "not_found", "invalid_input"]},
        "rule": {"type": ["string", "null"]},
        "column": {"type": ["string", "null"]},
        "clause": {"type": ["string", "null"]},
        "hint": {"type": ["string", "null"]},
        "field": {"type": ["string", "null"]},
    },
    "additionalProperties": True,
    "example": {
        "type": "urn:shuyu:problem:policy_violation",
        "title": "Request refused",
        "status": 422,
        "detail": "`income` is aggregate-only: it cannot be selected row by row",
        "code": "policy_violation",
        "rule": "aggregate_only",
        "column": "population.persons.income",
        "clause": "select",
        "hint": "aggregate it, e.g. avg(income), and GROUP BY a group column",
    },
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """Every operation answers errors as problems: 4XX and 5XX ranges, and no FastAPI validation body.

    >>> spec = {"paths": {"/x": {"get": {"responses": {"200": {"description": "ok"},
    ...     "422": {"description": "Validation Error"}}}}}, "components": {"schemas": {}}}
    >>> sorted(document_problems(spec)["paths"]["/x"]["get"]["responses"])
    ['200', '4XX', '5XX']
    """
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for item in spec.get("paths", {}).values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation.setdefault("responses", {})
            for status in [s for s in responses if s.startswith(("4", "5"))]:
                del responses[status]
            responses["4XX"] = _problem_response(
                "refused: the problem's `code` says why (401 no or bad token, 403 role or scope, 404 not "
                "visible to you, 409 state, 413 too large, 422 invalid or refused by policy, 429 rate limit)"
            )
            responses["5XX"] = _problem_response("the service could not answer; nothing was changed")
    return spec


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = document_problems(spec)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
