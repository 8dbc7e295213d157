"""Identifier validation per role (pure; no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.organisations.identifiers import OrganisationRole, normalise_identifier

R = OrganisationRole


@pytest.mark.parametrize(
    ("role", "raw", "canonical"),
    [
        (R.SCHOOL, "12ab", "12AB"),
        (R.SCHOOL, "12 AB 01", "12AB01"),
        (R.OPVANG, "123456789", "123456789"),
        (R.OPVANG, "8765.4321", "87654321"),
        (R.SWV, "PO 27-01", "PO2701"),
        (R.SWV, "vo2201", "VO2201"),
        (R.LEERPLICHT, "0344", "GM0344"),
        (R.LEERPLICHT, "gm0344", "GM0344"),
        (R.GATEWAY, "90000001", "90000001"),
    ],
)
def test_valid_identifiers_are_normalised(role: R, raw: str, canonical: str) -> None:
    assert normalise_identifier(role, raw) == canonical


@pytest.mark.parametrize(
    ("role", "raw"),
    [
        (R.SCHOOL, "123456789"),
        (R.SCHOOL, "AB12"),
        (R.OPVANG, "12AB"),
        (R.OPVANG, "1234567"),
        (R.SWV, "PO27"),
        (R.SWV, "XX2701"),
        (R.LEERPLICHT, "GM344"),
        (R.GATEWAY, "1234567890"),
        (R.SCHOOL, "'; DROP TABLE organisations; --"),
    ],
)
def test_invalid_identifiers_say_what_is_expected(role: R, raw: str) -> None:
    with pytest.raises(ValueError, match="is not"):
        normalise_identifier(role, raw)


@given(role=st.sampled_from(list(R)), raw=st.text(max_size=20))
def test_normalisation_is_idempotent_or_refuses(role: R, raw: str) -> None:
    try:
        once = normalise_identifier(role, raw)
    except ValueError:
        return
    assert normalise_identifier(role, once) == once
    assert once.isascii() and once.isalnum()


@pytest.mark.parametrize(
    "raw", ["\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669", "\uff11" * 9]
)
def test_non_ascii_digits_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="is not"):
        normalise_identifier(R.OPVANG, raw)
