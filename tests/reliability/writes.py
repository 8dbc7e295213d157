"""The writes the reliability tests make through the API: a child with a guardian, and a warme
overdracht offered about that child."""

from __future__ import annotations

from typing import Any

CHILD = {"bsn": "111222333", "birth_date": "2021-05-01"}
GUARDIANS = {**CHILD, "guardians": [{"relation": "moeder", "gezag": True}]}


def offer(counterparty_id: str) -> dict[str, Any]:
    return {
        "purpose": "warme-overdracht",
        "direction": "offer",
        "counterparty_id": counterparty_id,
        "child": CHILD,
        "requested_fields": ["development_summary", "home_language"],
    }
