# Allow and deny cases for recording guardians and the restricted mark (rule 4).
package kindkoppeling.guardians_test

import rego.v1

import data.kindkoppeling.guardians

school := {"organisation_id": "school-1", "role": "school"}

shelter := {"organisation_id": "opvang-1", "role": "opvang"}

leerplicht := {"organisation_id": "lp-1", "role": "leerplicht"}

test_a_school_records_guardians if {
	guardians.decision.allow with input as {"actor": school, "changes_restriction": false}
}

test_leerplicht_does_not_record_guardians if {
	d := guardians.decision with input as {"actor": leerplicht, "changes_restriction": false}
	not d.allow
	d.reasons == ["A leerplicht does not record a child's guardians."]
}

test_only_an_opvang_marks_a_parent_restricted if {
	d := guardians.decision with input as {"actor": school, "changes_restriction": true}
	not d.allow
	guardians.decision.allow with input as {"actor": shelter, "changes_restriction": true}
}
