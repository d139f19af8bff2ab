"""Certificate codes with a check character, Ed25519-signed certificate documents, and QR codes (R10, R22).

A code reads ``50-2025-D-000123-0``: Chongqing's division prefix, the year, D (dataset) or P (product or
service), a serial, and an ISO 7064 MOD 11-2 check character (0-9 or X) over the digits, so any single
mistyped digit and any swap of two adjacent digits is caught.

>>> code = make_code(2025, "dataset", 123)
>>> code, code_is_valid(code)
('50-2025-D-000123-0', True)
>>> code_is_valid("50-2025-D-000132-0")
False
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from stdnum.iso7064 import mod_11_2

from common.settings import Settings

PREFIX = "50"
TYPE_LETTER = {"dataset": "D", "product": "P"}
TYPE_DIGIT = {"D": "1", "P": "2"}
CODE = re.compile(r"^50-(\d{4})-([DP])-(\d{6})-([0-9X])$")


def _check_char(digits: str) -> str:
    """ISO 7064 MOD 11-2 (the check character of PRC resident ID numbers), from python-stdnum."""
    return mod_11_2.calc_check_digit(digits)


def _digits(year: str, letter: str, serial: str) -> str:
    return PREFIX + year + TYPE_DIGIT[letter] + serial


def make_code(year: int, subject_type: str, serial: int) -> str:
    letter = TYPE_LETTER[subject_type]
    year_text, serial_text = f"{year:04d}", f"{serial:06d}"
    return (
        f"{PREFIX}-{year_text}-{letter}-{serial_text}-{_check_char(_digits(year_text, letter, serial_text))}"
    )


def code_is_valid(code: str) -> bool:
    match = CODE.match(code or "")
    if match is None:
        return False
    year, letter, serial, check = match.groups()
    return _check_char(_digits(year, letter, serial)) == check


# --- signing key --------------------------------------------------------------------------------------------


def key_path(settings: Settings) -> Path:
    return settings.data_dir / "keys" / "registry-ed25519.pem"


def load_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The registration institution's signing key, created on first use (mode 0600) under the data
    directory."""
    path = key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"{path} does not hold an Ed25519 private key")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(raw)
    return digest.finalize().hex()[:32]


def sign(key: Ed25519PrivateKey, document: str) -> str:
    return key.sign(document.encode("utf-8")).hex()


def verify(public: Ed25519PublicKey, document: str, signature_hex: str) -> bool:
    """True when ``signature_hex`` is the registration institution's signature over exactly ``document``."""
    try:
        public.verify(bytes.fromhex(signature_hex), document.encode("utf-8"))
    except (InvalidSignature, ValueError):
        return False
    return True


# --- QR code ------------------------------------------------------------------------------------------------


def qr_svg(url: str) -> bytes:
    """An SVG QR code of ``url`` (the public verification endpoint); pure Python, no imaging library."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
