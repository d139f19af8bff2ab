"""DP end to end through the API: grants with DP settings, jobs run in the real bubblewrap sandbox, noisy
results with intervals, the ledger (reserve at submission, commit on release, refund on failure/cancel), the
budget endpoint, the dry-run cost and the differencing pair under a `required` grant.

Setup uses the demo's organizations, synthetic data and registration (``gateway.demo``), and gives the
operator its DP grant through the grants API (not the demo's agreement), so the DP terms are the test's own.
"""

import shutil
import statistics

import pytest

from gateway import demo
from gateway.workers import WorkerPool

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

OPERATOR_ORG = "渝数科技有限公司"
COUNT_BY_DISTRICT = "SELECT district, count(*) AS n, avg(income) AS avg_income FROM persons GROUP BY district"


def dp_grant(
    harness,
    tokens,
    *,
    mode="required",
    budget=1.0,
    default=0.5,
    refresh="none",
    org_cap=0.0,
    max_contributions=1,
    key_domains=None,
):
    body = {
        "organization_id": OPERATOR_ORG,
        "dataset": "population",
        "purpose": "DP test",
        "valid_from": "2024-06-01",
        "valid_to": "2026-06-01",
        "privacy_unit": "person_id",
        "k": 10,
        "columns": {
            "persons": {
                "person_id": "join",
                "district": "group",
                "gender": "group",
                "age": "group",
                "income": "aggregate",
                "name": "compare",
            }
        },
        "dp": {
            "mode": mode,
            "epsilon_budget": budget,
            "default_epsilon": default,
            "refresh": refresh,
            "max_contributions": max_contributions,
            "org_cap": org_cap,
            "key_domains": key_domains or {},
        },
    }
    if mode != "required":  # income's grade requires DP: k-only needs a recorded exception (A2, A35)
        body["k_only_exceptions"] = {"persons.income": "DP test: the optional mode is exercised on purpose"}
    response = harness.client.post("/api/v1/grants", json=body, headers=tokens["implementer"])
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def setup(harness):
    ctx = harness.ctx
    demo._organizations_and_users(ctx)
    demo._publish_datasets(ctx, 2000)
    demo._register_datasets(ctx)
    tokens = {role: harness.auth(token) for role, token in demo._tokens(ctx).items()}
    return harness, tokens, WorkerPool(ctx, 1)


def submit(harness, headers, sql, dp=None):
    body = {"sql": sql} if dp is None else {"sql": sql, "dp": dp}
    return harness.client.post("/api/v1/jobs", json=body, headers=headers)


def run_all(pool):
    while pool.run_once("dp-test"):
        pass


def budget(harness, tokens, grant_id):
    response = harness.client.get(f"/api/v1/grants/{grant_id}/budget", headers=tokens["operator"])
    assert response.status_code == 200, response.text
    return response.json()


def test_required_grant_releases_all_38_districts_with_noise_intervals_and_spends_budget(setup):
    harness, tokens, pool = setup
    grant = dp_grant(harness, tokens, budget=1.0, default=0.5)
    response = submit(harness, tokens["operator"], COUNT_BY_DISTRICT)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["dp"]["epsilon"] == 0.5 and [a["epsilon"] for a in job["dp"]["split"]] == [
        0.5 / 3,
        0.5 / 3 * 2,
    ]
    assert "__shuyu_rn <= 1" in job["checked_sql"] and "LEAST(GREATEST(" in job["checked_sql"]
    assert budget(harness, tokens, grant["id"])["reserved"] == 0.5
    run_all(pool)
    job = harness.client.get(f"/api/v1/jobs/{job['id']}", headers=tokens["operator"]).json()
    assert job["state"] == "succeeded", job
    assert "rows_suppressed" not in job["gate"] and job["gate"]["dp"]["epsilon"] == 0.5
    result = harness.client.get(f"/api/v1/jobs/{job['id']}/result", headers=tokens["operator"]).json()
    assert result["columns"] == [
        "district",
        "n",
        "n_ci_low",
        "n_ci_high",
        "avg_income",
        "avg_income_ci_low",
        "avg_income_ci_high",
    ]
    assert len(result["rows"]) == 38  # every district of the public domain, none withheld
    for row in result["rows"]:
        assert row["n_ci_low"] < row["n"] < row["n_ci_high"]
        # the demo clamps income to [0, 500000]
        assert 0 <= row["avg_income_ci_low"] <= row["avg_income_ci_high"] <= 500_000
    assert abs(sum(r["n"] for r in result["rows"]) - 2000) < 38 * 40  # noise scale 6 per district
    state = budget(harness, tokens, grant["id"])
    assert (state["spent"], state["reserved"], state["remaining"]) == (0.5, 0.0, 0.5)
    assert state["queries_left_at_default"] == 1
    events = harness.client.get("/api/v1/audit/events?kind=dp.budget.*", headers=tokens["supervisor"]).json()
    assert sorted(e["kind"] for e in events) == ["dp.budget.committed", "dp.budget.reserved"]
    assert all(e["details"]["job_id"] == job["id"] and e["details"]["epsilon"] == 0.5 for e in events)


def test_budget_exceeded_is_409_saying_how_much_is_left_and_no_job_is_created(setup):
    harness, tokens, _ = setup
    grant = dp_grant(harness, tokens, budget=1.0, default=0.5)
    assert submit(harness, tokens["operator"], COUNT_BY_DISTRICT, {"epsilon": 0.7}).status_code == 202
    refused = submit(harness, tokens["operator"], COUNT_BY_DISTRICT, {"epsilon": 0.5})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded" and "0.3 of 1 left" in error["message"]
    assert error["remaining"] == pytest.approx(0.3)
    assert len(harness.client.get("/api/v1/jobs", headers=tokens["operator"]).json()) == 1
    assert budget(harness, tokens, grant["id"])["reserved"] == 0.7


def test_cancelled_and_failed_jobs_are_refunded(setup):
    harness, tokens, pool = setup
    grant = dp_grant(harness, tokens, budget=1.0, default=0.5)
    job = submit(harness, tokens["operator"], COUNT_BY_DISTRICT).json()
    assert budget(harness, tokens, grant["id"])["remaining"] == 0.5
    cancelled = harness.client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=tokens["operator"])
    assert cancelled.json()["state"] == "cancelled"
    assert budget(harness, tokens, grant["id"])["remaining"] == 1.0
    # A job that fails before anything is released: the grant is suspended while it is queued.
    job = submit(harness, tokens["operator"], COUNT_BY_DISTRICT).json()
    harness.client.post(
        f"/api/v1/grants/{grant['id']}/suspend", json={"reason": "audit"}, headers=tokens["implementer"]
    )
    run_all(pool)
    failed = harness.client.get(f"/api/v1/jobs/{job['id']}", headers=tokens["operator"]).json()
    assert failed["state"] == "failed" and failed["error_kind"] == "not_runnable"
    state = budget(harness, tokens, grant["id"])
    assert (state["spent"], state["reserved"], state["remaining"]) == (0.0, 0.0, 1.0)


def test_dry_run_reports_the_epsilon_and_split_without_reserving(setup):
    harness, tokens, _ = setup
    grant = dp_grant(harness, tokens, mode="optional", budget=2.0)
    sql = "SELECT gender, count(*) AS n, sum(income) AS s FROM persons GROUP BY gender"
    verdict = harness.client.post(
        "/api/v1/queries/check", json={"sql": sql, "dp": {"epsilon": 0.8}}, headers=tokens["operator"]
    ).json()
    assert verdict["verdict"] == "allowed", verdict
    assert verdict["dp"]["epsilon"] == 0.8 and [a["epsilon"] for a in verdict["dp"]["split"]] == [0.4, 0.4]
    assert verdict["dp"]["split"][1]["sensitivity"] == [500_000.0]  # the demo income bound
    assert verdict["dp"]["budget"]["remaining"] == 2.0 and verdict["dp"]["fits"] is True
    plain = harness.client.post("/api/v1/queries/check", json={"sql": sql}, headers=tokens["operator"]).json()
    assert plain["verdict"] == "allowed" and plain["dp"] is None  # optional: the analyst did not opt in
    assert budget(harness, tokens, grant["id"])["reserved"] == 0.0


def test_required_grant_refuses_what_dp_cannot_answer(setup):
    harness, tokens, _ = setup
    dp_grant(harness, tokens, mode="required", budget=2.0)

    def refusal(sql):
        response = submit(harness, tokens["operator"], sql)
        assert response.status_code == 422, response.text
        return response.json()["error"]

    assert refusal("SELECT age, count(*) FROM persons GROUP BY age")["rule"] == "dp_no_key_domain"
    assert (
        refusal("SELECT district, count(*) FROM persons GROUP BY district HAVING count(*) > 5")["rule"]
        == "dp_clause"
    )
    assert (
        refusal("SELECT district, stddev(income) FROM persons GROUP BY district")["rule"]
        == "dp_unsupported_aggregate"
    )


def test_differencing_pair_reveals_noise_not_the_person(setup, monkeypatch):
    """count(district) vs count(district minus one person): under `required` the difference is two-sided
    geometric noise per answer, not 1.

    The noise comes from a seeded generator here (production draws from ``secrets``), so the outcome is the
    same on every run; unseeded, the asserts below would fail a correct gate with probability ≈ 1e-4."""
    import numpy as np

    from sandbox import dp_noise

    seeded = np.random.RandomState(20_261_219)
    real_geometric = dp_noise.geometric
    draws: list[float] = []

    def seeded_geometric(sensitivity, epsilon, random_state=None):
        draws.append(epsilon)
        return real_geometric(sensitivity, epsilon, seeded)

    monkeypatch.setattr(dp_noise, "geometric", seeded_geometric)
    harness, tokens, pool = setup
    dp_grant(harness, tokens, mode="required", budget=100.0, default=1.0)
    with harness.ctx.uow() as session:
        from catalog import service as catalog_service

        path = catalog_service.raw_sources(session, harness.ctx.settings.domain_store_dir, "population")
    import pyarrow.parquet as pq

    persons = pq.read_table(path["persons"][1]).to_pylist()
    target = next(p for p in persons if p["district"] == "渝中区")
    whole = "SELECT count(*) AS n FROM persons WHERE district = '渝中区'"
    minus = f"SELECT count(*) AS n FROM persons WHERE district = '渝中区' AND name <> '{target['name']}'"
    same_name = sum(1 for p in persons if p["district"] == "渝中区" and p["name"] == target["name"])
    pairs = []
    for _ in range(20):
        ids = [
            submit(harness, tokens["operator"], sql, {"epsilon": 1.0}).json()["id"] for sql in (whole, minus)
        ]
        run_all(pool)
        values = [
            harness.client.get(f"/api/v1/jobs/{i}/result", headers=tokens["operator"]).json()["rows"][0]["n"]
            for i in ids
        ]
        pairs.append(values[0] - values[1])
    # Exact answers differ by `same_name` (1 for a unique name); the released difference is that plus the
    # difference of two geometric noise draws (sd about 2): spread out, not concentrated at 1.
    assert same_name >= 1 and len(draws) == 40  # every release drew from the seeded generator
    assert statistics.pstdev(pairs) > 0.8
    # Counts get two-sided geometric noise (integers): the released difference equals the exact one when the
    # two noises are equal, probability sum_k P(Z = k)^2 ≈ 0.28 at epsilon 1; 14 or more of 20 has
    # probability ≈ 1e-4, while an attack that worked would put all 20 there.
    assert sum(1 for d in pairs if d == same_name) <= 13
