"""The Python client against a live demo: check, run, download, typed refusals (issue: analysts' tools)."""
# ruff: noqa: F811 - pytest fixtures imported from live_server are used as parameters

from __future__ import annotations

import pytest
from live_server import live_demo  # noqa: F401 - the module-scoped live demo fixture

import shuyu
from shuyu.errors import AuthError, JobFailed, PolicyRefused

DISTRICT_COUNTS = "SELECT district, count(*) AS persons FROM persons GROUP BY district"
ENTERPRISES = "SELECT industry, count(*) AS n FROM enterprises GROUP BY industry"


@pytest.fixture
def client(live_demo):
    with shuyu.Client(live_demo.url, live_demo.tokens["operator"]) as c:
        yield c


def test_check_allows_and_shows_the_sql_that_would_run(client):
    verdict = client.check(ENTERPRISES)
    assert verdict.allowed and verdict.violations == []
    assert "COUNT(DISTINCT" in verdict.rewritten_sql  # the hidden unit count the k-only gate needs
    assert verdict.output_columns == ["industry", "n"] and verdict.epsilon is None
    dp = client.check(DISTRICT_COUNTS)  # the population grant runs under DP: the dry run prices it
    assert dp.allowed and dp.epsilon and dp.epsilon > 0


def test_a_denied_query_raises_a_typed_refusal_with_rule_column_clause_and_hint(client):
    verdict = client.check("SELECT id_card FROM persons")
    assert not verdict.allowed
    with pytest.raises(PolicyRefused) as refused:
        verdict.raise_for_denial()
    assert refused.value.column and "id_card" in refused.value.column
    assert refused.value.rule and refused.value.hint
    with pytest.raises(PolicyRefused) as again:  # the real submission is refused the same way: no job
        client.run("SELECT id_card FROM persons")
    assert again.value.status == 422 and "id_card" in (again.value.column or "")


def test_run_returns_rows_arrow_and_pandas(client):
    result = client.run(ENTERPRISES, wait=120)
    assert result.job["state"] == "succeeded"
    rows = result.rows
    assert rows and all(r["n"] >= 10 for r in rows)  # k-only: small groups never leave
    table = result.to_arrow()
    assert table.column_names == ["industry", "n"]
    frame = result.to_pandas()
    assert list(frame.columns) == ["industry", "n"] and int(frame["n"].sum()) == sum(r["n"] for r in rows)
    again = client.result(result.job["id"])  # a later download of the same job gives the same table
    assert again.to_arrow().equals(table)


def test_a_dp_run_returns_every_district_with_its_epsilon(client):
    result = client.run(DISTRICT_COUNTS, wait=120)
    assert result.job["dp"]["epsilon"] > 0 and len(result.rows) == 38
    assert all(float(r["persons"]).is_integer() for r in result.rows)  # geometric noise: whole counts


def test_jobs_grants_and_budget(client):
    job = client.run(ENTERPRISES, wait=120).job
    assert job["id"] in {j["id"] for j in client.jobs()}
    grants = client.grants()
    assert grants and all("dataset" in g for g in grants)
    for budget in client.budget():
        assert budget["remaining"] <= budget["budget"]


def test_a_wrong_token_is_an_auth_error(live_demo):
    with shuyu.Client(live_demo.url, "not-a-token") as c, pytest.raises(AuthError) as error:
        c.grants()
    assert error.value.status == 401


def test_the_result_of_an_unknown_job_is_not_found_and_a_held_job_is_not_released(client):
    with pytest.raises(shuyu.ShuyuError) as missing:
        client.result("no-such-job")
    assert missing.value.status == 404
    held = "SELECT industry, '11010519491231002X' AS note, count(*) AS n FROM enterprises GROUP BY industry"
    with pytest.raises(JobFailed) as failed:
        client.run(held, wait=120)
    assert failed.value.code == "held_for_review" and failed.value.exit_code == 4
