"""The registration procedure as data: a table of allowed transitions (R16).

application → acceptance (or return for completion) → review (approve / reject) → public notice →
certificate issued; objections during the notice pause it until the registrar resolves them.

>>> target("accept", "submitted", "first")
'accepted'
>>> target("issue", "in_notice", "cancellation")
'cancelled'
>>> target("issue", "submitted", "first")
Traceback (most recent call last):
...
common.errors.InvalidTransition: cannot issue an application that is submitted
"""

from __future__ import annotations

from dataclasses import dataclass

from common.errors import InvalidTransition

KINDS = ("first", "change", "correction", "cancellation")
CERTIFYING = ("first", "change", "correction")


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    target: str
    actor: str  # registrar | applicant | anyone
    kinds: tuple[str, ...] = KINDS


TRANSITIONS: tuple[Transition, ...] = (
    Transition("accept", "submitted", "accepted", "registrar"),
    Transition("return", "submitted", "returned", "registrar"),
    Transition("resubmit", "returned", "submitted", "applicant"),
    Transition("withdraw", "submitted", "withdrawn", "applicant"),
    Transition("withdraw", "returned", "withdrawn", "applicant"),
    Transition("approve", "accepted", "approved", "registrar"),
    Transition("reject", "accepted", "rejected", "registrar"),
    Transition("publish", "approved", "in_notice", "registrar"),
    Transition("object", "in_notice", "objected", "anyone"),
    Transition("object", "objected", "objected", "anyone"),
    Transition("uphold", "objected", "rejected", "registrar"),
    Transition("dismiss", "objected", "in_notice", "registrar"),
    Transition("issue", "in_notice", "issued", "registrar", CERTIFYING),
    Transition("issue", "in_notice", "cancelled", "registrar", ("cancellation",)),
)

STATES = frozenset({t.source for t in TRANSITIONS} | {t.target for t in TRANSITIONS})
TERMINAL = frozenset(STATES - {t.source for t in TRANSITIONS})
NEXT_STEP = {
    "submitted": "the registration institution accepts it or returns it for completion (3 working days)",
    "returned": "complete the application and resubmit it",
    "accepted": "the registration institution reviews it and approves or rejects it",
    "approved": "the registration institution publishes the public notice (10 working days)",
    "in_notice": "under public notice; the certificate is issued after the notice period ends",
    "objected": "an objection is open; the registration institution resolves it before the notice resumes",
    "issued": "registered: the certificate is issued",
    "cancelled": "the registration is cancelled",
    "rejected": "rejected; read decision_reason",
    "withdrawn": "withdrawn by the applicant",
}


def target(action: str, state: str, kind: str) -> str:
    """The state ``action`` leads to from ``state`` for an application of ``kind``, or InvalidTransition."""
    for transition in TRANSITIONS:
        if transition.action == action and transition.source == state and kind in transition.kinds:
            return transition.target
    raise InvalidTransition(f"cannot {action} an application that is {state}", current_state=state)


def actor_of(action: str) -> str:
    return next(t.actor for t in TRANSITIONS if t.action == action)


def table() -> list[dict[str, object]]:
    """The transition table for documentation and the API."""
    return [
        {"action": t.action, "from": t.source, "to": t.target, "actor": t.actor, "kinds": list(t.kinds)}
        for t in TRANSITIONS
    ]


# Certificate versions: (state, action) -> state. "expired" is not stored: an issued version past its
# valid_to is expired until the sweep cancels it (R18).
CERTIFICATE_TRANSITIONS: dict[tuple[str, str], str] = {
    ("issued", "supersede"): "superseded",
    ("issued", "cancel"): "cancelled",
    ("issued", "revoke"): "revoked",
}


def certificate_target(state: str, action: str, shown_state: str | None = None) -> str:
    """The state a certificate version moves to, or InvalidTransition naming its current state."""
    try:
        return CERTIFICATE_TRANSITIONS[(state, action)]
    except KeyError:
        current = shown_state or state
        raise InvalidTransition(f"cannot {action} a certificate that is {current}", current_state=current)
