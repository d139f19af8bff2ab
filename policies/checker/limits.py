"""Input caps checked on the raw text, before anything recursive touches it."""

from __future__ import annotations

import re

from policies.checker.context import Context, refuse

_PARENS = re.compile(r"[()\[\]{}]")


def paren_depth(sql: str) -> int:
    """The deepest nesting of brackets in ``sql`` (string contents included: conservative).

    >>> paren_depth("SELECT ((1) + (2))")
    2
    >>> paren_depth("SELECT 1")
    0
    """
    depth = deepest = 0
    for match in _PARENS.finditer(sql):
        if match.group() in "([{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def limits(ctx: Context) -> None:
    """Refuse texts longer than ``max_chars`` or nested deeper than ``max_depth``.

    >>> from common.types import CatalogSnapshot
    >>> limits(Context("SELECT " + "(" * 9 + "1" + ")" * 9, (), CatalogSnapshot(), max_depth=8))
    Traceback (most recent call last):
    ...
    common.errors.PolicyViolation: the query is nested 9 levels deep; the limit is 8
    """
    if len(ctx.sql) > ctx.max_chars:
        raise refuse(
            "too_long",
            f"the query is {len(ctx.sql)} characters long; the limit is {ctx.max_chars}",
            hint="split the analysis into smaller queries",
        )
    depth = paren_depth(ctx.sql)
    if depth > ctx.max_depth:
        raise refuse(
            "too_deep",
            f"the query is nested {depth} levels deep; the limit is {ctx.max_depth}",
            hint="flatten the expression or move parts into CTEs",
        )
