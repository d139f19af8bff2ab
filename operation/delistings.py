"""Delisting (issue 12 defect 7; A23-A24, A28): when an agreement ends — terminated for any A23 reason or
expired — its listed products leave the product list at once, and the delisting is recorded publicly
(product, operator, day, reason). Before, products stayed "listed" with their price after the authorization
ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.db import Base, UTCDateTime, new_id
from operation import products
from operation.store import ProductRow


class DelistingRow(Base):
    __tablename__ = "operation_delistings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    product_id: Mapped[str] = mapped_column(ForeignKey("operation_products.id"), unique=True)
    agreement_id: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(String(40))  # the A23 reason the agreement ended
    delisted_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Delisting:
    product_id: str
    product_name: str
    operator_org_id: str
    agreement_id: str
    reason: str
    delisted_on: date


def delist_for(session: Session, agreement_id: str, *, reason: str, today: date, now: datetime) -> list[str]:
    """Delist every listed product of ``agreement_id``; returns their ids."""
    ids = []
    for row in session.scalars(
        select(ProductRow).where(ProductRow.agreement_id == agreement_id, ProductRow.state == "listed")
    ):
        row.state = products.TRANSITIONS[row.state]["delist"]
        row.updated_at = now
        session.add(
            DelistingRow(
                product_id=row.id, agreement_id=agreement_id, reason=reason, delisted_on=today, created_at=now
            )
        )
        ids.append(row.id)
    session.flush()
    return ids


def public_record(session: Session) -> list[Delisting]:
    rows = session.execute(
        select(DelistingRow, ProductRow)
        .join(ProductRow, ProductRow.id == DelistingRow.product_id)
        .order_by(DelistingRow.delisted_on, DelistingRow.created_at)
    )
    return [
        Delisting(d.product_id, p.name, p.operator_org_id, d.agreement_id, d.reason, d.delisted_on)
        for d, p in rows
    ]
