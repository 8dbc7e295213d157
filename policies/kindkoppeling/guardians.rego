# Who may record a child's parents and guardians, and who may mark one as restricted (rule 4).
#
# The organisations that enrol a child (opvang, school, swv) know the family and record who holds
# gezag: that decides whose consent the age rules need. Marking a parent as restricted (never
# asked, never shown anything, e.g. a father involved "only if safe"), or lifting that mark, is
# a safety measure, so only an opvang may do it, like setting a safety code.
package kindkoppeling.guardians

import rego.v1

recorders := {"opvang", "school", "swv"}

decision := {"allow": true, "reasons": ["This organisation may record the child's guardians."]} if {
	count(deny_reasons) == 0
} else := {"allow": false, "reasons": sort([r | some r in deny_reasons])}

deny_reasons contains msg if {
	not input.actor.role in recorders
	msg := sprintf("A %v does not record a child's guardians.", [input.actor.role])
}

deny_reasons contains msg if {
	input.changes_restriction == true
	input.actor.role != "opvang"
	msg := sprintf("Only an opvang marks a parent as restricted or lifts the mark, not a %v.", [input.actor.role])
}
