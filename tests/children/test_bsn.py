"""BSN validation (elfproef) and pseudonyms: pure, no database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.children.bsn import InvalidBSNError, pseudonym, validate_bsn
from tests.factories import with_check_digit


@pytest.mark.parametrize("bsn", ["111222333", "123456782", "1112.22.333", "111 222 333"])
def test_valid_numbers_pass(bsn: str) -> None:
    assert validate_bsn(bsn) == bsn.replace(".", "").replace(" ", "")


@pytest.mark.parametrize(
    "bsn", ["111222334", "12345678", "1234567890", "000000000", "11122233x", "١١١٢٢٢٣٣٣", ""]
)
def test_invalid_numbers_fail_without_repeating_them(bsn: str) -> None:
    with pytest.raises(InvalidBSNError) as refused:
        validate_bsn(bsn)
    assert bsn not in str(refused.value) or not bsn


@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.integers(0, 8), st.integers(1, 9))
def test_every_single_digit_error_is_caught(prefix: str, position: int, delta: int) -> None:
    bsn = with_check_digit(prefix)
    if bsn is None or int(bsn) == 0:
        return
    assert validate_bsn(bsn) == bsn
    wrong = bsn[:position] + str((int(bsn[position]) + delta) % 10) + bsn[position + 1 :]
    with pytest.raises(InvalidBSNError):
        validate_bsn(wrong)


def test_pseudonyms_are_stable_keyed_and_do_not_contain_the_number() -> None:
    key, other_key = b"k" * 32, b"o" * 32

    assert pseudonym("111222333", key) == pseudonym("111222333", key)
    assert pseudonym("111222333", key) != pseudonym("123456782", key)
    assert pseudonym("111222333", key) != pseudonym("111222333", other_key)
    assert "111222333" not in pseudonym("111222333", key)
