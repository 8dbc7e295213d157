"""A consent receipt for the person who gave the consent, with the elements of ISO/IEC TS
27560:2023 ("Consent record information structure"): the record and the person (by a
pseudonymous reference), the controllers, the notice that was shown, each purpose with its legal
basis, the data (field names), the recipients and how long, how the consent was collected, its
state now and every event of its life (given, withdrawn, expired).

Field names follow the standard's element names in snake case; values are plain JSON (times in
ISO 8601). Hand-written: a receipt is a projection of one consent row, and no maintained library
produces 27560 records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.consent.models import CHILD_HOLDER, Consent, ConsentStatus

SCHEMA_VERSION = "ISO/IEC TS 27560:2023"
GATEWAY = "Kindkoppeling"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def receipt(
    consent: Consent,
    *,
    spec: dict[str, Any],
    recipient: str,
    child_ref: str,
    now: datetime,
) -> dict[str, Any]:
    """``recipient``: who it was given to, as the holder saw it; ``child_ref``: the random
    reference the audit log uses for the child (never a BSN)."""
    events = [
        {"event_type": "given", "event_time": _iso(consent.answered_at or consent.valid_from)}
    ]
    if consent.status == ConsentStatus.DECLINED:
        events = [{"event_type": "refused", "event_time": _iso(consent.answered_at)}]
    if consent.revoked_at is not None:
        events.append({"event_type": "withdrawn", "event_time": _iso(consent.revoked_at)})
    expired = consent.status == ConsentStatus.EXPIRED or (
        consent.status == ConsentStatus.ACTIVE
        and consent.valid_until is not None
        and consent.valid_until <= now
    )
    if expired:
        events.append({"event_type": "expired", "event_time": _iso(consent.valid_until)})
    state = "expired" if expired else consent.status.value
    fields = spec.get("fields", {})
    return {
        "schema_version": SCHEMA_VERSION,
        "record_id": consent.id,
        "receipt_id": f"{consent.id}:{int(now.timestamp())}",
        "receipt_issued_at": _iso(now),
        "pii_principal_id": {
            "child_ref": child_ref,
            "given_by": "child" if consent.holder == CHILD_HOLDER else "parent",
        },
        "pii_controllers": [
            {"name": recipient, "role": "recipient"},
            {"name": GATEWAY, "role": "intermediary"},
        ],
        "presented_notice": {
            "notice_id": spec.get("uri"),
            "version": consent.explanation_version,
            "language": "nl",
        },
        "purposes": [
            {
                "purpose_id": spec.get("uri") or consent.purpose,
                "purpose": spec.get("title", consent.purpose),
                "description": spec.get("description", ""),
                "lawful_basis": "consent (AVG art. 6(1)(a))",
                "pii_information": [
                    {"field": name, "label": fields.get(name, {}).get("label", name)}
                    for name in consent.fields
                ],
                "level": consent.level,
                "pii_recipients": [recipient],
                "consent_ahead_of_time": consent.standing,
                "storage_duration_days": spec.get("retention_days"),
            }
        ],
        "collection_method": "Kindkoppeling portal, logged in with DigiD",
        "consent_type": "expressed",
        "validity": {"from": _iso(consent.valid_from), "until": _iso(consent.valid_until)},
        "consent_state": state,
        "events": events,
        "withdrawal": "In Kindkoppeling, under 'Toestemmingen die nu gelden': Intrekken.",
        "jurisdiction": "NL",
    }
