"""Frozen values passed between packages. No behaviour beyond small derived properties.

The middle packages (catalog, registry, policies, sandbox, audit) never import each other; the gateway
loads what one produces and hands these values to another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class OrgKind(StrEnum):
    data_source = "data_source"
    operator = "operator"
    registrar = "registrar"
    implementer = "implementer"
    supervisor = "supervisor"
    third_party = "third_party"


class Role(StrEnum):
    """What a user may do. A user's roles must fit its organization's kind (see ``ROLES_BY_ORG_KIND``)."""

    data_source = "data_source"
    operator = "operator"
    registrar = "registrar"
    implementer = "implementer"
    supervisor = "supervisor"
    third_party = "third_party"
    admin = "admin"


ROLES_BY_ORG_KIND: Mapping[OrgKind, frozenset[Role]] = {
    kind: frozenset({Role(kind.value), Role.admin}) for kind in OrgKind
}


@dataclass(frozen=True)
class Verdict:
    """A yes/no decision that always says why (datasette-style): shown to users as it is."""

    allowed: bool
    reason: str


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from a bearer token by the gateway."""

    user_id: str
    username: str
    organization_id: str
    organization_kind: OrgKind
    roles: frozenset[Role]
    verified: bool

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))


class Level(StrEnum):
    """Data classification (数据分类分级): general / important / core data."""

    general = "general"  # 一般数据
    important = "important"  # 重要数据
    core = "core"  # 核心数据


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str  # DuckDB logical type name, upper case: BIGINT, DOUBLE, VARCHAR, DATE, ...
    description: str = ""
    level: Level = Level.general
    personal: bool = False  # personal information (个人信息)
    pii_tags: tuple[str, ...] = ()
    lower: float | None = None  # declared numeric bounds (needed by DP sum/avg)
    upper: float | None = None

    @property
    def is_numeric(self) -> bool:
        return self.type.upper() in NUMERIC_TYPES


NUMERIC_TYPES = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "FLOAT",
        "DOUBLE",
        "REAL",
        "DECIMAL",
    }
)


@dataclass(frozen=True)
class TableInfo:
    dataset: str
    name: str
    columns: tuple[ColumnInfo, ...]
    version: int = 0  # 0 = no data uploaded yet
    row_count: int | None = None
    # "social": an operator's own uploaded data (A34), whose columns are labels it chose per person
    origin: str = "public"

    def column(self, name: str) -> ColumnInfo | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)


@dataclass(frozen=True)
class CatalogSnapshot:
    """What the checker knows of the catalog: schemas and classifications, never data."""

    tables: Mapping[tuple[str, str], TableInfo] = field(default_factory=dict)

    def table(self, dataset: str, name: str) -> TableInfo | None:
        return self.tables.get((dataset.lower(), name.lower()))


class Rule(StrEnum):
    deny = "deny"
    join = "join"
    compare = "compare"
    group = "group"
    aggregate = "aggregate"
    masked = "masked"
    plain = "plain"


# Masks applied in the physical scope (sandbox/scope.py) with the grant's salt, before any query sees them.
MASKS = frozenset({"hash", "year", "month", "age_band", "keep_first", "keep_last", "null"})


@dataclass(frozen=True)
class ColumnRule:
    rule: Rule
    mask: str | None = None  # only for Rule.masked: "hash", "year", "keep_first:3", ...

    @classmethod
    def parse(cls, text: str) -> ColumnRule:
        """Parse ``"group"`` or ``"masked:keep_first:3"``.

        >>> ColumnRule.parse("masked:year")
        ColumnRule(rule=<Rule.masked: 'masked'>, mask='year')
        >>> ColumnRule.parse("aggregate").rule.value
        'aggregate'
        """
        head, _, rest = text.strip().partition(":")
        try:
            rule = Rule(head.lower())
        except ValueError:
            raise ValueError(
                f"unknown column rule {head!r}; expected one of {', '.join(r.value for r in Rule)}"
            )
        if rule is Rule.masked:
            mask_name = rest.partition(":")[0]
            if mask_name not in MASKS:
                raise ValueError(f"unknown mask {mask_name!r}; expected one of {', '.join(sorted(MASKS))}")
            if mask_name in {"keep_first", "keep_last"} and not rest.partition(":")[2].isdigit():
                raise ValueError(f"mask {mask_name} needs a length, e.g. {mask_name}:3")
            return cls(rule, rest)
        if rest:
            raise ValueError(f"rule {head!r} takes no argument")
        return cls(rule)

    def __str__(self) -> str:
        return f"masked:{self.mask}" if self.rule is Rule.masked else self.rule.value


DENY = ColumnRule(Rule.deny)


class DPMode(StrEnum):
    off = "off"
    optional = "optional"
    required = "required"


@dataclass(frozen=True)
class DPSettings:
    mode: DPMode = DPMode.off
    epsilon_budget: float = 0.0
    default_epsilon: float = 0.5
    refresh: str = "none"  # none | monthly | yearly
    max_contributions: int = 1
    # Group-column key domains, "table.column" -> the keys that may be released (policies/dp.py).
    key_domains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    org_cap: float = 0.0  # epsilon cap per operator organization across its grants on the dataset; 0 = none
    min_epsilon: float = 0.01  # smallest epsilon one query may spend (a near-free query is an oracle)
    max_queries: int = 0  # DP queries per grant per budget period; 0 = no cap (policies/ledger.py)

    def __post_init__(self) -> None:  # JSON round trips give lists: keep the domains immutable tuples
        object.__setattr__(
            self,
            "key_domains",
            {k.lower(): tuple(str(x) for x in v) for k, v in dict(self.key_domains).items()},
        )


@dataclass(frozen=True)
class Grant:
    """What one operator organization may do with one dataset, column by column (DESIGN.md §3)."""

    id: str
    version: int
    organization_id: str
    dataset: str
    purpose: str
    valid_from: date
    valid_to: date
    columns: Mapping[str, Mapping[str, ColumnRule]]  # table -> column -> rule; unlisted = deny
    privacy_unit: str  # column name present in every granted table
    k: int = 10
    row_filters: Mapping[str, str] = field(
        default_factory=dict
    )  # table -> SQL predicate (trusted, implementer's)
    max_rows: int = 10_000
    allow_row_level: bool = False
    status: str = "active"
    salt: str = ""
    dp: DPSettings = DPSettings()
    dataset_version: int = 0

    def rule_for(self, table: str, column: str) -> ColumnRule:
        return self.columns.get(table.lower(), {}).get(column.lower(), DENY)

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(self.columns)


class Clause(StrEnum):
    select = "select"
    where = "where"
    join = "join"
    group_by = "group_by"
    having = "having"
    order_by = "order_by"
    qualify = "qualify"
    filter = "filter"


@dataclass(frozen=True)
class CheckedQuery:
    """A query the checker accepted, with the SQL regenerated from the checked tree.

    ``sql`` names tables as ``<dataset>.<table>`` (DuckDB schema.table): the sandbox worker creates one
    schema per dataset with one view per scoped Parquet file. For aggregate queries ``unit_columns`` are the
    hidden ``COUNT(DISTINCT privacy_unit)`` outputs (one per table reference) the gate uses and drops.
    """

    sql: str
    output_columns: tuple[str, ...]
    unit_columns: tuple[str, ...]
    is_aggregate: bool
    tables: tuple[tuple[str, str], ...]  # (dataset, table) referenced
    grants: tuple[tuple[str, int], ...]  # (grant id, version) used
    columns_by_clause: Mapping[str, tuple[str, ...]]  # clause -> "dataset.table.column"
    k: int
    row_cap: int
    dp: Mapping[str, object] | None = None  # DP plan when the query runs under differential privacy
    # Hidden ``LIST(DISTINCT unit)`` outputs beside the unit counts (the disclosure auditor's populations) and
    # the id space their units live in (the privacy-unit column name(s) of the tables read).
    population_columns: tuple[str, ...] = ()
    unit_space: str | None = None


class JobState(StrEnum):
    """Where a job stands; the allowed moves are the table ``sandbox.jobs.TRANSITIONS``."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    held_for_review = "held_for_review"

    @property
    def finished(self) -> bool:
        """The sandbox is done with it (a held result may still be released or rejected by a supervisor)."""
        return self in FINISHED_JOB_STATES


FINISHED_JOB_STATES = frozenset(
    {JobState.succeeded, JobState.failed, JobState.cancelled, JobState.held_for_review}
)
