"""A small population grant and catalog for the DP planning passes' doctests (no database)."""

from __future__ import annotations

from datetime import date

from common.types import CatalogSnapshot, ColumnInfo, ColumnRule, DPMode, DPSettings, Grant, TableInfo

RULES = {
    "person_id": "join",
    "district": "group",
    "age": "group",
    "income": "aggregate",
    "score": "aggregate",
}
CATALOG = CatalogSnapshot(
    {
        ("population", "persons"): TableInfo(
            "population",
            "persons",
            (
                ColumnInfo("person_id", "BIGINT"),
                ColumnInfo("district", "VARCHAR"),
                ColumnInfo("age", "INTEGER"),
                ColumnInfo("income", "DOUBLE", lower=0, upper=100_000),
                ColumnInfo("score", "DOUBLE"),
            ),
        )
    }
)
DOMAINS = {"population.persons.district": ("A", "B")}


def example_grant(**dp) -> Grant:
    settings = {"mode": DPMode.required, "epsilon_budget": 10.0, **dp}
    return Grant(
        "g1",
        1,
        "org",
        "population",
        "doctest",
        date(2024, 1, 1),
        date(2030, 1, 1),
        {"persons": {c: ColumnRule.parse(r) for c, r in RULES.items()}},
        "person_id",
        dp=DPSettings(**settings),
    )


def planned(until: str, sql: str, *, epsilon: float | None = None, **dp):
    """Check ``sql`` and run the DP passes up to and including the one named ``until``."""
    from policies.checker import check
    from policies.dp import PASSES
    from policies.dp.context import Planning

    grant = example_grant(**dp)
    p = Planning(check(sql, [grant], CATALOG), grant, CATALOG, epsilon, DOMAINS)
    for step in PASSES:
        step(p)
        if step.__name__ == until:
            return p
    raise ValueError(f"no pass named {until}")
