"""Domain errors. Only ``gateway/errors.py`` maps them to HTTP status codes.

Messages must never carry data values: they name fields, columns and rules.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Root of every error a user can cause or be told about."""

    code = "domain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class InvalidInput(DomainError):
    """The request is malformed or a field is out of range (names the field)."""

    code = "invalid_input"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidTransition(Conflict):
    """A state machine refused a transition; ``details['current_state']`` says where it stands."""

    code = "invalid_transition"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMedia(DomainError):
    code = "unsupported_media_type"


class RateLimited(DomainError):
    code = "rate_limited"


class BudgetExceeded(DomainError):
    code = "budget_exceeded"


class PolicyViolation(DomainError):
    """The checker refused a query: which rule, which column, in which clause, and what to do instead."""

    code = "policy_violation"

    def __init__(
        self,
        rule: str,
        message: str,
        *,
        column: str | None = None,
        clause: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, rule=rule, column=column, clause=clause, hint=hint)
        self.rule = rule
        self.column = column
        self.clause = clause
        self.hint = hint


class SandboxError(DomainError):
    """The sandbox could not run (missing isolation, died, limits). Never carries engine text with data."""

    code = "sandbox_error"


class SandboxUnavailable(SandboxError):
    code = "sandbox_unavailable"


class InvalidJobPlan(Conflict):
    """A stored job plan is malformed or of a version this server does not read: the job fails closed."""

    code = "invalid_job_plan"
