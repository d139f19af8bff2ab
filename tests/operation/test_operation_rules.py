"""The rules of Annex 2 as data and pure functions: transition tables, the 3-year term, the filing deadline,
pricing; and the demo's grants coming from a filed agreement."""

from datetime import date

import pytest

from common.errors import InvalidInput, InvalidTransition
from operation import agreements, plans, products, quality

TABLES = [
    ("plan", plans.TRANSITIONS, plans.next_state),
    ("agreement", agreements.TRANSITIONS, agreements.next_state),
    (
        "quality issue",
        quality.ISSUE_TRANSITIONS,
        lambda s, a: quality._next(quality.ISSUE_TRANSITIONS, "quality issue", s, a),
    ),
    (
        "dispute",
        quality.DISPUTE_TRANSITIONS,
        lambda s, a: quality._next(quality.DISPUTE_TRANSITIONS, "dispute", s, a),
    ),
]


@pytest.mark.parametrize("noun, table, step", TABLES, ids=[t[0] for t in TABLES])
def test_state_machines_are_tables_and_refuse_everything_else_with_the_current_state(noun, table, step):
    actions = {action for moves in table.values() for action in moves}
    for state, moves in table.items():
        assert set(moves.values()) <= set(table), f"{noun}: {state} leads outside the table"
        for action in actions:
            if action in moves:
                assert step(state, action) == moves[action]
            else:
                with pytest.raises(InvalidTransition) as refused:
                    step(state, action)
                assert refused.value.details["current_state"] == state


def test_a23_terminal_states_and_reasons():
    assert agreements.TRANSITIONS["terminated"] == {} and agreements.TRANSITIONS["abandoned"] == {}
    assert set(agreements.TERMINATION_REASONS) == {
        "expiry",
        "operator_request",
        "breach",
        "security_hazard",
        "unqualified_evaluation",
        "policy_change",
        "other_violation",
    }


def test_a16_term_limit_is_three_years_to_the_day_before_the_anniversary():
    assert agreements.term_limit(date(2025, 9, 1)) == date(2028, 8, 31)
    assert agreements.term_limit(date(2024, 2, 29)) == date(2027, 2, 28)
    assert agreements.term_limit(date(2025, 1, 1)) == date(2027, 12, 31)


def test_a17_filing_due_counts_prc_working_days():
    assert agreements.filing_due(date(2025, 9, 29)) == date(
        2025, 10, 13
    )  # National Day, make-up Saturday 10-11
    assert agreements.filing_due(date(2025, 1, 24)) == date(2025, 2, 7)  # 01-26 (make-up), 01-27, 02-05..07
    assert agreements.filing_due(date(2025, 3, 3)) == date(2025, 3, 10)


def test_a29_government_guided_price_is_cost_plus_return():
    pricing = products.validate_pricing("industry", products.Pricing("government_guided", "", 120_050, 9_975))
    assert pricing.price_fen == 130_025
    with pytest.raises(InvalidInput):
        products.validate_pricing("public_good", products.Pricing("government_guided", "", 1, 1))
    assert products.validate_pricing("public_good", products.Pricing("free")).price_fen == 0


def test_a10_plan_content_requires_a_scope_and_products():
    from operation_world import plan_content

    clean = plans.validate_content(plan_content(("b", "a", "a")))
    assert clean["datasets"] == ["a", "b"]
    with pytest.raises(InvalidInput) as error:
        plans.validate_content(plan_content(term_months=37))
    assert error.value.details["field"] == "content.term_months"


def test_demo_grants_come_from_a_filed_agreement(harness):
    """``shuyu demo``: an approved plan and a filed agreement give the demo operator its grants; idempotent."""
    from gateway.demo import principal_of, seed
    from gateway.demo_data import DEMO_GRANTS
    from gateway.demo_operation import create_demo_agreement

    tokens = seed(harness.ctx, scale=500)
    implementer = harness.auth(tokens["implementer"])
    [agreement] = harness.client.get("/api/v1/operation/agreements", headers=implementer).json()
    assert agreement["state"] == "filed" and sorted(agreement["scope"]) == sorted(DEMO_GRANTS)
    plan = harness.client.get(f"/api/v1/operation/plans/{agreement['plan_id']}", headers=implementer).json()
    assert plan["state"] == "approved" and len(plan["reviews"]) == 3
    from_agreement = harness.client.get(
        f"/api/v1/operation/agreements/{agreement['id']}/grants", headers=implementer
    ).json()
    held = harness.client.get("/api/v1/grants", headers=harness.auth(tokens["operator"])).json()
    assert sorted(g["id"] for g in held) == sorted(g["id"] for g in from_agreement)
    assert {g["dataset"] for g in held} == set(DEMO_GRANTS)
    operator = principal_of(harness.ctx, "analyst")
    again = create_demo_agreement(
        harness.ctx,
        implementer_user="implementer",
        operator_org_id=operator.organization_id,
        grants_terms=DEMO_GRANTS,
    )
    assert again == agreement["id"]
