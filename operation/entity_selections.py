"""Selection of business entities (经营主体) as an act of the implementer (Annex 2 Art. 21; issue
12 defect 9): who selected whom for which product, by which method and on which basis, published. Before,
any operator could add its own organization to a product."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.db import Base, UTCDateTime, new_id
from common.errors import InvalidInput

METHODS = ("open_call", "invited", "negotiation")  # fair selection, as for operators (A14)


class EntitySelectionRow(Base):
    __tablename__ = "operation_entity_selections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    product_id: Mapped[str] = mapped_column(ForeignKey("operation_products.id"), index=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    method: Mapped[str] = mapped_column(String(20))
    basis: Mapped[str] = mapped_column(Text)
    selected_by: Mapped[str] = mapped_column(String(32))
    selected_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Selection:
    product_id: str
    organization_id: str
    method: str
    basis: str
    selected_on: date


def validate(method: str, basis: str) -> None:
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}", field="method")
    if not basis.strip():
        raise InvalidInput("record the basis of the selection (Art. 21)", field="basis")


def record(
    session: Session,
    *,
    product_id: str,
    organization_id: str,
    method: str,
    basis: str,
    user_id: str,
    today: date,
    now: datetime,
) -> Selection:
    validate(method, basis)
    row = EntitySelectionRow(
        product_id=product_id,
        organization_id=organization_id,
        method=method,
        basis=basis.strip(),
        selected_by=user_id,
        selected_on=today,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return Selection(product_id, organization_id, method, row.basis, today)


def published(session: Session) -> list[Selection]:
    rows = session.scalars(select(EntitySelectionRow).order_by(EntitySelectionRow.created_at))
    return [Selection(r.product_id, r.organization_id, r.method, r.basis, r.selected_on) for r in rows]
