# The decision on one exchange: may data about this child flow from source to recipient for
# this purpose, on what basis, at what level, which fields, and what must happen next.
#
# One section per rule of the domain brief (DOMAIN.md, "Rules the policies enforce"); the input
# contract is documented in policies/README.md. The package is kept in this one module on
# purpose: the in-process engine (regorus) evaluates rules wrongly under `with input as` when a
# comprehension refers to a rule in another module of the same package, and the Rego tests
# depend on `with`.
#
# A fact that one rule needs is a local step of that rule, not a rule of its own, and the
# consent facts are worked out together in one rule: the in-process engine spends about 3.5 µs
# on every rule it evaluates and well under 1 µs on a local step (docs/adr/0007).
package kindkoppeling.decision

import rego.v1

# --- Rule 1 (purpose limitation), assembly and obligations ------------------------------

levels := ["signal", "summary", "full"]

rank := {"signal": 0, "summary": 1, "full": 2}

purpose := data.purposes[input.purpose]

# The route this exchange takes, if the purpose lists it (rule 1).
route := r if {
	some r in purpose.routes
	r.from == input.source.role
	r.to == input.recipient.role
}

basis := "break_glass" if break_glass_valid else := route.basis

legal_basis if basis in {"legal_duty", "public_task"}

deny_reasons contains sprintf("The purpose '%v' is not in the processing register.", [input.purpose]) if {
	not purpose
}

deny_reasons contains msg if {
	purpose
	not route
	msg := sprintf(
		"The purpose '%v' does not let a %v send data to a %v.",
		[input.purpose, input.source.role, input.recipient.role],
	)
}

deny_reasons contains msg if {
	route
	direction := {"source": "offer", "recipient": "request"}[input.initiator]
	not direction in purpose.directions
	msg := sprintf("The purpose '%v' does not allow an exchange started by the %v.", [input.purpose, input.initiator])
}

deny_reasons contains msg if {
	route
	some field in input.requested_fields
	why := purpose.forbidden_fields[field]
	msg := sprintf("The field '%v' may never be sent for this purpose: %v.", [field, why])
}

deny_reasons contains "No fields were requested." if {
	route
	count(input.requested_fields) == 0
}

deny_reasons contains "Nothing is left to share once every rule has been applied." if {
	route
	count(input.requested_fields) > 0
	count(fields) == 0
}

# The consent and break-glass sections add their own deny reasons.

awaiting_consent if {
	count(deny_reasons) == 0
	basis == "consent"
	count(consent.missing) > 0
}

default allow := false

allow if {
	count(deny_reasons) == 0
	not awaiting_consent
}

obligations contains {"type": "await_consent", "holders": sort([h | some h in consent.missing])} if {
	awaiting_consent
}

obligations contains {"type": "inform_parents", "parties": sort([p | some p in holders])} if {
	allow
	legal_basis
	count(holders) > 0
}

obligations contains {"type": "review_break_glass"} if {
	allow
	basis == "break_glass"
}

decision := {
	"allow": allow,
	"purpose": input.purpose,
	"basis": basis,
	"level": level,
	"fields": sort([f | some f in fields]),
	"stripped": stripped,
	"reasons": array.concat(
		sort([r | some r in deny_reasons]),
		array.concat(sort([r | some r in level_reasons]), sort([r | some r in consent_reasons])),
	),
	"obligations": sort([o | some o in obligations]),
	"retention_days": purpose.retention_days,
	"consents_relied": sort([id | some id in {c.id | basis == "consent"; some _, cs in consent.active; some c in cs}]),
} if route else := {
	"allow": false,
	"purpose": input.purpose,
	"basis": null,
	"level": null,
	"fields": [],
	"stripped": {},
	"reasons": sort([r | some r in deny_reasons]),
	"obligations": [],
	"retention_days": null,
	"consents_relied": [],
}

# --- Rule 3 (subsidiarity) and the level side of rule 4 --------------------------------------
# The lowest level that serves the purpose. Each rule below sets a cap on the level (as a rank:
# signal 0, summary 1, full 2); the level granted is the lowest of what was asked and every cap.

default_rank := rank[purpose.default_level]

asked_rank := r if {
	r := rank[input.requested_level]
} else := default_rank

# Above the purpose's default only with a stated reason; break-glass never above it.
subsidiarity_cap := 2 if {
	is_string(input.reason)
	count(trim_space(input.reason)) > 0
	not break_glass_valid
} else := default_rank

# Staged disclosure: the full dossier of a child in a shelter only goes to the school that
# has offered a place.
placement_cap := 1 if {
	purpose.full_requires_placement
	not input.subject.placement_confirmed == true
} else := 2

# Rule 4: under code rood, leerplicht is only told that the child is in a safe place.
rood_leerplicht if {
	input.subject.safety_code == "rood"
	input.recipient.role == "leerplicht"
}

safety_cap := 0 if rood_leerplicht else := 2

# Never above what every consent holder agreed to (the consent section).
consent_cap := min(consent.levels) if {
	basis == "consent"
	count(consent.levels) > 0
} else := 2

before_route := min([asked_rank, subsidiarity_cap, placement_cap])

granted_rank := min([before_route, safety_cap, rank[route.max_level], consent_cap])

level := levels[granted_rank]

level_reasons contains msg if {
	asked_rank > default_rank
	subsidiarity_cap == default_rank
	not break_glass_valid
	msg := sprintf("Level lowered to %v: a higher level needs a stated reason.", [purpose.default_level])
}

level_reasons contains msg if {
	asked_rank > default_rank
	break_glass_valid
	msg := sprintf("Break-glass grants the lowest level that helps: %v.", [purpose.default_level])
}

level_reasons contains "Level lowered to summary: the full dossier only goes to the school that has offered a place." if {
	min([asked_rank, subsidiarity_cap]) > placement_cap
}

level_reasons contains msg if {
	before_route > rank[route.max_level]
	not rood_leerplicht
	msg := sprintf("Level lowered to %v, the most this purpose allows for a %v.", [route.max_level, input.recipient.role])
}

level_reasons contains "Under safety code rood, leerplicht is only told that the child is in a safe place." if {
	rood_leerplicht
}

level_reasons contains msg if {
	consent_cap < min([before_route, safety_cap, rank[route.max_level]])
	msg := sprintf("Level lowered to %v, the most the consent allows.", [levels[consent_cap]])
}

# --- Rule 2 (proportionality) and the field side of rule 4 -----------------------------------
# Fields delivered = requested ∩ allowed for the purpose at the granted level ∩ consented.
# Rule 4 (safety codes): a location field is any field that tells where the child is now (the
# register marks each field's "location"); under code rood none goes to anyone, under oranje
# only in the full dossier to a school that has offered a place, never to leerplicht. Every
# field that does not go gets exactly one reason.

# Why the location fields are held back for this child, if they are.
location_hidden := "location and address are never shared under safety code rood" if {
	input.subject.safety_code == "rood"
} else := "under safety code oranje, location goes only in the full dossier to a school that has offered a place" if {
	input.subject.safety_code == "oranje"
	not oranje_location_allowed
}

# Under oranje, the one recipient that may learn where the child is.
oranje_location_allowed if {
	level == "full"
	input.subject.placement_confirmed == true
	input.recipient.role == "school"
}

strip_reason(f) := "not part of this purpose" if {
	not purpose.fields[f]
} else := sprintf("needs level %v; %v was granted", [purpose.fields[f].level, level]) if {
	rank[purpose.fields[f].level] > granted_rank
} else := location_hidden if {
	purpose.fields[f].location == true
	# Without this, a location field under no safety code made the whole rule undefined in
	# regorus (its value is undefined there), so the field escaped the consent check below;
	# OPA's evaluator went on to the next branch. Both now do.
	is_string(location_hidden)
} else := "not covered by the consent of every holder" if {
	basis == "consent"
	some _, consented in consent.fields
	not f in consented
}

stripped := {f: reason |
	some f in input.requested_fields
	reason := strip_reason(f)
}

fields := {f | some f in input.requested_fields; not stripped[f]}

# --- Rule 5 (consent) ------------------------------------------------------------------------
# Who must consent depends on age; a restricted parent (rule 4) is never
# asked and never informed. Consent counts per purpose, per recipient organisation, per field
# set, for a period; a revoked, declined or expired consent denies rather than waits.

# Parents with gezag who may be asked (for a shelter placement: the one with the child).
parents := {g.id |
	some g in input.subject.guardians
	g.gezag == true
	not g.restricted == true
} if {
	purpose.consent_holders == "gezag"
} else := {g.id |
	some g in input.subject.guardians
	g.gezag == true
	not g.restricted == true
	g.accompanying == true
} if {
	purpose.consent_holders == "accompanying_parent"
} else := set()

holders := parents if {
	input.subject.age < 12
} else := parents | {"child"} if {
	input.subject.age < 16
} else := {"child"}

# Per holder: the consents that count now ("active"), or why none does ("refusals": declined
# wins over revoked over expired), or that an answer is still awaited ("missing"); the fields
# and highest level each holder with an active consent agreed to.
consent := {
	"active": active,
	"refusals": refusals,
	"missing": {h | some h in holders; not active[h]; not refusals[h]},
	"fields": {h: {f | some c in cs; some f in c.fields} | some h, cs in active},
	"levels": [max({rank[c.level] | some c in cs}) | some _, cs in active],
} if {
	# Consents this exchange can rely on: same purpose, and given to the recipient itself or,
	# ahead of time, to every organisation of the recipient's role in the recipient's gemeente.
	relevant := [c |
		some c in input.consents
		c.purpose == input.purpose
		covers(c)
	]
	active := {h: cs |
		some h in holders
		cs := [c |
			some c in relevant
			c.status == "active"
			h in c.grantors
			c.valid_from <= input.now
			input.now < c.valid_until
		]
		count(cs) > 0
	}
	refusals := {h: why |
		some h in holders
		not active[h]
		statuses := {effective_status(c) | some c in relevant; h in c.grantors}
		why := [s | some s in ["declined", "revoked", "expired"]; s in statuses][0]
	}
}

covers(c) if c.grantee == input.recipient.organisation_id

covers(c) if {
	c.scope.role == input.recipient.role
	input.recipient.gemeente in c.scope.gemeenten
}

effective_status(c) := "expired" if {
	c.status == "active"
	not c.valid_from <= input.now
} else := "expired" if {
	c.status == "active"
	not input.now < c.valid_until
} else := c.status

deny_reasons contains msg if {
	route
	basis == "consent"
	some h, why in consent.refusals
	msg := sprintf("The consent of %v is %v.", [h, why])
}

deny_reasons contains "Nobody can give consent for this child: no parent with gezag who may be asked." if {
	route
	basis == "consent"
	count(holders) == 0
}

consent_reasons contains msg if {
	basis == "consent"
	some _, cs in consent.active
	some c in cs
	c.standing == true
	msg := sprintf("Relies on consent %v, given ahead of time.", [c.id])
}

consent_reasons contains msg if {
	route
	basis == "consent"
	count(consent.missing) > 0
	count(consent.refusals) == 0
	msg := sprintf("Waiting for consent of: %v.", [concat(", ", sort([h | some h in consent.missing]))])
}

consent_reasons contains msg if {
	basis == "consent"
	some _, cs in consent.active
	some c in cs
	c.standing == true
	msg := sprintf("Relies on consent %v, given ahead of time.", [c.id])
}

consent_reasons contains msg if {
	route
	legal_basis
	msg := sprintf("Basis %v: no consent is needed, the parents are informed.", [basis])
}

# --- Rule 6 (break-glass) --------------------------------------------------------------------
# In an acute safety situation an organisation may force an exchange with
# a written justification. It skips consent, never the purpose register or the safety codes, is
# held to the lowest level that helps (rule 3 section), and always goes to a privacy officer.

min_justification := 20

break_glass_valid if {
	justification := input.break_glass.justification
	is_string(justification)
	count(trim_space(justification)) >= min_justification
}

deny_reasons contains msg if {
	route
	is_object(input.break_glass)
	not break_glass_valid
	msg := sprintf("Break-glass needs a written justification of at least %v characters.", [min_justification])
}
