"""External identifiers of organisations, validated and normalised per role.

| role        | identifier                                                              |
|-------------|-------------------------------------------------------------------------|
| opvang      | LRK number (9 digits, Landelijk Register Kinderopvang), or, for shelters |
|             | and residential youth care that are not in the LRK, a KvK number (8)    |
| school      | BRIN number: 2 digits + 2 letters (``12AB``), optionally a 2-digit      |
|             | vestiging suffix (``12AB01``)                                           |
| swv         | DUO code of the samenwerkingsverband: ``PO`` or ``VO`` + 4 digits       |
|             | (``PO 27-01`` is written ``PO2701``)                                    |
| leerplicht  | CBS gemeentecode: ``GM`` + 4 digits (``GM0344``; ``0344`` is accepted)  |
| gateway     | KvK number (8 digits) of the organisation that operates the gateway     |
"""

from __future__ import annotations

import re
from enum import StrEnum


class OrganisationRole(StrEnum):
    OPVANG = "opvang"
    SCHOOL = "school"
    SWV = "swv"
    LEERPLICHT = "leerplicht"
    # The operator of the gateway: registers organisations, never a party to an exchange.
    GATEWAY = "gateway"


_RULES: dict[OrganisationRole, tuple[re.Pattern[str], str]] = {
    OrganisationRole.OPVANG: (
        re.compile(r"^(\d{9}|\d{8})$", re.ASCII),
        "an LRK number (9 digits) or, for a shelter, a KvK number (8 digits)",
    ),
    OrganisationRole.SCHOOL: (
        re.compile(r"^\d{2}[A-Z]{2}(\d{2})?$", re.ASCII),
        "a BRIN number: 2 digits and 2 letters, optionally a 2-digit vestiging (12AB, 12AB01)",
    ),
    OrganisationRole.SWV: (
        re.compile(r"^(PO|VO)\d{4}$", re.ASCII),
        "a samenwerkingsverband code: PO or VO and 4 digits (PO2701)",
    ),
    OrganisationRole.LEERPLICHT: (
        re.compile(r"^GM\d{4}$", re.ASCII),
        "a CBS gemeentecode: GM and 4 digits (GM0344)",
    ),
    OrganisationRole.GATEWAY: (re.compile(r"^\d{8}$", re.ASCII), "a KvK number (8 digits)"),
}


def normalise_identifier(role: OrganisationRole, raw: str) -> str:
    """Return the canonical form of ``raw`` for ``role``, or raise ``ValueError`` saying why."""
    value = re.sub(r"[\s.-]", "", raw).upper()
    if role is OrganisationRole.LEERPLICHT and re.fullmatch(r"\d{4}", value, re.ASCII):
        value = "GM" + value
    pattern, expected = _RULES[role]
    if not pattern.fullmatch(value):
        raise ValueError(f"'{raw}' is not {expected}")
    return value


def normalise_gemeente(raw: str) -> str:
    """A CBS gemeentecode in its canonical form (``GM0344``), or ``ValueError``."""
    return normalise_identifier(OrganisationRole.LEERPLICHT, raw)
