"""Products and services (A3, A21-A22, A28-A29) built by an operator from released results.

A product names its source jobs (lineage: each job's audit events), its kind (A3) and its class (A10): public
governance / public good products are free or conditionally free; industry development products carry a
government-guided price computed as permitted cost + reasonable return, both recorded (A29). Business entities
(经营主体) re-develop listed products; the operator that delivered a product, and organizations affiliated with
it, may not (A21). States (``TRANSITIONS``): listed ──withdraw──> withdrawn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from operation.store import BusinessEntityRow, ProductRow

KINDS = ("dataset", "model", "component", "interface", "service", "report")  # A3 (dataset = de-identified)
CLASSES = ("public_good", "industry")
PRICING_BY_CLASS: Mapping[str, tuple[str, ...]] = {
    "public_good": ("free", "conditionally_free"),
    "industry": ("government_guided",),
}
TRANSITIONS: Mapping[str, Mapping[str, str]] = {"listed": {"withdraw": "withdrawn"}, "withdrawn": {}}
MAX_SOURCE_JOBS = 100
MAX_FEN = 10**15


@dataclass(frozen=True)
class Pricing:
    mode: str  # free | conditionally_free | government_guided
    conditions: str = ""
    permitted_cost_fen: int | None = None
    reasonable_return_fen: int | None = None

    @property
    def price_fen(self) -> int:
        return (self.permitted_cost_fen or 0) + (self.reasonable_return_fen or 0)


@dataclass(frozen=True)
class Entity:
    organization_id: str
    purpose: str


@dataclass(frozen=True)
class Product:
    id: str
    agreement_id: str
    operator_org_id: str
    name: str
    kind: str
    description: str
    product_class: str
    pricing: Pricing
    price_fen: int
    source_jobs: tuple[str, ...]
    state: str
    entities: tuple[Entity, ...]
    created_at: datetime


def validate_pricing(product_class: str, pricing: Pricing) -> Pricing:
    """A29: public good → free or conditionally free (conditions stated); industry → cost + return."""
    if product_class not in CLASSES:
        raise InvalidInput(f"product_class must be one of {', '.join(CLASSES)}", field="product_class")
    allowed = PRICING_BY_CLASS[product_class]
    if pricing.mode not in allowed:
        raise InvalidInput(
            f"a {product_class} product is priced {' or '.join(allowed)} (A29)", field="pricing.mode"
        )
    if pricing.mode == "government_guided":
        for name, value in (
            ("permitted_cost_fen", pricing.permitted_cost_fen),
            ("reasonable_return_fen", pricing.reasonable_return_fen),
        ):
            if value is None or not 0 <= value <= MAX_FEN:
                raise InvalidInput(
                    "a government-guided price records the permitted cost and the reasonable "
                    "return, each a non-negative amount (A29)",
                    field=f"pricing.{name}",
                )
        return pricing
    if pricing.permitted_cost_fen is not None or pricing.reasonable_return_fen is not None:
        raise InvalidInput("a public-good product carries no price (A29)", field="pricing.permitted_cost_fen")
    if pricing.mode == "conditionally_free" and not pricing.conditions.strip():
        raise InvalidInput("state the conditions of a conditionally free product", field="pricing.conditions")
    return Pricing(pricing.mode, pricing.conditions.strip())


def create(
    session: Session,
    *,
    agreement_id: str,
    operator_org_id: str,
    name: str,
    kind: str,
    description: str,
    product_class: str,
    pricing: Pricing,
    source_jobs: list[str],
    actor_id: str,
    now: datetime,
) -> Product:
    """List a product. The caller has checked that the agreement is in force for this operator and that each
    source job is the operator's own released job."""
    if not name.strip():
        raise InvalidInput("the product needs a name", field="name")
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)} (A3)", field="kind")
    pricing = validate_pricing(product_class, pricing)
    jobs = list(dict.fromkeys(source_jobs))
    if not jobs:
        raise InvalidInput("a product names the released jobs it was built from", field="source_jobs")
    if len(jobs) > MAX_SOURCE_JOBS:
        raise InvalidInput(f"at most {MAX_SOURCE_JOBS} source jobs", field="source_jobs")
    row = ProductRow(
        agreement_id=agreement_id,
        operator_org_id=operator_org_id,
        name=name.strip(),
        kind=kind,
        description=description.strip(),
        product_class=product_class,
        pricing=pricing.mode,
        price_conditions=pricing.conditions,
        permitted_cost_fen=pricing.permitted_cost_fen,
        reasonable_return_fen=pricing.reasonable_return_fen,
        price_fen=pricing.price_fen,
        source_jobs=json.dumps(jobs),
        state="listed",
        created_by=actor_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return load(session, row.id)


def withdraw(session: Session, product_id: str, now: datetime) -> Product:
    row = _row(session, product_id)
    try:
        row.state = TRANSITIONS[row.state]["withdraw"]
    except KeyError:
        raise InvalidTransition(f"a {row.state} product cannot be withdrawn", current_state=row.state)
    row.updated_at = now
    session.flush()
    return load(session, product_id)


def add_entity(
    session: Session,
    product_id: str,
    *,
    organization_id: str,
    related: frozenset[str],
    purpose: str,
    actor_id: str,
    now: datetime,
) -> Product:
    """Register a business entity re-developing the product (A21). ``related`` are the organizations
    affiliated with the delivering operator; neither it nor they may re-develop its products."""
    row = _row(session, product_id)
    if row.state != "listed":
        raise InvalidTransition("only a listed product can be re-developed", current_state=row.state)
    if organization_id == row.operator_org_id:
        raise Conflict(
            "the operator that delivered this product may not participate in its re-development (A21)",
            field="organization_id",
            requirement="A21",
        )
    if organization_id in related:
        raise Conflict(
            "an organization affiliated with the delivering operator may not re-develop its product (A21)",
            field="organization_id",
            requirement="A21",
        )
    if session.scalar(
        select(BusinessEntityRow.id).where(
            BusinessEntityRow.product_id == product_id, BusinessEntityRow.organization_id == organization_id
        )
    ):
        raise Conflict("this business entity is already registered for the product", field="organization_id")
    session.add(
        BusinessEntityRow(
            product_id=product_id,
            organization_id=organization_id,
            purpose=purpose.strip(),
            registered_by=actor_id,
            created_at=now,
        )
    )
    row.updated_at = now
    session.flush()
    return load(session, product_id)


def load(session: Session, product_id: str) -> Product:
    row = _row(session, product_id)
    entities = session.scalars(
        select(BusinessEntityRow)
        .where(BusinessEntityRow.product_id == product_id)
        .order_by(BusinessEntityRow.created_at)
    )
    return Product(
        id=row.id,
        agreement_id=row.agreement_id,
        operator_org_id=row.operator_org_id,
        name=row.name,
        kind=row.kind,
        description=row.description,
        product_class=row.product_class,
        pricing=Pricing(row.pricing, row.price_conditions, row.permitted_cost_fen, row.reasonable_return_fen),
        price_fen=row.price_fen,
        source_jobs=tuple(json.loads(row.source_jobs)),
        state=row.state,
        entities=tuple(Entity(e.organization_id, e.purpose) for e in entities),
        created_at=row.created_at,
    )


def list_products(
    session: Session,
    *,
    operator_org_id: str | None = None,
    agreement_id: str | None = None,
    state: str | None = None,
) -> list[Product]:
    query = select(ProductRow.id).order_by(ProductRow.created_at)
    if operator_org_id is not None:
        query = query.where(ProductRow.operator_org_id == operator_org_id)
    if agreement_id is not None:
        query = query.where(ProductRow.agreement_id == agreement_id)
    if state is not None:
        query = query.where(ProductRow.state == state)
    return [load(session, pid) for pid in session.scalars(query)]


def _row(session: Session, product_id: str) -> ProductRow:
    row = session.get(ProductRow, product_id)
    if row is None:
        raise NotFound("no such product", field="product_id")
    return row
