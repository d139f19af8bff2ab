"""Token and account lifecycle: list, revoke and expire tokens; deactivate and reactivate users.

Every change takes effect on the next request: ``identity.authenticate`` refuses revoked and expired tokens
and every token of an inactive user. A token's value is never stored or shown again; a token is named by
its id (and shown with its 12-character prefix so its holder can recognise it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.errors import InvalidInput, NotFound
from gateway.identity import get_user
from gateway.store import TokenRow, UserRow


class TokenState(enum.StrEnum):
    active = "active"
    expired = "expired"
    revoked = "revoked"


@dataclass(frozen=True)
class Scope:
    """Whose tokens a caller may act on: one user's (``user_id``), one organization's (an administrator,
    ``organization_id``), or everyone's (the command line: both None)."""

    user_id: str | None = None
    organization_id: str | None = None


EVERYONE = Scope()


@dataclass(frozen=True)
class TokenInfo:
    id: str
    username: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    state: TokenState


def _state(row: TokenRow, now: datetime) -> TokenState:
    if row.revoked_at is not None:
        return TokenState.revoked
    if row.expires_at is not None and row.expires_at <= now:
        return TokenState.expired
    return TokenState.active


def _info(row: TokenRow, username: str, now: datetime) -> TokenInfo:
    return TokenInfo(
        row.id,
        username,
        row.name,
        row.prefix,
        row.created_at,
        row.expires_at,
        row.revoked_at,
        _state(row, now),
    )


def _user_in(session: Session, username: str, scope: Scope):
    user = get_user(session, username)
    if scope.organization_id is not None and user.organization_id != scope.organization_id:
        raise NotFound("no such user", field="username")
    if scope.user_id is not None and user.id != scope.user_id:
        raise NotFound("no such user", field="username")
    return user


def list_tokens(session: Session, username: str, now: datetime, scope: Scope = EVERYONE) -> list[TokenInfo]:
    user = _user_in(session, username, scope)
    rows = session.scalars(select(TokenRow).where(TokenRow.user_id == user.id).order_by(TokenRow.created_at))
    return [_info(row, username, now) for row in rows]


def _token(session: Session, token_id: str, scope: Scope) -> tuple[TokenRow, str]:
    """The token row and its user's name; a token outside the caller's scope is as absent as a missing one."""
    found = session.execute(
        select(TokenRow, UserRow).join(UserRow, TokenRow.user_id == UserRow.id).where(TokenRow.id == token_id)
    ).first()
    if (
        found is None
        or (scope.user_id is not None and found[1].id != scope.user_id)
        or (scope.organization_id is not None and found[1].organization_id != scope.organization_id)
    ):
        raise NotFound("no such token", field="token_id")
    return found[0], found[1].username


def revoke_token(session: Session, token_id: str, now: datetime, scope: Scope = EVERYONE) -> TokenInfo:
    """Revoke one token (idempotent: revoking a revoked token keeps its first revocation time)."""
    row, username = _token(session, token_id, scope)
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return _info(row, username, now)


def expire_token(
    session: Session, token_id: str, expires_at: datetime, now: datetime, scope: Scope = EVERYONE
) -> TokenInfo:
    """Set a token's expiry. It can be brought forward (to now, ending it at once) but not extended past
    an expiry already set, and a revoked token stays revoked."""
    if expires_at.tzinfo is None:
        raise InvalidInput("expires_at needs a timezone, e.g. 2025-06-30T00:00:00Z", field="expires_at")
    row, username = _token(session, token_id, scope)
    if row.revoked_at is not None:
        raise InvalidInput("the token is revoked; create a new one", field="token_id")
    if row.expires_at is not None and expires_at > row.expires_at:
        raise InvalidInput("a token's expiry can be brought forward, not extended", field="expires_at")
    row.expires_at = max(expires_at, now)  # a past date ends the token now
    session.flush()
    return _info(row, username, now)


def set_active(session: Session, username: str, active: bool, scope: Scope = EVERYONE) -> bool:
    """Deactivate (every token stops working at once) or reactivate a user; returns whether it changed."""
    user = _user_in(session, username, scope)
    row = session.get(UserRow, user.id)
    changed = bool(row.active) != active
    row.active = active
    session.flush()
    return changed


def parse_expiry(text: str) -> datetime:
    """``2025-06-30`` (midnight UTC) or a full ISO timestamp with a timezone.

    >>> parse_expiry("2025-06-30").isoformat()
    '2025-06-30T00:00:00+00:00'
    >>> parse_expiry("2025-06-30T08:00:00+08:00").isoformat()
    '2025-06-30T08:00:00+08:00'
    """
    from datetime import UTC, date

    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("expiry must be a date (YYYY-MM-DD) or an ISO timestamp", field="expires_at")
    if value.tzinfo is None:
        raise InvalidInput("an expiry timestamp needs a timezone", field="expires_at")
    return value
