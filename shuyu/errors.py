"""Typed errors of the Shuyu client: what the server said, as values a program can branch on.

Every error carries the server's ``code`` and ``message``; a policy refusal also carries the checker's
``rule``, ``column``, ``clause`` and ``hint`` and every further violation in ``violations``.

>>> e = error_from_body(422, {"error": {"code": "policy_violation", "message": "income is aggregate-only",
...     "rule": "aggregate_only", "column": "population.persons.income", "clause": "select",
...     "hint": "use avg()"}})
>>> type(e).__name__, e.rule, e.column, e.clause, e.hint
('PolicyRefused', 'aggregate_only', 'population.persons.income', 'select', 'use avg()')
>>> type(error_from_body(401, {"error": {"code": "unauthenticated", "message": "no token"}})).__name__
'AuthError'
"""

from __future__ import annotations

from typing import Any

#: Codes the server uses for a refusal by policy (the checker, the grant or the budget).
POLICY_STATUS = 422


class ShuyuError(Exception):
    """Anything the server (or the connection to it) refused. ``status`` is the HTTP status, 0 offline.

    ``exit_code`` is what the CLI exits with: 1 error, 3 refused by policy, 4 the job failed or is held
    (2 is left to usage errors of the command line itself).
    """

    exit_code = 1

    def __init__(self, message: str, *, status: int = 0, code: str = "error", details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code != "error" else self.message


class ConnectionFailed(ShuyuError):
    """The server could not be reached (wrong URL, server down, network)."""


class AuthError(ShuyuError):
    """The token is missing, wrong, expired or revoked (401), or the role does not allow this (403)."""


class NotFound(ShuyuError):
    """No such job, grant or result visible to you."""


class PolicyRefused(ShuyuError):
    """The query was refused by policy: the checker's verdict with its rule, column, clause and hint."""

    exit_code = 3

    @property
    def rule(self) -> str | None:
        return self.details.get("rule")

    @property
    def column(self) -> str | None:
        return self.details.get("column")

    @property
    def clause(self) -> str | None:
        return self.details.get("clause")

    @property
    def hint(self) -> str | None:
        return self.details.get("hint")

    @property
    def violations(self) -> list[dict[str, Any]]:
        """Every violation the checker found, the most important first (at least this one)."""
        more = self.details.get("violations")
        if isinstance(more, list) and more:
            return more
        return [{"code": self.code, "message": self.message, **self.details}]


class BudgetExhausted(PolicyRefused):
    """A DP query would spend more epsilon than the grant has left in this period."""


class JobFailed(ShuyuError):
    """The job ran and failed, was cancelled, or its output is held for review and not released."""

    exit_code = 4

    def __init__(self, message: str, *, job: dict[str, Any], code: str = "job_failed"):
        super().__init__(message, status=0, code=code, details={"job_id": job.get("id")})
        self.job = job


def _payload(body: Any) -> dict[str, Any]:
    """The error object of a response body, for both ``{"error": {...}}`` and RFC 9457 problem details."""
    if not isinstance(body, dict):
        return {}
    inner = body.get("error")
    if isinstance(inner, dict):
        return inner
    return body


def error_from_body(status: int, body: Any) -> ShuyuError:
    """Build the typed error for an HTTP error response."""
    payload = dict(_payload(body))
    code = str(payload.pop("code", None) or "http_error")
    message = str(payload.pop("message", None) or payload.get("detail") or f"HTTP {status}")
    for key in ("type", "title", "status", "detail", "instance"):
        payload.pop(key, None)
    if status in (401, 403):
        cls: type[ShuyuError] = AuthError
    elif status == 404:
        cls = NotFound
    elif code == "budget_exceeded":
        cls = BudgetExhausted
    elif status == POLICY_STATUS and (code not in ("invalid_input",)):
        cls = PolicyRefused
    else:
        cls = ShuyuError
    return cls(message, status=status, code=code, details=payload)
