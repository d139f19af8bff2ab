"""The demo operator's authorization through the real Annex 2 procedure (used by ``shuyu demo``).

An implementation plan is drafted, reviewed by a three-member expert committee, concluded feasible and
approved; the operator is selected by negotiation with every capability check recorded; an operating
agreement whose data scope carries the demo column rules is signed and filed the same day, which
materializes the demo grants. Every step is audited as it happens. Idempotent: an operator that already
holds a filed agreement covering these datasets keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from catalog import service as catalog_service
from common.types import Principal
from gateway import identity
from gateway.context import AppContext
from gateway.events import emit
from gateway.routes.operation import registration_of
from operation import agreements, plans
from policies import grants

EXPERTS = (
    ("张明", "重庆大学 数据法学研究中心"),
    ("李华", "西南大学 计算机与信息科学学院"),
    ("王芳", "重庆市信息安全测评中心"),
)


def _principal(session: Session, username: str) -> Principal:
    user = identity.get_user(session, username)
    org = identity.get_organization(session, user.organization_id)
    return Principal(
        user_id=user.id,
        username=user.username,
        organization_id=org.id,
        organization_kind=org.kind,
        roles=user.roles,
        verified=user.verified,
    )


def plan_content(datasets: list[str]) -> dict[str, Any]:
    """The 11 contents of A10 for the demo plan."""
    return {
        "necessity_feasibility": "公共数据在民生、就业和市场主体分析中需求旺盛；平台已具备可信开发环境。",
        "operator_conditions": "具备数据管理与技术能力、信用良好、满足数据安全要求（A14-A15）。",
        "datasets": datasets,
        "data_description": "人口、社保缴费与市场主体登记数据（合成演示数据），按公共数据资源目录编目。",
        "update_frequency": "按月/按日更新",
        "quality_requirements": "一数一源一标准；质量问题 10 个工作日内由数源单位答复。",
        "term_months": 36,
        "operation_content": "在可信开发环境内对授权数据进行统计分析，产出汇总报告与数据服务。",
        "safeguards": "原始数据不出域，数据可用不可见；列级授权规则与输出闸门。",
        "schedule": "签订协议后 5 个工作日内备案，备案后开通授权。",
        "evaluation_criteria": "协议执行情况、产品效果、安全情况，年度评估。",
        "exit_plan": "期满或终止后撤销授权，运营机构交还全部中间结果。",
        "asset_handling": "数据产品权属按协议约定；原始数据权属不变。",
        "public_good_products": ["区县人口结构公益报告"],
        "industry_products": ["市场主体行业画像服务"],
        "cost_revenue_sharing": "成本收益单独核算，政府指导价按允许成本加合理收益确定。",
        "security_emergency": "分类分级保护，安全事件 2 小时内报告并启动应急预案。",
        "rights_duties": "实施机构负责授权与监督，运营机构在授权范围内开发。",
        "supervision_evaluation": "数据主管部门监督，全程审计留痕。",
        "other": "",
    }


AGREEMENT_CONTENT = {
    "data_catalog": "见数据范围：人口、社保缴费、市场主体登记（逐列授权）。",
    "products_and_standards": "区县人口结构公益报告；市场主体行业画像服务；符合数据产品技术标准。",
    "security_review": "产品上架前经安全审查。",
    "asset_ownership": "数据产品权属归运营机构，原始数据权属不变。",
    "disclosure": "按年度公开授权情况、产品和服务清单及数据使用情况。",
    "accounting": "成本、收入、支出单独核算，接受审计。",
    "security_emergency": "落实分类分级保护与应急响应。",
    "evaluation_renewal_exit": "年度评估；评估不合格可终止；期满退出。",
    "liability": "违约依法依约承担责任。",
    "dispute_resolution": "争议由数据主管部门协调，协调不成报市政府。",
    "change_termination": "期满、运营机构申请、违约、安全隐患整改不力、评估不合格、政策变化等情形终止。",
    "other": "",
}


def existing_agreement(session: Session, operator_org_id: str, datasets: set[str]) -> str | None:
    for agreement in agreements.list_agreements(session, operator_org_id, states=("filed",)):
        if datasets <= set(agreement.scope):
            return agreement.id
    return None


def create_demo_agreement(
    ctx: AppContext,
    *,
    implementer_user: str,
    operator_org_id: str,
    grants_terms: Mapping[str, Mapping[str, Any]],
) -> str:
    """Plan → expert review → approval → selection → agreement → signing → filing; returns the agreement id.

    ``grants_terms`` maps each dataset to its grant terms without a window (purpose, privacy_unit, k, columns,
    and optionally row_filters, max_rows, allow_row_level); the agreement's term is the window.
    """
    today, now = ctx.clock.today(), ctx.clock.now()
    datasets = sorted(grants_terms)
    with ctx.uow() as session:
        found = existing_agreement(session, operator_org_id, set(datasets))
        if found is not None:
            return found
        actor = _principal(session, implementer_user)
        plan = plans.create(
            session,
            name="重庆市公共数据授权运营实施方案（演示）",
            mode="domain",
            mode_scope="民生与市场主体",
            content=plan_content(datasets),
            actor_id=actor.user_id,
            now=now,
        )
        emit(session, ctx, actor, "operation.plan.created", "operation_plan", plan.id, mode=plan.mode)
        plans.submit(session, plan.id, now)
        emit(session, ctx, actor, "operation.plan.submitted", "operation_plan", plan.id, version=1)
        for name, affiliation in EXPERTS:
            plans.add_review(
                session,
                plan.id,
                expert_name=name,
                expert_affiliation=affiliation,
                compliance="pass",
                feasibility="pass",
                security_risk="low",
                opinion="合规、可行，安全风险可控。",
                actor_id=actor.user_id,
                now=now,
            )
            emit(
                session,
                ctx,
                actor,
                "operation.plan.reviewed",
                "operation_plan",
                plan.id,
                version=1,
                compliance="pass",
                feasibility="pass",
                security_risk="low",
            )
        plans.conclude(session, plan.id, conclusion="feasible", reason="专家委员会一致同意", now=now)
        emit(
            session,
            ctx,
            actor,
            "operation.plan.concluded",
            "operation_plan",
            plan.id,
            version=1,
            conclusion="feasible",
            state="reviewed",
        )
        plans.approve(session, plan.id, reference="渝府（演示）〔2025〕1号", today=today, now=now)
        emit(session, ctx, actor, "operation.plan.approved", "operation_plan", plan.id, version=1)
        selection = plans.select_operator(
            session,
            plan.id,
            operator_org_id=operator_org_id,
            method="negotiation",
            checks={c: True for c in plans.SELECTION_CHECKS},
            notes="演示：竞争性谈判",
            actor_id=actor.user_id,
            today=today,
            now=now,
        )
        emit(
            session,
            ctx,
            actor,
            "operation.operator.selected",
            "operation_selection",
            selection.id,
            plan_id=plan.id,
            organization_id=operator_org_id,
            method="negotiation",
        )
        scope = {name: agreements.ScopeTerms(**dict(terms)) for name, terms in grants_terms.items()}
        ids = {name: catalog_service.get_dataset(session, name).id for name in datasets}
        catalog = catalog_service.snapshot(session, set(datasets))
        terms = agreements.Terms(
            title="公共数据授权运营协议（演示）",
            term_start=today,
            term_end=agreements.term_limit(today),
            content=AGREEMENT_CONTENT,
            scope=scope,
        )
        agreement = agreements.create(
            session,
            plan_id=plan.id,
            selection_id=selection.id,
            terms=terms,
            catalog=catalog,
            grants=grants,
            actor_id=actor.user_id,
            now=now,
        )
        emit(
            session,
            ctx,
            actor,
            "operation.agreement.created",
            "operation_agreement",
            agreement.id,
            plan_id=plan.id,
            organization_id=operator_org_id,
            datasets=datasets,
        )
        registration = registration_of(session, ctx)
        agreement = agreements.sign(session, agreement.id, registration=registration, today=today, now=now)
        emit(
            session,
            ctx,
            actor,
            "operation.agreement.signed",
            "operation_agreement",
            agreement.id,
            filing_due=agreement.filing_due.isoformat(),
        )
        agreement, made = agreements.file(
            session,
            agreement.id,
            reference="渝数备（演示）〔2025〕1号",
            registration=registration,
            dataset_ids=ids,
            catalog=catalog,
            grants=grants,
            actor_id=actor.user_id,
            today=today,
            now=now,
        )
        emit(
            session,
            ctx,
            actor,
            "operation.agreement.filed",
            "operation_agreement",
            agreement.id,
            late=False,
            grants=[g.id for g in made],
        )
        for grant in made:
            emit(
                session,
                ctx,
                actor,
                "grant.created",
                "grant",
                grant.id,
                version=grant.version,
                organization_id=operator_org_id,
                dataset=grant.dataset,
                agreement_id=agreement.id,
            )
        return agreement.id
