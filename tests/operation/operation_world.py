"""Helpers for the authorized-operation tests: organizations and users, a published and registered dataset,
and the Annex 2 steps over HTTP. Imported by the test modules (a second conftest.py would clash)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from gateway.demo_registry import register_demo_datasets

OP = "/api/v1/operation"
CSV = (
    "person_id,district,income\n" + "".join(f"{i},district{i % 4},{1000 + i}\n" for i in range(200))
).encode()
SCOPE = {"people": {"person_id": "join", "district": "group", "income": "aggregate"}}
DISTRICT_SQL = "SELECT district, count(*) AS n, avg(income) AS avg_income FROM people GROUP BY district"


def set_day(clock, day: date) -> None:
    """Set the clock to ``day`` (10:00 Beijing time)."""
    clock.current = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def plan_content(datasets=("residents",), **overrides) -> dict:
    text = "按方案执行。"
    content = {
        name: text
        for name in (
            "necessity_feasibility",
            "operator_conditions",
            "data_description",
            "update_frequency",
            "quality_requirements",
            "operation_content",
            "safeguards",
            "schedule",
            "evaluation_criteria",
            "exit_plan",
            "asset_handling",
            "cost_revenue_sharing",
            "security_emergency",
            "rights_duties",
            "supervision_evaluation",
        )
    }
    content.update(
        datasets=list(datasets),
        term_months=36,
        public_good_products=["区县人口结构公益报告"],
        industry_products=["收入画像服务"],
    )
    content.update(overrides)
    return content


def agreement_content() -> dict:
    return {
        name: "依协议约定。"
        for name in (
            "data_catalog",
            "products_and_standards",
            "security_review",
            "asset_ownership",
            "disclosure",
            "accounting",
            "security_emergency",
            "evaluation_renewal_exit",
            "liability",
            "dispute_resolution",
            "change_termination",
        )
    }


def agreement_terms(start: date, end: date, scope: dict | None = None, **extra) -> dict:
    scope = scope or {"residents": {"purpose": "收入结构分析", "columns": SCOPE, "privacy_unit": "person_id"}}
    return {
        "title": "居民收入数据授权运营协议",
        "term_start": start.isoformat(),
        "term_end": end.isoformat(),
        "content": agreement_content(),
        "scope": scope,
        **extra,
    }


@dataclass
class World:
    harness: object
    clock: object
    h: dict = field(default_factory=dict)  # role -> headers
    orgs: dict = field(default_factory=dict)  # role -> organization id

    @property
    def c(self):
        return self.harness.client

    def today(self) -> date:
        return self.clock.today()

    def call(self, method: str, path: str, role: str | None, expect: int, json=None):
        headers = self.h[role] if role else {}
        response = self.c.request(
            method, path if path.startswith("/") else f"{OP}/{path}", json=json, headers=headers
        )
        assert response.status_code == expect, (response.status_code, response.text)
        return response.json()

    def post(self, path, role, json=None, expect=200):
        return self.call("POST", path, role, expect, json)

    def get(self, path, role, expect=200):
        return self.call("GET", path, role, expect)

    def publish(self, name: str) -> None:
        c, source = self.c, self.h["source"]
        body = {
            "name": name,
            "title": "居民收入",
            "update_frequency": "monthly",
            "sector": "民政",
            "open_attribute": "conditional",
        }
        assert c.post("/api/v1/catalog/datasets", json=body, headers=source).status_code == 201
        assert (
            c.post(
                f"/api/v1/catalog/datasets/{name}/tables", json={"name": "people"}, headers=source
            ).status_code
            == 201
        )
        r = c.put(
            f"/api/v1/catalog/datasets/{name}/tables/people/data",
            headers=source,
            files={"file": ("people.csv", CSV, "text/csv")},
        )
        assert r.status_code == 201, r.text
        r = c.put(
            f"/api/v1/catalog/datasets/{name}/tables/people/columns",
            headers=source,
            json=[
                {"name": "person_id", "personal": True},
                {"name": "district"},
                {"name": "income", "lower": 0, "upper": 100000},
            ],
        )
        assert r.status_code == 200, r.text

    # --- the Annex 2 steps --------------------------------------------------------------------------------

    def plan(self, datasets=("residents",), mode="domain", mode_scope="民生") -> dict:
        return self.post(
            "plans",
            "implementer",
            {
                "name": "居民收入授权运营实施方案",
                "mode": mode,
                "mode_scope": mode_scope,
                "content": plan_content(datasets),
            },
            expect=201,
        )

    def review(self, plan_id: str, n: int = 3, **grades) -> dict:
        plan = None
        for i in range(n):
            body = {
                "expert_name": f"专家{i}",
                "expert_affiliation": "重庆大学",
                "compliance": "pass",
                "feasibility": "pass",
                "security_risk": "low",
                "opinion": "可行",
                **grades,
            }
            plan = self.post(f"plans/{plan_id}/reviews", "implementer", body, expect=201)
        return plan

    def approved_plan(self, datasets=("residents",)) -> dict:
        plan = self.plan(datasets)
        self.post(f"plans/{plan['id']}/submit", "implementer")
        self.review(plan["id"])
        self.post(
            f"plans/{plan['id']}/conclusion", "implementer", {"conclusion": "feasible", "reason": "一致同意"}
        )
        return self.post(f"plans/{plan['id']}/approve", "implementer", {"reference": "渝府〔2025〕1号"})

    def select(self, plan_id: str, operator: str = "operator") -> dict:
        checks = {
            "management_capability": True,
            "technical_capability": True,
            "good_standing": True,
            "data_security": True,
        }
        return self.post(
            f"plans/{plan_id}/selections",
            "implementer",
            {"organization_id": self.orgs[operator], "method": "open_tender", "checks": checks},
            expect=201,
        )

    def draft_agreement(
        self,
        start: date | None = None,
        end: date | None = None,
        datasets=("residents",),
        scope: dict | None = None,
    ) -> dict:
        plan = self.approved_plan(datasets)
        selection = self.select(plan["id"])
        start = start or self.today()
        end = end or date(start.year + 2, start.month, start.day)
        body = {**agreement_terms(start, end, scope), "plan_id": plan["id"], "selection_id": selection["id"]}
        return self.post("agreements", "implementer", body, expect=201)

    def filed_agreement(self, **kwargs) -> dict:
        agreement = self.draft_agreement(**kwargs)
        self.post(f"agreements/{agreement['id']}/sign", "implementer")
        self.post(
            f"agreements/{agreement['id']}/filings", "implementer", {"reference": "备案函 1"}, expect=201
        )
        return self.post(
            f"agreements/{agreement['id']}/file", "supervisor", {"reference": "渝数备〔2025〕1号"}
        )

    def released_job(self, role: str = "operator") -> str:
        """A succeeded job of the organization, recorded directly (products only reference job ids)."""
        from sandbox import jobs

        with self.harness.ctx.uow() as session:
            row = jobs.submit(
                session,
                organization_id=self.orgs[role],
                user_id="test",
                submitted_sql="SELECT 1",
                checked_sql="SELECT 1",
                plan={},
                now=self.clock.now(),
                queue_cap=100,
            )
            jobs.transition(row, "running", self.clock.now())
            jobs.transition(row, "succeeded", self.clock.now())
            return row.id


ROLES = {
    "source": ("data_source", "src", "重庆市民政局"),
    "registrar": ("registrar", "reg", "重庆市公共数据资源登记中心"),
    "implementer": ("implementer", "impl", "重庆市公共数据授权运营实施机构"),
    "supervisor": ("supervisor", "sup", "重庆市数据局"),
    "operator": ("operator", "op", "渝数科技有限公司"),
    "operator2": ("operator", "op2", "巴渝数据服务有限公司"),
    "affiliate": ("operator", "op3", "渝数科技关联公司"),
}


def make_world(
    harness, clock, day: date = date(2025, 9, 1), datasets=("residents",), registered=("residents",)
) -> World:
    from gateway import identity

    set_day(clock, day)
    world = World(harness=harness, clock=clock)
    for role, (kind, username, org) in ROLES.items():
        world.h[role] = harness.auth(harness.user(kind, username=username, org=org))
        with harness.ctx.uow() as session:
            world.orgs[role] = identity.get_organization(session, org).id
    with harness.ctx.uow() as session:
        identity.affiliate(
            session, world.orgs["operator"], world.orgs["affiliate"], "affiliated", clock.now()
        )
    for name in datasets:
        world.publish(name)
    register_demo_datasets(
        harness.ctx, registrar_user="reg", source_user="src", dataset_names=list(registered)
    )
    return world
