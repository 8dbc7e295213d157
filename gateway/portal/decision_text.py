"""A kept decision in plain Dutch, for the privacy officer: what the policy was told (the
input) and what it answered, line by line, with field labels from the purpose register and
guardians by their relation to the child, never by an id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.children.models import Guardian
from gateway.decisions.models import DecisionRecord
from gateway.organisations.service import organisation_names
from gateway.policy.bundle import PolicyBundle
from gateway.portal.household import field_label
from gateway.translations import SOURCE, local_date

ROLES = {
    "opvang": "opvang",
    "school": "school",
    "swv": "samenwerkingsverband",
    "leerplicht": "leerplicht",
    "gateway": "beheerder van de gateway",
}
LEVELS = {"signal": "signaal", "summary": "samenvatting", "full": "volledig dossier"}
BASES = {
    "consent": "toestemming",
    "legal_duty": "wettelijke plicht",
    "public_task": "publieke taak",
    "break_glass": "noodprocedure (break-glass)",
}
CONSENT_STATUS = {
    "proposed": "gevraagd, nog geen antwoord",
    "active": "gegeven",
    "declined": "geweigerd",
    "revoked": "ingetrokken",
    "expired": "verlopen",
}
EXCHANGE_STATUS = {
    "denied": "geweigerd",
    "awaiting_consent": "wacht op toestemming",
    "awaiting_delivery": "wacht op aanlevering",
    "delivered": "aangeleverd",
    "fetched": "opgehaald",
    "expired": "verlopen",
    "revoked": "toestemming ingetrokken",
    "withdrawn": "teruggetrokken",
}
OUTCOMES = {"allow": "toegestaan", "await_consent": "wacht op toestemming", "deny": "geweigerd"}
ACTIONS = {
    "decision": "beslissing",
    "break_glass": "beslissing met noodprocedure",
    "delivery": "opnieuw beslist bij het aanleveren",
    "fetch": "opnieuw beslist bij het ophalen",
}


@dataclass(frozen=True)
class DecisionText:
    record: DecisionRecord
    moment: str  # what the policy was told "now" was
    what: str  # the action, in Dutch
    outcome: str
    facts: list[tuple[str, str]]  # (label, value): the input
    answer: list[tuple[str, str]]  # (label, value): the answer


def describe(
    session: Session, bundle: PolicyBundle, rows: list[DecisionRecord]
) -> list[DecisionText]:
    """Each exchange decision in Dutch; ``bundle`` gives the purposes' titles and labels."""
    names = organisation_names(
        session,
        [r.input[side]["organisation_id"] for r in rows for side in ("source", "recipient")],
    )
    ids = {g["id"] for r in rows for g in r.input["subject"]["guardians"]}
    relations = dict(
        session.execute(select(Guardian.id, Guardian.relation).where(Guardian.id.in_(ids))).all()
    )
    return [_describe(row, bundle, names, relations) for row in rows]


def _describe(
    row: DecisionRecord, bundle: PolicyBundle, names: dict[str, str], relations: dict[str, str]
) -> DecisionText:
    given, said = row.input, row.answer
    spec = bundle.purpose(given["purpose"]) or {}
    subject = given["subject"]

    def party(side: str) -> str:
        who = given[side]
        name = names.get(who["organisation_id"], "een organisatie")
        return f"{name} ({ROLES.get(who['role'], who['role'])})"

    def labels(fields: list[str]) -> str:
        return ", ".join(field_label(spec, f) for f in fields) or "geen"

    def holder(h: str) -> str:
        return "het kind zelf" if h == "child" else relations.get(h, "een ouder of verzorger")

    guardians = [
        f"{holder(g['id'])}: "
        + ", ".join(
            [
                "met gezag" if g["gezag"] else "zonder gezag",
                *(
                    ["afgeschermd (wordt nooit gevraagd of geïnformeerd)"]
                    if g["restricted"]
                    else []
                ),
                *(["verblijft bij het kind"] if g["accompanying"] else []),
            ]
        )
        for g in subject["guardians"]
    ]
    consents = [
        f"{', '.join(holder(h) for h in c['grantors'])}: {CONSENT_STATUS[c['status']]}, "
        f"voor {labels(c['fields'])}, tot niveau {LEVELS[c['level']]}, "
        f"geldig van {_day(c['valid_from'])} tot {_day(c['valid_until'])}"
        for c in given["consents"]
    ]
    glass = given.get("break_glass")
    facts = [
        ("Doel", str(spec.get("title", given["purpose"]))),
        ("Van", party("source")),
        ("Naar", party("recipient")),
        ("Begonnen door", "de bron (aanbod)" if given["initiator"] == "source" else "de ontvanger"),
        ("Gevraagde gegevens", labels(given["requested_fields"])),
        ("Gevraagd niveau", LEVELS.get(given.get("requested_level") or "", "het standaardniveau")),
        ("Reden voor een hoger niveau", given.get("reason") or "geen"),
        ("Noodprocedure", f"ja: {glass['justification']}" if glass else "nee"),
        ("Leeftijd van het kind", f"{subject['age']} jaar"),
        ("Veiligheidscode", subject.get("safety_code") or "geen"),
        ("Plek aangeboden", "ja" if subject.get("placement_confirmed") else "nee"),
        ("Ouders en verzorgers", "; ".join(guardians) or "geen bekend"),
        ("Toestemmingen", "; ".join(consents) or "geen"),
    ]
    outcome = "allow" if said["allow"] else "deny"
    if not said["allow"] and any(o["type"] == "await_consent" for o in said["obligations"]):
        outcome = "await_consent"
    answer = [
        ("Uitkomst", OUTCOMES[outcome]),
        ("Grondslag", BASES.get(said.get("basis") or "", "geen")),
        ("Niveau", LEVELS.get(said.get("level") or "", "geen")),
        ("Gegevens die mogen", labels(said["fields"])),
        (
            "Weggelaten",
            "; ".join(f"{field_label(spec, f)}: {why}" for f, why in said["stripped"].items())
            or "niets",
        ),
        ("Redenen", " ".join(said["reasons"]) or "geen"),
    ]
    return DecisionText(
        record=row,
        moment=local_date(datetime.fromtimestamp(given["now"], UTC), SOURCE),
        what=ACTIONS.get(row.action, row.action),
        outcome=OUTCOMES[outcome],
        facts=facts,
        answer=answer,
    )


def _day(timestamp: Any) -> str:
    return local_date(datetime.fromtimestamp(int(timestamp), UTC).date(), SOURCE)
