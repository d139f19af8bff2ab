"""The job plan: what the checker decided about a query, carried unchanged from submission to the gate.

A :class:`JobPlan` is built once from the checker's :class:`~common.types.CheckedQuery` (``JobPlan.of``),
stored with the job as JSON, and read back by the worker that runs the job. :meth:`JobPlan.to_json` and
:meth:`JobPlan.parse` are the ONLY places the plan is serialized and parsed; parsing validates every field
and fails closed: an unknown ``version`` or a malformed plan raises :class:`~common.errors.InvalidJobPlan`
(the job is then failed, nothing runs).

>>> plan = JobPlan(grants=(("g1", 1),), tables=(("population", "persons"),), output_columns=("n",),
...                unit_columns=("__shuyu_units_0",), is_aggregate=True, k=10, row_cap=100)
>>> JobPlan.parse(plan.to_json()) == plan
True
>>> JobPlan.parse('{"version": 99}')
Traceback (most recent call last):
...
common.errors.InvalidJobPlan: the job plan has version 99; this server reads version 1 only
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from common.errors import InvalidJobPlan
from common.types import CheckedQuery

PLAN_VERSION = 1
UNIT_PREFIX = "__shuyu_units_"
POPULATION_PREFIX = "__shuyu_pop_"


class JobPlan(BaseModel):
    """Typed, immutable job plan (version 1). Field meanings follow :class:`~common.types.CheckedQuery`."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    version: Literal[1] = PLAN_VERSION
    grants: tuple[tuple[str, int], ...] = Field(min_length=1)  # (grant id, version) used
    tables: tuple[tuple[str, str], ...] = Field(min_length=1)  # (dataset, table) referenced
    output_columns: tuple[str, ...]
    unit_columns: tuple[str, ...]  # hidden COUNT(DISTINCT unit) columns the gate thresholds on
    is_aggregate: bool
    k: int = Field(ge=1)
    row_cap: int = Field(ge=0)
    # Hidden per-row unit lists for the disclosure auditor (k-only aggregates), and the id space they use.
    population_columns: tuple[str, ...] = ()
    unit_space: str | None = None
    dp: dict[str, Any] | None = None  # the DP planner's plan (policies/dp.py to_dict form) when under DP

    @field_validator("unit_columns")
    @classmethod
    def _units_hidden(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not c.startswith(UNIT_PREFIX) for c in value):
            raise ValueError(f"unit columns must start with {UNIT_PREFIX}")
        return value

    @field_validator("population_columns")
    @classmethod
    def _populations_hidden(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not c.startswith(POPULATION_PREFIX) for c in value):
            raise ValueError(f"population columns must start with {POPULATION_PREFIX}")
        return value

    @model_validator(mode="after")
    def _aggregate_has_units(self) -> JobPlan:
        # A k-only aggregate without unit counts cannot be thresholded: refuse the plan, not the gate later.
        if self.is_aggregate and self.dp is None and not self.unit_columns:
            raise ValueError("a k-only aggregate plan needs privacy-unit count columns")
        return self

    @property
    def k_only_aggregate(self) -> bool:
        return self.is_aggregate and self.dp is None

    @classmethod
    def of(cls, checked: CheckedQuery) -> JobPlan:
        """The plan of a query the checker (and, under DP, the planner) accepted."""
        return cls(
            grants=tuple((str(g), int(v)) for g, v in checked.grants),
            tables=tuple((str(d), str(t)) for d, t in checked.tables),
            output_columns=tuple(checked.output_columns),
            unit_columns=tuple(checked.unit_columns),
            is_aggregate=checked.is_aggregate,
            k=checked.k,
            row_cap=checked.row_cap,
            population_columns=tuple(checked.population_columns) if checked.dp is None else (),
            unit_space=checked.unit_space if checked.dp is None else None,
            dp=json.loads(json.dumps(dict(checked.dp))) if checked.dp else None,
        )

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @classmethod
    def parse(cls, text: str | bytes) -> JobPlan:
        """Read a stored plan; InvalidJobPlan (naming the problem, never a value) if it cannot be trusted."""
        try:
            raw = json.loads(text)
        except (TypeError, ValueError):
            raise InvalidJobPlan("the job plan is not valid JSON") from None
        if not isinstance(raw, dict):
            raise InvalidJobPlan("the job plan is not a JSON object")
        version = raw.get("version")
        if version != PLAN_VERSION:
            shown = version if isinstance(version, int) and not isinstance(version, bool) else "missing"
            raise InvalidJobPlan(
                f"the job plan has version {shown}; this server reads version {PLAN_VERSION} only",
                version=shown,
            )
        try:
            return cls.model_validate_json(json.dumps(raw))
        except ValidationError as error:
            fields = sorted({".".join(str(p) for p in e["loc"][:1]) or "plan" for e in error.errors()})
            raise InvalidJobPlan(
                f"the job plan is malformed (fields: {', '.join(fields)})", fields=fields
            ) from None
