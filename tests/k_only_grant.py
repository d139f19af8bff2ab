"""A second operator holding a k-only grant on persons: an audited exception to the grade-driven default
(A2, A35). The demo's own population grant runs under DP, so attacks on the weaker k-only path use this."""

from __future__ import annotations

WHY = "统计局委托的季度收入通报需要精确到元的区县汇总，DP 噪声不被委托方接受"
PERSONS = {
    "person_id": "join",
    "district": "group",
    "street": "group",
    "gender": "group",
    "age": "group",
    "income": "aggregate",
}
K_ONLY = {
    "dataset": "population",
    "purpose": "收入结构分析（k-only 例外）",
    "valid_from": "2025-01-01",
    "valid_to": "2026-12-31",
    "privacy_unit": "person_id",
    "k": 10,
    "columns": {"persons": PERSONS},
    "k_only_exceptions": {"persons.income": WHY},
}


def k_only_operator(harness, tokens: dict, columns: dict | None = None) -> dict[str, str]:
    """Headers of a new operator in its own organization, granted ``K_ONLY`` (plus ``columns`` tables)."""
    headers = harness.auth(harness.user("operator", username="op2", org="渝州数据科技有限公司"))
    org = harness.client.get("/api/v1/me", headers=headers).json()["organization_id"]
    terms = {**K_ONLY, "columns": {**K_ONLY["columns"], **(columns or {})}, "organization_id": org}
    made = harness.client.post("/api/v1/grants", json=terms, headers=tokens["implementer"])
    assert made.status_code == 201, made.text
    return headers
