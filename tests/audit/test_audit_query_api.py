"""Paging the audit trail by ``after_seq``: the cursor is validated at the edge (a 4xx naming it), not a
500.

``after_seq=2**63`` used to reach the database and fail there (500): SQLite cannot bind it, PostgreSQL's
BIGINT cannot hold it. Found by the API fuzz once it ran derandomized with enough examples.
"""

from __future__ import annotations

import pytest

from audit.query import MAX_SEQ, list_events


def events(harness, token, **params):
    return harness.client.get("/api/v1/audit/events", params=params, headers=harness.auth(token))


@pytest.mark.parametrize("after_seq", [2**63, 2**64, 10**30, -1, -(2**63) - 1])
def test_out_of_range_cursor_is_a_422_naming_it(harness, after_seq):
    supervisor = harness.user("supervisor")
    response = events(harness, supervisor, after_seq=after_seq)
    assert response.status_code == 422, response.text
    assert "after_seq" in response.text
    assert str(after_seq) not in response.json()["detail"]  # the value is not echoed back


def test_cursor_at_the_edges_pages_normally(harness):
    from audit.chain import record

    supervisor = harness.user("supervisor")
    with harness.ctx.uow() as session:
        for n in range(3):
            record(
                session,
                kind="catalog.dataset.created",
                actor=None,
                subject_type="dataset",
                subject_id=f"d{n}",
                at=harness.ctx.clock.now(),
            )
    first = events(harness, supervisor, limit=1)
    assert first.status_code == 200 and len(first.json()) == 1
    seq = first.json()[0]["seq"]
    rest = events(harness, supervisor, after_seq=seq)
    assert rest.status_code == 200 and [e["seq"] for e in rest.json()] == [seq + 1, seq + 2]
    assert events(harness, supervisor, after_seq=0).json()[0]["seq"] == seq
    assert events(harness, supervisor, after_seq=MAX_SEQ).json() == []


def test_list_events_refuses_a_cursor_the_column_cannot_hold(harness):
    with harness.ctx.uow() as session:
        assert list_events(session, after_seq=MAX_SEQ) == []
        with pytest.raises(ValueError, match="after_seq"):
            list_events(session, after_seq=MAX_SEQ + 1)
        with pytest.raises(ValueError, match="after_seq"):
            list_events(session, after_seq=-1)
