"""The burgerservicenummer: validation (elfproef) and the keyed pseudonym that replaces it.

The gateway never stores or logs a BSN. It keeps HMAC-SHA256(pseudonymisation key, BSN): the
same child always gets the same pseudonym, and without the key a leaked database does not say
who the children are. Error messages never repeat the number they refuse.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)
_SEPARATORS = re.compile(r"[\s.-]")


class InvalidBSNError(ValueError):
    pass


def validate_bsn(text: str) -> str:
    """The BSN as 9 digits, or InvalidBSNError: 9 digits (spaces, dots and dashes allowed
    between them) that pass the elfproef and are not all zero."""
    digits = _SEPARATORS.sub("", text)
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        raise InvalidBSNError("a BSN has 9 digits")
    if int(digits) == 0 or sum(w * int(d) for w, d in zip(_WEIGHTS, digits, strict=True)) % 11:
        raise InvalidBSNError("this is not a valid BSN (elfproef)")
    return digits


def pseudonym(bsn: str, key: bytes) -> str:
    """The child's keyed pseudonym; ``bsn`` must already be validated."""
    return hmac.new(key, b"bsn:" + bsn.encode("ascii"), hashlib.sha256).hexdigest()
