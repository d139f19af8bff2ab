"""The disclosure auditor and the release side of issue 10 on the real path: checker → sandbox → gate →
auditor → release. The demo's population grant runs under DP, so the attacker here is a second operator
holding a k-only grant on persons by a written exception (k = 10, DP off): what remains without DP.

Each attack is a pair of permitted queries whose populations differ by one person: the second is held for
a supervisor, its data is not downloadable, the review queue shows it, and the audit log has the hit.
"""

import json
import shutil

import duckdb
import pytest
from k_only_grant import k_only_operator

from audit.store import AuditEventRow
from catalog import service as catalog_service
from gateway.demo import seed
from gateway.demo_registry import register_demo_datasets
from gateway.workers import WorkerPool
from sandbox.store import DisclosurePopulationRow

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


@pytest.fixture
def demo(harness):
    tokens = {role: harness.auth(token) for role, token in seed(harness.ctx, scale=3000).items()}
    tokens["operator"] = k_only_operator(harness, tokens)
    return harness, tokens, WorkerPool(harness.ctx, 1)


def run(harness, headers, pool, sql) -> dict:
    response = harness.client.post("/api/v1/jobs", json={"sql": sql}, headers=headers)
    assert response.status_code == 202, response.text
    while pool.run_once("test-worker"):
        pass
    return harness.client.get(f"/api/v1/jobs/{response.json()['id']}", headers=headers).json()


def singled_out(harness) -> list[tuple[str, int]]:
    """What an attacker is assumed to know of a target: district and age, a combination only they have."""
    with harness.ctx.uow() as session:
        sources = catalog_service.raw_sources(session, harness.ctx.settings.domain_store_dir, "population")
    path = sources["persons"][1]
    return duckdb.sql(
        f"SELECT district, age FROM read_parquet('{path}') GROUP BY district, age HAVING count(*) = 1 "
        "ORDER BY district, age"
    ).fetchall()


def hits(harness, job_id: str) -> list[dict]:
    with harness.ctx.uow() as session:
        rows = session.query(AuditEventRow).filter_by(kind="disclosure.auditor.hit", subject_id=job_id).all()
        return [json.loads(r.details) if isinstance(r.details, str) else r.details for r in rows]


def assert_held(harness, tokens, job: dict, first_id: str) -> None:
    assert job["state"] == "held_for_review", job
    assert any("disclosure auditor" in r for r in job["gate"]["reasons"])
    assert not any(ch.isdigit() for r in job["gate"]["reasons"] if "auditor" in r for ch in r)
    result = harness.client.get(f"/api/v1/jobs/{job['id']}/result", headers=tokens["operator"])
    assert result.status_code == 409  # nothing left the domain
    queue = harness.client.get("/api/v1/reviews", headers=tokens["supervisor"]).json()
    assert job["id"] in [j["id"] for j in queue]
    found = hits(harness, job["id"])
    assert found and {h["other_job_id"] for h in found} == {first_id}
    assert all(h["difference"] == 1 and h["checked_sql"] for h in found)


def test_differencing_with_not_equal_is_held(demo):
    harness, tokens, pool = demo
    district, age = singled_out(harness)[0]
    base = f"SELECT sum(income) AS s FROM persons WHERE district = '{district}'"
    first = run(harness, tokens["operator"], pool, base)
    assert first["state"] == "succeeded", first
    second = run(harness, tokens["operator"], pool, base + f" AND age <> {age}")
    assert_held(harness, tokens, second, first["id"])


def test_differencing_with_not_in_and_a_tracker_are_held_but_honest_queries_pass(demo):
    harness, tokens, pool = demo
    (district, age), (other_district, other_age) = next(
        (a, b) for a, b in zip(singled_out(harness), singled_out(harness)[1:]) if a[0] != b[0]
    )
    base = f"SELECT count(*) AS n, sum(income) AS s FROM persons WHERE district = '{district}'"
    first = run(harness, tokens["operator"], pool, base)
    assert first["state"] == "succeeded"
    again = run(harness, tokens["operator"], pool, base)  # the same population again reveals nothing new
    assert again["state"] == "succeeded" and not hits(harness, again["id"])
    by_district = "SELECT district, sum(income) AS s FROM persons GROUP BY district"
    other = run(harness, tokens["operator"], pool, by_district)
    assert other["state"] == "succeeded" and not hits(harness, other["id"])  # disjoint or equal populations
    not_in = run(harness, tokens["operator"], pool, base + f" AND age NOT IN ({age})")
    assert_held(harness, tokens, not_in, first["id"])
    tracker = run(
        harness,
        tokens["operator"],
        pool,
        base + f" OR (district = '{other_district}' AND age = {other_age})",
    )
    assert tracker["state"] == "held_for_review"
    assert first["id"] in {h["other_job_id"] for h in hits(harness, tracker["id"])}


def test_two_values_of_one_result_that_differ_by_one_person_are_held(demo):
    harness, tokens, pool = demo
    district, age = singled_out(harness)[0]
    sql = (
        f"SELECT 'all' AS part, sum(income) AS s FROM persons WHERE district = '{district}' UNION ALL "
        f"SELECT 'rest' AS part, sum(income) AS s FROM persons WHERE district = '{district}' AND age <> {age}"
    )
    job = run(harness, tokens["operator"], pool, sql)
    assert job["state"] == "held_for_review", job
    assert {h["other_job_id"] for h in hits(harness, job["id"])} == {job["id"]}


def test_populations_are_stored_compactly_and_never_leave(demo):
    harness, tokens, pool = demo
    job = run(
        harness, tokens["operator"], pool, "SELECT district, count(*) AS n FROM persons GROUP BY district"
    )
    assert job["state"] == "succeeded"
    result = harness.client.get(f"/api/v1/jobs/{job['id']}/result", headers=tokens["operator"]).json()
    assert result["columns"] == ["district", "n"]
    with harness.ctx.uow() as session:
        stored = session.query(DisclosurePopulationRow).filter_by(job_id=job["id"]).all()
        assert len(stored) == 38 and sum(r.cardinality for r in stored) == 3000
        assert max(len(r.bitmap) for r in stored) < 2 * max(r.cardinality for r in stored) + 64


def test_a_chinese_name_literal_is_held_like_an_id_number_and_integer_sums_stay_numbers(demo):
    harness, tokens, pool = demo
    named = run(
        harness,
        tokens["operator"],
        pool,
        "SELECT district, '张伟' AS note, count(*) AS n FROM persons GROUP BY district",
    )
    assert named["state"] == "held_for_review" and named["gate"]["pii_entities"] == {"CN_PERSON_NAME": 38}
    summed = run(
        harness, tokens["operator"], pool, "SELECT district, sum(age) AS s FROM persons GROUP BY district"
    )
    assert summed["state"] == "succeeded", summed
    rows = harness.client.get(f"/api/v1/jobs/{summed['id']}/result", headers=tokens["operator"]).json()[
        "rows"
    ]
    assert all(isinstance(row["s"], int) for row in rows)


def test_the_gate_report_does_not_count_withheld_rows(demo):
    harness, tokens, pool = demo
    job = run(
        harness,
        tokens["operator"],
        pool,
        "SELECT street, gender, count(*) AS n FROM persons GROUP BY street, gender",
    )
    assert job["state"] == "succeeded" and job["gate"]["decision"] == "released"
    assert "rows_suppressed" not in job["gate"]
    assert any("whether any were is not reported" in r for r in job["gate"]["reasons"])
    with harness.ctx.uow() as session:
        event = session.query(AuditEventRow).filter_by(kind="gate.decision", subject_id=job["id"]).one()
        details = json.loads(event.details) if isinstance(event.details, str) else event.details
        assert details["rows_suppressed"] > 0 and details["checked_sql"].startswith("SELECT")


LABELS = {
    "name": "crm_labels",
    "title": "客户标签（社会数据）",
    "update_frequency": "monthly",
    "sector": "零售",
    "open_attribute": "not_open",
}


def test_two_labels_of_an_uploaded_table_that_differ_by_one_person_are_held(demo):
    """The uploaded-label family: the operator labels people itself, so two labels can differ by one."""
    harness, tokens, pool = demo
    client = harness.client
    assert (
        client.post("/api/v1/catalog/social-datasets", json=LABELS, headers=tokens["operator"]).status_code
        == 201
    )
    base = "/api/v1/catalog/datasets/crm_labels/tables"
    assert client.post(base, json={"name": "labels"}, headers=tokens["operator"]).status_code == 201
    csv = "person_id,l1,l2\n" + "".join(
        f"{i},{'a' if i <= 40 else 'b'},{'a' if 2 <= i <= 40 else 'b'}\n" for i in range(1, 201)
    )
    upload = client.put(
        f"{base}/labels/data", headers=tokens["operator"], files={"file": ("l.csv", csv.encode(), "text/csv")}
    )
    assert upload.status_code == 201, upload.text
    confirmed = client.put(f"{base}/labels/columns", json=[{"name": "l1"}], headers=tokens["operator"])
    assert confirmed.status_code == 200, confirmed.text
    register_demo_datasets(
        harness.ctx, registrar_user="registrar", source_user="op2", dataset_names=["crm_labels"]
    )
    org = client.get("/api/v1/me", headers=tokens["operator"]).json()["organization_id"]
    grant = client.post(
        "/api/v1/grants",
        headers=tokens["implementer"],
        json={
            "organization_id": org,
            "dataset": "crm_labels",
            "purpose": "客群画像",
            "valid_from": "2024-01-01",
            "valid_to": "2026-12-31",
            "privacy_unit": "person_id",
            "columns": {"labels": {"person_id": "join", "l1": "group", "l2": "group"}},
        },
    )
    assert grant.status_code == 201, grant.text
    query = (
        "SELECT c.{0} AS label, sum(p.income) AS s FROM persons p JOIN labels c ON p.person_id = c.person_id "
        "GROUP BY c.{0}"
    )
    checked = client.post(
        "/api/v1/queries/check", json={"sql": query.format("l1")}, headers=tokens["operator"]
    )
    if checked.json()["verdict"] == "denied":  # the checker refuses grouping by per-person labels: also safe
        assert checked.json()["violation"]["code"] == "policy_violation"
        return
    first = run(harness, tokens["operator"], pool, query.format("l1"))
    assert first["state"] == "succeeded", first
    second = run(harness, tokens["operator"], pool, query.format("l2"))
    assert_held(harness, tokens, second, first["id"])
