"""Passes 7-9: the trusted SQL, built as a sqlglot tree (never by string formatting of analyst input).

``WITH __shuyu_scoped AS (...), __shuyu_bounded AS (...) SELECT <keys>, <measurements> FROM __shuyu_bounded
WHERE __shuyu_rn <= max_contributions GROUP BY <keys>``:

1. ``scope_pass``: the checked ``WHERE``, every group key restricted to its declared domain (keys outside
   are never released), summed columns clamped to the catalog bounds with NULL kept NULL (SQL semantics:
   absent from SUM, AVG's count and its sum), and a hash of each whole row;
2. ``bound_pass``: ``ROW_NUMBER() OVER (PARTITION BY unit ORDER BY row hash)`` — which rows a unit keeps is
   a function of its own rows only, so the same data always gives the same bounded value;
3. ``measure_sql_pass``: one hidden exact measurement per mechanism (``__shuyu_dp_<i>``) per present key.
"""

from __future__ import annotations

from sqlglot import exp

from policies.dp.context import BOUNDED, ROW_NUMBER, SCOPED, UNIT, D, Planning

ROW_HASH = "__shuyu_h"


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(p: Planning, column: str) -> exp.Column:
    return exp.Column(this=_ident(column), table=_ident(p.alias))


def _clamped(p: Planning, column: str, lo: float, hi: float) -> exp.Expression:
    value = exp.cast(_col(p, column), "DOUBLE")
    clamp = exp.func("LEAST", exp.func("GREATEST", value, exp.convert(lo)), exp.convert(hi))
    # DuckDB's GREATEST skips NULLs (GREATEST(NULL, lo) = lo): keep NULL absent, as SQL aggregates do.
    return exp.case().when(_col(p, column).is_(exp.null()), exp.null()).else_(clamp)


def scope_pass(p: Planning) -> None:
    """The scoped rows: unit, keys as text, clamped values and a row hash, under the WHERE and the domains.

    >>> from policies.dp.examples import planned
    >>> sql = "SELECT district, sum(income) AS s FROM persons WHERE age > 30 GROUP BY district"
    >>> print(planned("scope_pass", sql).sql.sql("duckdb", pretty=True))
    SELECT
      "persons"."person_id" AS __shuyu_unit,
      CAST("persons"."district" AS TEXT) AS __shuyu_k0,
      CASE
        WHEN "persons"."income" IS NULL
        THEN NULL
        ELSE LEAST(GREATEST(CAST("persons"."income" AS DOUBLE), 0.0), 100000.0)
      END AS __shuyu_v0,
      HASH("persons") AS __shuyu_h
    FROM "population"."persons" AS "persons"
    WHERE
      (
        persons.age > 30
      ) AND CAST("persons"."district" AS TEXT) IN ('A', 'B')
    """
    bounds = {s.column: (s.lower, s.upper) for s in p.specs if s.column}
    columns = [exp.alias_(_col(p, p.unit), UNIT)]
    columns += [
        exp.alias_(exp.cast(_col(p, c), "VARCHAR"), f"__shuyu_k{i}") for i, c in enumerate(p.group_columns)
    ]
    columns += [exp.alias_(_clamped(p, c, *bounds[c]), v) for c, v in p.values.items()]
    columns.append(exp.alias_(exp.func("HASH", _ident(p.alias)), ROW_HASH))
    source = exp.Table(this=_ident(p.table), db=_ident(p.dataset), alias=exp.TableAlias(this=_ident(p.alias)))
    scoped = exp.select(*columns).from_(source)
    where = p.select.args.get("where")
    if where is not None:
        scoped = scoped.where(exp.Paren(this=where.this.copy()))
    for column in p.group_columns:
        listed = [exp.Literal.string(k) for k in p.domains[column]]
        scoped = scoped.where(exp.cast(_col(p, column), "VARCHAR").isin(*listed))
    p.sql = scoped


def bound_pass(p: Planning) -> None:
    """Number each unit's rows in row-hash order (deterministic contribution bounding).

    >>> from policies.dp.examples import planned
    >>> print(planned("bound_pass", "SELECT count(*) AS n FROM persons").sql.sql("duckdb", pretty=True))
    SELECT
      *,
      ROW_NUMBER() OVER (PARTITION BY __shuyu_unit ORDER BY __shuyu_h, __shuyu_unit) AS __shuyu_rn
    FROM __shuyu_scoped
    """
    order = exp.Order(
        expressions=[exp.Ordered(this=exp.column(ROW_HASH)), exp.Ordered(this=exp.column(UNIT))]
    )
    numbered = exp.Window(this=exp.RowNumber(), partition_by=[exp.column(UNIT)], order=order)
    p.scoped = p.sql
    p.sql = exp.select(exp.Star(), exp.alias_(numbered, ROW_NUMBER)).from_(SCOPED)


def measure_sql_pass(p: Planning) -> None:
    """The final query: keys and hidden measurements over each unit's first ``max_contributions`` rows.

    >>> from policies.dp.examples import planned
    >>> sql = planned("measure_sql_pass", "SELECT district, count(*) AS n FROM persons GROUP BY district").sql
    >>> print(sql.sql("duckdb").split(" SELECT __shuyu_k0 ")[1])
    AS "district", COUNT(*) AS __shuyu_dp_0 FROM __shuyu_bounded WHERE __shuyu_rn <= 1 GROUP BY __shuyu_k0
    """
    keys = {c: i for i, c in enumerate(p.group_columns)}
    outer = [exp.alias_(exp.column(f"__shuyu_k{keys[c]}"), _ident(k)) for k, c in zip(p.keys, p.key_columns)]
    final = (
        exp.select(*outer, *p.measure_sql)
        .from_(BOUNDED)
        .where(exp.column(ROW_NUMBER) <= exp.convert(int(p.max_contributions)))
        .with_(SCOPED, as_=p.scoped)
        .with_(BOUNDED, as_=p.sql)
    )
    if p.group_columns:
        final = final.group_by(*[exp.column(f"__shuyu_k{i}") for i in range(len(p.group_columns))])
    p.sql = final


def render(p: Planning) -> str:
    return p.sql.sql(D)
