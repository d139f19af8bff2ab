"""Publishing and checking the chain's head: anchors and signed checkpoints.

The hash chain alone proves that no event *inside* the log was changed. Whoever controls the database can
still cut the tail and rewrite ``audit_head``; only a copy of an earlier head, kept outside, exposes that.
Two forms of such a copy:

* an **anchor** ``SEQ:HASH`` (what ``shuyu audit verify`` prints and ``GET /api/v1/audit/head`` serves):
  publish it somewhere the operator does not control, and pass it back with ``--expect-head``;
* a **checkpoint**: the same pair in a small JSON document signed with the platform's Ed25519 key (the key
  the registry signs certificates with), made periodically. Anyone holding one checks its signature against
  the published public key, then verifies the chain with it as the anchor: a truncation or rewrite of any
  event up to it is detected.

>>> from datetime import UTC
>>> print(document(seq=3, hash="abcd", at=datetime(2025, 1, 2, 2, 0, tzinfo=UTC), key_id="k1"))
{"at":"2025-01-02T02:00:00.000000Z","hash":"abcd","key_id":"k1","seq":3,"type":"shuyu.audit.checkpoint","v":1}
>>> parse_anchor("3:" + "AB" * 32)[0]
3
>>> parse_anchor("3:xyz")
Traceback (most recent call last):
ValueError: an anchor is SEQ:HASH with a 64 or 128 hex-digit hash
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit.chain import format_at, head
from audit.store import AuditCheckpointRow

TYPE = "shuyu.audit.checkpoint"
_ANCHOR = re.compile(r"^([1-9][0-9]{0,17}):([0-9a-f]{64}|[0-9a-f]{128})$")


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: datetime
    key_id: str
    document: str
    signature: str

    def to_json(self) -> dict[str, str]:
        """What a holder keeps: the signed document and its signature (everything else is inside)."""
        return {"document": self.document, "signature": self.signature}


def document(*, seq: int, hash: str, at: datetime, key_id: str) -> str:
    payload = {"v": 1, "type": TYPE, "seq": int(seq), "hash": hash, "at": format_at(at), "key_id": key_id}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def parse_anchor(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` -> (seq, hash)."""
    match = _ANCHOR.match((text or "").strip().lower())
    if not match:
        raise ValueError("an anchor is SEQ:HASH with a 64 or 128 hex-digit hash")
    return int(match.group(1)), match.group(2)


def make(session: Session, key: Ed25519PrivateKey, key_id: str, now: datetime) -> Checkpoint | None:
    """Sign the current head unless the latest checkpoint already covers it (or the log is empty)."""
    current = head(session)
    if current is None or current[0] == 0:
        return None
    last = latest(session)
    if last is not None and last.seq >= current[0]:
        return last
    seq, hash_ = current
    text = document(seq=seq, hash=hash_, at=now, key_id=key_id)
    row = AuditCheckpointRow(
        seq=seq, hash=hash_, at=now, key_id=key_id, document=text, signature=key.sign(text.encode()).hex()
    )
    try:
        with session.begin_nested():  # another process may sign the same head at the same moment
            session.add(row)
    except IntegrityError:
        return latest(session)
    return _checkpoint(row)


def latest(session: Session) -> Checkpoint | None:
    row = session.scalar(select(AuditCheckpointRow).order_by(AuditCheckpointRow.seq.desc()).limit(1))
    return _checkpoint(row) if row else None


def _checkpoint(row: AuditCheckpointRow) -> Checkpoint:
    return Checkpoint(row.seq, row.hash, row.at, row.key_id, row.document, row.signature)


def check(held: object, public: Ed25519PublicKey) -> tuple[int, str]:
    """Check a held checkpoint (``{"document": ..., "signature": ...}``) and return its anchor.

    Raises ``ValueError`` naming the problem: not a checkpoint, or the signature is not the platform's.
    """
    if not isinstance(held, dict) or not isinstance(held.get("document"), str):
        raise ValueError("a checkpoint is a JSON object with 'document' and 'signature'")
    try:
        public.verify(bytes.fromhex(str(held.get("signature", ""))), held["document"].encode())
    except (InvalidSignature, ValueError):
        raise ValueError("the checkpoint's signature does not verify with the platform key") from None
    try:
        payload = json.loads(held["document"])
        if payload.get("type") != TYPE:
            raise ValueError
        return parse_anchor(f"{payload['seq']}:{payload['hash']}")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError("the signed document is not an audit checkpoint") from None
