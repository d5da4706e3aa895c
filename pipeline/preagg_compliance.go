package pipeline

// Compliance counts per department and per location (migrations/00030):
// gold_compliance's keys — requirement, completed, the date the status
// turns on — with the learner's group replaced by one of two groups
// (grp): 'd:<department>' and 'l:<location>'. Each assignment counts in
// both. The compliance page filtered to a department or a location reads
// them instead of the tenant's grouped gold, which has no index on
// either; the whole organisation reads gold_compliance_tenant and a
// manager's people the grouped rows of their subtree.
//
// Statement batches apply an assignment's change to its learner's two
// groups (complianceGroupDeltas); roster changes, requirement edits and
// erasures reach them as they reach gold_compliance (a rebuild of gold,
// or the erasure's deltas).

// complianceGroups is gold_compliance_groups as a rebuild computes it.
var complianceGroups = goldTable{
	name:    "gold_compliance_groups",
	columns: "grp, requirement_id, completed, on_date, people",
	keys: []string{"tg.grp", "ca.requirement_id", "ca.completed_at IS NOT NULL",
		"CASE WHEN ca.completed_at IS NOT NULL THEN coalesce(ca.expires_on, 'infinity') ELSE ca.due_on END"},
	aggregates: "count(*)",
	from: `compliance_assignments ca JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id
		CROSS JOIN LATERAL (VALUES ('d:' || l.department), ('l:' || l.location)) tg(grp)`,
	where: "ca.tenant_id = $1",
}

// complianceGroupDeltas turns the assignments a batch changed (k), with
// their learners' current groups, into changes of gold_compliance_groups.
func complianceGroupDeltas(k *keys, groups map[int64]group) *deltaTable {
	d := newDeltaTable("gold_compliance_groups", "grp, requirement_id, completed, on_date",
		[]string{"text", "bigint", "boolean", "date"}, []string{"people"}, "people")
	for _, s := range k.assignments {
		a, g, n := s.row, groups[s.row.learner], int64(s.sign)
		d.add([]any{"d:" + g.department, a.requirement, a.completed, a.statusDate()}, n)
		d.add([]any{"l:" + g.location, a.requirement, a.completed, a.statusDate()}, n)
	}
	return d
}
