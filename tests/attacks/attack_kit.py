"""What the attack tests share: a fresh demo with its defaults, jobs through the real path (checker →
sandbox → gate → release), and the ground truth read straight from the domain store (the verifier's, never the
attacker's view).

A value counts as recovered when the attacker's estimate lies within ±5% of the true value (issue 11).
Under DP an estimate lands there by chance alone with a small probability; each test states that probability
and tolerates a single lucky hit where a working attack would hit every time.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import duckdb
import pytest

from gateway.demo import seed
from gateway.workers import WorkerPool

SCALE = 3000
TOLERANCE = 0.05

# The disclosure auditor (helper "release", sandbox/disclosure.py) holds k-only differencing and trackers.
needs_auditor = pytest.mark.skipif(
    importlib.util.find_spec("sandbox.disclosure") is None,
    reason="needs the disclosure auditor (sandbox/disclosure.py, issue 11 item 2, helper release)",
)


@dataclass
class Demo:
    harness: object
    tokens: dict
    pool: WorkerPool
    me: dict

    @property
    def op(self) -> dict:
        return self.tokens["operator"]

    def submit(self, sql: str, epsilon: float | None = None):
        body = {"sql": sql} if epsilon is None else {"sql": sql, "dp": {"epsilon": epsilon}}
        return self.harness.client.post("/api/v1/jobs", json=body, headers=self.op)

    def run(self, sql: str, epsilon: float | None = None) -> tuple[int, dict, list[dict]]:
        """Submit and run one job; returns (HTTP status of the submission, job, released rows)."""
        response = self.submit(sql, epsilon)
        if response.status_code != 202:
            return response.status_code, response.json(), []
        job_id = response.json()["id"]
        while self.pool.run_once("attacker"):
            pass
        job = self.harness.client.get(f"/api/v1/jobs/{job_id}", headers=self.op).json()
        rows = []
        if job["state"] == "succeeded":
            rows = self.harness.client.get(f"/api/v1/jobs/{job_id}/result", headers=self.op).json()["rows"]
        return 202, job, rows

    def value(self, sql: str, column: str = "s", epsilon: float | None = None) -> float | None:
        """The single released value of a one-row query, or None when nothing was released."""
        _, _, rows = self.run(sql, epsilon)
        return float(rows[0][column]) if len(rows) == 1 and rows[0][column] is not None else None

    def risk(self) -> dict:
        url = f"/api/v1/risk/analysts/{self.me['user_id']}"
        return self.harness.client.get(url, headers=self.tokens["supervisor"]).json()

    def truth(self, sql: str) -> list[tuple]:
        """Ground truth over the raw demo tables (``persons``, ``enterprises``)."""
        store = self.harness.ctx.settings.domain_store_dir
        con = duckdb.connect()
        try:
            for dataset, table in (("population", "persons"), ("enterprises", "enterprises")):
                files = sorted((store / dataset / table).glob("*.parquet"))
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{files[-1]}')")
            return con.execute(sql).fetchall()
        finally:
            con.close()


def demo(harness) -> Demo:
    tokens = {role: harness.auth(token) for role, token in seed(harness.ctx, scale=SCALE).items()}
    me = harness.client.get("/api/v1/me", headers=tokens["operator"]).json()
    return Demo(harness, tokens, WorkerPool(harness.ctx, 1), me)


def recovered(estimate: float | None, true: float) -> bool:
    return estimate is not None and abs(estimate - true) <= TOLERANCE * abs(true)


def unique_targets(d: Demo, n: int, min_street: int = 12) -> list[tuple]:
    """Adults with an income, alone in their (street, age) cell, on streets of at least ``min_street``
    persons: (person_id, district, street, age, income)."""
    return d.truth(
        f"""
        WITH cells AS (SELECT street, age, count(*) AS c FROM persons GROUP BY street, age),
             streets AS (SELECT street, count(*) AS c FROM persons GROUP BY street)
        SELECT p.person_id, p.district, p.street, p.age, p.income FROM persons p
        JOIN cells USING (street, age) JOIN streets s USING (street)
        WHERE cells.c = 1 AND s.c >= {min_street} AND p.income > 20000
        ORDER BY p.person_id LIMIT {n}
        """
    )


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
