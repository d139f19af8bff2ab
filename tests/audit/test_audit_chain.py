"""Audit chain on each backend of the shared ``db_url`` fixture (tests/conftest.py): SQLite always, PostgreSQL
in a fresh schema when SHUYU_TEST_POSTGRES_URL is set. Only the audit tables are created."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from audit.chain import canonical_bytes, head, record, verify
from audit.query import list_events
from audit.store import TABLES
from common.db import Base, make_engine, make_session_factory
from common.types import OrgKind, Principal, Role


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    Base.metadata.create_all(eng, tables=list(TABLES))
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def alice():
    return Principal(
        user_id="u-alice",
        username="alice",
        organization_id="org-op",
        organization_kind=OrgKind.operator,
        roles=frozenset({Role.operator}),
        verified=True,
    )


T0 = datetime(2025, 1, 2, 2, 0, 0, 123456, tzinfo=UTC)

COLUMNS = (
    "id",
    "at",
    "actor_user_id",
    "actor_username",
    "organization_id",
    "kind",
    "subject_type",
    "subject_id",
    "details",
    "prev_hash",
    "hash",
    "algorithm",
)


def append(factory, actor, n=5, algorithm="sha256", start=0):
    events = []
    for i in range(start, start + n):
        with factory.begin() as session:
            events.append(
                record(
                    session,
                    kind="job.submitted",
                    actor=actor,
                    subject_type="job",
                    subject_id=f"j{i}",
                    details={"rows": i, "rule": "k_threshold"},
                    at=T0 + timedelta(seconds=i),
                    algorithm=algorithm,
                )
            )
    return events


def check(factory, **kw):
    with factory() as session:
        return verify(session, **kw)


def sql(factory, statement, **params):
    with factory.begin() as session:
        session.execute(text(statement), params)


def test_append_and_verify(factory, alice):
    events = append(factory, alice)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    result = check(factory)
    assert (result.ok, result.checked, result.first_broken_seq, result.reason) == (True, 5, None, None)
    with factory() as session:
        stored = list_events(session)
        assert head(session) == (5, events[-1].hash)
    assert stored == events  # round trip keeps microseconds, tz and details
    assert stored[0].at == T0 and stored[0].at.tzinfo is not None


def test_hash_is_over_canonical_json(factory, alice):
    event = append(factory, alice, n=1)[0]
    payload = json.loads(
        canonical_bytes(
            seq=1,
            id=event.id,
            at=event.at,
            actor_user_id="u-alice",
            actor_username="alice",
            organization_id="org-op",
            kind=event.kind,
            subject_type="job",
            subject_id="j0",
            details={"rule": "k_threshold", "rows": 0},
            prev_hash="0" * 64,
            algorithm="sha256",
        )
    )
    assert payload["at"] == "2025-01-02T02:00:00.123456Z"
    raw = canonical_bytes(**{k: payload[k] if k != "at" else event.at for k in payload if k != "v"})
    assert hashlib.sha256(raw).hexdigest() == event.hash


def test_empty_log_verifies(factory):
    result = check(factory)
    assert result.ok and result.checked == 0


def test_system_event_without_actor(factory):
    with factory.begin() as session:
        event = record(session, kind="job.failed", actor=None, subject_type="job", subject_id="j1", at=T0)
    assert event.actor_user_id is None and event.details == {}
    assert check(factory).ok


@pytest.mark.parametrize(
    "column, value",
    [
        ("details", '{"rows":999,"rule":"k_threshold"}'),
        ("details", '{"rows": 3, "rule": "k_threshold", "extra": 1}'),
        ("kind", "job.cancelled"),
        ("actor_user_id", "u-mallory"),
        ("actor_username", "mallory"),
        ("organization_id", "org-x"),
        ("subject_id", "j999"),
        ("algorithm", "sm3"),
        ("prev_hash", "f" * 64),
    ],
)
def test_edit_is_detected(factory, alice, column, value):
    append(factory, alice)
    sql(factory, f"UPDATE audit_events SET {column} = :v WHERE seq = 3", v=value)
    result = check(factory)
    assert not result.ok and result.first_broken_seq == 3, result
    assert result.reason


def test_whitespace_only_change_of_details_is_not_an_edit(factory, alice):
    append(factory, alice)
    sql(
        factory,
        "UPDATE audit_events SET details = :v WHERE seq = 3",
        v='{ "rule" : "k_threshold", "rows" : 2 }',
    )
    assert check(factory).ok


def test_edit_of_timestamp_is_detected(factory, alice):
    events = append(factory, alice)
    with factory.begin() as session:
        from audit.store import AuditEventRow

        row = session.get(AuditEventRow, 2)
        row.at = events[1].at + timedelta(microseconds=1)
    result = check(factory)
    assert (result.ok, result.first_broken_seq) == (False, 2)


def test_edit_with_recomputed_hash_breaks_the_next_link(factory, alice):
    from audit.chain import row_hash

    append(factory, alice)
    sql(factory, "UPDATE audit_events SET kind = 'job.cancelled' WHERE seq = 3")
    with factory() as session:
        from audit.store import AuditEventRow

        table = AuditEventRow.__table__
        row = session.execute(table.select().where(table.c.seq == 3)).one()
    sql(factory, "UPDATE audit_events SET hash = :h WHERE seq = 3", h=row_hash(row))
    result = check(factory)
    assert (result.ok, result.first_broken_seq) == (False, 4)
    assert "prev_hash" in result.reason


@pytest.mark.parametrize("seq", [1, 3])
def test_delete_is_detected(factory, alice, seq):
    append(factory, alice)
    sql(factory, "DELETE FROM audit_events WHERE seq = :s", s=seq)
    result = check(factory)
    assert (result.ok, result.first_broken_seq) == (False, seq)
    assert "missing" in result.reason


def test_swap_is_detected(factory, alice):
    append(factory, alice)
    with factory.begin() as session:
        rows = {
            r.seq: r._asdict()
            for r in session.execute(text("SELECT * FROM audit_events WHERE seq IN (2, 4)"))
        }
        session.execute(text("DELETE FROM audit_events WHERE seq IN (2, 4)"))
        for seq, other in ((2, 4), (4, 2)):
            values = {c: rows[other][c] for c in COLUMNS} | {"seq": seq}
            session.execute(
                text(
                    f"INSERT INTO audit_events (seq, {', '.join(COLUMNS)}) "
                    f"VALUES (:seq, {', '.join(':' + c for c in COLUMNS)})"
                ),
                values,
            )
    result = check(factory)
    assert (result.ok, result.first_broken_seq) == (False, 2)


@pytest.mark.parametrize("cut", [5, 4, 1])
def test_truncated_tail_is_detected(factory, alice, cut):
    append(factory, alice)
    sql(factory, "DELETE FROM audit_events WHERE seq >= :c", c=cut)
    result = check(factory)
    assert (result.ok, result.first_broken_seq) == (False, cut)
    assert "truncated" in result.reason


def test_head_rewrite_needs_an_anchor(factory, alice):
    events = append(factory, alice)
    with factory() as session:
        anchor = head(session)
    sql(factory, "DELETE FROM audit_events WHERE seq = 5")
    sql(factory, "UPDATE audit_head SET seq = 4, hash = :h", h=events[3].hash)
    assert check(factory).ok  # consistent in-database: only an external anchor can tell
    result = check(factory, anchor=anchor)
    assert (result.ok, result.first_broken_seq) == (False, 5)
    assert check(factory, anchor=(3, events[2].hash)).ok


def test_rows_beyond_the_head_are_detected(factory, alice):
    events = append(factory, alice, n=2)
    values = {
        "seq": 3,
        "id": "forged",
        "at": T0,
        "actor_user_id": None,
        "actor_username": None,
        "organization_id": None,
        "kind": "x",
        "subject_type": "y",
        "subject_id": None,
        "details": "{}",
        "prev_hash": events[1].hash,
        "hash": "ab" * 32,
        "algorithm": "sha256",
    }
    with factory.begin() as session:
        from audit.store import AuditEventRow

        session.execute(AuditEventRow.__table__.insert().values(**values))
    result = check(factory)
    assert (result.ok, result.first_broken_seq) == (False, 3)


def test_missing_head_row(factory, alice):
    append(factory, alice, n=2)
    sql(factory, "DELETE FROM audit_head")
    result = check(factory)
    assert (result.ok, result.first_broken_seq) == (False, 1)
    from audit.chain import AuditIntegrityError

    with pytest.raises(AuditIntegrityError), factory.begin() as session:
        record(session, kind="x", actor=None, subject_type="y", subject_id=None, at=T0)


def test_head_row_is_recreated_on_an_empty_log(factory):
    sql(factory, "DELETE FROM audit_head")
    with factory.begin() as session:
        assert record(session, kind="x", actor=None, subject_type="y", subject_id=None, at=T0).seq == 1
    assert check(factory).ok


def test_rollback_records_nothing(factory, alice):
    append(factory, alice, n=2)
    with factory() as session:
        record(session, kind="x", actor=alice, subject_type="y", subject_id=None, at=T0)
        session.rollback()
    events = append(factory, alice, n=1, start=2)
    assert events[0].seq == 3
    assert check(factory).ok


def test_sm3_chain(factory, alice):
    events = append(factory, alice, n=3, algorithm="sm3")
    append(factory, alice, n=2, start=3)  # algorithms may change along the chain (configuration change)
    assert all(e.algorithm == "sm3" for e in events)
    raw = canonical_bytes(
        seq=1,
        id=events[0].id,
        at=events[0].at,
        actor_user_id="u-alice",
        actor_username="alice",
        organization_id="org-op",
        kind="job.submitted",
        subject_type="job",
        subject_id="j0",
        details={"rows": 0, "rule": "k_threshold"},
        prev_hash="0" * 64,
        algorithm="sm3",
    )
    assert hashlib.new("sm3", raw).hexdigest() == events[0].hash != hashlib.sha256(raw).hexdigest()
    assert check(factory).ok
    sql(factory, "UPDATE audit_events SET subject_id = 'j9' WHERE seq = 2")
    assert check(factory).first_broken_seq == 2


def test_concurrent_appends_form_one_chain(factory, alice):
    threads_n, per_thread = 8, 10
    barrier = threading.Barrier(threads_n)
    errors = []

    def work(t):
        try:
            barrier.wait()
            for i in range(per_thread):
                with factory.begin() as session:
                    record(
                        session,
                        kind="job.submitted",
                        actor=alice,
                        subject_type="job",
                        subject_id=f"{t}-{i}",
                        details={"thread": t, "i": i},
                        at=T0,
                    )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = check(factory)
    assert result.ok, result
    assert result.checked == threads_n * per_thread
    with factory() as session:
        events = list_events(session, limit=1000)
    assert [e.seq for e in events] == list(range(1, threads_n * per_thread + 1))
    assert len({e.subject_id for e in events}) == threads_n * per_thread


def test_list_events_filters(factory, alice):
    append(factory, alice, n=3)
    with factory.begin() as session:
        record(
            session,
            kind="catalog.dataset.created",
            actor=None,
            subject_type="dataset",
            subject_id="d1",
            details={"columns": 4},
            at=T0 + timedelta(days=1),
        )
    with factory() as session:
        assert [e.seq for e in list_events(session, actor=alice)] == [1, 2, 3]
        assert [e.seq for e in list_events(session, actor="u-alice", after_seq=1, limit=1)] == [2]
        assert [e.seq for e in list_events(session, organization_id="org-op", kind="job.submitted")] == [
            1,
            2,
            3,
        ]
        assert [e.seq for e in list_events(session, kind="catalog.*")] == [4]
        assert [e.seq for e in list_events(session, kind="catalog_*")] == []
        assert [e.seq for e in list_events(session, subject_type="job", subject_id="j1")] == [2]
        assert [
            e.seq
            for e in list_events(session, since=T0 + timedelta(seconds=1), until=T0 + timedelta(seconds=2))
        ] == [2]
        assert [e.seq for e in list_events(session, since=T0 + timedelta(hours=1))] == [4]
        with pytest.raises(ValueError):
            list_events(session, limit=0)


@pytest.mark.parametrize("details", [{"x": float("nan")}, {"x": b"raw"}, {1: "a"}, {"x": "v" * 20000}])
def test_bad_details_are_refused(factory, details):
    with pytest.raises((ValueError, TypeError)), factory.begin() as session:
        record(session, kind="x", actor=None, subject_type="y", subject_id=None, details=details, at=T0)
    assert check(factory).checked == 0


def test_bad_arguments(factory):
    from datetime import datetime

    with factory.begin() as session:
        with pytest.raises(ValueError):
            record(session, kind="x", actor=None, subject_type="y", subject_id=None, at=datetime(2025, 1, 1))
        with pytest.raises(ValueError):
            record(session, kind="x", actor=None, subject_type="y", subject_id=None, at=T0, algorithm="md5")
