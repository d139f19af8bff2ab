"""Helpers for the registry tests: a source department with a dataset, a registrar, a third party, and the
steps of the procedure over HTTP. Imported by the test modules (a second conftest.py would clash)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

CSV = (
    "person_id,district,income\n" + "".join(f"{i},district{i % 4},{1000 + i}\n" for i in range(40))
).encode()
CSV2 = (
    "person_id,district,income\n" + "".join(f"{i},district{i % 4},{2000 + i}\n" for i in range(41))
).encode()
PREFIX = "/api/v1/registry"


def content(name: str = "居民收入统计") -> dict:
    return {
        "name": name,
        "holder": "重庆市民政局",
        "source": "重庆市民政局",
        "scale": "1 table, 40 rows",
        "update_frequency": "monthly",
        "format": "Parquet",
        "open_attribute": "conditional",
        "storage": "Shuyu domain store",
        "description": "Resident income by district.",
    }


def set_day(clock, day: date) -> None:
    """Set the clock to ``day`` (10:00 Beijing time)."""
    clock.current = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


@dataclass
class World:
    harness: object
    clock: object
    source: dict
    registrar: dict
    supervisor: dict
    source_org: str

    @property
    def client(self):
        return self.harness.client

    def publish(self, name: str = "residents", csv: bytes = CSV) -> None:
        c = self.client
        body = {
            "name": name,
            "title": "居民",
            "update_frequency": "monthly",
            "sector": "民政",
            "open_attribute": "conditional",
        }
        if c.get(f"/api/v1/catalog/datasets/{name}").status_code == 404:
            assert c.post("/api/v1/catalog/datasets", json=body, headers=self.source).status_code == 201
            assert (
                c.post(
                    f"/api/v1/catalog/datasets/{name}/tables", json={"name": "people"}, headers=self.source
                ).status_code
                == 201
            )
        self.upload(name, csv)

    def upload(self, name: str, csv: bytes) -> None:
        c = self.client
        r = c.put(
            f"/api/v1/catalog/datasets/{name}/tables/people/data",
            headers=self.source,
            files={"file": ("people.csv", csv, "text/csv")},
        )
        assert r.status_code == 201, r.text
        r = c.put(
            f"/api/v1/catalog/datasets/{name}/tables/people/columns",
            headers=self.source,
            json=[
                {"name": "person_id", "personal": True},
                {"name": "district"},
                {"name": "income", "lower": 0, "upper": 100000},
            ],
        )
        assert r.status_code == 200, r.text

    def evidence(self, name: str = "residents", headers: dict | None = None, mode: str = "self") -> dict:
        r = self.client.post(
            f"{PREFIX}/evidence", json={"dataset": name, "mode": mode}, headers=headers or self.source
        )
        assert r.status_code == 201, r.text
        return r.json()

    def apply(
        self,
        kind: str = "first",
        name: str = "residents",
        *,
        headers: dict | None = None,
        expect: int = 201,
        letter: bytes = b"%PDF-1.4 commitment",
        **fields,
    ) -> dict:
        body = {"kind": kind, "subject_type": "dataset", "subject_id": name, "content": content(), **fields}
        if kind in ("first", "change") and "evidence_id" not in fields:
            body["evidence_id"] = self.evidence(name)["id"]
        files = {"commitment_letter": ("letter.pdf", letter, "application/pdf")}
        r = self.client.post(
            f"{PREFIX}/applications",
            data={"application": json.dumps(body)},
            files=files,
            headers=headers or self.source,
        )
        assert r.status_code == expect, r.text
        return r.json()

    def step(
        self,
        app_id: str,
        action: str,
        body: dict | None = None,
        expect: int = 200,
        headers: dict | None = None,
    ) -> dict:
        r = self.client.post(
            f"{PREFIX}/applications/{app_id}/{action}", json=body, headers=headers or self.registrar
        )
        assert r.status_code == expect, r.text
        return r.json()

    def through_notice(self, app_id: str) -> dict:
        """accept → approve → publish, today."""
        self.step(app_id, "accept")
        self.step(app_id, "approve", {"reason": "materials complete"})
        return self.step(app_id, "publish")

    def issue_after_notice(self, app: dict) -> dict:
        end = date.fromisoformat(app["notice_end"])
        set_day(self.clock, end)
        refused = self.step(app["id"], "issue", expect=409)
        assert refused["current_state"] == "in_notice"
        set_day(self.clock, date.fromordinal(end.toordinal() + 1))
        return self.step(app["id"], "issue")

    def register(self, name: str = "residents") -> str:
        app = self.apply("first", name)
        app = self.through_notice(app["id"])
        issued = self.issue_after_notice(app)
        assert issued["state"] == "issued"
        return issued["certificate_code"]

    def certificate(self, code: str) -> dict:
        r = self.client.get(f"{PREFIX}/certificates/{code}")
        assert r.status_code == 200, r.text
        return r.json()


def make_world(harness, clock, day: date = date(2025, 3, 3)) -> World:
    set_day(clock, day)
    source_token = harness.user("data_source", username="src", org="重庆市民政局")
    with harness.ctx.uow() as session:
        from gateway import identity

        source_org = identity.get_organization(session, "重庆市民政局").id
    world = World(
        harness=harness,
        clock=clock,
        source=harness.auth(source_token),
        registrar=harness.auth(harness.user("registrar", username="reg", org="重庆市公共数据资源登记中心")),
        supervisor=harness.auth(harness.user("supervisor", username="sup")),
        source_org=source_org,
    )
    world.publish()
    return world
