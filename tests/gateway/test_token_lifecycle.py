"""Token lifecycle (issue 16 item 5): list, revoke and expire tokens, deactivate users, over the API and the
CLI; the ID number for real-name verification is never taken from the command line. There was no CLI or
API for any of this before (and ``users verify --id-number`` put the number in shell history)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from gateway.cli import app

TOKENS = "/api/v1/tokens"
runner = CliRunner()


def works(harness, token: str) -> bool:
    status = harness.client.get(TOKENS, headers=harness.auth(token)).status_code
    assert status in (200, 401)
    return status == 200


def test_a_user_lists_rotates_and_revokes_their_tokens(harness):
    first = harness.user("operator", username="alice", org="op")
    listed = harness.client.get(TOKENS, headers=harness.auth(first)).json()
    assert [(t["prefix"], t["state"]) for t in listed] == [(first[:12], "active")]
    assert "token" not in listed[0] and "token_hash" not in listed[0]

    created = harness.client.post(
        TOKENS, json={"name": "rotated", "expires_at": "2025-03-01T00:00:00Z"}, headers=harness.auth(first)
    )
    assert created.status_code == 201, created.text
    second = created.json()["token"]
    revoked = harness.client.post(f"{TOKENS}/{listed[0]['id']}/revoke", headers=harness.auth(second))
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert not works(harness, first) and works(harness, second)


def test_expiry_ends_a_token_at_its_time(harness, clock):
    token = harness.user("operator", username="bob", org="op")
    token_id = harness.client.get(TOKENS, headers=harness.auth(token)).json()[0]["id"]
    set_expiry = harness.client.put(
        f"{TOKENS}/{token_id}/expiry",
        json={"expires_at": "2025-01-03T00:00:00Z"},
        headers=harness.auth(token),
    )
    assert set_expiry.status_code == 200 and set_expiry.json()["expires_at"].startswith("2025-01-03")
    longer = harness.client.put(
        f"{TOKENS}/{token_id}/expiry",
        json={"expires_at": "2026-01-01T00:00:00Z"},
        headers=harness.auth(token),
    )
    assert longer.status_code == 422  # brought forward only
    assert works(harness, token)
    clock.advance(days=1)
    assert not works(harness, token)


def test_other_peoples_tokens_are_not_found_and_admins_stay_in_their_organization(harness):
    alice = harness.user("operator", username="alice", org="op")
    mallory = harness.user("operator", username="mallory", org="other op")
    foreign_admin = harness.user("operator", username="root2", org="other op", roles=["admin"])
    admin = harness.user("operator", username="root", org="op", roles=["admin"])
    alice_id = harness.client.get(TOKENS, headers=harness.auth(alice)).json()[0]["id"]
    for intruder in (mallory, foreign_admin):
        assert (
            harness.client.post(f"{TOKENS}/{alice_id}/revoke", headers=harness.auth(intruder)).status_code
            == 404
        )
        response = harness.client.post("/api/v1/users/alice/deactivate", headers=harness.auth(intruder))
        assert response.status_code in (403, 404)
    assert works(harness, alice)

    deactivated = harness.client.post("/api/v1/users/alice/deactivate", headers=harness.auth(admin))
    assert deactivated.status_code == 200 and not works(harness, alice)  # at once
    assert harness.client.get(f"{TOKENS}?username=alice", headers=harness.auth(admin)).status_code == 200
    harness.client.post("/api/v1/users/alice/activate", headers=harness.auth(admin))
    assert works(harness, alice)
    events = harness.client.get(
        "/api/v1/audit/events?kind=user.deactivated", headers=harness.auth(harness.user("supervisor"))
    ).json()
    assert [e["subject_id"] for e in events] == ["alice"]


def cli(harness, *args: str, stdin: str | None = None):
    settings = harness.ctx.settings
    env = {"SHUYU_DATABASE_URL": settings.database_url}  # the harness's store (SQLite or PostgreSQL)
    return runner.invoke(app, [*args, "--data-dir", str(settings.data_dir)], input=stdin, env=env)


def test_cli_token_lifecycle_and_deactivation(harness, clock):
    clock.current = datetime.now(UTC)  # the CLI runs on the real clock over the same store (--data-dir)
    token = harness.user("operator", username="carol", org="op")
    made = cli(harness, "tokens", "create", "carol", "--name", "ci", "--expires", "2099-02-01")
    assert made.exit_code == 0, made.output
    ci_token = made.output.strip()
    rows = [json.loads(line) for line in cli(harness, "tokens", "list", "carol").output.splitlines()]
    assert [(r["name"], r["state"]) for r in rows] == [("test", "active"), ("ci", "active")]
    assert rows[1]["expires_at"].startswith("2099-02-01")

    assert cli(harness, "tokens", "revoke", rows[0]["id"]).exit_code == 0
    assert not works(harness, token) and works(harness, ci_token)
    assert cli(harness, "tokens", "expire", rows[1]["id"], "--at", "2020-01-01").exit_code == 0
    clock.current = datetime.now(UTC)  # a past date ends the token at the CLI's "now"
    assert not works(harness, ci_token)

    fresh = cli(harness, "tokens", "create", "carol").output.strip()
    assert works(harness, fresh)
    assert cli(harness, "users", "deactivate", "carol").exit_code == 0
    assert not works(harness, fresh)
    assert cli(harness, "tokens", "revoke", "nope").exit_code == 2


def test_users_verify_reads_the_id_number_from_stdin_not_argv(harness):
    harness.user("operator", username="dave", org="op", verified=False)
    refused = cli(
        harness, "users", "verify", "dave", "--real-name", "张三", "--id-number", "11010519491231002X"
    )
    assert refused.exit_code == 2  # no such option: the number never goes on a command line
    done = cli(harness, "users", "verify", "dave", "--real-name", "张三", stdin="11010519491231002X\n")
    assert done.exit_code == 0, done.output
    assert "11010519491231002X" not in done.output
    with harness.ctx.uow() as session:
        from gateway.identity import get_user

        assert get_user(session, "dave").verified
