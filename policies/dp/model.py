"""The DP plan's values: what the planner hands to the trusted host (``sandbox.dp_noise``) in the job plan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

CI_SUFFIXES = ("_ci_low", "_ci_high")


def mechanism_of(kind: str) -> str:
    """Counts get integer (geometric) noise, sums the snapping mechanism (``sandbox.dp_noise``).

    >>> mechanism_of("count_distinct"), mechanism_of("sum")
    ('geometric', 'snapping')
    """
    return "geometric" if kind in ("count", "count_distinct") else "snapping"


@dataclass(frozen=True)
class Measurement:
    """One mechanism: an exact value per key computed in the sandbox, noised in the trusted host."""

    column: str  # hidden result column, __shuyu_dp_<i>
    kind: str  # count | count_distinct | sum | centered_sum
    sensitivity: float
    epsilon: float


@dataclass(frozen=True)
class DPAggregate:
    """One output aggregate: how it is computed from measurements, what it cost and what it covers."""

    output: str
    kind: str  # count | count_distinct | sum | avg
    source: str | None  # "dataset.table.column" for sum/avg
    lower: float | None
    upper: float | None
    measurements: tuple[str, ...]  # sum: (sum,); avg: (centred sum, count); count: (count,)
    epsilon: float
    covers: str = ""  # the bounded quantity the value estimates and its interval covers


@dataclass(frozen=True)
class DPPlan:
    grant_id: str
    epsilon: float
    max_contributions: int
    keys: tuple[str, ...]  # output names of the group keys, in output order
    key_columns: tuple[str, ...]  # "dataset.table.column" of each key
    domains: tuple[tuple[str, ...], ...]  # released keys of each group column (as text)
    outputs: tuple[str, ...]  # output columns in order (keys, aggregates; each aggregate adds its interval)
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
        by_column = {m.column: m for m in self.measurements}
        return [
            {
                "output": a.output,
                "kind": a.kind,
                "epsilon": a.epsilon,
                "sensitivity": [by_column[c].sensitivity for c in a.measurements],
                "mechanism": [mechanism_of(by_column[c].kind) for c in a.measurements],
                "covers": a.covers,
            }
            for a in self.aggregates
        ]


def released_columns(outputs: Sequence[str], aggregates: set[str]) -> tuple[str, ...]:
    """Output column names with each aggregate followed by its interval columns.

    >>> released_columns(("district", "n"), {"n"})
    ('district', 'n', 'n_ci_low', 'n_ci_high')
    """
    columns: list[str] = []
    for name in outputs:
        columns.append(name)
        if name in aggregates:
            columns.extend(name + suffix for suffix in CI_SUFFIXES)
    return tuple(columns)


def _lists(value):
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value
