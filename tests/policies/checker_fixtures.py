"""Grant and catalog fixtures mirroring the demo (population, social_insurance, enterprises)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from common.types import CatalogSnapshot, ColumnInfo, ColumnRule, Grant, TableInfo

TABLES = {
    ("population", "persons"): [
        ("person_id", "BIGINT", "join"),
        ("name", "VARCHAR", "deny"),
        ("id_card", "VARCHAR", "deny"),
        ("phone", "VARCHAR", "deny"),
        ("gender", "VARCHAR", "group"),
        ("birth_date", "DATE", "masked:year"),
        ("age", "INTEGER", "group"),
        ("district", "VARCHAR", "group"),
        ("street", "VARCHAR", "group"),
        ("income", "DOUBLE", "aggregate"),
    ],
    ("population", "households"): [
        ("hh_id", "BIGINT", "deny"),
        ("person_id", "BIGINT", "join"),
        ("district", "VARCHAR", "group"),
        ("size", "INTEGER", "group"),
    ],
    ("social_insurance", "contributions"): [
        ("person_id", "BIGINT", "join"),
        ("month", "VARCHAR", "group"),
        ("employer_uscc", "VARCHAR", "join"),
        ("base_amount", "DOUBLE", "aggregate"),
    ],
    ("enterprises", "enterprises"): [
        ("uscc", "VARCHAR", "join"),
        ("name", "VARCHAR", "plain"),
        ("legal_rep_name", "VARCHAR", "deny"),
        ("legal_rep_id_card", "VARCHAR", "deny"),
        ("industry", "VARCHAR", "group"),
        ("district", "VARCHAR", "group"),
        ("registered_capital", "DOUBLE", "aggregate"),
        ("employees", "INTEGER", "aggregate"),
        ("founded_date", "DATE", "plain"),
    ],
}
# An operator's own (social, A34) dataset keyed by person: its labels are chosen per person.
SOCIAL_TABLES = {
    ("yushu_customers", "customers"): [
        ("person_id", "BIGINT", "join"),
        ("segment", "VARCHAR", "group"),
        ("tier", "VARCHAR", "group"),
        ("spend", "DOUBLE", "aggregate"),
        ("note", "VARCHAR", "deny"),
    ],
}
UNITS = {
    "population": "person_id",
    "social_insurance": "person_id",
    "enterprises": "uscc",
    "yushu_customers": "person_id",
}
BOUNDS = {"income": (0.0, 2_000_000.0)}


def demo_catalog() -> CatalogSnapshot:
    tables = {}
    for (dataset, table), cols in {**TABLES, **SOCIAL_TABLES}.items():
        columns = tuple(
            ColumnInfo(
                name, type_, lower=BOUNDS.get(name, (None, None))[0], upper=BOUNDS.get(name, (None, None))[1]
            )
            for name, type_, _ in cols
        )
        origin = "social" if (dataset, table) in SOCIAL_TABLES else "public"
        tables[(dataset, table)] = TableInfo(
            dataset, table, columns, version=1, row_count=1000, origin=origin
        )
    return CatalogSnapshot(tables)


def _grant(dataset: str, rules: dict | None = None, **overrides) -> Grant:
    columns = {
        table: {name: ColumnRule.parse((rules or {}).get(name, rule)) for name, _, rule in cols}
        for (ds, table), cols in {**TABLES, **SOCIAL_TABLES}.items()
        if ds == dataset
    }
    grant = Grant(
        id=f"g-{dataset}",
        version=1,
        organization_id="org-operator",
        dataset=dataset,
        purpose="demo analysis",
        valid_from=date(2024, 1, 1),
        valid_to=date(2030, 12, 31),
        columns=columns,
        privacy_unit=UNITS[dataset],
        k=10,
    )
    return replace(grant, **overrides)


def demo_grants() -> tuple[Grant, ...]:
    """The three demo grants (one per dataset), aggregate-only, k=10."""
    return tuple(_grant(ds) for ds in ("population", "social_insurance", "enterprises"))


def rowlevel_grants() -> tuple[Grant, ...]:
    """The demo grants with row-level queries allowed (max 500 rows on population, 1000 elsewhere)."""
    return tuple(
        _grant(ds, allow_row_level=True, max_rows=500 if ds == "population" else 1000, k=5)
        for ds in ("population", "social_insurance", "enterprises")
    )


def dup_grants() -> tuple[Grant, ...]:
    """A second dataset holding a `persons` table, to make unqualified `persons` ambiguous."""
    other = replace(_grant("population"), id="g-census", dataset="census")
    return demo_grants() + (other,)


def dup_catalog() -> CatalogSnapshot:
    catalog = demo_catalog()
    tables = dict(catalog.tables)
    for (ds, table), info in list(tables.items()):
        if ds == "population":
            tables[("census", table)] = replace(info, dataset="census")
    return CatalogSnapshot(tables)


def compare_grants() -> tuple[Grant, ...]:
    """The demo grants with persons' `name` and `id_card` compare-only (issue 19: a named person may be
    looked up in WHERE, never inside an aggregate, FILTER or HAVING)."""
    population = _grant("population", {"name": "compare", "id_card": "compare"})
    return (population,) + demo_grants()[1:]


def social_grants() -> tuple[Grant, ...]:
    """The demo grants plus an operator's own customer table (origin social)."""
    return demo_grants() + (_grant("yushu_customers"),)


GRANTS = {
    "compare": (compare_grants, demo_catalog),
    "social": (social_grants, demo_catalog),
    "demo": (demo_grants, demo_catalog),
    "rowlevel": (rowlevel_grants, demo_catalog),
    "dup": (dup_grants, dup_catalog),
}
