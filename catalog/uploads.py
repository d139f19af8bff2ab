"""Recording an uploaded version and confirming its column metadata.

The file work (staging, parsing, Parquet writing) is in ``catalog.ingest``; this module keeps the rows
consistent with it. A first upload creates the columns from the inferred schema with profiling suggestions;
the department then confirms them (type is fixed by the data, everything else is the department's call).
Later uploads must match the confirmed schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from catalog import ingest
from catalog.service import column_info, columns_of
from catalog.store import ColumnRow, DatasetRow, TableRow, VersionRow
from common.errors import InvalidInput
from common.types import ColumnInfo, Level


def record_upload(
    session: Session,
    dataset: DatasetRow,
    table: TableRow,
    *,
    version: int,
    inferred: Sequence[ColumnInfo],
    suggestions: Mapping[str, object],
    path: str,
    sha256: str,
    size: int,
    rows: int,
    filename: str,
    uploaded_by: str,
    now: datetime,
) -> VersionRow:
    existing = columns_of(session, table)
    if existing and table.schema_confirmed:
        ingest.check_compatible([column_info(c) for c in existing], inferred)
    else:
        for row in existing:  # an unconfirmed schema is replaced by the newer upload's
            session.delete(row)
        session.flush()
        _create_columns(session, table, inferred, suggestions)
    row = VersionRow(
        table_id=table.id,
        version=version,
        path=path,
        sha256=sha256,
        bytes=size,
        rows=rows,
        source_filename=filename[:255],
        uploaded_by=uploaded_by,
        created_at=now,
    )
    session.add(row)
    table.current_version = version
    dataset.version += 1
    dataset.updated_at = now
    session.flush()
    return row


def _create_columns(
    session: Session, table: TableRow, inferred: Sequence[ColumnInfo], suggestions: Mapping[str, object]
) -> None:
    for position, column in enumerate(inferred):
        hint = suggestions.get(column.name)
        session.add(
            ColumnRow(
                table_id=table.id,
                position=position,
                name=column.name,
                type=column.type,
                description="",
                level=Level.general.value,
                personal=False,
                pii_tags="",
                suggested_level=getattr(hint, "level", Level.general).value if hint else None,
                suggested_personal=getattr(hint, "personal", None),
                suggested_tags=",".join(getattr(hint, "pii_tags", ())) if hint else None,
                suggested_lower=getattr(hint, "lower", None),
                suggested_upper=getattr(hint, "upper", None),
                suggestion_reason=getattr(hint, "reason", None),
                confirmed=False,
            )
        )


@dataclass(frozen=True)
class ColumnUpdate:
    name: str
    description: str | None = None
    level: str | None = None
    personal: bool | None = None
    pii_tags: tuple[str, ...] | None = None
    lower: float | None = None
    upper: float | None = None


def confirm_columns(session: Session, table: TableRow, updates: Sequence[ColumnUpdate]) -> list[ColumnRow]:
    """Confirm the schema: listed columns take the given metadata, unlisted ones take the suggestion."""
    rows = {c.name: c for c in columns_of(session, table)}
    if not rows:
        raise InvalidInput("upload data before confirming the schema", field="columns")
    unknown = sorted({u.name for u in updates} - set(rows))
    if unknown:
        raise InvalidInput(f"unknown columns: {', '.join(unknown)}", field="columns")
    by_name = {u.name: u for u in updates}
    for name, row in rows.items():
        _apply(row, by_name.get(name))
    table.schema_confirmed = True
    session.flush()
    return list(rows.values())


def _apply(row: ColumnRow, update: ColumnUpdate | None) -> None:
    level = (update.level if update and update.level else None) or row.suggested_level or row.level
    try:
        row.level = Level(level).value
    except ValueError:
        raise InvalidInput(f"column {row.name}: level must be one of {', '.join(Level)}", field="level")
    row.personal = _pick(update and update.personal, row.suggested_personal, row.personal)
    tags = update.pii_tags if update and update.pii_tags is not None else None
    row.pii_tags = ",".join(tags) if tags is not None else (row.suggested_tags or row.pii_tags)
    if update and update.description is not None:
        row.description = update.description
    lower = update.lower if update and update.lower is not None else row.suggested_lower
    upper = update.upper if update and update.upper is not None else row.suggested_upper
    if (lower is None) != (upper is None) or (lower is not None and lower > upper):
        raise InvalidInput(
            f"column {row.name}: bounds need both lower and upper, lower <= upper", field="bounds"
        )
    if lower is not None and row.type not in {
        "BIGINT",
        "INTEGER",
        "DOUBLE",
        "SMALLINT",
        "TINYINT",
        "FLOAT",
        "DECIMAL",
        "HUGEINT",
    }:
        raise InvalidInput(f"column {row.name}: bounds apply to numeric columns only", field="bounds")
    row.lower, row.upper = lower, upper
    row.confirmed = True


def _pick(*values):
    return next(v for v in values if v is not None)
