"""The data authority's part and the implementer's decisions (issue 12):

* A17: the implementer submits the filing; the data authority (supervisor role) accepts or returns it; a
  late filing is refused unless accepted explicitly. Before, the implementer recorded the filing itself and a
  filing 3 days late was accepted with only ``filed_late: true`` as trace.
* A23: the operator applies to end its agreement; the implementer decides. Before, ``terminate`` with reason
  ``operator_request`` by the operator returned 200 and revoked every grant.
"""

from datetime import date

import pytest
from operation_world import make_world, set_day


@pytest.fixture
def world(harness, clock):
    return make_world(harness, clock)


def signed(w) -> dict:
    agreement = w.draft_agreement()
    return w.post(f"agreements/{agreement['id']}/sign", "implementer")


def test_a17_the_implementer_cannot_file_by_itself_the_authority_accepts_or_returns(world):
    w = world
    agreement = signed(w)
    aid = agreement["id"]
    w.post(f"agreements/{aid}/file", "implementer", {"reference": "x"}, expect=403)
    nothing = w.post(f"agreements/{aid}/file", "supervisor", {"reference": "渝数备 1"}, expect=409)
    assert "submitted" in nothing["error"]["message"]
    w.post(f"agreements/{aid}/filings", "implementer", {"reference": "备案函 1"}, expect=201)
    w.post(f"agreements/{aid}/filings", "implementer", {"reference": "备案函 1"}, expect=409)  # one at a time
    [pending] = w.get("filings", "supervisor")
    assert pending["agreement_id"] == aid and pending["late"] is False
    returned = w.post(f"agreements/{aid}/filings/return", "supervisor", {"reason": "附件不全"})
    assert returned["state"] == "returned" and returned["decision_reason"] == "附件不全"
    assert w.get(f"agreements/{aid}", "implementer")["state"] == "signed"
    assert w.get(f"agreements/{aid}/grants", "implementer") == []
    w.post(f"agreements/{aid}/filings", "implementer", {"reference": "备案函 2"}, expect=201)
    filed = w.post(f"agreements/{aid}/file", "supervisor", {"reference": "渝数备 2"})
    assert filed["agreement"]["state"] == "filed" and len(filed["grants"]) == 1
    kinds = [r["state"] for r in w.get(f"agreements/{aid}/requests", "supervisor")]
    assert kinds == ["returned", "accepted"]


def test_a17_a_late_filing_is_refused_unless_the_authority_accepts_it_explicitly(world, clock):
    w = world
    agreement = signed(w)  # 2025-09-01: due 2025-09-08
    aid = agreement["id"]
    set_day(clock, date(2025, 9, 11))  # 3 days late
    late = w.post(f"agreements/{aid}/filings", "implementer", {"reference": "备案函"}, expect=201)
    assert late["late"] is True
    refused = w.post(f"agreements/{aid}/file", "supervisor", {"reference": "渝数备 3"}, expect=409)
    assert refused["error"]["field"] == "accept_late"
    assert w.get(f"agreements/{aid}/grants", "implementer") == []  # no grants from a refused filing
    no_reason = {"reference": "渝数备 3", "accept_late": True}
    w.post(f"agreements/{aid}/file", "supervisor", no_reason, expect=422)
    accepted = w.post(f"agreements/{aid}/file", "supervisor", no_reason | {"reason": "情况说明已核实"})
    assert accepted["agreement"]["filed_late"] is True
    [request] = w.get(f"agreements/{aid}/requests", "supervisor")
    assert request["late_accepted"] is True and request["decision_reason"] == "情况说明已核实"


def test_a23_the_operator_applies_to_end_its_agreement_and_the_implementer_decides(world):
    w = world
    filed = w.filed_agreement()
    aid = filed["agreement"]["id"]
    w.post(f"agreements/{aid}/terminate", "operator", {"reason": "operator_request"}, expect=403)
    w.post(f"agreements/{aid}/termination-requests", "operator2", {"detail": "x"}, expect=403)
    ask = w.post(f"agreements/{aid}/termination-requests", "operator", {"detail": "业务调整"}, expect=201)
    assert ask["state"] == "pending"
    assert {g["status"] for g in w.get(f"agreements/{aid}/grants", "implementer")} == {"active"}
    w.post(
        f"termination-requests/{ask['id']}/decide", "operator", {"approve": True, "reason": "x"}, expect=403
    )
    refused = w.post(
        f"termination-requests/{ask['id']}/decide",
        "implementer",
        {"approve": False, "reason": "合同期内须履约"},
    )
    assert refused["request"]["state"] == "refused" and refused["agreement"] is None
    assert w.get(f"agreements/{aid}", "operator")["state"] == "filed"
    again = w.post(f"agreements/{aid}/termination-requests", "operator", {"detail": "再次申请"}, expect=201)
    done = w.post(
        f"termination-requests/{again['id']}/decide", "implementer", {"approve": True, "reason": "同意"}
    )
    assert done["agreement"]["agreement"]["state"] == "terminated"
    assert done["agreement"]["agreement"]["termination_reason"] == "operator_request"
    assert {g["status"] for g in done["agreement"]["grants"]} == {"revoked"}
