# Allow and deny cases for safety-code changes (rule 4).
package kindkoppeling.safety_test

import rego.v1

import data.kindkoppeling.safety

shelter := {"organisation_id": "opvang-1", "role": "opvang"}

other_shelter := {"organisation_id": "opvang-2", "role": "opvang"}

school := {"organisation_id": "school-1", "role": "school"}

test_an_opvang_sets_rood if {
	d := safety.decision with input as {"actor": shelter, "current_code": null, "set_by": null, "new_code": "rood"}
	d.allow
}

test_a_school_may_not_set_a_code if {
	d := safety.decision with input as {"actor": school, "current_code": null, "set_by": null, "new_code": "oranje"}
	not d.allow
	d.reasons == ["Only an opvang sets safety codes, not a school."]
}

test_an_unknown_code_is_refused if {
	d := safety.decision with input as {"actor": shelter, "current_code": null, "set_by": null, "new_code": "paars"}
	not d.allow
}

test_only_the_setter_lowers_rood if {
	inp := {"actor": other_shelter, "current_code": "rood", "set_by": "opvang-1", "new_code": "groen"}
	d := safety.decision with input as inp
	not d.allow

	own := {"actor": shelter, "current_code": "rood", "set_by": "opvang-1", "new_code": "groen"}
	d2 := safety.decision with input as own
	d2.allow
}

test_another_opvang_may_raise_to_rood if {
	d := safety.decision with input as {"actor": other_shelter, "current_code": "oranje", "set_by": "opvang-1", "new_code": "rood"}
	d.allow
}
