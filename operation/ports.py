"""What the operation room needs from outside, named as protocols the caller fills in.

Rooms never import each other. When an operation needs another room's operation (an agreement materializes
grants, which ``policies`` owns), this module names exactly what it calls and the gateway hands the real thing
in: ``gateway.operation_wiring.grant_book`` is ``policies.grants``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from common.grant_terms import GrantSpec
from common.types import CatalogSnapshot, Grant


class GrantBook(Protocol):
    """The grant operations an agreement needs, handed in by the caller (the gateway passes
    ``policies.grants``). Grants live in ``policies``; rooms never import each other, so this room names only
    what it calls."""

    def validate(self, spec: GrantSpec, dataset: str, catalog: CatalogSnapshot) -> object: ...

    def create(
        self,
        session: Session,
        *,
        organization_id: str,
        dataset_id: str,
        dataset: str,
        spec: GrantSpec,
        catalog: CatalogSnapshot,
        actor_id: str,
        now: datetime,
        agreement_id: str | None = None,
    ) -> Grant: ...

    def change(
        self,
        session: Session,
        grant_id: str,
        spec: GrantSpec,
        *,
        catalog: CatalogSnapshot,
        actor_id: str,
        reason: str,
        now: datetime,
    ) -> Grant: ...

    def set_status(
        self, session: Session, grant_id: str, status: str, reason: str, now: datetime
    ) -> Grant: ...

    def of_agreement(self, session: Session, agreement_id: str) -> list[Grant]: ...
