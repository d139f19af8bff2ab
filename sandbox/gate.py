"""The output gate: the only way a result leaves the domain. Runs in the trusted host; pure (no DB, no I/O).

``gate(table, policy)`` applies, in order:

1. **Privacy-unit columns.** Aggregate results carry hidden ``__shuyu_units_*`` columns (``COUNT(DISTINCT
   privacy_unit)`` per output row, one per table reference). If the policy says aggregate and any of them is
   missing or not an integer column, the result is ``rejected`` (fail closed). Every ``__shuyu_*`` column is
   removed from what leaves, whatever the policy and whether or not a row is suppressed.
2. **k-threshold.** Aggregate results: a row is withheld when the minimum over its unit columns is below ``k``
   (NULL counts as 0). Row-level results (grants with ``allow_row_level``) are not k-filtered here.
3. **Caps.** At most ``max_rows`` rows, then the longest prefix whose Arrow IPC size is at most ``max_bytes``
   (``truncated=True`` with a reason).
4. **PII scan** of every string cell that would leave (``common.pii.scan_values``; integers of 11+ digits are
   scanned as text too, since identifiers are often stored as numbers). Any hit => ``held_for_review``: the
   table is returned for a supervisor and must NOT be released to the operator; the report carries entity ->
   cell counts, never values. A scanner failure also holds (fail closed).
5. **Fingerprint.** ``sha256`` is the SHA-256 of :func:`canonical_ipc_bytes` of the returned table: the Arrow
   IPC *stream* format, uncompressed, schema metadata dropped, chunks combined into one record batch. The
   returned table is already in that canonical form, so ``canonical_ipc_bytes(released)`` reproduces the hash.
   (Parquet bytes embed the writer version and are not stable across pyarrow releases; IPC is.)

**Withholding is not counted to the operator.** An exact count of withheld rows is a membership oracle:
narrow a query to one small cell plus known ones and the count says whether anyone is in it. A boolean
"something was withheld" is the same oracle (one small cell beside a large one), and a coarsened count
fails to an attacker who adds known small cells until the coarsening boundary. So the operator sees nothing
that depends on what was withheld: for a k-only aggregate the reasons always carry the same sentence ("rows
with fewer than k distinct privacy units are always withheld; whether any were is not reported"), the
decision is ``released`` whether or not rows were withheld, and an empty result and an all-withheld one are
identical in every operator-visible field (schema, fingerprint, reasons). The exact ``rows_suppressed`` and
``rows_in`` are for the audit log and supervisors only (:meth:`GateReport.audit_details`).

**Differential privacy.** When ``policy.dp`` carries a DP plan (``policies/dp.py``), step 2 is replaced by
``sandbox.dp_noise.release``: no k-threshold (suppressing on exact counts would itself leak), every key of the
declared domain is released (absent keys filled with exact 0 before the noise, keys outside the domain
dropped), each hidden ``__shuyu_dp_*`` measurement gets Laplace noise here in the trusted host, and each value
is followed by its 95% interval columns; the report carries a ``dp`` section (epsilon, split, noise scales).
A malformed DP result is ``rejected`` (fail closed). Steps 3-5 apply unchanged.

Decisions: ``released`` (incl. empty and rows withheld by k), ``partially_suppressed`` (cut by a row or
byte cap), ``held_for_review`` (PII found; the disclosure auditor may also hold a released one),
``rejected`` (malformed aggregate result). ``released_rows`` maps each released row to its input row, so
the trusted host can read the hidden columns of exactly what leaves.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common.job_plan import JobPlan
from sandbox.dp_noise import release as dp_release

HIDDEN_PREFIX = "__shuyu_"
UNIT_PREFIX = "__shuyu_units_"

RELEASED = "released"
PARTIALLY_SUPPRESSED = "partially_suppressed"
HELD_FOR_REVIEW = "held_for_review"
REJECTED = "rejected"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MIN_NUMERIC_ID_DIGITS = 11


@dataclass(frozen=True)
class GatePolicy:
    k: int
    unit_columns: tuple[str, ...]
    is_aggregate: bool
    max_rows: int
    max_bytes: int
    dp: Mapping[str, Any] | None = field(default=None, hash=False)  # DP plan (policies/dp.py JSON form)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError("k must be at least 1")
        if self.max_rows < 0 or self.max_bytes < 0:
            raise ValueError("max_rows and max_bytes must not be negative")
        if any(not c.startswith(UNIT_PREFIX) for c in self.unit_columns):
            raise ValueError(f"unit columns must start with {UNIT_PREFIX}")

    @classmethod
    def for_plan(cls, plan: JobPlan, *, max_bytes: int) -> GatePolicy:
        """The gate's policy for a job: everything but the byte cap comes from the checked plan."""
        return cls(
            k=plan.k,
            unit_columns=plan.unit_columns,
            is_aggregate=plan.is_aggregate,
            max_rows=plan.row_cap,
            max_bytes=max_bytes,
            dp=plan.dp,
        )


@dataclass(frozen=True)
class GateReport:
    """What the gate did. Counts and reasons only: never a data value.

    ``rows_in`` and ``rows_suppressed`` are for the audit log and supervisors only (see the module
    docstring); show operators :meth:`operator_view`.
    """

    decision: str
    rows_in: int
    rows_out: int
    rows_suppressed: int
    reasons: tuple[str, ...]
    pii_entities: Mapping[str, int] = field(default_factory=dict, hash=False)
    truncated: bool = False
    sha256: str | None = None
    dp: Mapping[str, Any] | None = field(default=None, hash=False)  # DP section: epsilon, split, intervals
    released_rows: tuple[int, ...] = field(default=(), hash=False, compare=False, repr=False)

    @property
    def releasable(self) -> bool:
        return self.decision in (RELEASED, PARTIALLY_SUPPRESSED)

    def operator_view(self) -> dict[str, Any]:
        """The part an operator may see: nothing in it depends on withheld rows."""
        return {
            "decision": self.decision,
            "rows_out": self.rows_out,
            "reasons": list(self.reasons),
            "pii_entities": dict(sorted(self.pii_entities.items())),
            "truncated": self.truncated,
            "sha256": self.sha256,
            **({"dp": dict(self.dp)} if self.dp is not None else {}),
        }

    def audit_details(self) -> dict[str, Any]:
        """Counts for the ``gate.decision`` audit event (supervisors): the operator view plus exact counts."""
        return {**self.operator_view(), "rows_in": self.rows_in, "rows_suppressed": self.rows_suppressed}

    def held(self, reason: str) -> GateReport:
        """The same report, held for supervisor review with one more reason (the disclosure auditor)."""
        return dataclasses.replace(self, decision=HELD_FOR_REVIEW, reasons=(*self.reasons, reason))


# ------------------------------------------------------------------------------------------------ gate


def gate(table: pa.Table, policy: GatePolicy) -> tuple[pa.Table, GateReport]:
    rows_in = table.num_rows
    visible = [i for i, name in enumerate(table.column_names) if not name.startswith(HIDDEN_PREFIX)]
    out = canonical_table(table.select(visible))

    dp_report = None
    if policy.dp is not None:
        # Differential privacy: no k-threshold on exact counts (suppression itself would leak); every key of
        # the declared domain is released with noise, absent keys filled with exact 0 before the noise.
        try:
            out, dp_report = dp_release(table, policy.dp)
        except (pa.ArrowException, ValueError, KeyError, TypeError):
            problem = "the differentially private result could not be formed: the gate fails closed"
            return out.slice(0, 0), GateReport(REJECTED, rows_in, 0, 0, (problem, "nothing was released"))
        withheld = 0
        kept = None  # DP rows are the declared domain's cells, not rows of the sandbox result
    elif policy.is_aggregate:
        problem = _unit_problem(table, policy)
        if problem:
            empty = out.slice(0, 0)
            return empty, GateReport(
                REJECTED, rows_in, 0, 0, (problem, "nothing was released"), {}, False, None
            )
        try:
            units = _min_units(table, _unit_names(table, policy))
        except (pa.ArrowException, ValueError):
            problem = "privacy-unit counts could not be read: the gate fails closed"
            return out.slice(0, 0), GateReport(REJECTED, rows_in, 0, 0, (problem, "nothing was released"))
        keep = pc.greater_equal(units, policy.k)
        out = out.filter(keep)
        kept = pc.indices_nonzero(keep).to_pylist() if rows_in else []
        withheld = rows_in - out.num_rows
    else:
        withheld = 0
        kept = None

    reasons: list[str] = []
    truncated = False
    if out.num_rows > policy.max_rows:
        out = out.slice(0, policy.max_rows)
        truncated = True
        reasons.append(f"result truncated to the row cap of {policy.max_rows} rows")
    out = canonical_table(out)
    if len(canonical_ipc_bytes(out)) > policy.max_bytes:
        out = _fit_bytes(out, policy.max_bytes)
        truncated = True
        reasons.append(
            f"result truncated to {out.num_rows} rows to fit the size cap of {policy.max_bytes} bytes"
        )

    if policy.is_aggregate and dp_report is None:
        # The same sentence whatever was withheld: a count (or even a yes/no) would be a membership oracle.
        reasons.insert(
            0,
            f"rows with fewer than k={policy.k} distinct privacy units are always withheld; "
            "whether any were is not reported",
        )

    pii, scan_failed = _scan(out)
    if pii or scan_failed:
        reasons.append(
            "possible personal information found: held for supervisor review"
            if pii
            else "the personal-information scan failed: held for supervisor review"
        )
        decision = HELD_FOR_REVIEW
    elif truncated:
        decision = PARTIALLY_SUPPRESSED
    else:
        decision = RELEASED
    digest = hashlib.sha256(canonical_ipc_bytes(out)).hexdigest()
    return out, GateReport(
        decision,
        rows_in,
        out.num_rows,
        withheld,
        tuple(reasons),
        dict(pii),
        truncated,
        digest,
        dp_report,
        tuple(kept[: out.num_rows]) if kept is not None else tuple(range(out.num_rows)),
    )


def _unit_names(table: pa.Table, policy: GatePolicy) -> list[str]:
    # The policy's columns plus any other unit column present: stricter, never looser.
    extra = [n for n in table.column_names if n.startswith(UNIT_PREFIX) and n not in policy.unit_columns]
    return list(policy.unit_columns) + extra


def _unit_problem(table: pa.Table, policy: GatePolicy) -> str | None:
    if not policy.unit_columns:
        return "aggregate result without privacy-unit counts: the gate cannot apply the k-threshold"
    missing = [n for n in policy.unit_columns if n not in table.column_names]
    if missing:
        return f"aggregate result lacks {len(missing)} privacy-unit count column(s): the gate fails closed"
    for name in _unit_names(table, policy):
        if table.column_names.count(name) != 1:
            return "a privacy-unit count column appears more than once: the gate fails closed"
        if not pa.types.is_integer(table.schema.field(name).type):
            return "a privacy-unit count column is not an integer column: the gate fails closed"
    return None


def _min_units(table: pa.Table, names: list[str]) -> pa.ChunkedArray | pa.Array:
    if table.num_rows == 0:
        return pa.array([], pa.int64())
    columns = [pc.fill_null(table.column(n).cast(pa.int64()), 0) for n in names]
    result = columns[0]
    for column in columns[1:]:
        result = pc.min_element_wise(result, column)
    return result


def _fit_bytes(table: pa.Table, max_bytes: int) -> pa.Table:
    """Longest prefix whose canonical IPC size fits (binary search: O(log n) serialisations)."""
    lo, hi = 0, table.num_rows  # invariant: prefix lo fits or lo == 0; prefix hi does not fit
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if len(canonical_ipc_bytes(table.slice(0, mid))) <= max_bytes:
            lo = mid
        else:
            hi = mid
    return canonical_table(table.slice(0, lo))


# ------------------------------------------------------------------------------------------------ PII


def _scan(table: pa.Table) -> tuple[Counter[str], bool]:
    try:
        from common.pii import scan_values

        counts: Counter[str] = Counter()
        for column in table.columns:
            values = list(_scannable(column.type, column.to_pylist()))
            if values:
                counts.update(scan_values(values))
        return counts, False
    except Exception:  # noqa: BLE001 - never release what could not be scanned
        return Counter(), True


def _scannable(dtype: pa.DataType, values: list[Any]) -> Iterable[str]:
    """The text of every cell that could carry an identifier (one string per cell)."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or _is_string_view(dtype):
        yield from (v for v in values if v)
    elif pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype) or pa.types.is_fixed_size_binary(dtype):
        yield from (v.decode("utf-8", "replace") for v in values if v)
    elif pa.types.is_integer(dtype) or (pa.types.is_decimal(dtype) and dtype.scale == 0):
        for v in values:
            if v is not None and len(str(abs(int(v)))) >= _MIN_NUMERIC_ID_DIGITS:
                yield str(abs(int(v)))
    elif pa.types.is_nested(dtype):
        for v in values:
            leaves = " ".join(_leaf_strings(v))
            if leaves:
                yield leaves


def _is_string_view(dtype: pa.DataType) -> bool:
    check = getattr(pa.types, "is_string_view", None)
    return bool(check and check(dtype))


def _leaf_strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    elif (
        isinstance(value, int)
        and not isinstance(value, bool)
        and len(str(abs(value))) >= _MIN_NUMERIC_ID_DIGITS
    ):
        yield str(abs(value))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaf_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaf_strings(item[1] if isinstance(item, tuple) and len(item) == 2 else item)


# ------------------------------------------------------------------------------------------------ bytes


def canonical_table(table: pa.Table) -> pa.Table:
    """No schema metadata, one chunk per column: the form the fingerprint is taken of."""
    return table.replace_schema_metadata(None).combine_chunks()


def canonical_ipc_bytes(table: pa.Table) -> bytes:
    """Arrow IPC stream of ``canonical_table(table)``: uncompressed, at most one record batch."""
    table = canonical_table(table)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _refuse_hidden(table: pa.Table) -> None:
    if any(name.startswith(HIDDEN_PREFIX) for name in table.column_names):
        raise ValueError("hidden __shuyu_ columns must never leave: pass the table returned by gate()")


def escape_formula(text: str) -> str:
    """Defuse spreadsheet formulas (OWASP CSV injection): a leading ``'`` before = + - @ TAB CR.

    >>> escape_formula("=cmd|'/c calc'!A1"), escape_formula("plain")
    ("'=cmd|'/c calc'!A1", 'plain')
    """
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv_bytes(table: pa.Table) -> bytes:
    """CSV for spreadsheets: UTF-8 with BOM, CRLF, header row; string cells (and headers) formula-escaped.

    Numbers stay numbers (``-1`` in an integer column is written as ``-1``); NULL is an empty cell.
    """
    _refuse_hidden(table)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_formula(name) for name in table.column_names])
    textual = [_is_textual(f.type) for f in table.schema]
    for batch in table.to_batches():
        columns = [column.to_pylist() for column in batch.columns]
        for row in zip(*columns):
            writer.writerow([_csv_cell(value, is_text) for value, is_text in zip(row, textual)])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def _is_textual(dtype: pa.DataType) -> bool:
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or _is_string_view(dtype)


def _csv_cell(value: Any, is_text: bool) -> str:
    if value is None:
        return ""
    if is_text:
        return escape_formula(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)  # a number, never a formula (also "-1", "-inf")
    # dates, times, nested values, binary: rendered as text, so escaped like text
    return escape_formula(_text(value))


def _text(value: Any) -> str:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def to_parquet_bytes(table: pa.Table) -> bytes:
    _refuse_hidden(table)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def to_json_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts: dates/times ISO-8601, decimals as numbers, NaN/inf as None, bytes as hex.

    >>> to_json_rows(pa.table({"s": pa.array([Decimal("489")], pa.decimal128(38, 0))}))
    [{'s': 489}]
    """
    _refuse_hidden(table)
    return [{key: _json_value(value) for key, value in row.items()} for row in table.to_pylist()]


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        # Numbers stay numbers: DuckDB's integer SUM is HUGEINT, i.e. DECIMAL(38,0) in Arrow. Integral values
        # are exact JSON integers; others are JSON numbers when a double holds them exactly (up to 15
        # significant digits), else exact text. CSV and Parquet always keep the exact decimal.
        if not value.is_finite():
            return None
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return str(value)
