"""The state the passes of the checker share, and how they refuse a query.

Every pass is a function ``pass_(ctx) -> None`` that reads and fills a :class:`Context`; the pipeline is the
``RULES`` tuple in :mod:`policies.checker`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from common.errors import PolicyViolation
from common.types import CatalogSnapshot, Clause, ColumnRule, Grant, Rule

# Strictest first: a value derived from several columns takes the strictest of their rules.
STRICTNESS = (Rule.deny, Rule.join, Rule.compare, Rule.aggregate, Rule.group, Rule.masked, Rule.plain)
_RANK = {rule: i for i, rule in enumerate(STRICTNESS)}
PLAIN = ColumnRule(Rule.plain)

HIDDEN_PREFIX = "__shuyu"


@dataclass(frozen=True)
class Label:
    """What a (base or derived) column may do.

    ``rule`` is the effective rule, ``columns`` the base columns ("dataset.table.column") it came from and
    ``aggregated`` says the value is a statistic computed by an inner aggregated scope. ``shaped`` says a
    subquery computed it with a condition or a step function (CASE, comparisons, floor, ...): aggregating it
    would aggregate a sub-cell (see :mod:`policies.checker.aggregate_args`). ``family`` is the coarse type
    ("num", "text", "date", "bool" or None when unknown) used to refuse data-dependent conversion errors.
    """

    rule: ColumnRule
    columns: tuple[str, ...] = ()
    aggregated: bool = False
    shaped: bool = False
    family: str | None = None

    @property
    def column(self) -> str | None:
        return self.columns[0] if self.columns else None


def strictest(labels: Sequence[Label], aggregated: bool = False) -> Label:
    """Combine the labels of the inputs of an expression.

    >>> a = Label(ColumnRule(Rule.group), ("d.t.a",)); b = Label(ColumnRule(Rule.aggregate), ("d.t.b",))
    >>> str(strictest([a, b]).rule), strictest([a, b]).columns
    ('aggregate', ('d.t.a', 'd.t.b'))
    >>> str(strictest([]).rule)
    'plain'
    """
    if not labels:
        return Label(PLAIN, (), aggregated)
    rule = min((lab.rule for lab in labels), key=lambda r: _RANK[r.rule])
    columns = tuple(sorted({c for lab in labels for c in lab.columns}))
    families = {lab.family for lab in labels}
    return Label(
        rule,
        columns,
        aggregated or any(lab.aggregated for lab in labels),
        any(lab.shaped for lab in labels),
        families.pop() if len(families) == 1 else None,
    )


@dataclass
class ScopeInfo:
    """What the checker learnt about one sqlglot scope."""

    kind: str  # "top" | "inner" | "expr" (subquery used in an expression)
    aggregated: bool = False
    labels: dict[str, Label] = field(default_factory=dict)  # output column name -> label
    order: list[str] = field(default_factory=list)  # output column names in order
    carriers: list[str] = field(default_factory=list)  # privacy-unit carriers: "row" | "count"
    # Where the one condition of this scope's conditional aggregates lives: (holder node, arg key). The
    # rewrite adds unit counts for the rows meeting it and for the others, so the gate applies k to both.
    condition: tuple[exp.Expression, str] | None = None


@dataclass
class Context:
    sql: str
    grants: tuple[Grant, ...]
    catalog: CatalogSnapshot
    max_chars: int = 20000
    max_depth: int = 64
    tree: exp.Expression | None = None
    grant_by_dataset: dict[str, Grant] = field(default_factory=dict)
    cte_names: set[str] = field(default_factory=set)
    aggregates: list[exp.Expression] = field(default_factory=list)  # every aggregate call in the tree
    scopes: list = field(default_factory=list)  # sqlglot scopes, children first
    root: object = None
    info: dict[int, ScopeInfo] = field(default_factory=dict)  # id(scope.expression) -> info
    used: dict[tuple[str, str], Grant] = field(default_factory=dict)  # (dataset, table) -> grant
    columns_by_clause: dict[str, set[str]] = field(default_factory=dict)
    is_aggregate: bool = False
    output_columns: tuple[str, ...] = ()
    unit_columns: tuple[str, ...] = ()
    row_cap: int = 0
    k: int = 0
    checked_sql: str = ""
    # A whole-query refusal (row-level not allowed) raised only after the column passes, so the analyst
    # hears about the most specific problem first ("`income` is aggregate-only") when there is one.
    deferred: PolicyViolation | None = None

    def scope_info(self, scope) -> ScopeInfo:
        return self.info[id(scope.expression)]

    def note(self, clause: Clause | str, columns: Sequence[str]) -> None:
        self.columns_by_clause.setdefault(str(clause), set()).update(columns)


def refuse(
    rule: str,
    message: str,
    *,
    column: str | None = None,
    clause: Clause | str | None = None,
    hint: str | None = None,
) -> PolicyViolation:
    """Build the violation a pass raises: ``raise refuse(...)``.

    >>> v = refuse("star", "`*` is not allowed", clause=Clause.select, hint="name the columns")
    >>> (v.rule, v.clause, v.hint)
    ('star', 'select', 'name the columns')
    """
    return PolicyViolation(rule, message, column=column, clause=str(clause) if clause else None, hint=hint)


def short(column: str | None) -> str:
    """The bare column name of ``dataset.table.column`` for messages.

    >>> short("population.persons.income")
    'income'
    """
    return (column or "?").rsplit(".", 1)[-1]
