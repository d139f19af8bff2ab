"""The analyst CLI against a live demo, as a user types it (``python -m gateway.cli`` is ``shuyu``)."""
# ruff: noqa: F811 - pytest fixtures imported from live_server are used as parameters

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys

from live_server import live_demo  # noqa: F401 - the module-scoped live demo fixture

DISTRICT_COUNTS = "SELECT district, count(*) AS persons FROM persons GROUP BY district"
ENTERPRISES = "SELECT industry, count(*) AS n FROM enterprises GROUP BY industry"


def shuyu(live_demo, *args: str, env: dict | None = None, stdin: str | None = None):
    environment = {
        **os.environ,
        "SHUYU_URL": live_demo.url,
        "SHUYU_TOKEN": live_demo.tokens["operator"],
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        input=stdin,
        timeout=180,
    )


def test_check_prints_the_verdict_and_exits_3_when_refused(live_demo):
    ok = shuyu(live_demo, "check", DISTRICT_COUNTS)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["verdict"] == "allowed"  # piped: machine format
    refused = shuyu(live_demo, "check", "SELECT id_card FROM persons")
    assert refused.returncode == 3
    assert json.loads(refused.stdout)["verdict"] == "denied"


def test_check_reads_sql_from_a_file_and_stdin(live_demo, tmp_path):
    query = tmp_path / "q.sql"
    query.write_text(DISTRICT_COUNTS, encoding="utf-8")
    assert shuyu(live_demo, "check", "-f", str(query)).returncode == 0
    assert shuyu(live_demo, "check", "-f", "-", stdin=DISTRICT_COUNTS).returncode == 0


def test_run_as_csv_then_jobs_result_gives_the_same_rows(live_demo, tmp_path):
    done = shuyu(live_demo, "run", ENTERPRISES, "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert rows and all(int(r["n"]) >= 10 for r in rows)
    listed = json.loads(shuyu(live_demo, "jobs", "list").stdout)
    job_id = listed[0]["id"]
    out = tmp_path / "result.parquet"
    again = shuyu(live_demo, "jobs", "result", job_id, "--format", "parquet", "-o", str(out))
    assert again.returncode == 0, again.stderr
    import pyarrow.parquet as pq

    assert pq.read_table(out).num_rows == len(rows)


def test_refused_run_exits_3_and_names_the_column_and_hint(live_demo):
    refused = shuyu(live_demo, "run", "SELECT id_card, income FROM persons")
    assert refused.returncode == 3
    assert "id_card" in refused.stderr and "hint:" in refused.stderr


def test_errors_exit_1_with_a_message(live_demo):
    bad = shuyu(live_demo, "grants", env={"SHUYU_TOKEN": "wrong"})
    assert bad.returncode == 1 and "unauthenticated" in bad.stderr
    missing = shuyu(live_demo, "jobs", "show", "no-such-job")
    assert missing.returncode == 1 and "not_found" in missing.stderr


def test_login_saves_a_private_profile_used_without_environment(live_demo, tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path), "SHUYU_URL": "", "SHUYU_TOKEN": ""}
    wrong = shuyu(live_demo, "login", "--url", live_demo.url, "--token", "wrong", env=env)
    assert wrong.returncode == 1 and not (tmp_path / "shuyu" / "profiles.json").exists()
    token = live_demo.tokens["operator"]
    login = shuyu(live_demo, "login", "--url", live_demo.url, "--token", token, env=env)
    assert login.returncode == 0, login.stderr
    profile = tmp_path / "shuyu" / "profiles.json"
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600
    grants = shuyu(live_demo, "grants", env=env)
    assert grants.returncode == 0 and json.loads(grants.stdout)
