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
* Bounds (numeric columns only) become the clamp and the sensitivity of every DP sum, and a department may
  accept them as they are, so they must never publish an extreme value (the richest person's income): the
  1st and 99th percentiles of the column, rounded outward to two significant digits of the larger magnitude,
  and stepped one more step out if a bound still equals the observed minimum or maximum
  (:func:`coarse_bounds`). Values outside are clamped under DP. A caller that knows only the range uses
  :func:`outward_bounds` (the next power of ten, never the extreme itself).
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

__all__ = [
    "NAME_HINTS",
    "PERSON_NAME",
    "PII_SHARE",
    "Suggestion",
    "coarse_bounds",
    "outward_bounds",
    "suggest",
]

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
    """Coarsen a known range ``[lo, hi]`` to powers of ten (0 for a side that does not cross it), each bound
    strictly outside the range so that neither is an observed extreme.

    >>> outward_bounds(3.2, 1_873_400), outward_bounds(0, 104), outward_bounds(-17.5, 12.25)
    ((0.0, 10000000.0), (-1.0, 1000.0), (-100.0, 100.0))
    >>> outward_bounds(5, 5), outward_bounds(-3, -1)
    ((0.0, 10.0), (-10.0, 0.0))
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return float(lo), float(hi)
    return _below(lo), 0.0 - _below(-hi)


def _below(value: float) -> float:
    """The largest of 0, -1, -10, -100 ... strictly below ``value``."""
    if value > 0:
        return 0.0
    power = 1.0
    while -power >= value:
        power *= 10
    return -power


def coarse_bounds(values: np.ndarray) -> tuple[float, float]:
    """Bounds from the 1st-99th percentile range rounded outward to two significant digits of the larger
    magnitude, stepped one more step out where a bound equals the observed minimum or maximum.

    >>> incomes = np.array([52_000.0, 61_000, 58_500, 70_250, 49_900] * 40 + [98_765_432.0])  # an outlier
    >>> coarse_bounds(incomes)
    (49000.0, 71000.0)
    >>> coarse_bounds(np.array([0.0, 3, 98, 100]))  # 0 and 100 are observed: one step further out
    (-1.0, 101.0)
    """
    q_lo, q_hi = (float(q) for q in np.quantile(values, [0.01, 0.99]))
    magnitude = max(abs(q_lo), abs(q_hi))
    step = 10.0 ** (math.floor(math.log10(magnitude)) - 1) if magnitude > 0 else 1.0
    lower, upper = math.floor(q_lo / step) * step, math.ceil(q_hi / step) * step
    if upper <= lower:
        upper = lower + step
    observed = {float(values.min()), float(values.max())}
    lower -= step if lower in observed else 0.0
    upper += step if upper in observed else 0.0
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
    (('CN_PERSON_NAME', 'PERSON_NAME'), (2.0, 99.0))
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
        values = column.cast(pa.float64())
        finite = values.filter(pc.is_finite(values)).to_numpy()
        if len(finite):
            lower, upper = coarse_bounds(finite)
            reasons.append(
                "bounds: the 1st-99th percentile range rounded outward to two significant digits, never the "
                "observed minimum or maximum (accepting those would publish the extreme values); values "
                "outside are clamped under differential privacy; confirm them"
            )
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
