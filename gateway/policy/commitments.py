"""Salted commitments to the input facts a party of an exchange may not see (ADR 0013).

A decision's ``input_hash`` is SHA-256 over the RFC 8785 form of its input in which each
withholdable fact (a JSON pointer, RFC 6901) is replaced by ``sha256:<hex>``, the hash of a
random salt followed by the fact's canonical JSON. The gateway keeps the salt and who supplied
the fact. A party that supplied a fact is shown it with its salt; the other party is shown only
the commitment. Either way the party rebuilds the hashed document from what it was shown and
checks ``input_hash`` against the signed audit entry, and learns nothing of a withheld fact
(the salt makes guessing a yes/no or a code useless).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from audit.entry import canonical

PREFIX = "sha256:"
SALT_BYTES = 16

# pointer -> {"salt": base64 salt, "by": the organisation that supplied the fact}
Commitments = dict[str, dict[str, str]]


def commit(value: Any, salt: str) -> str:
    """``sha256:<hex>`` of the salt's bytes followed by the value's canonical JSON."""
    return PREFIX + hashlib.sha256(base64.b64decode(salt) + canonical(value)).hexdigest()


def new_commitments(suppliers: Mapping[str, str]) -> Commitments:
    """A fresh salt for each pointer, with the organisation that supplied its fact."""
    return {
        pointer: {"salt": base64.b64encode(secrets.token_bytes(SALT_BYTES)).decode(), "by": by}
        for pointer, by in suppliers.items()
    }


def committed(
    document: dict[str, Any], commitments: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """The document ``input_hash`` is taken over: each committed fact replaced by its hash."""
    if not commitments:
        return document
    hashed = copy.deepcopy(document)
    for pointer, commitment in commitments.items():
        put(hashed, pointer, commit(get(document, pointer), commitment["salt"]))
    return hashed


def get(document: Any, pointer: str) -> Any:
    """The value at a JSON pointer of object keys and list indices (no escapes needed here)."""
    for part in pointer.split("/")[1:]:
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def put(document: Any, pointer: str, value: Any) -> None:
    *parents, last = pointer.split("/")[1:]
    for part in parents:
        document = document[int(part)] if isinstance(document, list) else document[part]
    if isinstance(document, list):
        document[int(last)] = value
    else:
        document[last] = value
