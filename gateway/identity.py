"""Organizations, users and API tokens.

Tokens are random (256 bits), shown once, and stored only as a SHA-256 digest: a stolen database does not
yield usable tokens. Real-name verification (R11) is a separate step; unverified accounts can read but not
apply for anything.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common import idnumbers
from common.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from common.types import ROLES_BY_ORG_KIND, OrgKind, Principal, Role
from gateway.store import AffiliationRow, OrganizationRow, TokenRow, UserRow

TOKEN_PREFIX = "shy_"
USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    kind: OrgKind
    district: str | None


@dataclass(frozen=True)
class User:
    id: str
    username: str
    display_name: str
    organization_id: str
    roles: frozenset[Role]
    verified: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_organization(
    session: Session, *, name: str, kind: str, now: datetime, district: str | None = None
) -> Organization:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("organization name must be 1-200 characters", field="name")
    try:
        org_kind = OrgKind(kind)
    except ValueError:
        raise InvalidInput(f"unknown organization kind; expected one of {', '.join(OrgKind)}", field="kind")
    if session.scalar(select(OrganizationRow.id).where(OrganizationRow.name == name)):
        raise Conflict("an organization with this name exists", field="name")
    row = OrganizationRow(name=name, kind=org_kind.value, district=district, created_at=now)
    session.add(row)
    session.flush()
    return _org(row)


def _org(row: OrganizationRow) -> Organization:
    return Organization(row.id, row.name, OrgKind(row.kind), row.district)


def get_organization(session: Session, org_id_or_name: str) -> Organization:
    row = session.get(OrganizationRow, org_id_or_name) or session.scalar(
        select(OrganizationRow).where(OrganizationRow.name == org_id_or_name)
    )
    if row is None:
        raise NotFound("no such organization", field="organization")
    return _org(row)


def list_organizations(session: Session) -> list[Organization]:
    return [_org(r) for r in session.scalars(select(OrganizationRow).order_by(OrganizationRow.name))]


def affiliate(session: Session, org_id: str, related_id: str, relation: str, now: datetime) -> None:
    """Declare that two organizations overlap, are subordinate or affiliated (used by the R12 check)."""
    if relation not in {"overlapping", "subordinate", "affiliated"}:
        raise InvalidInput("relation must be overlapping, subordinate or affiliated", field="relation")
    get_organization(session, org_id), get_organization(session, related_id)
    session.add(
        AffiliationRow(organization_id=org_id, related_id=related_id, relation=relation, created_at=now)
    )
    session.flush()


def affiliations_of(session: Session, org_id: str) -> frozenset[str]:
    rows = session.execute(
        select(AffiliationRow.organization_id, AffiliationRow.related_id).where(
            (AffiliationRow.organization_id == org_id) | (AffiliationRow.related_id == org_id)
        )
    )
    return frozenset(a if b == org_id else b for a, b in rows)


def create_user(
    session: Session,
    *,
    username: str,
    organization: str,
    roles: list[str],
    now: datetime,
    display_name: str | None = None,
    verified: bool = False,
) -> User:
    if not USERNAME.match(username):
        raise InvalidInput(
            "username must be 2-64 characters: lower-case letters, digits, _ . -", field="username"
        )
    org = get_organization(session, organization)
    parsed = _parse_roles(roles, org.kind)
    if session.scalar(select(UserRow.id).where(UserRow.username == username)):
        raise Conflict("a user with this username exists", field="username")
    row = UserRow(
        username=username,
        display_name=display_name or username,
        organization_id=org.id,
        roles=",".join(sorted(parsed)),
        active=True,
        created_at=now,
        verified_at=now if verified else None,
        verified_by="bootstrap" if verified else None,
    )
    session.add(row)
    session.flush()
    return _user(row)


def _parse_roles(roles: list[str], kind: OrgKind) -> frozenset[Role]:
    if not roles:
        raise InvalidInput("a user needs at least one role", field="roles")
    try:
        parsed = frozenset(Role(r) for r in roles)
    except ValueError:
        raise InvalidInput(f"unknown role; expected one of {', '.join(Role)}", field="roles")
    allowed = ROLES_BY_ORG_KIND[kind]
    if not parsed <= allowed:
        raise InvalidInput(
            f"a {kind.value} organization's users may hold only {', '.join(sorted(allowed))}", field="roles"
        )
    return parsed


def _user(row: UserRow) -> User:
    roles = frozenset(Role(r) for r in row.roles.split(",") if r)
    return User(
        row.id, row.username, row.display_name, row.organization_id, roles, row.verified_at is not None
    )


def get_user(session: Session, username: str) -> User:
    row = session.scalar(select(UserRow).where(UserRow.username == username))
    if row is None:
        raise NotFound("no such user", field="username")
    return _user(row)


def verify_real_name(
    session: Session, username: str, *, real_name: str, id_number: str, verifier: str, now: datetime
) -> User:
    """Record real-name verification (R11). Only a digest of name + ID number is kept."""
    row = session.scalar(select(UserRow).where(UserRow.username == username))
    if row is None:
        raise NotFound("no such user", field="username")
    if not real_name.strip() or not id_number.strip():
        raise InvalidInput("real name and ID number are both required", field="real_name")
    id_number = idnumbers.resident_id(id_number)  # check digit and birth date (python-stdnum)
    row.real_name_digest = hashlib.sha256(
        f"{real_name.strip()}|{id_number.strip().upper()}".encode()
    ).hexdigest()
    row.verified_at, row.verified_by = now, verifier
    session.flush()
    return _user(row)


def create_token(
    session: Session, username: str, *, name: str, now: datetime, expires_at: datetime | None = None
) -> str:
    """Create a token and return it; this is the only time its value exists outside the caller."""
    user = session.scalar(select(UserRow).where(UserRow.username == username))
    if user is None:
        raise NotFound("no such user", field="username")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        TokenRow(
            user_id=user.id,
            name=name[:100] or "token",
            prefix=token[:12],
            token_hash=_digest(token),
            created_at=now,
            expires_at=expires_at,
        )
    )
    try:
        session.flush()
    except IntegrityError:  # a 256-bit collision: astronomically unlikely, but never reuse a digest
        raise Conflict("token collision, try again")
    return token


def revoke_tokens(session: Session, username: str, now: datetime) -> int:
    user = get_user(session, username)
    rows = session.scalars(select(TokenRow).where(TokenRow.user_id == user.id, TokenRow.revoked_at.is_(None)))
    count = 0
    for row in rows:
        row.revoked_at = now
        count += 1
    session.flush()
    return count


def authenticate(session: Session, token: str, now: datetime) -> Principal:
    """Resolve a bearer token to a Principal, or raise Unauthenticated (no hint which part was wrong)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated("invalid or expired token")
    found = session.execute(
        select(TokenRow, UserRow, OrganizationRow)
        .join(UserRow, TokenRow.user_id == UserRow.id)
        .join(OrganizationRow, UserRow.organization_id == OrganizationRow.id)
        .where(TokenRow.token_hash == _digest(token))
    ).first()
    if found is None:
        raise Unauthenticated("invalid or expired token")
    tok, user, org = found
    if (
        tok.revoked_at is not None
        or (tok.expires_at is not None and tok.expires_at <= now)
        or not user.active
    ):
        raise Unauthenticated("invalid or expired token")
    return Principal(
        user_id=user.id,
        username=user.username,
        organization_id=org.id,
        organization_kind=OrgKind(org.kind),
        roles=_user(user).roles,
        verified=user.verified_at is not None,
    )
