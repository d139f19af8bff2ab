"""The terms of a grant as plain values, shared by the rooms that write them.

``policies.grants`` validates and stores grants; ``operation.agreements`` writes an agreement's data scope in
the same terms and has its grants materialized from them. Rooms never import each other, so the value types
both speak live here, below them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date

from common.types import DPSettings


@dataclass(frozen=True)
class DatasetTerms:
    """What one dataset is granted, without the validity window (an agreement's scope carries these)."""

    purpose: str
    columns: Mapping[str, Mapping[str, str]]
    privacy_unit: str
    k: int = 10
    row_filters: Mapping[str, str] | None = None
    max_rows: int = 10_000
    allow_row_level: bool = False
    dp: DPSettings = DPSettings()
    # "table.column" -> the written justification for aggregating, without DP, a column whose grade
    # requires DP (policies/grading.py): audited, listed for supervisors and in the annual disclosure.
    k_only_exceptions: Mapping[str, str] | None = None

    def spec(self, valid_from: date, valid_to: date) -> GrantSpec:
        terms = {f.name: getattr(self, f.name) for f in fields(DatasetTerms)}
        return GrantSpec(**terms, valid_from=valid_from, valid_to=valid_to)


@dataclass(frozen=True, kw_only=True)
class GrantSpec(DatasetTerms):
    """The implementer's terms for one version of a grant: the dataset terms plus the window."""

    valid_from: date
    valid_to: date
