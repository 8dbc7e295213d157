"""One consent as an HL7 FHIR R5 ``Consent`` resource (and as the gateway's own JSON).

Mapping (FHIR R5 Consent, with ISO/IEC TS 27560 in mind):

- ``status``: proposed → ``draft``, active → ``active``, declined → ``not-done``, revoked and
  expired → ``inactive``; ``decision``: ``permit`` unless declined.
- ``subject``: the child's audit reference (never the BSN or its pseudonym).
- ``grantor``: the holder: a guardian's id, or the child itself.
- ``grantee``: the receiving organisation; ``controller``: the source organisation.
- ``period`` and ``provision.period``: when the consent holds.
- ``provision.purpose``: the purpose; ``provision.code``: one code per field;
  ``provision.securityLabel``: the disclosure level.
- ``policyBasis.url``: the purpose's entry in the processing register.
- ``verification``: how the answer was given (a pseudonymous login reference and time);
  extensions carry the version of the explanation text shown and the revocation record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.consent.models import CHILD_HOLDER, Consent, ConsentStatus

SYSTEM = "urn:kindkoppeling"
FHIR_STATUS = {
    ConsentStatus.PROPOSED: "draft",
    ConsentStatus.ACTIVE: "active",
    ConsentStatus.DECLINED: "not-done",
    ConsentStatus.REVOKED: "inactive",
    ConsentStatus.EXPIRED: "inactive",
}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _grantor(consent: Consent) -> dict[str, str]:
    if consent.holder == CHILD_HOLDER:
        return {"type": "child", "id": CHILD_HOLDER}
    return {"type": "guardian", "id": consent.holder}


def as_record(
    consent: Consent, *, child_ref: str, source_id: str | None, register_uri: str | None
) -> dict[str, Any]:
    """The gateway's own view: what was agreed, by whom, for whom, how and until when."""
    return {
        "id": consent.id,
        "status": consent.status.value,
        "subject": {"child_ref": child_ref},
        "grantor": _grantor(consent),
        "grantee_id": consent.grantee_id,
        "scope": None
        if consent.scope_role is None
        else {
            "role": consent.scope_role,
            "gemeenten": list(consent.scope_gemeenten or []),
            "label": consent.scope_label,
        },
        "source_id": source_id,
        "exchange_id": consent.exchange_id,
        "purpose": consent.purpose,
        "processing_activity_id": register_uri,
        "fields": list(consent.fields),
        "level": consent.level,
        "period": {"start": _iso(consent.valid_from), "end": _iso(consent.valid_until)},
        "provenance": {
            "asked_at": _iso(consent.created_at),
            "answered_at": _iso(consent.answered_at),
            "login": consent.answered_via,
            "explanation_version": consent.explanation_version,
        },
        "revocation": None
        if consent.revoked_at is None
        else {"revoked_at": _iso(consent.revoked_at), "login": consent.revoked_via},
    }


def as_fhir(record: dict[str, Any]) -> dict[str, Any]:
    """The same record as a FHIR R5 Consent resource."""
    status = ConsentStatus(record["status"])
    period = {k: v for k, v in record["period"].items() if v}
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": record["id"],
        "status": FHIR_STATUS[status],
        "subject": {
            "identifier": {"system": f"{SYSTEM}:child-ref", "value": record["subject"]["child_ref"]}
        },
        "grantor": [
            {
                "identifier": {
                    "system": f"{SYSTEM}:{record['grantor']['type']}",
                    "value": record["grantor"]["id"],
                }
            }
        ],
        "grantee": [
            {"identifier": {"system": f"{SYSTEM}:organisation", "value": record["grantee_id"]}}
            if record["grantee_id"]
            else {"display": (record["scope"] or {}).get("label") or "a group of organisations"}
        ],
        "decision": "deny" if status == ConsentStatus.DECLINED else "permit",
        "provision": [
            {
                "purpose": [{"system": f"{SYSTEM}:purpose", "code": record["purpose"]}],
                "code": [
                    {"coding": [{"system": f"{SYSTEM}:field", "code": name}]}
                    for name in record["fields"]
                ],
                "securityLabel": [{"system": f"{SYSTEM}:level", "code": record["level"]}],
            }
        ],
    }
    if period:
        resource["period"] = period
        resource["provision"][0]["period"] = period
    if record["source_id"]:
        resource["controller"] = [
            {"identifier": {"system": f"{SYSTEM}:organisation", "value": record["source_id"]}}
        ]
    if record["processing_activity_id"]:
        resource["policyBasis"] = {"url": record["processing_activity_id"]}
    provenance = record["provenance"]
    if provenance["answered_at"]:
        resource["date"] = provenance["answered_at"][:10]
        resource["verification"] = [
            {
                "verified": True,
                "verificationType": {"text": "login"},
                "verificationDate": [provenance["answered_at"]],
                **(
                    {"verifiedWith": {"identifier": {"value": provenance["login"]}}}
                    if provenance["login"]
                    else {}
                ),
            }
        ]
    extensions = []
    if provenance["explanation_version"]:
        extensions.append(
            {
                "url": f"{SYSTEM}:fhir:explanation-version",
                "valueString": provenance["explanation_version"],
            }
        )
    if record["revocation"]:
        extensions.append(
            {
                "url": f"{SYSTEM}:fhir:revoked-at",
                "valueDateTime": record["revocation"]["revoked_at"],
            }
        )
    if extensions:
        resource["extension"] = extensions
    return resource
