# Allow and deny cases for each rule of the domain brief (DOMAIN.md, "Rules the policies
# enforce"). Every test_ rule must evaluate to true; the pytest suite runs them all.
package kindkoppeling.decision_test

import rego.v1

import data.kindkoppeling.decision

now := 1800000000

mother := {"id": "mother", "gezag": true, "restricted": false, "accompanying": true}

father := {"id": "father", "gezag": true, "restricted": false, "accompanying": false}

restricted_father := {"id": "father", "gezag": true, "restricted": true, "accompanying": false}

consent(grantors, fields) := {
	"id": concat("-", grantors),
	"purpose": "warme-overdracht",
	"grantee": "school-1",
	"grantors": grantors,
	"fields": fields,
	"level": "summary",
	"status": "active",
	"valid_from": now - 100,
	"valid_until": now + 100,
}

summary_fields := ["development_summary", "home_language", "vve_participation"]

# A warme overdracht from opvang to school for a 4-year-old, consented by both parents.
base := {
	"purpose": "warme-overdracht",
	"initiator": "source",
	"recipient": {"organisation_id": "school-1", "role": "school"},
	"source": {"organisation_id": "opvang-1", "role": "opvang"},
	"requested_fields": summary_fields,
	"requested_level": null,
	"reason": null,
	"break_glass": null,
	"subject": {"age": 4, "safety_code": "groen", "placement_confirmed": false, "guardians": [mother, father]},
	"consents": [consent(["mother"], summary_fields), consent(["father"], summary_fields)],
	"now": now,
}

with_subject(changes) := object.union(base, {"subject": object.union(base.subject, changes)})

# An onderwijskundig rapport between schools: legal duty.
okr := object.union(base, {
	"purpose": "onderwijskundig-rapport",
	"source": {"organisation_id": "school-2", "role": "school"},
	"requested_fields": ["learning_results", "onderwijsbehoeften"],
	"consents": [],
})

# A shelter looking for a school place.
placement := object.union(base, {
	"purpose": "plaatsing-opvang",
	"requested_fields": ["age", "school_level", "residence_municipality", "current_address", "previous_school", "safe_place_notice"],
	"requested_level": "full",
	"reason": "the school offered a place",
	"consents": [object.union(consent(["mother"], ["age", "school_level", "residence_municipality", "current_address", "previous_school", "safe_place_notice"]), {"purpose": "plaatsing-opvang", "level": "full"})],
})

# Tests bind the input first: `with` applies to a whole expression, not to a term.

# --- Rule 1: purpose limitation -----------------------------------------------------------

test_listed_route_is_allowed if {
	d1 := decision.decision with input as base
	d1.allow
	d2 := decision.decision with input as base
	d2.basis == "consent"
}

test_role_not_listed_for_purpose_is_denied if {
	inp3 := object.union(base, {"recipient": {"organisation_id": "lp-1", "role": "leerplicht"}})
	d3 := decision.decision with input as inp3
	d := d3
	not d.allow
	d.fields == []
	some r in d.reasons
	contains(r, "does not let a opvang send data to a leerplicht")
}

test_unknown_purpose_is_denied if {
	inp4 := object.union(base, {"purpose": "marketing"})
	d4 := decision.decision with input as inp4
	d := d4
	not d.allow
	d.basis == null
	d.reasons == ["The purpose 'marketing' is not in the processing register."]
}

test_gateway_operator_is_never_a_party if {
	inp5 := object.union(base, {"recipient": {"organisation_id": "gw", "role": "gateway"}})
	d5 := decision.decision with input as inp5
	not d5.allow
}

test_direction_not_allowed_is_denied if {
	inp6 := object.union(okr, {"purpose": "tlv-aanvraag", "recipient": {"organisation_id": "swv-1", "role": "swv"}, "initiator": "recipient", "requested_fields": ["onderwijsbehoeften"]})
	d6 := decision.decision with input as inp6
	d := d6
	not d.allow
	some r in d.reasons
	contains(r, "started by the recipient")
}

# --- Rule 2: proportionality ---------------------------------------------------------------

test_fields_outside_the_purpose_are_stripped_with_a_reason if {
	inp7 := object.union(base, {"requested_fields": ["development_summary", "bsn", "diagnosis"]})
	d7 := decision.decision with input as inp7
	d := d7
	d.allow
	d.fields == ["development_summary"]
	d.stripped == {"bsn": "not part of this purpose", "diagnosis": "not part of this purpose"}
}

test_fields_above_the_granted_level_are_stripped if {
	inp8 := object.union(okr, {"requested_level": "summary"})
	d8 := decision.decision with input as inp8
	d := d8
	d.allow
	d.level == "summary"
	d.fields == ["onderwijsbehoeften"]
	d.stripped.learning_results == "needs level full; summary was granted"
}

test_a_location_field_needs_consent_under_no_safety_code_too if {
	consented := object.union(consent(["mother"], ["school_level"]), {"purpose": "plaatsing-opvang", "grantee": "school-1"})
	inp := object.union(placement, {
		"requested_fields": ["residence_municipality", "school_level"],
		"requested_level": null,
		"subject": object.union(placement.subject, {"safety_code": null}),
		"consents": [consented],
	})
	d := decision.decision with input as inp
	d.fields == ["school_level"]
	d.stripped.residence_municipality == "not covered by the consent of every holder"
}

test_a_consent_to_no_field_covers_no_field if {
	inp := object.union(base, {"consents": [consent(["mother"], []), consent(["father"], summary_fields)]})
	d := decision.decision with input as inp
	not d.allow
	d.fields == []
	d.stripped.development_summary == "not covered by the consent of every holder"
}

test_fields_not_consented_are_stripped if {
	inp := object.union(base, {"consents": [consent(["mother"], ["development_summary"]), consent(["father"], summary_fields)]})
	d := decision.decision with input as inp
	d.allow
	d.fields == ["development_summary"]
	d.stripped.home_language == "not covered by the consent of every holder"
}

test_nothing_left_is_denied if {
	inp9 := object.union(base, {"requested_fields": ["bsn"]})
	d9 := decision.decision with input as inp9
	d := d9
	not d.allow
	some r in d.reasons
	contains(r, "Nothing is left")
}

test_forbidden_field_denies_the_whole_exchange if {
	inp := object.union(base, {
		"purpose": "vrijstelling-status",
		"source": {"organisation_id": "lp-1", "role": "leerplicht"},
		"recipient": {"organisation_id": "swv-1", "role": "swv"},
		"requested_fields": ["exempted", "diagnosis"],
	})
	d := decision.decision with input as inp
	not d.allow
	some r in d.reasons
	contains(r, "'diagnosis' may never be sent")
}

test_exemption_facts_flow_without_reasons if {
	inp := object.union(base, {
		"purpose": "vrijstelling-status",
		"source": {"organisation_id": "lp-1", "role": "leerplicht"},
		"recipient": {"organisation_id": "swv-1", "role": "swv"},
		"requested_fields": ["exempted", "article", "valid_until"],
	})
	d := decision.decision with input as inp
	d.allow
	d.basis == "public_task"
	d.fields == ["article", "exempted", "valid_until"]
}

# --- Rule 3: subsidiarity ------------------------------------------------------------------

test_default_is_the_least_intrusive_level if {
	d10 := decision.decision with input as base
	d10.level == "summary"
}

test_higher_level_without_reason_is_lowered if {
	inp11 := object.union(placement, {"reason": null, "subject": object.union(placement.subject, {"placement_confirmed": true})})
	d11 := decision.decision with input as inp11
	d := d11
	d.level == "summary"
	some r in d.reasons
	contains(r, "needs a stated reason")
}

test_lower_level_than_default_is_granted if {
	inp12 := object.union(base, {"requested_level": "signal"})
	d12 := decision.decision with input as inp12
	d := d12
	d.level == "signal"
	d.fields == ["vve_participation"]
}

test_full_dossier_only_after_confirmed_placement if {
	before := decision.decision with input as placement
	before.level == "summary"
	not "current_address" in before.fields
	some r in before.reasons
	contains(r, "school that has offered a place")

	inp13 := object.union(placement, {"subject": object.union(placement.subject, {"placement_confirmed": true})})
	d13 := decision.decision with input as inp13
	after := d13
	after.allow
	after.level == "full"
	"previous_school" in after.fields
}

test_level_never_above_the_route_maximum if {
	inp14 := object.union(base, {"requested_level": "full", "reason": "we would like everything"})
	d14 := decision.decision with input as inp14
	d := d14
	d.level == "summary"
}

# --- Rule 4: safety codes ------------------------------------------------------------------

rood_placement := object.union(placement, {"subject": object.union(placement.subject, {"safety_code": "rood", "placement_confirmed": true})})

test_rood_never_releases_location_or_address if {
	d := decision.decision with input as rood_placement
	d.allow
	not "current_address" in d.fields
	not "residence_municipality" in d.fields
	d.stripped.current_address == "location and address are never shared under safety code rood"
	"previous_school" in d.fields
}

test_rood_location_stays_hidden_even_under_break_glass if {
	inp15 := object.union(rood_placement, {"break_glass": {"justification": "Veilig Thuis is involved and the child is at acute risk"}})
	d15 := decision.decision with input as inp15
	d := d15
	d.allow
	not "residence_municipality" in d.fields
}

test_without_rood_location_may_flow_to_the_placing_school if {
	inp16 := object.union(placement, {"subject": object.union(placement.subject, {"placement_confirmed": true})})
	d16 := decision.decision with input as inp16
	d := d16
	"current_address" in d.fields
}

test_rood_tells_leerplicht_only_the_safe_place if {
	inp := object.union(rood_placement, {"recipient": {"organisation_id": "lp-1", "role": "leerplicht"}, "consents": []})
	d := decision.decision with input as inp
	d.allow
	d.basis == "legal_duty"
	d.level == "signal"
	d.fields == ["safe_place_notice"]
}

# The most any route of a purpose can ever get: every field of the register asked at the full
# level with a stated reason, a confirmed placement and every holder's consent to everything.
everything(p, r, code) := {
	"purpose": p,
	"initiator": "source",
	"recipient": {"organisation_id": "to-1", "role": r.to},
	"source": {"organisation_id": "from-1", "role": r.from},
	"requested_fields": [f | some f, _ in data.purposes[p].fields],
	"requested_level": "full",
	"reason": "a place was offered and the full dossier is needed",
	"break_glass": null,
	"subject": {"age": 8, "safety_code": code, "placement_confirmed": true, "guardians": [mother]},
	"consents": [{
		"id": "all", "purpose": p, "grantee": "to-1", "grantors": ["mother"],
		"fields": [f | some f, _ in data.purposes[p].fields], "level": "full",
		"status": "active", "valid_from": now - 100, "valid_until": now + 100,
	}],
	"now": now,
}

# Location fields that reach any recipient of purpose p for a child under the safety code.
location_sent(p, code) := {f |
	some r in data.purposes[p].routes
	d := decision.decision with input as everything(p, r, code)
	some f in d.fields
	data.purposes[p].fields[f].location
}

# Every route of the purpose still shares something: the tests below are not passed by a denial.
every_route_shares(p, code) if {
	every r in data.purposes[p].routes {
		d := decision.decision with input as everything(p, r, code)
		d.allow
		count(d.fields) > 0
	}
}

no_location_under_rood(p) if {
	every_route_shares(p, "rood")
	count(location_sent(p, "rood")) == 0
}

test_rood_no_location_leaves_warme_overdracht if no_location_under_rood("warme-overdracht")

test_rood_no_location_leaves_onderwijskundig_rapport if no_location_under_rood("onderwijskundig-rapport")

test_rood_no_location_leaves_tlv_aanvraag if no_location_under_rood("tlv-aanvraag")

test_rood_no_location_leaves_verzuimmelding if no_location_under_rood("verzuimmelding")

test_rood_no_location_leaves_vrijstelling_status if no_location_under_rood("vrijstelling-status")

test_rood_no_location_leaves_plaatsing_opvang if no_location_under_rood("plaatsing-opvang")

test_rood_no_location_leaves_zorg_afstemming if no_location_under_rood("zorg-afstemming")

test_rood_covers_every_purpose_in_the_register if {
	tested := {"warme-overdracht", "onderwijskundig-rapport", "tlv-aanvraag", "verzuimmelding", "vrijstelling-status", "plaatsing-opvang", "zorg-afstemming"}
	{p | some p, _ in data.purposes} == tested
}

# The marking is what holds them back: without a safety code the same requests carry them.
test_location_fields_flow_without_a_safety_code if {
	location_sent("verzuimmelding", "groen") == {"school"}
	location_sent("plaatsing-opvang", "groen") == {"current_address", "residence_municipality"}
}

test_rood_verzuimmelding_does_not_name_the_school if {
	inp := everything("verzuimmelding", {"from": "school", "to": "leerplicht"}, "rood")
	d := decision.decision with input as inp
	d.allow
	d.fields == ["absence_period", "signal_type"]
	d.stripped.school == "location and address are never shared under safety code rood"
}

oranje_placement := object.union(placement, {"subject": object.union(placement.subject, {"safety_code": "oranje", "placement_confirmed": true})})

test_oranje_location_goes_in_the_full_dossier_to_the_placing_school if {
	d := decision.decision with input as oranje_placement
	d.allow
	d.level == "full"
	"current_address" in d.fields
	"residence_municipality" in d.fields
}

test_oranje_location_waits_for_a_confirmed_placement if {
	inp := object.union(oranje_placement, {"subject": object.union(oranje_placement.subject, {"placement_confirmed": false})})
	d := decision.decision with input as inp
	d.allow
	d.level == "summary"
	not "residence_municipality" in d.fields
	d.stripped.residence_municipality == "under safety code oranje, location goes only in the full dossier to a school that has offered a place"
}

test_oranje_location_never_goes_to_leerplicht if {
	count(location_sent("verzuimmelding", "oranje")) == 0
	inp := everything("plaatsing-opvang", {"from": "opvang", "to": "leerplicht"}, "oranje")
	d := decision.decision with input as inp
	d.allow
	every f in d.fields {
		not data.purposes["plaatsing-opvang"].fields[f].location
	}
	d.stripped.residence_municipality == "under safety code oranje, location goes only in the full dossier to a school that has offered a place"
}

test_oranje_location_never_goes_to_an_swv if {
	inp := everything("plaatsing-opvang", {"from": "opvang", "to": "swv"}, "oranje")
	d := decision.decision with input as inp
	d.allow
	d.level == "full"
	not "current_address" in d.fields
}

test_restricted_parent_is_never_asked if {
	inp17 := object.union(with_subject({"guardians": [mother, restricted_father]}), {"consents": []})
	d17 := decision.decision with input as inp17
	d := d17
	not d.allow
	some o in d.obligations
	o.type == "await_consent"
	o.holders == ["mother"]
}

test_restricted_parent_is_never_informed if {
	inp18 := object.union(okr, {"subject": object.union(okr.subject, {"guardians": [mother, restricted_father]})})
	d18 := decision.decision with input as inp18
	d := d18
	d.allow
	some o in d.obligations
	o.type == "inform_parents"
	o.parties == ["mother"]
}

test_restricted_parent_consent_is_not_needed if {
	inp := object.union(with_subject({"guardians": [mother, restricted_father]}), {"consents": [consent(["mother"], summary_fields)]})
	d19 := decision.decision with input as inp
	d19.allow
}

# --- Rule 5: consent -----------------------------------------------------------------------

test_the_decision_names_the_consents_it_counted if {
	dn := decision.decision with input as base
	d := dn
	d.allow
	d.consents_relied == ["father", "mother"]
}

# A consent given ahead of time (like Mitz) to every school in some gemeenten.
ahead(grantors, role, gemeenten) := object.union(object.remove(consent(grantors, summary_fields), ["grantee"]), {
	"id": concat("-", array.concat(["ahead"], grantors)),
	"scope": {"role": role, "gemeenten": gemeenten},
	"standing": true,
})

school_in(gemeente) := object.union(base, {"recipient": {"organisation_id": "school-9", "role": "school", "gemeente": gemeente}})

test_a_consent_ahead_of_time_counts_for_a_school_in_its_region if {
	inp := object.union(school_in("GM0344"), {"consents": [ahead(["mother"], "school", ["GM0344", "GM0307"]), ahead(["father"], "school", ["GM0344"])]})
	da := decision.decision with input as inp
	d := da
	d.allow
	d.consents_relied == ["ahead-father", "ahead-mother"]
	"Relies on consent ahead-mother, given ahead of time." in d.reasons
}

test_a_consent_ahead_of_time_does_not_reach_a_school_elsewhere if {
	inp := object.union(school_in("GM0363"), {"consents": [ahead(["mother"], "school", ["GM0344"]), ahead(["father"], "school", ["GM0344"])]})
	db := decision.decision with input as inp
	d := db
	not d.allow
	{"type": "await_consent", "holders": ["father", "mother"]} in d.obligations
	d.consents_relied == []
}

test_a_consent_ahead_of_time_is_for_one_role if {
	inp := object.union(school_in("GM0344"), {"consents": [ahead(["mother"], "swv", ["GM0344"]), ahead(["father"], "school", ["GM0344"])]})
	dc := decision.decision with input as inp
	d := dc
	not d.allow
	{"type": "await_consent", "holders": ["mother"]} in d.obligations
}

test_a_revoked_consent_ahead_of_time_denies if {
	revoked := object.union(ahead(["mother"], "school", ["GM0344"]), {"status": "revoked"})
	inp := object.union(school_in("GM0344"), {"consents": [revoked, ahead(["father"], "school", ["GM0344"])]})
	dd := decision.decision with input as inp
	d := dd
	not d.allow
	"The consent of mother is revoked." in d.reasons
}

test_under_12_both_gezag_parents_must_consent if {
	inp20 := object.union(base, {"consents": [consent(["mother"], summary_fields)]})
	d20 := decision.decision with input as inp20
	d := d20
	not d.allow
	{"type": "await_consent", "holders": ["father"]} in d.obligations
}

test_parent_without_gezag_is_not_asked if {
	stepfather := {"id": "stepfather", "gezag": false, "restricted": false}
	inp21 := object.union(with_subject({"guardians": [mother, stepfather]}), {"consents": [consent(["mother"], summary_fields)]})
	d21 := decision.decision with input as inp21
	d := d21
	d.allow
}

test_12_to_15_parents_and_child_must_consent if {
	inp := object.union(with_subject({"age": 13}), {"consents": [consent(["mother", "father"], summary_fields)]})
	d := decision.decision with input as inp
	not d.allow
	{"type": "await_consent", "holders": ["child"]} in d.obligations

	both := object.union(inp, {"consents": [consent(["mother", "father"], summary_fields), consent(["child"], summary_fields)]})
	d22 := decision.decision with input as both
	d22.allow
}

test_16_and_older_the_child_decides_alone if {
	inp := object.union(with_subject({"age": 16}), {"consents": [consent(["child"], summary_fields)]})
	d23 := decision.decision with input as inp
	d23.allow

	parents_only := object.union(with_subject({"age": 16}), {"consents": [consent(["mother", "father"], summary_fields)]})
	d := decision.decision with input as parents_only
	{"type": "await_consent", "holders": ["child"]} in d.obligations
}

test_revoked_consent_denies if {
	revoked := object.union(consent(["father"], summary_fields), {"status": "revoked"})
	inp24 := object.union(base, {"consents": [consent(["mother"], summary_fields), revoked]})
	d24 := decision.decision with input as inp24
	d := d24
	not d.allow
	d.obligations == []
	"The consent of father is revoked." in d.reasons
}

test_expired_consent_denies if {
	expired := object.union(consent(["father"], summary_fields), {"valid_until": now - 1})
	inp25 := object.union(base, {"consents": [consent(["mother"], summary_fields), expired]})
	d25 := decision.decision with input as inp25
	d := d25
	not d.allow
	"The consent of father is expired." in d.reasons
}

test_declined_consent_denies if {
	declined := object.union(consent(["father"], summary_fields), {"status": "declined"})
	inp26 := object.union(base, {"consents": [consent(["mother"], summary_fields), declined]})
	d26 := decision.decision with input as inp26
	not d26.allow
}

test_consent_for_another_recipient_does_not_count if {
	elsewhere := object.union(consent(["mother", "father"], summary_fields), {"grantee": "school-9"})
	inp27 := object.union(base, {"consents": [elsewhere]})
	d27 := decision.decision with input as inp27
	d := d27
	not d.allow
	{"type": "await_consent", "holders": ["father", "mother"]} in d.obligations
}

test_legal_duty_does_not_wait_but_informs_parents if {
	d := decision.decision with input as okr
	d.allow
	d.basis == "legal_duty"
	{"type": "inform_parents", "parties": ["father", "mother"]} in d.obligations
}

test_legal_duty_for_16_plus_informs_the_child_only if {
	inp28 := object.union(okr, {"subject": object.union(okr.subject, {"age": 16})})
	d28 := decision.decision with input as inp28
	d := d28
	{"type": "inform_parents", "parties": ["child"]} in d.obligations
}

test_consent_level_caps_the_granted_level if {
	low := object.union(consent(["mother", "father"], summary_fields), {"level": "signal"})
	inp29 := object.union(base, {"consents": [low]})
	d29 := decision.decision with input as inp29
	d := d29
	d.allow
	d.level == "signal"
	d.fields == ["vve_participation"]
}

test_shelter_placement_asks_only_the_accompanying_parent if {
	inp30 := object.union(placement, {"consents": []})
	d30 := decision.decision with input as inp30
	d := d30
	{"type": "await_consent", "holders": ["mother"]} in d.obligations
}

# --- Rule 6: break-glass -------------------------------------------------------------------

justified := {"justification": "Veilig Thuis is involved and the child is at acute risk"}

test_break_glass_skips_consent_at_the_lowest_level_and_is_reviewed if {
	inp := object.union(base, {"consents": [], "break_glass": justified, "requested_level": "full", "reason": "acute"})
	d := decision.decision with input as inp
	d.allow
	d.basis == "break_glass"
	d.level == "summary"
	{"type": "review_break_glass"} in d.obligations
}

test_break_glass_without_justification_is_denied if {
	inp31 := object.union(base, {"consents": [], "break_glass": {"justification": "urgent"}})
	d31 := decision.decision with input as inp31
	d := d31
	not d.allow
	some r in d.reasons
	contains(r, "written justification")
}

test_break_glass_still_needs_a_listed_route if {
	inp := object.union(base, {"break_glass": justified, "recipient": {"organisation_id": "lp-1", "role": "leerplicht"}})
	d32 := decision.decision with input as inp
	not d32.allow
}

# --- Rule 7: data does not linger ----------------------------------------------------------

test_decision_carries_the_purpose_retention if {
	d33 := decision.decision with input as base
	d33.retention_days == data.purposes["warme-overdracht"].retention_days
	d34 := decision.decision with input as okr
	d34.retention_days == data.purposes["onderwijskundig-rapport"].retention_days
}

test_denied_unknown_purpose_has_no_retention if {
	inp35 := object.union(base, {"purpose": "marketing"})
	d35 := decision.decision with input as inp35
	d35.retention_days == null
}

# --- Rule 8: every decision is explained ---------------------------------------------------

test_every_stripped_field_has_a_reason if {
	inp36 := object.union(rood_placement, {"requested_fields": ["age", "bsn", "current_address"]})
	d36 := decision.decision with input as inp36
	d := d36
	every f, why in d.stripped {
		count(why) > 0
		not f in d.fields
	}
	count(d.stripped) == 2
}

test_every_denial_says_why if {
	denials := [
		object.union(base, {"purpose": "marketing"}),
		object.union(base, {"requested_fields": []}),
		object.union(base, {"consents": [object.union(consent(["mother", "father"], summary_fields), {"status": "revoked"})]}),
	]
	every inp in denials {
		d := decision.decision with input as inp
		not d.allow
		count(d.reasons) > 0
	}
}

test_register_is_well_formed if {
	every id, p in data.purposes {
		p.default_level in decision.levels
		every r in p.routes {
			r.max_level in decision.levels
			r.basis in {"consent", "legal_duty", "public_task"}
			decision.rank[p.default_level] <= decision.rank[r.max_level]
		}
		every _, spec in p.fields {
			spec.level in decision.levels
			is_boolean(spec.location) # every field is marked: does it tell where the child is?
		}
		count({f | some f, _ in p.fields; p.forbidden_fields[f]}) == 0
	}
}
