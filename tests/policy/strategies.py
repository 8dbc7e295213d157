"""Hypothesis strategies for policy inputs: every purpose (and one the register does not know),
every role on either side, ages 0 to 18, every safety code, placement, guardians with and without
gezag, restricted or accompanying, consents in every state and period, break-glass with short
and long justifications, levels and reasons. Built as :class:`DecisionInput`, so each document
is one the gateway could send."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from gateway.organisations.identifiers import OrganisationRole
from gateway.policy.bundle import PolicyBundle, default_policy_dir
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
from tests.policy.cases import NOW

REGISTER = PolicyBundle.load(default_policy_dir()).data["purposes"]
PURPOSES = [*sorted(REGISTER), "marketing"]
EXTRA_FIELDS = ["bsn", "diagnosis", "doctor_statement", "exemption_reason", "name"]
ORGANISATIONS = ["org-1", "org-2"]
GUARDIAN_IDS = ["mother", "father", "carer"]
GEMEENTEN = ["GM0344", "GM0307", "GM0363"]

parties = st.builds(
    Party,
    organisation_id=st.sampled_from(ORGANISATIONS),
    role=st.sampled_from(list(OrganisationRole)),
)
guardians = st.lists(
    st.builds(
        Guardian,
        id=st.sampled_from(GUARDIAN_IDS),
        gezag=st.booleans(),
        restricted=st.booleans(),
        accompanying=st.booleans(),
    ),
    max_size=3,
    unique_by=lambda g: g.id,
)
subjects = st.builds(
    Subject,
    age=st.integers(min_value=0, max_value=18),
    safety_code=st.none() | st.sampled_from(list(SafetyCode)),
    placement_confirmed=st.booleans(),
    guardians=guardians,
)


def field_names(purpose: str) -> st.SearchStrategy[list[str]]:
    known = sorted(REGISTER.get(purpose, {}).get("fields", {}))
    return st.lists(st.sampled_from(known + EXTRA_FIELDS), max_size=8, unique=True)


@st.composite
def consents(draw: st.DrawFn, purpose: str, recipient: OrganisationRole) -> ConsentFact:
    start = draw(st.sampled_from([-30, -1, 1]))  # days from now: begun, or not yet
    end = draw(st.sampled_from([-1, 1, 30]))  # ended, or still running
    # Mostly given to the recipient; sometimes ahead of time to a role in some gemeenten.
    standing = draw(st.integers(0, 2)) == 0
    scope = None
    if standing:
        scope = ConsentScope(
            role=draw(st.sampled_from([recipient, recipient, *OrganisationRole])),
            gemeenten=draw(st.lists(st.sampled_from(GEMEENTEN), min_size=1, max_size=2)),
        )
    return ConsentFact(
        id=draw(st.sampled_from(["c1", "c2", "c3"])),
        purpose=draw(st.sampled_from([purpose, purpose, "warme-overdracht"])),
        grantee=None if standing else draw(st.sampled_from(["org-2", "org-2", "org-1"])),
        scope=scope,
        standing=standing,
        grantors=draw(
            st.lists(st.sampled_from([*GUARDIAN_IDS, "child"]), min_size=1, max_size=3, unique=True)
        ),
        fields=draw(field_names(purpose)),
        level=draw(st.sampled_from(list(Level))),
        status=draw(
            st.sampled_from(["proposed", "proposed", "active", "active", "declined", "revoked"])
        ),
        valid_from=NOW + timedelta(days=start),
        valid_until=NOW + timedelta(days=end),
    )


@st.composite
def decision_inputs(draw: st.DrawFn) -> DecisionInput:
    """Mostly inputs on one of the purpose's own routes (so the consent, level and field rules
    are reached, not only the route check), sometimes any two roles."""
    purpose = draw(st.sampled_from(PURPOSES))
    routes = REGISTER.get(purpose, {}).get("routes", [])
    source, recipient = draw(parties), draw(parties)
    if routes and draw(st.integers(0, 4)) > 0:
        route = draw(st.sampled_from(routes))
        source = Party(organisation_id="org-1", role=OrganisationRole(route["from"]))
        recipient = Party(
            organisation_id="org-2",
            role=OrganisationRole(route["to"]),
            gemeente=draw(st.none() | st.sampled_from(GEMEENTEN)),
        )
    justification = st.sampled_from(
        ["urgent", "   ", "Veilig Thuis is involved and the child is at acute risk"]
    )
    return DecisionInput(
        purpose=purpose,
        initiator=draw(st.sampled_from(["source", "recipient"])),
        source=source,
        recipient=recipient,
        requested_fields=draw(field_names(purpose)),
        requested_level=draw(st.none() | st.sampled_from(list(Level))),
        reason=draw(st.sampled_from([None, "", "  ", "the school offered a place"])),
        break_glass=draw(
            st.none() | st.none() | st.builds(BreakGlass, justification=justification)
        ),
        subject=draw(subjects),
        consents=draw(st.lists(consents(purpose, recipient.role), max_size=4)),
        now=NOW,
    )
