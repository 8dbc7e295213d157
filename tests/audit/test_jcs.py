"""The canonical encoder's fast path writes exactly the bytes of ``rfc8785`` (the reference
implementation of RFC 8785), on any JSON value and on every kind of audit entry, and refuses
what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from audit import jcs
from audit.entry import Actor, Entry

# Every text Hypothesis makes: any code point, lone surrogates and control characters included.
texts = st.text(st.characters(codec=None), max_size=20)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts, inner, max_size=5),
    max_leaves=30,
)


def reference(value: Any) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except Exception as exc:
        return type(exc)


@settings(max_examples=2000, deadline=None)
@given(json_values)
@example({"\ue000": 1, "\U0001f600": 2})  # code point order differs from UTF-16's here
@example({"a": 2**53 - 1, "b": -(2**53 - 1)})
@example({"a": 2**53})
@example(['\x00\x1f\x7f\u2028"\\', 1.0, -0.0, 1e21])
def test_any_json_value_gets_the_bytes_rfc8785_writes(value: Any) -> None:
    expected = reference(value)

    try:
        found: bytes | type[Exception] = jcs.canonical(value)
    except Exception as exc:
        found = type(exc)

    assert found == expected


names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
maybe_text = st.none() | texts
entries = st.builds(
    Entry,
    action=st.sampled_from(
        [
            "decision",
            "break_glass",
            "delivery",
            "fetch",
            "view",
            "shred",
            "consent.grant",
            "consent.revoke",
            "exchange.expire",
            "admin.organisation.status",
            "audit.read",
        ]
    )
    | texts,
    actor=st.builds(Actor, type=texts, id=texts, role=maybe_text),
    outcome=texts,
    on_behalf_of=maybe_text,
    client_id=maybe_text,
    child_ref=maybe_text,
    purpose=maybe_text,
    processing_activity_id=maybe_text,
    legal_basis=maybe_text,
    fields=st.lists(names, max_size=5).map(tuple),
    level=maybe_text,
    reasons=st.lists(texts, max_size=3).map(tuple),
    policy_version=maybe_text,
    exchange_id=maybe_text,
    requester_id=maybe_text,
    source_id=maybe_text,
    emergency=st.booleans(),
    subject=maybe_text,
    trace_id=maybe_text,
    span_id=maybe_text,
    input_hash=st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    decision_hash=st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    extra=st.dictionaries(names, texts, max_size=3),
)


@settings(max_examples=1000, deadline=None)
@given(entries, st.integers(min_value=0, max_value=2**40), st.datetimes(timezones=st.just(UTC)))
def test_every_kind_of_entry_takes_the_fast_path_to_the_same_bytes(
    entry: Entry, index: int, recorded_at: datetime
) -> None:
    document = entry.document(index, recorded_at)
    surrogates = any(jcs._has_surrogate(t) for t in _texts(document))  # no UTF-8 for them

    assert jcs._plain(document) is not surrogates  # entries hold no floats and ASCII keys
    if not surrogates:
        assert jcs.canonical(document) == rfc8785.dumps(document)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (k, *_texts(v))]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []
