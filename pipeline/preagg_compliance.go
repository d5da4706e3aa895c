package pipeline

import "fmt"

// Compliance counts for the compliance page's scopes (migrations/00030),
// keyed as gold_compliance is — requirement, completed, the date the
// status turns on — but by what the page filters on instead of the
// learner's group, so that each scope's tiles, requirements and list
// totals read one index range (the whole organisation reads
// gold_compliance_tenant):
//
//   - gold_compliance_groups: per department ('d:<department>') and per
//     location ('l:<location>'); each assignment counts in both.
//   - gold_compliance_nodes: per manager (node_id), the people under them
//     in org_closure — solid or dotted line, any depth, not themselves —
//     which is a manager's scope (analytics.Scope).
//
// Statement batches apply an assignment's change to its learner's two
// groups and to each manager above them (complianceDeltas). Roster
// changes and requirement edits rebuild them with gold; an erasure
// applies its deltas and, when reporting lines change, rebuilds the node
// counts with the team tables (rebuildTeam).

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

// complianceNodes is gold_compliance_nodes as a rebuild computes it.
var complianceNodes = goldTable{
	name:    "gold_compliance_nodes",
	columns: "node_id, requirement_id, completed, on_date, people",
	keys: []string{"c.manager_id", "ca.requirement_id", "ca.completed_at IS NOT NULL",
		"CASE WHEN ca.completed_at IS NOT NULL THEN coalesce(ca.expires_on, 'infinity') ELSE ca.due_on END"},
	aggregates: "count(*)",
	from:       "compliance_assignments ca JOIN org_closure c ON c.tenant_id = ca.tenant_id AND c.learner_id = ca.learner_id",
	where:      "ca.tenant_id = $1",
}

// complianceDeltas turns the assignments a batch changed (k), with their
// learners' current groups, into changes of gold_compliance_groups and
// gold_compliance_nodes.
func complianceDeltas(k *keys, groups map[int64]group) []*deltaTable {
	d := newDeltaTable("gold_compliance_groups", "grp, requirement_id, completed, on_date",
		[]string{"text", "bigint", "boolean", "date"}, []string{"people"}, "people")
	nodes := nodeDeltaTable()
	for _, s := range k.assignments {
		a, g, n := s.row, groups[s.row.learner], int64(s.sign)
		d.add([]any{"d:" + g.department, a.requirement, a.completed, a.statusDate()}, n)
		d.add([]any{"l:" + g.location, a.requirement, a.completed, a.statusDate()}, n)
		nodes.add([]any{a.learner, a.requirement, a.completed, a.statusDate()}, n)
	}
	return []*deltaTable{d, nodes}
}

// nodeDeltaTable accumulates per-learner changes (learner, requirement,
// completed, on_date) to gold_compliance_nodes; its upsert fans each out
// in SQL to the managers above the learner, in the batch's round trip.
func nodeDeltaTable() *deltaTable {
	const keys = "node_id, requirement_id, completed, on_date"
	return &deltaTable{
		upsert: fmt.Sprintf(`WITH up AS (
			INSERT INTO gold_compliance_nodes AS g (tenant_id, %[1]s, people)
			SELECT $1, c.manager_id, u.requirement_id, u.completed, u.on_date, sum(u.people)
			FROM unnest($2::bigint[], $3::bigint[], $4::boolean[], $5::date[], $6::bigint[])
				AS u(learner, requirement_id, completed, on_date, people)
			JOIN org_closure c ON c.tenant_id = $1 AND c.learner_id = u.learner
			GROUP BY 2, 3, 4, 5
			ON CONFLICT (tenant_id, %[1]s) DO UPDATE SET people = g.people + excluded.people
			RETURNING %[1]s, people = 0 AS zero)
			SELECT %[1]s FROM up WHERE zero`, keys),
		prune: `DELETE FROM gold_compliance_nodes WHERE tenant_id = $1 AND node_id = $2 AND requirement_id = $3
			AND completed = $4 AND on_date = $5 AND people = 0`,
		keyLen: 4,
		rows:   map[string]*deltaRow{},
	}
}
