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
UNITS = {"population": "person_id", "social_insurance": "person_id", "enterprises": "uscc"}
BOUNDS = {"income": (0.0, 2_000_000.0)}


def demo_catalog() -> CatalogSnapshot:
    tables = {}
    for (dataset, table), cols in TABLES.items():
        columns = tuple(
            ColumnInfo(
                name, type_, lower=BOUNDS.get(name, (None, None))[0], upper=BOUNDS.get(name, (None, None))[1]
            )
            for name, type_, _ in cols
        )
        tables[(dataset, table)] = TableInfo(dataset, table, columns, version=1, row_count=1000)
    return CatalogSnapshot(tables)


def _grant(dataset: str, **overrides) -> Grant:
    columns = {
        table: {name: ColumnRule.parse(rule) for name, _, rule in cols}
        for (ds, table), cols in TABLES.items()
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


GRANTS = {
    "demo": (demo_grants, demo_catalog),
    "rowlevel": (rowlevel_grants, demo_catalog),
    "dup": (dup_grants, dup_catalog),
}
