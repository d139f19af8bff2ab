"""Physical scope: a per-grant-version copy holding only what the grant allows (defence layer 1, see
docs/architecture.md).

Runs in the TRUSTED host with in-process DuckDB. For every granted table present in ``sources`` it writes
``<scoped_root>/<grant.id>-v<grant.version>-d<grant.dataset_version>/<dataset>/<table>.parquet`` with:

* only the columns whose rule is not ``deny`` (unlisted columns are denied);
* masked columns already masked with the grant's salt;
* the grant's row filter for that table applied.

The directory is built in a temporary sibling and renamed into place, so an existing directory is complete
and is reused as is (the cache key is the grant id, grant version and dataset version).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import SandboxError
from common.types import Grant, Rule, TableInfo

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class ScopedData:
    """A materialized scope: ``tables[(dataset, table)]`` is the scoped Parquet file under ``root``."""

    root: Path
    tables: dict[tuple[str, str], Path] = field(default_factory=dict)


def scope_key(grant: Grant) -> str:
    return f"{grant.id}-v{grant.version}-d{grant.dataset_version}"


def _safe(name: str, what: str) -> str:
    if not _SAFE_NAME.match(name) or ".." in name:
        raise SandboxError(f"unsafe {what} name for the scoped store", field=what)
    return name


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def mask_expression(mask: str, column_sql: str, salt: str) -> str:
    """The DuckDB expression applying ``mask`` (see ``common.types.MASKS``) to ``column_sql``.

    >>> mask_expression("year", '"born"', "s")
    'CAST(year(TRY_CAST("born" AS DATE)) AS INTEGER)'
    """
    name, _, arg = mask.partition(":")
    text = f"CAST({column_sql} AS VARCHAR)"
    if name == "hash":
        return f"substr(sha256({_literal(salt)} || {text}), 1, 16)"
    if name == "year":
        return f"CAST(year(TRY_CAST({column_sql} AS DATE)) AS INTEGER)"
    if name == "month":
        return f"strftime(TRY_CAST({column_sql} AS DATE), '%Y-%m')"
    if name == "age_band":
        low = f"(CAST(floor(TRY_CAST({column_sql} AS DOUBLE) / 10) AS BIGINT) * 10)"
        return f"(CAST({low} AS VARCHAR) || '-' || CAST({low} + 9 AS VARCHAR))"
    if name in {"keep_first", "keep_last"}:
        if not arg.isdigit():
            raise SandboxError(f"mask {name} needs a length", mask=mask)
        n = int(arg)
        kept = f"left({text}, {n})" if name == "keep_first" else f"right({text}, {n})"
        stars = f"repeat('*', length({text}) - {n})"
        if name == "keep_first":
            return f"CASE WHEN length({text}) <= {n} THEN {text} ELSE {kept} || {stars} END"
        return f"CASE WHEN length({text}) <= {n} THEN {text} ELSE {stars} || {kept} END"
    if name == "null":
        return f"CASE WHEN false THEN {column_sql} END"  # NULL of the column's own type
    raise SandboxError(f"unknown mask {name!r}", mask=mask)


def table_select_sql(grant: Grant, info: TableInfo, raw_path: Path) -> str | None:
    """The SELECT producing the scoped table, or None when no column of it is granted."""
    table = info.name.lower()
    items: list[str] = []
    for col in info.columns:
        rule = grant.rule_for(table, col.name)
        if rule.rule is Rule.deny:
            continue
        src = _ident(col.name)
        if rule.rule is Rule.masked:
            items.append(f"{mask_expression(rule.mask or 'null', src, grant.salt)} AS {src}")
        else:
            items.append(src)
    if not items:
        return None
    sql = f"SELECT {', '.join(items)} FROM read_parquet({_literal(str(raw_path))})"
    row_filter = grant.row_filters.get(table) or grant.row_filters.get(info.name)
    if row_filter and row_filter.strip():
        sql += f" WHERE ({row_filter})"
    return sql


def _granted_sources(grant: Grant, sources: Mapping[str, tuple[TableInfo, Path]]):
    granted = {t.lower() for t in grant.tables}
    for name in sorted(sources):
        if name.lower() in granted:
            info, path = sources[name]
            yield name.lower(), info, Path(path)


def _existing(final: Path, dataset: str, wanted: list[str]) -> ScopedData | None:
    if not final.is_dir():
        return None
    tables = {(dataset, t): final / dataset / f"{t}.parquet" for t in wanted}
    if all(p.is_file() for p in tables.values()):
        return ScopedData(root=final, tables=tables)
    return None


def materialize(grant: Grant, sources: Mapping[str, tuple[TableInfo, Path]], scoped_root: Path) -> ScopedData:
    """Write (or reuse) the scoped copy of ``sources`` for ``grant``; see the module docstring."""
    import duckdb

    scoped_root = Path(scoped_root)
    dataset = _safe(grant.dataset.lower(), "dataset")
    final = scoped_root / _safe(scope_key(grant), "grant")
    plan: list[tuple[str, str]] = []
    for table, info, raw in _granted_sources(grant, sources):
        _safe(table, "table")
        sql = table_select_sql(grant, info, raw)
        if sql is not None:
            plan.append((table, sql))
    wanted = [t for t, _ in plan]
    cached = _existing(final, dataset, wanted)
    if cached is not None:
        return cached

    scoped_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=scoped_root))
    try:
        (tmp / dataset).mkdir()
        con = duckdb.connect(
            ":memory:", config={"autoload_known_extensions": False, "autoinstall_known_extensions": False}
        )
        try:
            for table, sql in plan:
                out = tmp / dataset / f"{table}.parquet"
                try:
                    con.execute(f"COPY ({sql}) TO {_literal(str(out))} (FORMAT parquet, COMPRESSION zstd)")
                except duckdb.Error as exc:
                    # Engine text may carry values (conversion errors) or the raw path: keep it out.
                    raise SandboxError(
                        f"could not materialize the scoped table {dataset}.{table} ({type(exc).__name__})",
                        table=table,
                    ) from None
        finally:
            con.close()
        for path in tmp.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, final)
        except OSError:
            # Someone else finished first (complete), or a stale scope lacks tables: replace the latter.
            cached = _existing(final, dataset, wanted)
            if cached is not None:
                shutil.rmtree(tmp, ignore_errors=True)
                return cached
            trash = Path(tempfile.mkdtemp(prefix=f".old-{final.name}-", dir=scoped_root))
            os.rename(final, trash / "old")
            os.rename(tmp, final)
            shutil.rmtree(trash, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ScopedData(root=final, tables={(dataset, t): final / dataset / f"{t}.parquet" for t in wanted})
