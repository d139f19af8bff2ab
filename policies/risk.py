"""Supervisor risk signals (issue 11): what an organization's or an analyst's recent jobs say about intent.

Pure: the gateway gathers :class:`JobFact` values (jobs, their DP spend, whether the disclosure auditor or the
gate held them) and :func:`assess` turns them into a :class:`RiskReport` of five signals, each with its value,
its threshold (``common.settings.RiskSettings``) and whether it is crossed:

* ``auditor_hits`` — results held for a supervisor (by the disclosure auditor, or the gate's review);
* ``failed_burst`` — the most failed jobs inside any ``burst_minutes`` span (probing the sandbox or gate);
* ``near_duplicates`` — the most jobs sharing one normalized SQL fingerprint (averaging repeated DP queries,
  trackers and differencing pairs differ only in their literals);
* ``query_rate`` — the most jobs inside any one-hour span;
* ``dp_burn`` — epsilon reserved or spent by the jobs in the window.

Differencing on k-only data is caught per release by the auditor; these signals are what remains visible
across releases, for a human to judge.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlglot
from sqlglot import exp

from common.settings import RiskSettings

FAILED_STATES = frozenset({"failed"})


class Signal(StrEnum):
    auditor_hits = "auditor_hits"
    failed_burst = "failed_burst"
    near_duplicates = "near_duplicates"
    query_rate = "query_rate"
    dp_burn = "dp_burn"


@dataclass(frozen=True)
class JobFact:
    job_id: str
    organization_id: str
    user_id: str
    state: str
    created_at: datetime
    fingerprint: str
    epsilon: float = 0.0  # reserved or committed for this job (refunds excluded)
    held: bool = False  # held for a supervisor: by the disclosure auditor or the gate


@dataclass(frozen=True)
class SignalValue:
    signal: Signal
    value: float
    threshold: float
    crossed: bool
    detail: str


@dataclass(frozen=True)
class RiskReport:
    subject_type: str  # organization | analyst
    subject_id: str
    window_start: datetime
    window_end: datetime
    jobs: int
    signals: tuple[SignalValue, ...]

    @property
    def crossed(self) -> tuple[SignalValue, ...]:
        return tuple(s for s in self.signals if s.crossed)


@functools.lru_cache(maxsize=8192)  # signals refresh on every submission: parse each text once
def fingerprint(sql: str) -> str:
    """A normalized fingerprint of a query: literals stripped, IN-lists collapsed, case and layout ignored.

    >>> a = fingerprint("SELECT avg(income) FROM persons WHERE street = 'A' AND person_id <> 'p1'")
    >>> a == fingerprint("select  AVG(income) from persons where street='B' and person_id <> 'p7'")
    True
    >>> fingerprint("SELECT 1 WHERE x IN (1, 2, 3)") == fingerprint("SELECT 1 WHERE x IN (9)")
    True
    >>> fingerprint("SELECT sum(income) FROM persons") == fingerprint("SELECT avg(income) FROM persons")
    False
    """
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
        return "raw:" + _digest(" ".join(sql.lower().split()))
    if tree is None:
        return "raw:" + _digest(" ".join(sql.lower().split()))
    tree = tree.transform(_strip_literal)
    return _digest(tree.sql(dialect="duckdb", normalize=True, comments=False))


def _strip_literal(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Literal | exp.Neg) and (
        isinstance(node, exp.Literal) or isinstance(node.this, exp.Literal)
    ):
        return exp.Placeholder()
    if isinstance(node, exp.In) and node.expressions:
        if all(isinstance(e, exp.Literal | exp.Placeholder | exp.Neg) for e in node.expressions):
            return exp.In(this=node.this, expressions=[exp.Placeholder()])
    return node


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def assess(
    facts: Iterable[JobFact],
    settings: RiskSettings,
    *,
    subject_type: str,
    subject_id: str,
    start: datetime,
    end: datetime,
) -> RiskReport:
    """The five signals over the jobs created in ``[start, end]``."""
    jobs = sorted((f for f in facts if start <= f.created_at <= end), key=lambda f: f.created_at)
    failed = [f.created_at for f in jobs if f.state in FAILED_STATES]
    burst = _max_in_span(failed, timedelta(minutes=settings.burst_minutes))
    rate = _max_in_span([f.created_at for f in jobs], timedelta(hours=1))
    groups = Counter(f.fingerprint for f in jobs)
    top = max(groups.values(), default=0)
    repeated = sum(1 for n in groups.values() if n > 1)
    held = sum(1 for f in jobs if f.held)
    burn = round(sum(f.epsilon for f in jobs), 6)
    signals = (
        _value(Signal.auditor_hits, held, settings.auditor_hits, f"{held} result(s) held for a supervisor"),
        _value(
            Signal.failed_burst,
            burst,
            settings.failed_jobs,
            f"{burst} failed job(s) within {settings.burst_minutes:g} minutes",
        ),
        _value(
            Signal.near_duplicates,
            top,
            settings.near_duplicates,
            f"{top} job(s) share one normalized query; {repeated} repeated shape(s)",
        ),
        _value(Signal.query_rate, rate, settings.queries_per_hour, f"{rate} job(s) within one hour"),
        _value(Signal.dp_burn, burn, settings.epsilon_spent, f"epsilon {burn:g} reserved or spent"),
    )
    return RiskReport(subject_type, subject_id, start, end, len(jobs), signals)


def _value(signal: Signal, value: float, threshold: float, detail: str) -> SignalValue:
    return SignalValue(signal, value, threshold, value >= threshold, detail)


def _max_in_span(times: Sequence[datetime], span: timedelta) -> int:
    """The most events inside any closed span of length ``span`` (times sorted).

    >>> from datetime import datetime as d
    >>> _max_in_span([d(2025, 1, 1, 0, m) for m in (0, 1, 2, 30)], timedelta(minutes=10))
    3
    """
    best, left = 0, 0
    for right, at in enumerate(times):
        while at - times[left] > span:
            left += 1
        best = max(best, right - left + 1)
    return best
