"""Suggestions made when a department uploads a table: PII tags, personal flag, level and numeric bounds.

These are suggestions only; the department confirms or edits them before publishing.

Rules:

* Sample: the same deterministic sample of rows for every column (all rows up to ``sample_rows``, else
  ``sample_rows`` indices drawn without replacement by ``numpy.random.default_rng(seed)``, in row order).
* PII tags: each string column's sampled non-null cells are scanned with :func:`common.pii.scan_values`;
  an entity hitting at least ``PII_SHARE`` (30%) of them becomes a tag. Column-name hints add
  ``PERSON_NAME`` for person-name columns (``name``, ``姓名``, ``full_name``...); nothing scans names in
  values (no NER model offline).
* Personal information (个人信息): any of resident ID, mobile, bank card, e-mail or person name.
* Level: ``important`` (重要数据) when the column holds identifiers that single out a person on their own
  and enable fraud — resident ID numbers and bank card numbers; ``general`` (一般数据) otherwise.
  ``core`` (核心数据) is never suggested: that classification is a legal decision, not a pattern.
* Bounds (numeric columns only): the observed minimum and maximum over the whole column, rounded outward
  to two significant digits of the larger magnitude (e.g. 3.2 .. 1,873,400 -> 0 .. 1,900,000).
* Reasons name entities, shares and rules, never cell values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.pii import BANK_CARD, CN_RESIDENT_ID, ENTITIES, PERSONAL_ENTITIES, scan_values
from common.types import Level

__all__ = ["NAME_HINTS", "PERSON_NAME", "PII_SHARE", "Suggestion", "outward_bounds", "suggest"]

PII_SHARE = 0.3
PERSON_NAME = "PERSON_NAME"
NAME_HINTS: dict[str, str] = {
    name: PERSON_NAME
    for name in (
        "name",
        "姓名",
        "full_name",
        "person_name",
        "real_name",
        "xingming",
        "xm",
        "legal_rep_name",
        "contact_name",
        "联系人",
        "法定代表人",
    )
}
IMPORTANT_ENTITIES = frozenset({CN_RESIDENT_ID, BANK_CARD})
_PERSONAL = PERSONAL_ENTITIES | {PERSON_NAME}


@dataclass(frozen=True)
class Suggestion:
    pii_tags: tuple[str, ...]
    personal: bool
    level: Level
    reason: str
    lower: float | None = None
    upper: float | None = None


def outward_bounds(lo: float, hi: float) -> tuple[float, float]:
    """Round ``[lo, hi]`` outward to two significant digits of the larger magnitude.

    >>> outward_bounds(3.2, 1_873_400)
    (0.0, 1900000.0)
    >>> outward_bounds(0, 104), outward_bounds(-17.5, 12.25), outward_bounds(5, 5)
    ((0.0, 110.0), (-18.0, 13.0), (5.0, 5.0))
    """
    magnitude = max(abs(lo), abs(hi))
    if magnitude == 0 or not math.isfinite(magnitude):
        return float(lo), float(hi)
    step = 10.0 ** (math.floor(math.log10(magnitude)) - 1)
    lower = math.floor(lo / step) * step
    upper = math.ceil(hi / step) * step
    return float(round(lower, 12)), float(round(upper, 12))


def _sample_indices(num_rows: int, sample_rows: int, seed: int) -> np.ndarray | None:
    if num_rows <= sample_rows:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num_rows, size=sample_rows, replace=False))


def suggest(table: pa.Table, sample_rows: int = 500, seed: int = 0) -> dict[str, Suggestion]:
    """Suggest classification for every column of ``table``.

    >>> t = pa.table({"name": ["张三", "李四"], "phone": ["13800138000", "13912345678"], "n": [3, 98]})
    >>> s = suggest(t)
    >>> s["phone"].pii_tags, s["phone"].personal, s["phone"].level.value
    (('CN_MOBILE',), True, 'general')
    >>> s["name"].pii_tags, (s["n"].lower, s["n"].upper)
    (('PERSON_NAME',), (3.0, 98.0))
    """
    if sample_rows <= 0:
        raise ValueError("sample_rows must be positive")
    indices = _sample_indices(table.num_rows, sample_rows, seed)
    sample = table if indices is None else table.take(pa.array(indices))
    out: dict[str, Suggestion] = {}
    for name in table.column_names:
        column = table.column(name)
        out[name] = _suggest_column(name, column, sample.column(name))
    return out


def _suggest_column(name: str, column: pa.ChunkedArray, sampled: pa.ChunkedArray) -> Suggestion:
    tags: list[str] = []
    reasons: list[str] = []
    t = column.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        values = [v for v in sampled.to_pylist() if v is not None]
        if values:
            counts = scan_values(values)
            for entity in ENTITIES:
                share = counts.get(entity, 0) / len(values)
                if share >= PII_SHARE:
                    tags.append(entity)
                    reasons.append(f"{entity} in {share:.0%} of {len(values)} sampled non-null cells")
    hint = NAME_HINTS.get(name.strip().lower())
    if hint and hint not in tags:
        tags.append(hint)
        reasons.append(f"column name suggests {hint}")

    personal = any(tag in _PERSONAL for tag in tags)
    important = sorted(set(tags) & IMPORTANT_ENTITIES)
    if important:
        level = Level.important
        reasons.append(f"{', '.join(important)} identifies a person: level important")
    else:
        level = Level.general
    if personal:
        reasons.append("personal information")

    lower = upper = None
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        finite = column.cast(pa.float64()).filter(pc.is_finite(column.cast(pa.float64())))
        stats = pc.min_max(finite)
        lo, hi = stats["min"].as_py(), stats["max"].as_py()
        if lo is not None and hi is not None:
            lower, upper = outward_bounds(lo, hi)
            reasons.append("bounds: observed range rounded outward to two significant digits; confirm them")
    if not reasons:
        reasons.append("no identifiers found in the sample")
    return Suggestion(
        pii_tags=tuple(tags),
        personal=personal,
        level=level,
        reason="; ".join(reasons),
        lower=lower,
        upper=upper,
    )
