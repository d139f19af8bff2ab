"""Publishing and checking the audit head (issue 16 item 4), with the shipped CLI and API.

A truncation (delete the last events, rewrite ``audit_head`` to the new last event) leaves an internally
consistent chain: only a head published earlier, or a signed checkpoint held since, exposes it. The old
``shuyu audit verify`` printed only an event count, accepted no published head, and reported "intact: 0
events" in a directory without a store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from audit.chain import head, record
from common.settings import Settings
from gateway.cli import app
from gateway.context import AppContext
from migrations import upgrade

runner = CliRunner()
T0 = datetime(2025, 1, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    upgrade(settings.database_url)
    ctx = AppContext.build(settings)
    append(ctx, 5)
    yield ctx
    ctx.close()


def append(ctx, count: int) -> None:
    for _ in range(count):
        with ctx.uow() as session:
            record(session, kind="test.event", actor=None, subject_type="test", subject_id="x", at=T0)


def truncate_to(ctx, seq: int) -> None:
    """What an operator with database access can do: cut the tail and make the head agree."""
    with ctx.uow() as session:
        last = session.execute(text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": seq}).scalar_one()
        session.execute(text("DELETE FROM audit_events WHERE seq > :s"), {"s": seq})
        session.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": seq, "h": last})


def cli(ctx, *args: str):
    return runner.invoke(app, ["audit", *args, "--data-dir", str(ctx.settings.data_dir)])


def test_verify_without_a_store_fails_and_creates_nothing(tmp_path):
    empty = tmp_path / "nowhere"
    result = runner.invoke(app, ["audit", "verify", "--data-dir", str(empty)])
    assert result.exit_code == 2 and "no Shuyu store" in result.output
    assert not empty.exists()


def test_verify_prints_the_head_and_checks_a_published_one(store):
    with store.uow() as session:
        seq, hash_ = head(session)
    result = cli(store, "verify")
    assert result.exit_code == 0 and f"head: {seq}:{hash_}" in result.output
    assert cli(store, "verify", "--expect-head", f"{seq}:{hash_}").exit_code == 0
    append(store, 2)  # the log grows: the old head is still inside it
    assert cli(store, "verify", "--expect-head", f"{seq}:{hash_}").exit_code == 0

    truncate_to(store, 4)
    assert cli(store, "verify").exit_code == 0  # the chain alone cannot tell
    caught = cli(store, "verify", "--expect-head", f"{seq}:{hash_}")
    assert caught.exit_code == 1 and "truncated" in caught.output
    assert cli(store, "verify", "--expect-head", "5:nothex").exit_code == 2


def test_a_signed_checkpoint_detects_a_later_truncation(store, tmp_path):
    made = cli(store, "checkpoint")
    assert made.exit_code == 0, made.output
    held = tmp_path / "checkpoint.json"
    held.write_text(made.output)
    assert json.loads(held.read_text())["document"].count('"seq":5') == 1
    append(store, 3)
    assert cli(store, "verify", "--checkpoint", str(held)).exit_code == 0

    truncate_to(store, 3)  # below the checkpoint
    caught = cli(store, "verify", "--checkpoint", str(held))
    assert caught.exit_code == 1 and "truncated" in caught.output

    forged = json.loads(held.read_text())
    forged["document"] = forged["document"].replace('"seq":5', '"seq":2')
    held.write_text(json.dumps(forged))
    refused = cli(store, "verify", "--checkpoint", str(held))
    assert refused.exit_code == 2 and "signature" in refused.output


def test_the_api_serves_the_head_and_checks_an_anchor(harness):
    supervisor = harness.auth(harness.user("supervisor"))
    anyone = harness.auth(harness.user("operator"))
    assert harness.client.post("/api/v1/audit/checkpoints", headers=supervisor).status_code == 422  # empty
    append(harness.ctx, 2)
    made = harness.client.post("/api/v1/audit/checkpoints", headers=supervisor)
    assert made.status_code == 201, made.text
    served = harness.client.get("/api/v1/audit/head", headers=anyone).json()
    assert served["anchor"] == f"{served['seq']}:{served['hash']}" and served["seq"] >= 1
    assert served["checkpoint"]["signature"] == made.json()["signature"]
    assert harness.client.get("/api/v1/audit/head").status_code == 401
    check = harness.client.get(
        "/api/v1/audit/verify", params={"expect_head": served["anchor"]}, headers=supervisor
    ).json()
    assert check["ok"] and check["head_seq"] >= served["seq"]
    wrong = f"{served['seq']}:{'0' * 64}"
    check = harness.client.get("/api/v1/audit/verify", params={"expect_head": wrong}, headers=supervisor)
    assert check.json()["ok"] is False and "anchor" in check.json()["reason"]


def test_signing_the_same_head_twice_keeps_one_checkpoint(store, monkeypatch):
    from audit import checkpoint as checkpoints
    from registry.certificates import key_id, load_signing_key

    key = load_signing_key(store.settings)
    with store.uow() as session:
        first = checkpoints.make(session, key, key_id(key), T0)
    real_latest, calls = checkpoints.latest, []

    def stale_then_real(session):  # the second signer looked before the first one committed
        calls.append(1)
        return None if len(calls) == 1 else real_latest(session)

    monkeypatch.setattr(checkpoints, "latest", stale_then_real)
    with store.uow() as session:
        second = checkpoints.make(session, key, key_id(key), T0)
    assert len(calls) == 2  # the insert collided and the stored checkpoint was returned
    assert second.seq == first.seq == 5 and second.signature == first.signature
