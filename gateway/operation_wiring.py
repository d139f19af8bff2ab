"""What the operation routes hand to the operation room: the registry's verdicts (A9), the catalog snapshot
of a scope, organization lookups, the grant operations (``policies.grants`` as the agreements' ``GrantBook``),
and who may see an agreement. The demo seeding uses the same wiring, so it never imports a route module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from catalog import service as catalog_service
from common.errors import Forbidden, InvalidInput, NotFound
from common.types import OrgKind, Principal, Role, Verdict
from gateway import identity
from gateway.context import AppContext
from operation import agreements
from policies import grants
from registry.service import dataset_registration, product_registration


def registration_of(session: Session, ctx: AppContext) -> Callable[[str], Verdict]:
    """The registry's verdict on a dataset today (A9), handed to the agreement service."""
    today = ctx.clock.today()
    return lambda name: dataset_registration(session, name, today)


def product_registration_of(session: Session, ctx: AppContext, product_id: str) -> Verdict:
    return product_registration(session, product_id, ctx.clock.today())


def org_names(session: Session) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def name(org_id: str) -> str:
        if org_id not in cache:
            cache[org_id] = identity.get_organization(session, org_id).name
        return cache[org_id]

    return name


def catalog_for(session: Session, datasets) -> tuple[dict[str, str], Any]:
    """Dataset ids and the catalog snapshot for the scope; an unknown dataset is a 422 naming the field."""
    ids = {}
    for name in datasets:
        try:
            ids[name] = catalog_service.get_dataset(session, name).id
        except NotFound:
            raise InvalidInput("the scope names a dataset that is not in the catalog", field="scope")
    return ids, catalog_service.snapshot(session, set(ids))


def operator_org(session: Session, ref: str) -> identity.Organization:
    try:
        org = identity.get_organization(session, ref)
    except NotFound:
        raise InvalidInput("no such organization", field="organization_id")
    if org.kind is not OrgKind.operator:
        raise InvalidInput("authorizations are given to operator organizations only", field="organization_id")
    return org


def visible_agreement(session: Session, principal: Principal, agreement_id: str) -> agreements.Agreement:
    agreement = agreements.load(session, agreement_id)
    if (
        principal.has_role(Role.implementer, Role.supervisor)
        or agreement.operator_org_id == principal.organization_id
    ):
        return agreement
    raise Forbidden("this agreement belongs to another organization")


# The grant operations an agreement materializes its grants with (``operation.ports.GrantBook``).
grant_book = grants
