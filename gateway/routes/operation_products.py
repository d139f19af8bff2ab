"""Operation routes for products and services (A3, A21, A28, A29): listing with a class and a price,
withdrawal, and the business entities that re-develop a product. Source jobs are checked against the
sandbox's job records.
"""

from __future__ import annotations

from fastapi import APIRouter

from common.errors import Forbidden, InvalidInput, NotFound
from common.types import Role
from gateway import identity
from gateway.auth import Ctx, Implementer, VerifiedOperator
from gateway.events import emit
from gateway.operation_models import OP, EntityCreate, ProductCreate, ProductPublic, Reader
from gateway.operation_views import fen, product_out
from gateway.operation_wiring import operator_org, visible_agreement
from operation import entity_selections, products
from sandbox import jobs as sandbox_jobs

router = APIRouter(prefix="/api/v1", tags=["operation"])


# --- products (A3, A21, A28, A29) ---------------------------------------------------------------------------


@router.post(f"{OP}/products", response_model=ProductPublic, status_code=201)
def create_product(body: ProductCreate, ctx: Ctx, principal: VerifiedOperator) -> ProductPublic:
    with ctx.uow() as session:
        agreement = visible_agreement(session, principal, body.agreement_id)
        if agreement.state != "filed":
            raise InvalidInput("products are built under an agreement in force (filed)", field="agreement_id")
        for job_id in body.source_jobs:
            try:
                job = sandbox_jobs.get(session, job_id)
            except NotFound:
                job = None
            if job is None or job.organization_id != principal.organization_id or job.state != "succeeded":
                raise InvalidInput(
                    "every source job must be a released (succeeded) job of your organization",
                    field="source_jobs",
                )
        pricing = products.Pricing(
            body.pricing.mode,
            body.pricing.conditions,
            fen(body.pricing.permitted_cost),
            fen(body.pricing.reasonable_return),
        )
        product = products.create(
            session,
            agreement_id=agreement.id,
            operator_org_id=principal.organization_id,
            name=body.name,
            kind=body.kind,
            description=body.description,
            product_class=body.product_class,
            pricing=pricing,
            source_jobs=body.source_jobs,
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.product.listed",
            "operation_product",
            product.id,
            agreement_id=agreement.id,
            product_kind=product.kind,
            product_class=product.product_class,
            pricing=product.pricing.mode,
            price_fen=product.price_fen,
            source_jobs=list(product.source_jobs),
        )
        return product_out(session, ctx, product)


@router.get(f"{OP}/products", response_model=list[ProductPublic])
def list_products(ctx: Ctx, principal: Reader) -> list[ProductPublic]:
    owner = None if principal.has_role(Role.implementer, Role.supervisor) else principal.organization_id
    with ctx.uow() as session:
        return [product_out(session, ctx, p) for p in products.list_products(session, operator_org_id=owner)]


@router.get(f"{OP}/products/{{product_id}}", response_model=ProductPublic)
def get_product(product_id: str, ctx: Ctx, _: Reader) -> ProductPublic:
    with ctx.uow() as session:
        return product_out(session, ctx, products.load(session, product_id))


@router.post(f"{OP}/products/{{product_id}}/withdraw", response_model=ProductPublic)
def withdraw_product(product_id: str, ctx: Ctx, principal: VerifiedOperator) -> ProductPublic:
    with ctx.uow() as session:
        if products.load(session, product_id).operator_org_id != principal.organization_id:
            raise Forbidden("only the operator that listed the product may withdraw it")
        product = products.withdraw(session, product_id, ctx.clock.now())
        emit(session, ctx, principal, "operation.product.withdrawn", "operation_product", product.id)
        return product_out(session, ctx, product)


@router.post(f"{OP}/products/{{product_id}}/entities", response_model=ProductPublic, status_code=201)
def add_entity(product_id: str, body: EntityCreate, ctx: Ctx, principal: Implementer) -> ProductPublic:
    """The implementer selects a business entity to re-develop the product (A21, Annex 2 Art. 21), with the
    method and basis recorded and published (GET /api/v1/public/operation/entity-selections)."""
    with ctx.uow() as session:
        product = products.load(session, product_id)
        entity = operator_org(session, body.organization_id).id
        entity_selections.validate(body.method, body.basis)
        product = products.add_entity(
            session,
            product_id,
            organization_id=entity,
            related=identity.affiliations_of(session, product.operator_org_id),
            purpose=body.purpose,
            actor_id=principal.user_id,
            now=ctx.clock.now(),
        )
        entity_selections.record(
            session,
            product_id=product.id,
            organization_id=entity,
            method=body.method,
            basis=body.basis,
            user_id=principal.user_id,
            today=ctx.clock.today(),
            now=ctx.clock.now(),
        )
        emit(
            session,
            ctx,
            principal,
            "operation.product.entity_registered",
            "operation_product",
            product.id,
            organization_id=entity,
        )
        return product_out(session, ctx, product)
