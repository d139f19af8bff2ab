"""A34: an operator brings its own social data into the domain and joins it with public data in the
sandbox; outputs still pass the gate. Source departments alone publish public data (issue 2).

The fusing operator holds a k-only grant on population that covers no personal attribute (the join key and
the district): its grades allow k-only there (A2, A35). The demo operator's DP-required grant is separate."""

import shutil

import pytest

from gateway.demo import seed
from gateway.demo_registry import register_demo_datasets
from gateway.workers import WorkerPool

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

SOCIAL = {
    "name": "yushu_customers",
    "title": "渝数客户（社会数据）",
    "update_frequency": "monthly",
    "sector": "零售",
    "open_attribute": "not_open",
}
CSV = (
    "person_id,segment,spend\n"
    + "".join(f"{i},{'gold' if i % 3 == 0 else 'silver'},{100 + i % 50}\n" for i in range(1, 1501))
).encode()


def test_a34_operator_fuses_its_own_data_with_public_data(harness):
    tokens = {role: harness.auth(token) for role, token in seed(harness.ctx, scale=2000).items()}
    tokens["operator"] = harness.auth(harness.user("operator", username="fuser", org="渝融数据有限公司"))
    client = harness.client
    assert client.post("/api/v1/catalog/datasets", json=SOCIAL, headers=tokens["operator"]).status_code == 403
    created = client.post("/api/v1/catalog/social-datasets", json=SOCIAL, headers=tokens["operator"])
    assert created.status_code == 201 and created.json()["origin"] == "social"
    base = "/api/v1/catalog/datasets/yushu_customers/tables"
    assert client.post(base, json={"name": "customers"}, headers=tokens["source"]).status_code == 403
    assert client.post(base, json={"name": "customers"}, headers=tokens["operator"]).status_code == 201
    upload = client.put(
        f"{base}/customers/data",
        headers=tokens["operator"],
        files={"file": ("customers.csv", CSV, "text/csv")},
    )
    assert upload.status_code == 201, upload.text
    assert (
        client.put(
            f"{base}/customers/columns",
            json=[{"name": "spend", "lower": 0, "upper": 1000}],
            headers=tokens["operator"],
        ).status_code
        == 200
    )
    register_demo_datasets(
        harness.ctx, registrar_user="registrar", source_user="fuser", dataset_names=["yushu_customers"]
    )
    operator_org = client.get("/api/v1/me", headers=tokens["operator"]).json()["organization_id"]
    grant = client.post(
        "/api/v1/grants",
        headers=tokens["implementer"],
        json={
            "organization_id": operator_org,
            "dataset": "yushu_customers",
            "purpose": "客群画像（A34 融合）",
            "valid_from": "2024-01-01",
            "valid_to": "2026-12-31",
            "privacy_unit": "person_id",
            "columns": {"customers": {"person_id": "join", "segment": "group", "spend": "aggregate"}},
        },
    )
    assert grant.status_code == 201, grant.text
    public = client.post(
        "/api/v1/grants",
        headers=tokens["implementer"],
        json={
            "organization_id": operator_org,
            "dataset": "population",
            "purpose": "客群区县分布（A34 融合）",
            "valid_from": "2024-01-01",
            "valid_to": "2026-12-31",
            "privacy_unit": "person_id",
            "columns": {"persons": {"person_id": "join", "district": "group"}},
        },
    )
    assert public.status_code == 201, public.text

    sql = (
        "SELECT p.district, c.segment, count(*) AS n, avg(c.spend) AS avg_spend FROM persons p "
        "JOIN customers c ON p.person_id = c.person_id GROUP BY p.district, c.segment"
    )
    job_id = client.post("/api/v1/jobs", json={"sql": sql}, headers=tokens["operator"]).json()["id"]
    pool = WorkerPool(harness.ctx, 1)
    assert pool.run_once("w")
    job = client.get(f"/api/v1/jobs/{job_id}", headers=tokens["operator"]).json()
    assert job["state"] == "succeeded", job
    assert job["gate"]["rows_out"] > 0 and job["gate"]["decision"] in ("released", "partially_suppressed")
    rows = client.get(f"/api/v1/jobs/{job_id}/result", headers=tokens["operator"]).json()["rows"]
    assert {r["segment"] for r in rows} <= {"gold", "silver"} and all(r["n"] >= 10 for r in rows)
    catalog = {d["name"]: d["origin"] for d in client.get("/api/v1/catalog/datasets").json()}
    assert catalog["yushu_customers"] == "social" and catalog["population"] == "public"
