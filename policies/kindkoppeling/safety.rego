# Who may set or change a child's safety code (DOMAIN.md rule 4).
#
# Only a shelter or other opvang sets a code: it is the organisation that knows where the child
# is and what threatens it. Once a child is under code rood, only the organisation that set
# rood may lower it, so another party cannot undo a protection it did not put in place.
package kindkoppeling.safety

import rego.v1

codes := {"groen", "oranje", "rood"}

default decision := {"allow": false, "reasons": ["No rule allows this change."]}

decision := {"allow": true, "reasons": reasons} if {
	count(deny_reasons) == 0
	reasons := ["An opvang may set a child's safety code."]
} else := {"allow": false, "reasons": sort([r | some r in deny_reasons])}

deny_reasons contains msg if {
	input.actor.role != "opvang"
	msg := sprintf("Only an opvang sets safety codes, not a %v.", [input.actor.role])
}

deny_reasons contains msg if {
	not input.new_code in codes
	msg := sprintf("'%v' is not a safety code.", [input.new_code])
}

deny_reasons contains "Code rood can only be lowered by the organisation that set it." if {
	input.current_code == "rood"
	input.new_code != "rood"
	input.set_by != input.actor.organisation_id
}
