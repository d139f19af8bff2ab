"""The state the DP planning passes share, and the one way they refuse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from common.errors import PolicyViolation
from common.types import CatalogSnapshot, CheckedQuery, Grant, TableInfo
from policies.dp.model import DPAggregate, Measurement

D = "duckdb"
HIDDEN = "__shuyu_"
MEASURE_PREFIX = "__shuyu_dp_"
UNIT = "__shuyu_unit"
ROW_NUMBER = "__shuyu_rn"
SCOPED, BOUNDED = "__shuyu_scoped", "__shuyu_bounded"


@dataclass(frozen=True)
class Spec:
    """One output aggregate as the analyst wrote it: kind, and for SUM/AVG the column and its bounds."""

    output: str
    kind: str  # count | count_distinct | sum | avg
    column: str | None = None
    lower: float | None = None
    upper: float | None = None


@dataclass
class Planning:
    """Inputs, then what each pass adds (in pipeline order)."""

    checked: CheckedQuery
    grant: Grant
    catalog: CatalogSnapshot
    requested_epsilon: float | None
    public_domains: Mapping[str, Sequence[str]]
    epsilon: float = 0.0  # budget_pass
    select: exp.Select | None = None  # parse_pass
    dataset: str = ""  # source_pass
    table: str = ""
    alias: str = ""
    info: TableInfo | None = None
    group_columns: list[str] = field(default_factory=list)  # group_keys_pass
    domains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)  # outputs_pass: output names of keys
    key_columns: list[str] = field(default_factory=list)  # their columns
    outputs: list[str] = field(default_factory=list)
    specs: list[Spec] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)  # measurements_pass
    measure_sql: list[exp.Expression] = field(default_factory=list)  # one aliased expression per measurement
    values: dict[str, str] = field(default_factory=dict)  # source column -> clamped inner alias
    aggregates: list[DPAggregate] = field(default_factory=list)
    scoped: exp.Expression | None = None  # scope_pass's query, once bound_pass wraps it
    sql: exp.Expression | None = None  # scope_pass, bound_pass, measure_sql_pass

    @property
    def max_contributions(self) -> int:
        return self.grant.dp.max_contributions

    @property
    def unit(self) -> str:
        return self.grant.privacy_unit.lower()

    def full(self, column: str | None) -> str:
        return f"{self.dataset}.{self.table}.{column}"


def refuse(
    rule: str, message: str, *, column: str | None = None, clause: str | None = None, hint: str | None = None
) -> PolicyViolation:
    return PolicyViolation(rule, message, column=column, clause=clause, hint=hint)
