"""A narrated scenario for ``gateway demo`` (dev only): real flows through the services the
API uses, printing what each party asked, what the policy decided and what each one received.

1. Warme overdracht: a kinderopvang offers, both parents consent (one leaves a field out), the
   school fetches only what both agreed to.
2. Placement from a women's shelter under safety code rood: a summary to two candidate schools,
   one offers a place, the other's copy is shredded, the full dossier goes to the school that
   offered (without the address), leerplicht hears only that the child is safe.
3. Verzuim: a school reports absence facts; below the thresholds nothing is sent, above them
   only the signal goes to leerplicht (a legal duty: no consent, parents informed). Another
   school reports a thuiszitter.
4. Waiting in the portal: zorg-afstemming for a child of 13 (mother and child both asked) and
   for a child of 16 (only the child asked), a warme overdracht for the parents of Noor's
   younger brother, and a break-glass exchange for the privacy officers' review queue.
5. Vrijstelling: leerplicht records an exemption (never why); the SWV asks and is answered.
6. The daily at-home job brings the exempted child back into view of leerplicht and the SWV.
7. The statistics for policy makers, with small counts suppressed.

The parents and children are the people of the dev identity provider (``gateway/portal/
dev_people.py``), so logging in to the portal as one of them shows their part of the story.

Parents' answers go through the same service the parent portal calls; here they are made in
the name of the demo parents. The children are fictitious; their BSNs pass the
elfproef but belong to nobody.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.auditing.service import ActingFor, acting_for, organisation_actor
from gateway.children import service as children
from gateway.children.bsn import pseudonym
from gateway.children.models import Child
from gateway.children.service import GuardianFacts
from gateway.consent.models import Consent, ConsentStatus, Notice
from gateway.demo import DEMO_STAFF
from gateway.errors import GatewayError
from gateway.exchanges import consent_answers, creating, delivering, ending
from gateway.exchanges.creating import NewExchange
from gateway.exchanges.models import Direction, Exchange
from gateway.exchanges.work import Exchanges
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation
from gateway.organisations.service import find_by_identifier
from gateway.policy.decision import Level, SafetyCode
from gateway.portal.dev_people import dev_person
from gateway.signals.service import Signals
from gateway.signals.thresholds import Absence, Facts, SignalType, assess
from gateway.statistics.service import of_school_year, school_year_of

Say = Callable[[str], None]
WARM_FIELDS = ["development_summary", "home_language", "social_emotional_notes"]


class Scenario:
    def __init__(
        self, session: Session, exchanges: Exchanges, pseudonym_key: bytes, say: Say
    ) -> None:
        self.session = session
        self.exchanges = exchanges
        self.key = pseudonym_key
        self.say = say
        self.names: dict[str, str] = {}  # guardian id -> relation, to narrate reasons
        self.signals = Signals(exchanges)

    def org(self, role: OrganisationRole, identifier: str) -> Organisation:
        organisation = find_by_identifier(self.session, role, identifier)
        if organisation is None:
            raise LookupError(f"demo organisation {identifier} is not registered")
        return organisation

    def child(self, bsn: str, born: date) -> Child:
        return children.identify(self.session, bsn, born, self.key)

    def parent(self, relation: str, person: str, **facts: bool) -> GuardianFacts:
        """A guardian who is one of the dev provider's people, so they can log in."""
        found = dev_person(person)
        assert found is not None and found.bsn, person
        return GuardianFacts(
            relation,
            gezag=facts.pop("gezag", True),
            person_pseudonym=pseudonym(found.bsn, self.key),
            **facts,
        )

    def guardians(self, by: Organisation, child: Child, *facts: GuardianFacts) -> dict[str, str]:
        with _staff_of(by):
            recorded = children.record_guardians(
                self.session,
                child,
                list(facts),
                organisation=by,
                actor=_actor(by),
                decider=self.exchanges.decider,
            )
        named = {g.id: g.relation for g in recorded}
        self.names.update(named)
        return named

    def offer(
        self,
        source: Organisation,
        recipient: Organisation,
        child: Child,
        purpose: str,
        fields: list[str],
        **options: Any,
    ) -> Exchange:
        order = NewExchange(
            purpose=purpose,
            direction=Direction.OFFER,
            counterparty_id=recipient.id,
            child=child,
            requested_fields=fields,
            **options,
        )
        with _staff_of(source):
            exchange, _ = creating.create(
                self.exchanges, self.session, source, _actor(source), order
            )
        decision = exchange.decision
        self.say(f"  {source.name} → {recipient.name}: {purpose}, asks {', '.join(fields)}")
        self.say(
            f"    decision: {exchange.status.value}, level {decision['level']}, "
            f"fields {decision['fields']}"
        )
        for field, why in decision["stripped"].items():
            self.say(f"    stripped {field}: {why}")
        for reason in decision["reasons"]:
            for guardian_id, relation in self.names.items():
                reason = reason.replace(guardian_id, relation)
            self.say(f"    reason: {reason}")
        return exchange

    def consent(self, exchange: Exchange, names: dict[str, str], **choices: list[str]) -> None:
        """Each holder asked for this exchange answers; ``choices`` narrows a holder's fields."""
        asked = self.session.scalars(
            select(Consent).where(
                Consent.exchange_id == exchange.id, Consent.status == ConsentStatus.PROPOSED
            )
        )
        for consent in list(asked):
            who = names.get(consent.holder, consent.holder)
            fields = choices.get(who)
            consent_answers.answer_consent(
                self.exchanges, self.session, consent.id, consent.holder, grant=True, fields=fields
            )
            self.say(f"    {who} consents (portal) to: {', '.join(fields or consent.fields)}")
        self.session.refresh(exchange)
        self.say(f"    now: {exchange.status.value}, fields {exchange.decision['fields']}")

    def deliver(self, source: Organisation, exchange: Exchange, payload: dict[str, Any]) -> None:
        with _staff_of(source):
            delivered = delivering.deliver(
                self.exchanges, self.session, source, _actor(source), exchange.id, payload
            )
        stored = delivered.exchange.payload.fields if delivered.exchange.payload else []
        self.say(f"    {source.name} delivers {len(payload)} fields; stored encrypted: {stored}")
        for field, why in delivered.stripped.items():
            self.say(f"    stripped before storage: {field} ({why})")

    def fetch(self, recipient: Organisation, exchange: Exchange) -> None:
        with _staff_of(recipient):
            fetched = delivering.fetch(
                self.exchanges, self.session, recipient, _actor(recipient), exchange.id
            )
        self.say(f"    {recipient.name} received:")
        for line in json.dumps(fetched.fields, indent=2, ensure_ascii=False).splitlines():
            self.say(f"      {line}")

    def run(self) -> None:
        vlinder = self.org(OrganisationRole.OPVANG, "123456789")
        anker = self.org(OrganisationRole.OPVANG, "87654321")
        regenboog = self.org(OrganisationRole.SCHOOL, "12AB")
        baken = self.org(OrganisationRole.SCHOOL, "34CD")
        leerplicht = self.org(OrganisationRole.LEERPLICHT, "GM0344")
        swv = self.org(OrganisationRole.SWV, "PO2701")

        self.say("1. Warme overdracht: kinderopvang → basisschool, with both parents' consent")
        noor = self.child("100000009", date(2022, 3, 14))
        parents = self.guardians(
            vlinder, noor, self.parent("moeder", "fatma"), self.parent("vader", "pieter")
        )
        warm = self.offer(
            vlinder,
            regenboog,
            noor,
            "warme-overdracht",
            ["vve_participation", "development_summary", "home_language", "social_emotional_notes"],
        )
        self.consent(
            warm, parents, vader=["vve_participation", "development_summary", "home_language"]
        )
        self.deliver(
            vlinder,
            warm,
            {
                "vve_participation": True,
                "development_summary": "Noor speelt graag samen en vertelt in korte zinnen.",
                "home_language": "Nederlands en Turks",
                "social_emotional_notes": "Heeft bij nieuwe mensen even tijd nodig.",
            },
        )
        self.fetch(regenboog, warm)

        self.say("\n2. Schoolplek vanuit de vrouwenopvang, safety code rood (staged disclosure)")
        sam = self.child("100000010", date(2018, 9, 2))
        children.change_safety_code(
            self.session,
            sam,
            SafetyCode.ROOD,
            organisation=anker,
            actor=_actor(anker),
            decider=self.exchanges.decider,
        )
        self.say(f"  {anker.name} sets safety code rood")
        family = self.guardians(
            anker,
            sam,
            self.parent("moeder", "sara", accompanying=True),
            self.parent("vader", "ruud", restricted=True),
        )
        summary_fields = ["age", "school_level", "onderwijsbehoeften", "residence_municipality"]
        summary = {"age": 8, "school_level": "groep 5", "onderwijsbehoeften": "Vaste structuur."}
        candidates = []
        for school in (regenboog, baken):
            offer = self.offer(anker, school, sam, "plaatsing-opvang", summary_fields)
            self.consent(offer, family)
            self.deliver(anker, offer, summary)
            candidates.append(offer)
        self.offer(anker, leerplicht, sam, "plaatsing-opvang", ["safe_place_notice", "age"])
        ending.confirm_placement(
            self.exchanges, self.session, baken, _actor(baken), candidates[1].id
        )
        self.session.refresh(candidates[0])
        self.say(
            f"  {baken.name} offers a place; the copy at {regenboog.name} is now "
            f"{candidates[0].status.value} and its payload shredded"
        )
        full = self.offer(
            anker,
            baken,
            sam,
            "plaatsing-opvang",
            ["age", "school_level", "previous_school", "current_address"],
            requested_level=Level.FULL,
            reason="De school heeft een plek aangeboden.",
        )
        self.consent(full, family)
        self.deliver(
            anker,
            full,
            {
                "age": 8,
                "school_level": "groep 5",
                "previous_school": "OBS De Linde",
                "current_address": "(never stored under code rood)",
            },
        )
        self.fetch(baken, full)

        self.say(
            "\n3. Verzuim: the school reports absence facts; the gateway applies the thresholds"
        )
        lina = self.child("100000022", date(2015, 1, 20))
        lina_parents = self.guardians(regenboog, lina, self.parent("moeder", "karin"))
        today = self.signals.today()
        light = Facts(unexcused=[Absence(today - timedelta(days=d), 3) for d in (2, 9)])
        self.say(f"  {regenboog.name} reports 6 hours of unexcused absence in two weeks:")
        self.say(f"    {'no threshold met; nothing sent' if assess(light, today) is None else '?'}")
        days = (1, 3, 8, 10, 15)
        heavy = Facts(unexcused=[Absence(today - timedelta(days=d), 4) for d in days])
        self.say(f"  {regenboog.name} reports 4 hours on each of {len(days)} days in three weeks:")
        signal = self.report(regenboog, lina, heavy)
        self.fetch(leerplicht, signal)
        told = self.session.scalars(select(Notice).where(Notice.exchange_id == signal.id))
        for notice in told:
            self.say(
                f"    notice for {lina_parents.get(notice.holder, notice.holder)}: "
                f"{notice.kind.value} (no child data in it, never e-mailed)"
            )
        youssef = self.child("100000149", date(2013, 9, 12))
        self.say(f"  {baken.name} reports a pupil absent since six weeks:")
        self.report(baken, youssef, Facts(absent_since=today - timedelta(weeks=6)))

        self.say("\n4. Waiting in the portal (log in at /portaal as one of the dev people)")
        for person, relation in (("daan", "Daan (13)"), ("mila", "Mila (16)")):
            teen = dev_person(person)
            assert teen is not None and teen.bsn and teen.birth_date
            child = self.child(teen.bsn, teen.birth_date)
            self.guardians(baken, child, self.parent("moeder", "els"))
            self.say(f"  zorg-afstemming for {relation}:")
            self.offer(
                baken,
                vlinder,
                child,
                "zorg-afstemming",
                ["attendance_agreements", "contact_persons", "what_helps_in_class"],
                reason="Afstemmen wat helpt, nu de naschoolse opvang meer uren krijgt.",
            )
        brother = self.child("100000125", date(2022, 11, 2))
        self.guardians(
            vlinder, brother, self.parent("moeder", "fatma"), self.parent("vader", "pieter")
        )
        self.say("  warme overdracht for Noor's brother, waiting for Fatma and Pieter:")
        self.offer(vlinder, regenboog, brother, "warme-overdracht", WARM_FIELDS)
        self.say("  break-glass: the shelter forces a notice to the school under acute risk:")
        self.offer(
            anker,
            regenboog,
            sam,
            "plaatsing-opvang",
            ["safe_place_notice"],
            break_glass_justification="Veilig Thuis is betrokken; de school moet vandaag weten "
            "dat Sam niet aan de vader mag worden meegegeven.",
        )

        self.say("\n5. Vrijstelling: leerplicht records that a child is exempted, never why")
        ravi = self.child("100000137", date(2016, 6, 5))
        exemption = self.signals.record_exemption(
            self.session,
            leerplicht,
            _actor(leerplicht),
            ravi,
            article="5 onder a",
            valid_from=today - timedelta(days=120),
            valid_until=date(school_year_of(today) + 1, 7, 31),
        )
        self.say(
            f"  {leerplicht.name} records: exempted on article {exemption.article} from "
            f"{exemption.valid_from} until {exemption.valid_until} (there is no field for why)"
        )
        check = self.signals.check_exemption(self.session, swv, _actor(swv), ravi, "GM0344")
        self.say(f"  {swv.name} asks whether the child is exempted: {check.status.value}")
        self.fetch(swv, check)

        self.say("\n6. The daily job: exempted or at home for three months without a school")
        raised = self.signals.raise_at_home_alerts(self.session)
        self.say(f"  alerts raised: {raised}")
        for organisation in (leerplicht, swv):
            for alert in self.signals.alerts_for(self.session, organisation):
                self.say(
                    f"    for {organisation.name}: a child ({alert.cause}) since {alert.since} "
                    f"without a school place; case {alert.case_reference} at leerplicht"
                )
        self.say(
            "  (the thuiszitter reported in 3. alerts in three months, if no school has "
            "taken the child in by then)"
        )

        self.say("\n7. Statistics for policy makers: counts only, cells below 5 hidden")
        found = of_school_year(self.session, self.exchanges, None)
        for kind in (*(t.value for t in SignalType), "all"):
            count = found.count("signals", kind, "all", "year")
            self.say(f"  {kind} signals this school year: {'<5' if count is None else count}")

    def report(self, school: Organisation, child: Child, facts: Facts) -> Exchange:
        """A school's absence facts through the thresholds to leerplicht of Utrecht."""
        signal = assess(facts, self.signals.today())
        assert signal is not None
        self.say(f"    {signal.type.value} signal: {signal.reason}")
        with _staff_of(school):
            reported = self.signals.report(
                self.session, school, _actor(school), child, "GM0344", signal
            )
        stored = reported.exchange.payload.fields if reported.exchange.payload else []
        self.say(f"    delivered to leerplicht, encrypted: {', '.join(stored)}")
        return reported.exchange


def run_scenario(session: Session, exchanges: Exchanges, pseudonym_key: bytes, say: Say) -> None:
    try:
        Scenario(session, exchanges, pseudonym_key, say).run()
    except GatewayError as exc:
        raise RuntimeError(f"the demo scenario stopped: {exc.detail}") from exc


def _actor(organisation: Organisation) -> Actor:
    return organisation_actor(organisation.id, organisation.role.value)


def _staff_of(organisation: Organisation) -> AbstractContextManager[None]:
    """The organisation acts for its demo staff member, as its API calls would."""
    staff_id, _, role = DEMO_STAFF[organisation.role]
    return acting_for(ActingFor(organisation.id, staff_id, role))
