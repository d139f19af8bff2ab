"""Identity numbers checked with python-stdnum: the resident identity card number (GB 11643, with its birth
date and ISO 7064 check character) and the unified social credit code (GB 32100). Errors name the field and
never echo the value.

>>> resident_id("11010519491231002x")
'11010519491231002X'
>>> resident_id("123")
Traceback (most recent call last):
...
common.errors.InvalidInput: the resident ID number is not valid (length, birth date or check character)
>>> uscc("91350100M000100Y43")
'91350100M000100Y43'
"""

from __future__ import annotations

from stdnum.cn import ric
from stdnum.cn import uscc as _uscc
from stdnum.exceptions import ValidationError

from common.errors import InvalidInput


def resident_id(value: str, field: str = "id_number") -> str:
    """The normalized 18-character resident ID number, or InvalidInput naming ``field``."""
    try:
        return ric.validate(value)
    except (ValidationError, TypeError, ValueError):
        raise InvalidInput(
            "the resident ID number is not valid (length, birth date or check character)", field=field
        )


def uscc(value: str, field: str = "unified_code") -> str:
    """The normalized unified social credit code, or InvalidInput naming ``field``."""
    try:
        return _uscc.validate(value)
    except (ValidationError, TypeError, ValueError):
        raise InvalidInput(
            "the unified social credit code is not valid (format or check character)", field=field
        )


def valid_resident_id(value: str) -> bool:
    try:
        resident_id(value)
    except InvalidInput:
        return False
    return True


def valid_uscc(value: str) -> bool:
    try:
        uscc(value)
    except InvalidInput:
        return False
    return True
