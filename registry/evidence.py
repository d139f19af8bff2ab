"""Evidence (存证, R13): a digest over the stored Parquet files plus a manifest, and the R12 conflict check.

The manifest names each table, its row count and schema (read from the Parquet footer, not from anyone's
claim) and each file's digest; the evidence digest is the hash of the canonical manifest. A later version
whose manifest hashes differently no longer matches the registered evidence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from common.errors import Forbidden, InvalidInput

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Evidence:
    sha256: str
    sm3: str | None
    manifest: dict

    @property
    def manifest_json(self) -> str:
        return canonical(self.manifest)


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sm3_available() -> bool:
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


def _file_digests(path: Path, with_sm3: bool) -> tuple[str, str | None, int]:
    sha = hashlib.sha256()
    sm3 = hashlib.new("sm3") if with_sm3 else None
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
            if sm3 is not None:
                sm3.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), sm3.hexdigest() if sm3 is not None else None, size


def compute(
    subject_type: str, subject_id: str, files: Mapping[str, Path], *, with_sm3: bool = False
) -> Evidence:
    """Evidence over ``files`` (table name -> stored Parquet file) of one subject."""
    if not files:
        raise InvalidInput(
            "there is no stored data to evidence: upload and confirm at least one table", field="dataset"
        )
    if with_sm3 and not sm3_available():
        raise InvalidInput("SM3 is not available in this Python build", field="algorithm")
    tables, sm3_files = [], {}
    for name in sorted(files):
        path = Path(files[name])
        sha, sm3, size = _file_digests(path, with_sm3)
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema()
        tables.append(
            {
                "table": name,
                "rows": meta.num_rows,
                "bytes": size,
                "sha256": sha,
                "schema": [{"name": f.name, "type": str(f.type)} for f in schema],
            }
        )
        if sm3 is not None:
            sm3_files[name] = sm3
    # The SHA-256 digest covers the manifest alone, so it does not depend on whether SM3 is configured;
    # the SM3 digest covers the manifest plus each file's SM3 digest.
    manifest = {"subject_type": subject_type, "subject_id": subject_id, "tables": tables}
    sm3_digest = None
    if with_sm3:
        manifest_sm3 = {**manifest, "sm3_files": sm3_files}
        sm3_digest = hashlib.new("sm3", canonical(manifest_sm3).encode()).hexdigest()
        shown = manifest_sm3
    else:
        shown = manifest
    return Evidence(
        sha256=hashlib.sha256(canonical(manifest).encode()).hexdigest(), sm3=sm3_digest, manifest=shown
    )


def check_third_party(
    third_party_org: str,
    *,
    registrants: Iterable[str],
    registrars: Iterable[str],
    affiliations: Iterable[str],
) -> None:
    """R12: a third party may not be the registrant, the registration institution, or affiliated with either.

    ``affiliations`` are the organizations declared overlapping, subordinate or affiliated with the third
    party (the relation is symmetric).

    >>> check_third_party("t", registrants=["r"], registrars=["g"], affiliations=["x"])
    >>> check_third_party("t", registrants=["r"], registrars=["g"], affiliations=["g"])
    Traceback (most recent call last):
    ...
    common.errors.Forbidden: the evidence institution is affiliated with the registration institution (R12)
    """
    registrant_set, registrar_set, related = set(registrants), set(registrars), set(affiliations)
    if third_party_org in registrant_set:
        raise Forbidden("the evidence institution may not be the registrant itself (R12)", field="registrant")
    if third_party_org in registrar_set:
        raise Forbidden("the evidence institution may not be the registration institution (R12)")
    if related & registrant_set:
        raise Forbidden(
            "the evidence institution is affiliated with the registrant (R12)", field="registrant"
        )
    if related & registrar_set:
        raise Forbidden("the evidence institution is affiliated with the registration institution (R12)")
