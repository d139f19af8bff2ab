"""Catalog over HTTP: who may do what, uploads and every bad-upload case (with nothing left behind),
suggestions on planted PII, and the public catalog showing metadata only (R7, A26)."""

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from catalog.store import ColumnRow, VersionRow

VALID_ID = "11010519491231002X"
INVALID_ID = "110105194912310021"
DATASET = {
    "name": "residents",
    "title": "居民",
    "update_frequency": "monthly",
    "sector": "民政",
    "open_attribute": "conditional",
}
CSV = (
    "person_id,id_card,phone,district,income\n"
    + "".join(f"{i},{VALID_ID},1381234{i:04d},渝中区,{1000 + i}\n" for i in range(40))
).encode()


@pytest.fixture
def source(harness):
    token = harness.user("data_source", username="src", org="重庆市民政局")
    return harness.auth(token)


def create(harness, headers, name="residents", table="people"):
    assert (
        harness.client.post(
            "/api/v1/catalog/datasets", json={**DATASET, "name": name}, headers=headers
        ).status_code
        == 201
    )
    assert (
        harness.client.post(
            f"/api/v1/catalog/datasets/{name}/tables", json={"name": table}, headers=headers
        ).status_code
        == 201
    )


def upload(harness, headers, content: bytes, filename="people.csv", table="people", ctype="text/csv"):
    return harness.client.put(
        f"/api/v1/catalog/datasets/residents/tables/{table}/data",
        headers=headers,
        files={"file": (filename, content, ctype)},
    )


def leftovers(harness) -> dict:
    settings = harness.ctx.settings
    with harness.ctx.uow() as session:
        versions = session.scalar(select(func.count()).select_from(VersionRow))
    return {
        "staging": sorted(p.name for p in settings.staging_dir.rglob("*") if p.is_file()),
        "domain": sorted(str(p) for p in settings.domain_store_dir.rglob("*.parquet")),
        "versions": versions,
    }


def test_roles_on_catalog_endpoints(harness, source):
    operator = harness.auth(harness.user("operator"))
    supervisor = harness.auth(harness.user("supervisor"))
    body = {**DATASET, "name": "x1"}
    assert harness.client.post("/api/v1/catalog/datasets", json=body).status_code == 401
    assert harness.client.post("/api/v1/catalog/datasets", json=body, headers=operator).status_code == 403
    assert harness.client.post("/api/v1/catalog/datasets", json=body, headers=supervisor).status_code == 403
    assert harness.client.post("/api/v1/catalog/datasets", json=body, headers=source).status_code == 201
    assert harness.client.get("/api/v1/catalog/datasets").status_code == 200
    assert harness.client.get("/api/v1/catalog/datasets/x1").status_code == 200
    other_source = harness.auth(harness.user("data_source"))
    for headers, expected in ((None, 401), (operator, 403), (other_source, 403), (source, 201)):
        r = harness.client.post("/api/v1/catalog/datasets/x1/tables", json={"name": "t"}, headers=headers)
        assert r.status_code == expected
    for headers, expected in ((None, 401), (operator, 403), (other_source, 403)):
        r = harness.client.put(
            "/api/v1/catalog/datasets/x1/tables/t/data",
            headers=headers,
            files={"file": ("a.csv", CSV, "text/csv")},
        )
        assert r.status_code == expected
    assert (
        harness.client.put(
            "/api/v1/catalog/datasets/x1/tables/t/data",
            headers=source,
            files={"file": ("a.csv", CSV, "text/csv")},
        ).status_code
        == 201
    )
    owner_only = (
        ("GET", "/api/v1/catalog/datasets/x1/tables/t/suggestions", None),
        ("PUT", "/api/v1/catalog/datasets/x1/tables/t/columns", []),
        ("PATCH", "/api/v1/catalog/datasets/x1", {"title": "新标题"}),
    )
    for method, path, body in owner_only:
        for headers, expected in (
            (None, 401),
            (supervisor, 403),
            (operator, 403),
            (other_source, 403),
            (source, 200),
        ):
            r = harness.client.request(method, path, json=body, headers=headers)
            assert r.status_code == expected, (method, path, r.text)
    assert (
        harness.client.get("/api/v1/catalog/datasets/x1/tables/t/versions", headers=operator).status_code
        == 403
    )
    assert (
        harness.client.get("/api/v1/catalog/datasets/x1/tables/t/versions", headers=supervisor).status_code
        == 200
    )


def test_upload_suggests_then_department_confirms(harness, source):
    create(harness, source)
    response = upload(harness, source, CSV)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"]["version"] == 1 and body["version"]["rows"] == 40
    suggestions = {s["name"]: s for s in body["suggestions"]}
    assert suggestions["id_card"]["suggested_pii_tags"] == ["CN_RESIDENT_ID"]
    assert suggestions["id_card"]["suggested_level"] == "important"
    assert suggestions["phone"]["suggested_pii_tags"] == ["CN_MOBILE"]
    assert suggestions["district"]["suggested_pii_tags"] == []
    assert VALID_ID not in response.text  # suggestions never carry values
    confirm = harness.client.put(
        "/api/v1/catalog/datasets/residents/tables/people/columns",
        headers=source,
        json=[{"name": "income", "lower": 0, "upper": 100000, "description": "收入"}],
    )
    assert confirm.status_code == 200, confirm.text
    columns = {c["name"]: c for c in confirm.json()["columns"]}
    assert columns["income"]["upper"] == 100000 and columns["id_card"]["level"] == "important"
    assert confirm.json()["schema_confirmed"] is True
    # A second upload with the same schema is version 2; the raw data never shows in the public catalog.
    assert upload(harness, source, CSV).json()["version"]["version"] == 2
    public = harness.client.get("/api/v1/catalog/datasets/residents").text
    assert VALID_ID not in public and "1381234" not in public and "1039" not in public


def test_invalid_checksum_is_not_suggested_as_resident_id(harness, source):
    create(harness, source)
    content = ("id_card\n" + f"{INVALID_ID}\n" * 30).encode()
    suggestions = upload(harness, source, content).json()["suggestions"]
    assert suggestions[0]["suggested_pii_tags"] == []


BAD_UPLOADS = [
    ("png renamed csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "a.csv", 415),
    ("zip", b"PK\x03\x04" + b"\x00" * 100, "a.csv", 415),
    ("utf-16", "a,b\n1,2\n".encode("utf-16"), "a.csv", 415),
    ("not utf-8 nor gbk", b"a,b\n\xff\xfe\xfa,1\n", "a.csv", 415),
    ("ragged rows", b"a,b\n1,2\n3\n", "a.csv", 422),
    ("empty", b"", "a.csv", 422),
    ("header only", b"a,b\n", "a.csv", 422),
    ("duplicate columns", b"a,a\n1,2\n", "a.csv", 422),
    ("unknown extension", b"a,b\n1,2\n", "a.txt", 415),
]


@pytest.mark.parametrize("case,content,filename,status", BAD_UPLOADS, ids=[c[0] for c in BAD_UPLOADS])
def test_bad_uploads_are_refused_and_leave_nothing(harness, source, case, content, filename, status):
    create(harness, source)
    before = leftovers(harness)
    response = upload(harness, source, content, filename=filename)
    assert response.status_code == status, (case, response.text)
    assert response.json()["detail"]
    assert leftovers(harness) == before


def test_oversized_upload_is_413_and_leaves_nothing(harness, source):
    harness.ctx.settings.catalog.max_upload_bytes = 1000
    create(harness, source)
    response = upload(harness, source, CSV)
    assert response.status_code == 413
    assert leftovers(harness) == {"staging": [], "domain": [], "versions": 0}


def test_schema_mismatch_with_confirmed_version_is_refused(harness, source):
    create(harness, source)
    assert upload(harness, source, CSV).status_code == 201
    harness.client.put("/api/v1/catalog/datasets/residents/tables/people/columns", headers=source, json=[])
    before = leftovers(harness)
    response = upload(harness, source, b"person_id,district\n1,x\n")
    assert response.status_code == 422 and "removed" in response.json()["detail"]
    assert leftovers(harness) == before


def test_gbk_csv_and_parquet_uploads(harness, source):
    create(harness, source)
    assert upload(harness, source, "区县,人数\n渝中区,3\n".encode("gbk")).status_code == 422  # Chinese header
    gbk = "district,n\n渝中区,3\n江北区,4\n".encode("gbk")
    assert upload(harness, source, gbk).status_code == 201
    with harness.ctx.uow() as session:
        names = session.scalars(select(ColumnRow.name)).all()
    assert sorted(names) == ["district", "n"]
    create(harness, source, name="other", table="t")
    sink = io.BytesIO()
    pq.write_table(pa.table({"district": ["渝中区"], "n": [3]}), sink)
    r = harness.client.put(
        "/api/v1/catalog/datasets/other/tables/t/data",
        headers=source,
        files={"file": ("t.parquet", sink.getvalue(), "application/octet-stream")},
    )
    assert r.status_code == 201, r.text


def test_invalid_dataset_fields_name_the_field(harness, source):
    r = harness.client.post("/api/v1/catalog/datasets", json={**DATASET, "name": "Bad Name"}, headers=source)
    assert r.status_code == 422 and r.json()["field"] == "name"
    r = harness.client.post(
        "/api/v1/catalog/datasets", json={**DATASET, "open_attribute": "x"}, headers=source
    )
    assert r.status_code == 422 and r.json()["field"] == "open_attribute"
    r = harness.client.post("/api/v1/catalog/datasets", json={"name": "x"}, headers=source)
    assert r.status_code == 422 and "title" in r.json()["detail"]
    harness.client.post("/api/v1/catalog/datasets", json=DATASET, headers=source)
    assert harness.client.post("/api/v1/catalog/datasets", json=DATASET, headers=source).status_code == 409
