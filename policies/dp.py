"""Differential-privacy planner: from a checked aggregate query to a DP plan and the trusted SQL that feeds it.

Pure (no DB, no I/O, no randomness): ``plan(checked, grant, catalog, epsilon, public_domains)`` returns a
:class:`DPPlan` whose ``sql`` replaces the checked SQL and whose ``to_dict()`` travels in the job plan to the
trusted host, where ``sandbox.dp_noise`` adds the noise to the sandbox's exact measurements.

Supported shape (anything else is a ``PolicyViolation`` naming what to change)::

    SELECT <group keys>, COUNT(*) | COUNT(DISTINCT <privacy unit>) | SUM(<col>) | AVG(<col>) [AS name], ...
    FROM <one granted table> [WHERE <row predicate>] [GROUP BY <group keys>]

The rewritten SQL (trusted: generated here, never by the analyst)

1. keeps the checked ``WHERE`` and restricts every group key to its **declared domain** (keys outside it are
   never released; keys come from the grant or public knowledge, never from the data),
2. **bounds contributions**: ``ROW_NUMBER() OVER (PARTITION BY <privacy unit> ORDER BY <a random() column>)``
   over the scoped rows, keeping at most ``max_contributions`` rows per unit,
3. **clamps** summed columns to the catalog bounds with ``LEAST(GREATEST(v, lo), hi)``,
4. returns one hidden exact measurement per mechanism (``__shuyu_dp_<i>``) per present key.

Sensitivities (add/remove one privacy unit, L1 over all released cells): ``COUNT(*)`` and the count behind an
average: ``max_contributions``; ``SUM``: ``max_contributions * max(|lo|, |hi|)``; ``COUNT(DISTINCT unit)``: 1
without GROUP BY, ``max_contributions`` with it (one unit's rows may fall in that many groups). An ``AVG`` is
``mid + noisy SUM(v - mid) / noisy COUNT(v)`` with ``mid = (lo + hi) / 2``: the centred sum's sensitivity is
``max_contributions * (hi - lo) / 2``, half a plain sum's for a column bounded below by 0.
Budget: the query's epsilon is split evenly across its mechanisms (an AVG is two: a sum and a count) and the
split is reported per output aggregate. Sequential composition: the spend is the sum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import sqlglot
from sqlglot import exp

from common.errors import PolicyViolation
from common.types import CatalogSnapshot, CheckedQuery, DPMode, Grant, Rule

HIDDEN = "__shuyu_"
MEASURE_PREFIX = "__shuyu_dp_"
MAX_EPSILON = 10.0
MIN_EPSILON_FLOOR = 0.001  # as policies.ledger: no grant may allow a cheaper query
CI_SUFFIXES = ("_ci_low", "_ci_high")
_D = "duckdb"


@dataclass(frozen=True)
class Measurement:
    """One Laplace mechanism: an exact value per key computed in the sandbox, noised in the trusted host."""

    column: str  # hidden result column, __shuyu_dp_<i>
    kind: str  # count | sum | count_distinct
    sensitivity: float
    epsilon: float


@dataclass(frozen=True)
class DPAggregate:
    """One output aggregate: how it is computed from measurements and what it cost."""

    output: str
    kind: str  # count | count_distinct | sum | avg
    source: str | None  # "dataset.table.column" for sum/avg
    lower: float | None
    upper: float | None
    measurements: tuple[str, ...]  # sum/avg: (sum, [count]); count: (count,)
    epsilon: float


@dataclass(frozen=True)
class DPPlan:
    grant_id: str
    epsilon: float
    max_contributions: int
    keys: tuple[str, ...]  # output names of the group keys, in output order
    key_columns: tuple[str, ...]  # "dataset.table.column" of each key
    domains: tuple[tuple[str, ...], ...]  # released keys of each group column (as text)
    outputs: tuple[
        str, ...
    ]  # output columns in order (keys, aggregates; each aggregate adds _ci_low/_ci_high)
    aggregates: tuple[DPAggregate, ...]
    measurements: tuple[Measurement, ...]
    sql: str

    def to_dict(self) -> dict:
        """The JSON form stored in the job plan and read by ``sandbox.dp_noise``."""
        data = asdict(self)
        data.pop("sql")
        data["released_columns"] = list(released_columns(self.outputs, {a.output for a in self.aggregates}))
        return _lists(data)

    def split(self) -> list[dict]:
        """The budget split an analyst is shown: one entry per output aggregate."""
        return [
            {
                "output": a.output,
                "kind": a.kind,
                "epsilon": a.epsilon,
                "sensitivity": [m.sensitivity for m in self.measurements if m.column in a.measurements],
                "mechanism": [mechanism_of(m.kind) for m in self.measurements if m.column in a.measurements],
            }
            for a in self.aggregates
        ]


def mechanism_of(kind: str) -> str:
    """Counts get integer (geometric) noise, sums the snapping mechanism (``sandbox.dp_noise``)."""
    return "geometric" if kind in ("count", "count_distinct") else "snapping"


def _lists(value):
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def released_columns(outputs: Sequence[str], aggregates: set[str]) -> tuple[str, ...]:
    """Output column names with each aggregate followed by its 95% interval columns."""
    columns: list[str] = []
    for name in outputs:
        columns.append(name)
        if name in aggregates:
            columns.extend(name + suffix for suffix in CI_SUFFIXES)
    return tuple(columns)


def wants_dp(grant: Grant, requested: bool) -> bool:
    """Does a query on ``grant`` run under DP? ``required`` always, ``optional`` when asked, ``off`` never."""
    if grant.dp.mode is DPMode.required:
        return True
    if grant.dp.mode is DPMode.optional:
        return requested
    if requested:
        raise _refuse(
            "dp_not_enabled",
            f"differential privacy is not enabled on grant {grant.id}",
            hint="submit without the dp option, or ask the implementation institution to enable DP "
            "on the grant",
        )
    return False


def plan(
    checked: CheckedQuery,
    grant: Grant,
    catalog: CatalogSnapshot,
    *,
    epsilon: float | None = None,
    public_domains: Mapping[str, Sequence[str]] | None = None,
) -> DPPlan:
    """Plan the DP release of ``checked`` (an accepted query) under ``grant``.

    ``public_domains`` maps "dataset.table.column" to publicly known keys (e.g. the 38 district names);
    the grant's own ``dp.key_domains`` ("table.column" -> keys) take precedence.
    """
    settings = grant.dp
    eps = settings.default_epsilon if epsilon is None else float(epsilon)
    floor = max(settings.min_epsilon, MIN_EPSILON_FLOOR)
    if not (math.isfinite(eps) and floor <= eps <= MAX_EPSILON):
        raise _refuse(
            "dp_epsilon",
            f"epsilon must be at least {floor:g} (grant {grant.id}'s minimum per query) and at most "
            f"{MAX_EPSILON:g}",
            hint=f"use e.g. epsilon {settings.default_epsilon:g} (the grant's default)",
        )
    if not checked.is_aggregate:
        raise _refuse(
            "dp_row_level",
            "differential privacy releases aggregates only: row-level queries are not "
            f"allowed on grant {grant.id}",
            hint="use COUNT(*), SUM, AVG with GROUP BY on group columns",
        )
    tree = sqlglot.parse_one(checked.sql, read=_D)
    select = _shape(tree)
    table = (select.args.get("from_") or select.args.get("from")).this
    alias = table.alias_or_name
    dataset, name = table.db.lower(), table.name.lower()
    info = catalog.table(dataset, name)
    if info is None or dataset != grant.dataset.lower():
        raise _refuse("dp_table", "the DP query must read one table of the DP grant's dataset")
    mc = settings.max_contributions
    unit = grant.privacy_unit.lower()

    group = [g for g in (select.args.get("group").expressions if select.args.get("group") else [])]
    group_cols = []
    for g in group:
        if not isinstance(g, exp.Column):
            raise _refuse(
                "dp_group_expression",
                "under differential privacy GROUP BY takes plain group columns",
                clause="group_by",
                hint="group by the column itself, e.g. GROUP BY district",
            )
        group_cols.append(g.name.lower())
    domains: dict[str, tuple[str, ...]] = {}
    for col in group_cols:
        rule = grant.rule_for(name, col).rule
        if rule not in (Rule.group, Rule.plain):
            raise _refuse(
                "dp_group_column",
                f"`{col}` is not a group column of the grant",
                column=_full(dataset, name, col),
                clause="group_by",
                hint="group by a column the grant marks `group`",
            )
        domain = settings.key_domains.get(f"{name}.{col}") or (public_domains or {}).get(
            f"{dataset}.{name}.{col}"
        )
        if not domain:
            raise _refuse(
                "dp_no_key_domain",
                f"`{col}` has no declared key domain: under differential privacy "
                "group keys must come from a declared list, never from the data",
                column=_full(dataset, name, col),
                clause="group_by",
                hint="ask the implementation institution to declare the keys of "
                f"{name}.{col} in the grant's dp.key_domains",
            )
        domains[col] = tuple(dict.fromkeys(str(k) for k in domain))
    cells = math.prod(len(d) for d in domains.values()) if domains else 1
    if cells > grant.max_rows:
        raise _refuse(
            "dp_domain_too_large",
            f"the key domains give {cells} groups, more than the grant's row cap of {grant.max_rows}",
            clause="group_by",
            hint="group by fewer columns",
        )

    keys: list[str] = []
    key_columns: list[str] = []
    outputs: list[str] = []
    specs: list[tuple[str, str, str | None, float | None, float | None]] = []  # output, kind, col, lo, hi
    for item in select.expressions:
        out = item.alias_or_name
        if out.startswith(HIDDEN):
            continue  # the checker's hidden unit counts: the DP SQL below has none
        node = item.this if isinstance(item, exp.Alias) else item
        if isinstance(node, exp.Column):
            col = node.name.lower()
            if col not in group_cols:
                raise _refuse(
                    "dp_output", f"`{col}` is output but not grouped", column=_full(dataset, name, col)
                )
            keys.append(out)
            key_columns.append(col)
        else:
            specs.append((out, *_aggregate(node, dataset, name, info, grant, unit)))
        outputs.append(out)
    if not specs:
        raise _refuse(
            "dp_no_aggregate",
            "a DP query needs at least one aggregate",
            hint="add COUNT(*), SUM(col) or AVG(col)",
        )
    if set(group_cols) - set(key_columns):
        raise _refuse(
            "dp_group_not_output",
            "under differential privacy every GROUP BY column must be output",
            clause="group_by",
            hint="select the grouped columns",
        )
    released = released_columns(outputs, {s[0] for s in specs})
    if len({c.lower() for c in released}) != len(released):
        raise _refuse(
            "dp_duplicate_output",
            "output names (with their _ci_low/_ci_high columns) must be unique",
            clause="select",
            hint="alias each output column differently",
        )

    n_mech = sum(2 if kind == "avg" else 1 for _, kind, *_ in specs)
    share = eps / n_mech
    measurements: list[Measurement] = []
    aggregates: list[DPAggregate] = []
    select_parts: list[str] = []
    values: dict[str, str] = {}  # source column -> clamped inner alias

    def measure(kind: str, sensitivity: float, expr: str) -> str:
        column = f"{MEASURE_PREFIX}{len(measurements)}"
        measurements.append(Measurement(column, kind, float(sensitivity), share))
        select_parts.append(f"{expr} AS {column}")
        return column

    for out, kind, col, lo, hi in specs:
        if kind == "count":
            used = (measure("count", mc, "COUNT(*)"),)
        elif kind == "count_distinct":
            used = (measure("count_distinct", 1 if not group_cols else mc, "COUNT(DISTINCT __shuyu_unit)"),)
        else:
            v = values.setdefault(col, f"__shuyu_v{len(values)}")
            if kind == "sum":
                used = (measure("sum", mc * max(abs(lo), abs(hi)), f"SUM({v})"),)
            else:  # centred on the bounds' midpoint: half the sensitivity of a plain sum when lo = 0
                mid = (lo + hi) / 2
                used = (
                    measure("centered_sum", mc * (hi - lo) / 2, f"SUM({v} - {_num(mid)})"),
                    measure("count", mc, f"COUNT({v})"),
                )
        aggregates.append(
            DPAggregate(
                out, kind, _full(dataset, name, col) if col else None, lo, hi, used, share * len(used)
            )
        )

    by_col = {c: lo_hi for c, lo_hi in ((s[2], (s[3], s[4])) for s in specs if s[2])}
    inner = [f"{_col(alias, unit)} AS __shuyu_unit"]
    inner += [f"CAST({_col(alias, c)} AS VARCHAR) AS __shuyu_k{i}" for i, c in enumerate(group_cols)]
    inner += [
        f"LEAST(GREATEST(CAST({_col(alias, c)} AS DOUBLE), {_num(by_col[c][0])}), {_num(by_col[c][1])}) "
        f"AS {v}"
        for c, v in values.items()
    ]
    inner.append(
        "random() AS __shuyu_r"
    )  # which rows a unit keeps: uniformly random (volatile, so computed here)
    conditions = []
    where = select.args.get("where")
    if where is not None:
        conditions.append(f"({where.this.sql(_D)})")
    for c in group_cols:
        listed = ", ".join(exp.Literal.string(k).sql(_D) for k in domains[c])
        conditions.append(f"CAST({_col(alias, c)} AS VARCHAR) IN ({listed})")
    source = (
        f"{exp.to_identifier(dataset, quoted=True).sql(_D)}.{exp.to_identifier(name, quoted=True).sql(_D)}"
    )
    inner_sql = (
        f"SELECT {', '.join(inner)} FROM {source} AS {exp.to_identifier(alias, quoted=True).sql(_D)}"
        + (f" WHERE {' AND '.join(conditions)}" if conditions else "")
    )
    key_by_col = {c: i for i, c in enumerate(group_cols)}
    outer = [
        f"__shuyu_k{key_by_col[c]} AS {exp.to_identifier(k, quoted=True).sql(_D)}"
        for k, c in zip(keys, key_columns)
    ] + select_parts
    sql = (
        f"WITH __shuyu_scoped AS ({inner_sql}), __shuyu_bounded AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
        f"__shuyu_unit ORDER BY __shuyu_r) AS __shuyu_rn FROM __shuyu_scoped) SELECT {', '.join(outer)} "
        f"FROM __shuyu_bounded WHERE __shuyu_rn <= {int(mc)}"
    )
    if group_cols:
        sql += " GROUP BY " + ", ".join(f"__shuyu_k{i}" for i in range(len(group_cols)))
    return DPPlan(
        grant_id=grant.id,
        epsilon=eps,
        max_contributions=mc,
        keys=tuple(keys),
        key_columns=tuple(_full(dataset, name, c) for c in key_columns),
        domains=tuple(domains[c] for c in key_columns),
        outputs=tuple(outputs),
        aggregates=tuple(aggregates),
        measurements=tuple(measurements),
        sql=sql,
    )


def _shape(tree: exp.Expression) -> exp.Select:
    if not isinstance(tree, exp.Select):
        raise _refuse(
            "dp_shape",
            "under differential privacy a query is one SELECT (no UNION/INTERSECT/EXCEPT)",
            hint="run each part as its own query",
        )
    if tree.args.get("with"):
        raise _refuse(
            "dp_shape", "under differential privacy CTEs are not supported", hint="query the table directly"
        )
    if tree.args.get("joins"):
        raise _refuse(
            "dp_join",
            "under differential privacy a query reads one table (no joins): contribution "
            "bounding is per privacy unit of that table",
            clause="join",
            hint="query one table",
        )
    source = tree.args.get("from_") or tree.args.get("from")
    if source is None or not isinstance(source.this, exp.Table) or not source.this.db:
        raise _refuse(
            "dp_shape",
            "under differential privacy the query reads one granted table",
            hint="FROM <your granted table>, without subqueries",
        )
    for clause, key in (
        ("having", "having"),
        ("order_by", "order"),
        ("select", "limit"),
        ("select", "offset"),
        ("qualify", "qualify"),
    ):
        if tree.args.get(key):
            raise _refuse(
                "dp_clause",
                f"{key.upper()} is not supported under differential privacy: it would act on "
                "exact values inside the sandbox",
                clause=clause,
                hint=f"drop {key.upper()}; filter or sort the noisy result yourself",
            )
    if tree.args.get("distinct"):
        raise _refuse(
            "dp_clause", "SELECT DISTINCT is not supported under differential privacy", clause="select"
        )
    for node in tree.find_all(exp.Subquery, exp.Window, exp.Select):
        if node is not tree:
            raise _refuse(
                "dp_subquery",
                "subqueries and window functions are not supported under differential "
                "privacy: one person's data could change which rows of others count",
                hint="use a plain WHERE on row values",
            )
    return tree


def _aggregate(node: exp.Expression, dataset: str, table: str, info, grant: Grant, unit: str):
    """(kind, column, lower, upper) of a supported aggregate, or a refusal."""
    if isinstance(node, exp.Count):
        arg = node.this
        if isinstance(arg, exp.Star):
            return "count", None, None, None
        if (
            isinstance(arg, exp.Distinct)
            and len(arg.expressions) == 1
            and isinstance(arg.expressions[0], exp.Column)
            and arg.expressions[0].name.lower() == unit
        ):
            return "count_distinct", None, None, None
        raise _refuse(
            "dp_unsupported_aggregate",
            f"under differential privacy COUNT is COUNT(*) or COUNT(DISTINCT {unit})",
            clause="select",
            hint="use COUNT(*)",
        )
    if isinstance(node, (exp.Sum, exp.Avg)):
        kind = "sum" if isinstance(node, exp.Sum) else "avg"
        arg = node.this
        if not isinstance(arg, exp.Column):
            raise _refuse(
                "dp_unsupported_aggregate",
                f"under differential privacy {kind.upper()} takes a plain column",
                clause="select",
                hint=f"{kind.upper()}(column)",
            )
        col = arg.name.lower()
        full = _full(dataset, table, col)
        if grant.rule_for(table, col).rule not in (Rule.aggregate, Rule.plain):
            raise _refuse(
                "dp_aggregate_column",
                f"`{col}` may not be aggregated under this grant",
                column=full,
                clause="select",
            )
        column = info.column(col)
        if column is None or not column.is_numeric:
            raise _refuse(
                "dp_aggregate_column",
                f"{kind.upper()}(`{col}`) needs a numeric column",
                column=full,
                clause="select",
            )
        if column.lower is None or column.upper is None or not column.lower <= column.upper:
            raise _refuse(
                "dp_missing_bounds",
                f"{kind.upper()}(`{col}`) under differential privacy needs declared "
                f"bounds for `{col}`, and the catalog has none",
                column=full,
                clause="select",
                hint=f"ask the data department to declare lower and upper bounds for {table}.{col} "
                "in the catalog",
            )
        return kind, col, float(column.lower), float(column.upper)
    raise _refuse(
        "dp_unsupported_aggregate",
        "under differential privacy the supported aggregates are COUNT(*), "
        f"COUNT(DISTINCT {unit}), SUM(col) and AVG(col)",
        clause="select",
        hint="rewrite the output with these aggregates",
    )


def _col(alias: str, column: str) -> str:
    return f"{exp.to_identifier(alias, quoted=True).sql(_D)}.{exp.to_identifier(column, quoted=True).sql(_D)}"


def _num(value: float) -> str:
    return repr(float(value))


def _full(dataset: str, table: str, column: str | None) -> str:
    return f"{dataset}.{table}.{column}"


def _refuse(
    rule: str, message: str, *, column: str | None = None, clause: str | None = None, hint: str | None = None
) -> PolicyViolation:
    return PolicyViolation(rule, message, column=column, clause=clause, hint=hint)
