"""Grade-driven protection (A2, A35): a column's level and personal-information flag decide what a grant may
allow, so classification and grading have an effect.

The rules, applied column by column to a grant's terms:

* personal information at level 重要 (important) or 核心 (core) used as ``aggregate`` needs DP: the grant's
  DP mode must be ``required`` — unless the implementer records a k-only **exception** for that column with a
  written justification (audited, listed for supervisors and in the annual disclosure);
* a 核心 (core) column is never row-level (``plain``/``masked``) and never k-only: any rule but ``deny`` needs
  a DP-required grant, and no exception can lift that;
* ``plain`` on a PII-tagged column (an ID number, a phone number, a name ...) is refused outright.

Differencing attacks on k-only aggregates are cheap (two permitted sums whose populations differ by one
person), which is why DP is the default for personal data and k-only the recorded exception.

The same rules run three times: when a grant or an agreement scope is written (:func:`violations` → a 4xx
naming the column), and on every stored grant handed to the checker (:func:`enforce`): a stored grant that
violates them — because the catalog was regraded after it was written, say — has the offending columns
denied, so the check fails closed. :func:`protections` is the per-column view plans and agreements show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from common.types import DENY, CatalogSnapshot, ColumnInfo, ColumnRule, DPMode, Grant, Level, Rule

MIN_JUSTIFICATION = 20  # characters: a written reason, not "ok"
ROW_LEVEL_RULES = frozenset({Rule.plain, Rule.masked})


class Protection(StrEnum):
    """How a granted column's values are protected when results leave."""

    denied = "denied"  # never readable
    dp = "dp"  # only through differentially private releases
    k_only = "k_only"  # aggregates under the k threshold and the gate, no DP
    k_only_exception = "k_only_exception"  # k-only on a column that needs DP: a recorded exception
    row_level = "row_level"  # may leave row by row (plain or masked values)
    key_only = "key_only"  # a join key: used inside the query, never released


@dataclass(frozen=True)
class Violation:
    table: str
    column: str
    reason: str
    hint: str


@dataclass(frozen=True)
class ColumnProtection:
    """One column's effective protection under a grant (or agreement scope)."""

    table: str
    column: str
    level: Level
    personal: bool
    pii_tags: tuple[str, ...]
    rule: str
    protection: Protection
    needs_dp: bool  # the grade requires DP for aggregates of this column
    justification: str = ""  # the recorded k-only exception, if any


def needs_dp(column: ColumnInfo) -> bool:
    """Personal information at 重要/核心, and every 核心 column, leaves only under DP by default.

    >>> needs_dp(ColumnInfo("income", "BIGINT", level=Level.important, personal=True))
    True
    >>> needs_dp(ColumnInfo("income", "BIGINT", level=Level.general, personal=True))
    False
    >>> needs_dp(ColumnInfo("reserve", "BIGINT", level=Level.core))
    True
    """
    return column.level is Level.core or (column.personal and column.level is not Level.general)


def column_violation(
    column: ColumnInfo, rule: ColumnRule, dp_required: bool, exception: str | None
) -> tuple[str, str] | None:
    """The (reason, hint) why ``rule`` on ``column`` breaks the grade rules, or None.

    >>> core = ColumnInfo("reserve", "BIGINT", level=Level.core)
    >>> column_violation(core, ColumnRule(Rule.aggregate), False, "a long enough written justification")[0]
    'a 核心 (core) column is never k-only: it needs a DP-required grant'
    >>> column_violation(core, ColumnRule(Rule.aggregate), True, None) is None
    True
    >>> tagged = ColumnInfo("phone", "VARCHAR", pii_tags=("CN_MOBILE",))
    >>> column_violation(tagged, ColumnRule(Rule.plain), True, None)[0]
    'plain is refused on a PII-tagged column (CN_MOBILE)'
    """
    if rule.rule is Rule.deny:
        return None
    if rule.rule is Rule.plain and column.pii_tags:
        tags = ", ".join(column.pii_tags)
        return f"plain is refused on a PII-tagged column ({tags})", "deny it, or grant a mask (masked:hash)"
    if column.level is Level.core:
        if rule.rule in ROW_LEVEL_RULES:
            return "a 核心 (core) column is never row-level", "deny it, or aggregate it under DP"
        if not dp_required and rule.rule is not Rule.join:
            return (
                "a 核心 (core) column is never k-only: it needs a DP-required grant",
                'set dp.mode to "required", or deny the column',
            )
        return None
    if rule.rule is Rule.aggregate and needs_dp(column) and not dp_required and exception is None:
        return (
            f"personal information at level {column.level.value} used as aggregate needs DP",
            'set dp.mode to "required", or record a k-only exception with a written justification',
        )
    return None


def violations(
    dataset: str,
    columns: Mapping[str, Mapping[str, str | ColumnRule]],
    dp_mode: DPMode,
    exceptions: Mapping[str, str],
    catalog: CatalogSnapshot,
) -> list[Violation]:
    """Every grade violation of a grant's column rules; exceptions are keyed ``"table.column"``."""
    found = _exception_problems(dataset, columns, dp_mode, exceptions, catalog)
    for table, cols in columns.items():
        info = catalog.table(dataset, table)
        for name, text in cols.items():
            column = info.column(name) if info else None
            if column is None:
                continue  # the grant validator names unknown tables and columns
            rule = text if isinstance(text, ColumnRule) else ColumnRule.parse(text)
            key = f"{table.lower()}.{name.lower()}"
            problem = column_violation(column, rule, dp_mode is DPMode.required, exceptions.get(key))
            if problem:
                found.append(Violation(table.lower(), name.lower(), *problem))
    return found


def _exception_problems(dataset, columns, dp_mode, exceptions, catalog) -> list[Violation]:
    """An exception must name a granted column that needs one, with a written justification."""
    found = []
    granted = {f"{t.lower()}.{c.lower()}": r for t, cols in columns.items() for c, r in cols.items()}
    for key, text in exceptions.items():
        table, _, name = key.lower().partition(".")
        info = catalog.table(dataset, table)
        column = info.column(name) if info and name else None
        rule = granted.get(key.lower())
        rule = rule if rule is None or isinstance(rule, ColumnRule) else ColumnRule.parse(rule)
        if column is None or rule is None:
            found.append(
                Violation(
                    table,
                    name,
                    "a k-only exception names a column the grant does not cover",
                    'name it as "table.column" of a granted column',
                )
            )
        elif len(text.strip()) < MIN_JUSTIFICATION:
            found.append(
                Violation(
                    table,
                    name,
                    "a k-only exception needs a written justification",
                    f"explain why DP cannot be used, in at least {MIN_JUSTIFICATION} characters",
                )
            )
        elif column.level is Level.core:
            found.append(
                Violation(
                    table,
                    name,
                    "a 核心 (core) column is never k-only, even by exception",
                    'set dp.mode to "required"',
                )
            )
        elif not (rule.rule is Rule.aggregate and needs_dp(column)) or dp_mode is DPMode.required:
            found.append(
                Violation(
                    table,
                    name,
                    "this column needs no k-only exception",
                    "drop the exception: the grade allows the rule as it is",
                )
            )
    return found


def protections(
    dataset: str,
    columns: Mapping[str, Mapping[str, str | ColumnRule]],
    dp_mode: DPMode,
    allow_row_level: bool,
    exceptions: Mapping[str, str],
    catalog: CatalogSnapshot,
) -> list[ColumnProtection]:
    """Each catalog column of the granted tables with its effective protection (unlisted columns: denied)."""
    out = []
    for table in sorted(columns):
        info = catalog.table(dataset, table)
        if info is None:
            continue
        rules = {c.lower(): r for c, r in columns[table].items()}
        for column in info.columns:
            raw = rules.get(column.name.lower(), DENY)
            rule = raw if isinstance(raw, ColumnRule) else ColumnRule.parse(raw)
            key = f"{table.lower()}.{column.name.lower()}"
            kind = _protection(column, rule, dp_mode, allow_row_level, exceptions.get(key))
            out.append(
                ColumnProtection(
                    table=table.lower(),
                    column=column.name.lower(),
                    level=column.level,
                    personal=column.personal,
                    pii_tags=tuple(column.pii_tags),
                    rule=str(rule),
                    protection=kind,
                    needs_dp=needs_dp(column),
                    justification=exceptions.get(key, "") if kind is Protection.k_only_exception else "",
                )
            )
    return out


def _protection(column, rule, dp_mode, allow_row_level, exception) -> Protection:
    if rule.rule is Rule.deny or column_violation(column, rule, dp_mode is DPMode.required, exception):
        return Protection.denied
    if rule.rule is Rule.join:
        return Protection.key_only
    if dp_mode is DPMode.required:
        return Protection.dp
    if rule.rule in ROW_LEVEL_RULES and allow_row_level:
        return Protection.row_level
    if rule.rule is Rule.aggregate and needs_dp(column):
        return Protection.k_only_exception
    return Protection.k_only


def dp_protected(grant: Grant, catalog: CatalogSnapshot) -> frozenset[tuple[str, str]]:
    """Columns a DP-required grant releases only under DP: its non-key personal, important or core columns."""
    if grant.dp.mode is not DPMode.required or grant.status != "active":
        return frozenset()
    out = set()
    for table, cols in grant.columns.items():
        info = catalog.table(grant.dataset, table)
        for name, rule in cols.items():
            column = info.column(name) if info else None
            if rule.rule in (Rule.deny, Rule.join) or column is None:
                continue
            if column.personal or column.level is not Level.general:
                out.add((table.lower(), name.lower()))
    return frozenset(out)


def enforce(
    grant: Grant,
    catalog: CatalogSnapshot,
    exceptions: Mapping[str, str],
    shielded: Iterable[tuple[str, str]] = (),
) -> tuple[Grant, list[Violation]]:
    """The grant the checker may see: columns that break the grade rules are denied (fail closed), and so
    are ``shielded`` columns — those another DP-required grant of the same organization protects on this
    dataset, which a non-DP grant must not reach."""
    shielded = frozenset(shielded) if grant.dp.mode is not DPMode.required else frozenset()
    found = [
        v
        for v in violations(grant.dataset, grant.columns, grant.dp.mode, exceptions, catalog)
        if v.reason != "this column needs no k-only exception"
    ]
    for table, cols in grant.columns.items():
        for name, rule in cols.items():
            if (table.lower(), name.lower()) in shielded and rule.rule is not Rule.deny:
                found.append(
                    Violation(
                        table.lower(),
                        name.lower(),
                        "protected by a DP-required grant on this dataset",
                        "query it through the DP grant",
                    )
                )
    if not found:
        return grant, []
    denied = {(v.table, v.column) for v in found}
    columns = {
        t: {c: (DENY if (t.lower(), c.lower()) in denied else r) for c, r in cols.items()}
        for t, cols in grant.columns.items()
    }
    return dataclasses.replace(grant, columns=columns), found
