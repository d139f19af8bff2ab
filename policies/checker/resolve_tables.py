"""Resolve every table reference against the caller's grants only (and CTE names)."""

from __future__ import annotations

from sqlglot import exp

from common.types import Grant
from policies.checker.context import Context, refuse

SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "main", "temp", "system", "memory"})
SYSTEM_PREFIXES = ("duckdb_", "pg_", "sqlite_", "pragma_")
_HINT = "read only your granted tables, e.g. population.persons"


def active_grants(grants) -> dict[str, Grant]:
    """Active grants by dataset (lower case); with several grants for one dataset the newest version wins.

    >>> active_grants([])
    {}
    """
    by_dataset: dict[str, Grant] = {}
    for grant in grants:
        if grant.status != "active":
            continue
        key = grant.dataset.lower()
        if key not in by_dataset or grant.version > by_dataset[key].version:
            by_dataset[key] = grant
    return by_dataset


def resolve_tables(ctx: Context) -> None:
    """Write every base table as ``dataset.table`` or refuse it; refuse CTEs that shadow granted tables.

    >>> import sqlglot
    >>> from common.types import CatalogSnapshot
    >>> c = Context("", (), CatalogSnapshot()); c.tree = sqlglot.parse_one("SELECT 1 FROM duckdb_tables")
    >>> resolve_tables(c)
    Traceback (most recent call last):
    ...
    common.errors.PolicyViolation: system catalogs (duckdb_tables) are not available
    """
    ctx.grant_by_dataset = grants = active_grants(ctx.grants)
    granted_names = {t.lower() for g in grants.values() for t in g.tables}
    for cte in ctx.tree.find_all(exp.CTE):
        name = cte.alias_or_name.lower()
        if name in granted_names:
            raise refuse(
                "cte_shadowing",
                f"the CTE name {name} shadows a granted table",
                hint=f"rename the CTE, e.g. {name}_cte",
            )
        ctx.cte_names.add(name)
    for table in ctx.tree.find_all(exp.Table):
        name, db, catalog = table.name.lower(), table.db.lower(), table.catalog.lower()
        if catalog:
            raise refuse("unknown_table", "three-part table names are not allowed", clause="from", hint=_HINT)
        if not db and name in ctx.cte_names:
            continue
        if any(ch in name for ch in "./\\*:?") or any(ch in db for ch in "./\\*:?"):
            raise refuse("file_access", "files and paths cannot be read as tables", clause="from", hint=_HINT)
        if (
            db in SYSTEM_SCHEMAS
            or name in SYSTEM_SCHEMAS
            or name.startswith(SYSTEM_PREFIXES)
            or name in {"sqlite_master", "sqlite_schema"}
        ):
            shown = name if name.replace("_", "").isalpha() and len(name) <= 40 else "system"
            raise refuse(
                "unknown_table", f"system catalogs ({shown}) are not available", clause="from", hint=_HINT
            )
        if db:
            grant = grants.get(db)
            if grant is None or name not in {t.lower() for t in grant.tables}:
                raise refuse("unknown_table", _unknown(db, name), clause="from", hint=_HINT)
        else:
            matches = [g for g in grants.values() if name in {t.lower() for t in g.tables}]
            if not matches:
                raise refuse("unknown_table", _unknown("", name), clause="from", hint=_HINT)
            if len(matches) > 1:
                datasets = ", ".join(sorted(g.dataset.lower() for g in matches))
                raise refuse(
                    "ambiguous_table",
                    f"table {name} exists in several granted datasets ({datasets})",
                    clause="from",
                    hint=f"qualify it, e.g. {matches[0].dataset.lower()}.{name}",
                )
            grant = matches[0]
        dataset = grant.dataset.lower()
        if ctx.catalog.table(dataset, name) is None:
            raise refuse(
                "unknown_table",
                f"table {dataset}.{name} is not in the catalog",
                clause="from",
                hint="ask the data source to publish it",
            )
        table.set("db", exp.to_identifier(dataset))
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
        ctx.used[(dataset, name)] = grant


def _unknown(db: str, name: str) -> str:
    # unknown identifiers are never echoed: they could carry planted values
    return "a referenced table is not granted to you (or does not exist)"
