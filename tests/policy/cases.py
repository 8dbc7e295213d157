"""Shared decision cases: the same inputs go through both engines and the API tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.organisations.identifiers import OrganisationRole as R
from gateway.policy.decision import (
    BreakGlass,
    ConsentFact,
    ConsentScope,
    DecisionInput,
    Guardian,
    Level,
    Party,
    SafetyCode,
    Subject,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OPVANG = Party(organisation_id="opvang-1", role=R.OPVANG)
SCHOOL = Party(organisation_id="school-1", role=R.SCHOOL)
SCHOOL_2 = Party(organisation_id="school-2", role=R.SCHOOL)
SWV = Party(organisation_id="swv-1", role=R.SWV)
LEERPLICHT = Party(organisation_id="lp-1", role=R.LEERPLICHT)
MOTHER = Guardian(id="mother", gezag=True, accompanying=True)
FATHER = Guardian(id="father", gezag=True)
RESTRICTED_FATHER = Guardian(id="father", gezag=True, restricted=True)
WO_FIELDS = ["development_summary", "home_language", "vve_participation"]


def consent(
    grantors: list[str],
    fields: list[str],
    *,
    status: str = "active",
    purpose: str = "warme-overdracht",
    level: Level = Level.SUMMARY,
) -> ConsentFact:
    return ConsentFact(
        id="-".join(grantors),
        purpose=purpose,
        grantee=SCHOOL.organisation_id,
        grantors=grantors,
        fields=fields,
        level=level,
        status=status,  # type: ignore[arg-type]
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=30),
    )


def warme_overdracht(**changes: object) -> DecisionInput:
    base = DecisionInput(
        purpose="warme-overdracht",
        initiator="source",
        recipient=SCHOOL,
        source=OPVANG,
        requested_fields=WO_FIELDS,
        subject=Subject(age=4, safety_code=SafetyCode.GROEN, guardians=[MOTHER, FATHER]),
        consents=[consent(["mother"], WO_FIELDS), consent(["father"], WO_FIELDS)],
        now=NOW,
    )
    return base.model_copy(update=changes)


PLACEMENT_FIELDS = [
    "age",
    "school_level",
    "residence_municipality",
    "current_address",
    "previous_school",
    "safe_place_notice",
]


def ahead_of_time(grantors: list[str], gemeenten: list[str]) -> ConsentFact:
    """A consent given ahead of time to every school in some gemeenten."""
    return consent(grantors, WO_FIELDS).model_copy(
        update={
            "id": "ahead-" + "-".join(grantors),
            "grantee": None,
            "scope": ConsentScope(role=R.SCHOOL, gemeenten=gemeenten),
            "standing": True,
        }
    )


SCHOOL_IN_UTRECHT = SCHOOL.model_copy(update={"gemeente": "GM0344"})

CASES: dict[str, DecisionInput] = {
    "consented warme overdracht": warme_overdracht(),
    "consent ahead of time covers a school in its region": warme_overdracht(
        recipient=SCHOOL_IN_UTRECHT,
        consents=[ahead_of_time(["mother"], ["GM0344"]), ahead_of_time(["father"], ["GM0344"])],
    ),
    "consent ahead of time does not reach a school elsewhere": warme_overdracht(
        recipient=SCHOOL_IN_UTRECHT,
        consents=[ahead_of_time(["mother"], ["GM0307"]), consent(["father"], WO_FIELDS)],
    ),
    "extra fields stripped": warme_overdracht(requested_fields=[*WO_FIELDS, "bsn", "diagnosis"]),
    "awaiting the father": warme_overdracht(consents=[consent(["mother"], WO_FIELDS)]),
    "revoked consent": warme_overdracht(
        consents=[consent(["mother"], WO_FIELDS), consent(["father"], WO_FIELDS, status="revoked")]
    ),
    "restricted father not asked": warme_overdracht(
        subject=Subject(age=4, guardians=[MOTHER, RESTRICTED_FATHER]), consents=[]
    ),
    "child of 13 must co-consent": warme_overdracht(
        subject=Subject(age=13, guardians=[MOTHER, FATHER]),
        consents=[consent(["mother", "father"], WO_FIELDS)],
    ),
    "child of 16 decides alone": warme_overdracht(
        subject=Subject(age=16, guardians=[MOTHER, FATHER]),
        consents=[consent(["child"], WO_FIELDS)],
    ),
    "role not listed": warme_overdracht(recipient=LEERPLICHT),
    "unknown purpose": warme_overdracht(purpose="marketing"),
    "legal duty informs": DecisionInput(
        purpose="onderwijskundig-rapport",
        initiator="source",
        source=SCHOOL_2,
        recipient=SCHOOL,
        requested_fields=["learning_results", "onderwijsbehoeften", "bsn"],
        subject=Subject(age=9, guardians=[MOTHER, FATHER]),
        now=NOW,
    ),
    "placement before an offer": DecisionInput(
        purpose="plaatsing-opvang",
        initiator="source",
        source=OPVANG,
        recipient=SCHOOL,
        requested_fields=PLACEMENT_FIELDS,
        requested_level=Level.FULL,
        reason="an offer is near",
        subject=Subject(age=8, guardians=[MOTHER, RESTRICTED_FATHER]),
        consents=[
            consent(["mother"], PLACEMENT_FIELDS, purpose="plaatsing-opvang", level=Level.FULL)
        ],
        now=NOW,
    ),
    # Found by the generated conformance: under no safety code, a location field the consent
    # does not name escaped the consent check in regorus (and only there).
    "a location field needs consent under no safety code too": DecisionInput(
        purpose="plaatsing-opvang",
        initiator="source",
        source=OPVANG,
        recipient=SCHOOL,
        requested_fields=["residence_municipality", "school_level"],
        subject=Subject(age=8, guardians=[MOTHER, RESTRICTED_FATHER]),
        consents=[consent(["mother"], ["school_level"], purpose="plaatsing-opvang")],
        now=NOW,
    ),
    "rood placement to leerplicht": DecisionInput(
        purpose="plaatsing-opvang",
        initiator="source",
        source=OPVANG,
        recipient=LEERPLICHT,
        requested_fields=PLACEMENT_FIELDS,
        subject=Subject(
            age=8,
            safety_code=SafetyCode.ROOD,
            placement_confirmed=True,
            guardians=[MOTHER, RESTRICTED_FATHER],
        ),
        now=NOW,
    ),
    "exemption reason refused": DecisionInput(
        purpose="vrijstelling-status",
        initiator="recipient",
        source=LEERPLICHT,
        recipient=SWV,
        requested_fields=["exempted", "diagnosis"],
        subject=Subject(age=10),
        now=NOW,
    ),
    "break-glass": warme_overdracht(
        consents=[],
        requested_level=Level.FULL,
        break_glass=BreakGlass(justification="Veilig Thuis is involved; acute risk at home"),
    ),
}
