package analytics

import (
	"fmt"

	"github.com/jackc/pgx/v5"
)

// DueSoonDays is how far ahead an incomplete assignment counts as due soon.
const DueSoonDays = 30

// ComplianceKPIs count assignments by status today (tenant time).
type ComplianceKPIs struct {
	Assigned  int64   `json:"assigned"`
	Compliant int64   `json:"compliant"`
	DueSoon   int64   `json:"due_soon"`
	Overdue   int64   `json:"overdue"`
	Expired   int64   `json:"expired"`
	NotDue    int64   `json:"not_due"`
	Rate      float64 `json:"rate"` // compliant of assigned, %
}

const complianceCols = "requirement_id, manager_id, department, location, completed, on_date, people"

// complianceStatus classifies an assignment from its due date, expiry and
// completion (columns of alias), as of @today: expired (completed, but the
// certificate ran out), compliant, overdue, due_soon (within DueSoonDays)
// or not_due.
func complianceStatus(due, expires, completed string) string {
	return fmt.Sprintf(`CASE WHEN %[3]s AND %[2]s < @today THEN 'expired' WHEN %[3]s THEN 'compliant'
		WHEN %[1]s < @today THEN 'overdue' WHEN %[1]s <= @soon THEN 'due_soon' ELSE 'not_due' END`, due, expires, completed)
}

// requirementCond is the course and category filters on alias.requirement_id.
func (f Filters) requirementCond(alias string, a pgx.NamedArgs) string {
	c := f.courseCond("r", a)
	if c == "" {
		return ""
	}
	return fmt.Sprintf(" AND %s.requirement_id IN (SELECT r.id FROM compliance_requirements r WHERE r.tenant_id = @tenant%s)", alias, c)
}

func (q *Q) complianceArgs() pgx.NamedArgs {
	return with(q.args(), "soon", q.Today.AddDate(0, 0, DueSoonDays))
}

// statusCounts sums people by status per key from the scope's gold.
func (q *Q) statusCounts(key, extra string, a pgx.NamedArgs) string {
	src := q.gold("gold_compliance", complianceCols, "g")
	if key == "manager_id" {
		// The tenant-wide roll-up has no managers (its manager_id is 0):
		// grouped by team, an admin's whole-tenant view read one team,
		// "No manager", holding everyone.
		src = q.Scope.gold("gold_compliance", complianceCols, "g")
	}
	return fmt.Sprintf(`SELECT %[1]s AS k, sum(people)::bigint AS assigned,
			coalesce(sum(people) FILTER (WHERE st = 'compliant'), 0)::bigint AS compliant,
			coalesce(sum(people) FILTER (WHERE st = 'due_soon'), 0)::bigint AS due_soon,
			coalesce(sum(people) FILTER (WHERE st = 'overdue'), 0)::bigint AS overdue,
			coalesce(sum(people) FILTER (WHERE st = 'expired'), 0)::bigint AS expired,
			coalesce(sum(people) FILTER (WHERE st = 'not_due'), 0)::bigint AS not_due
		FROM (SELECT g.*, %[2]s AS st FROM %[3]s WHERE true%[4]s%[5]s) s GROUP BY 1`,
		key, complianceStatus("g.on_date", "g.on_date", "g.completed"), src,
		q.F.orgCond("g", a)+q.F.requirementCond("g", a), extra)
}

// ComplianceKPIs computes the tiles.
func (q *Q) ComplianceKPIs() (ComplianceKPIs, error) {
	var k ComplianceKPIs
	a := q.complianceArgs()
	err := q.one(`SELECT coalesce(sum(assigned), 0), coalesce(sum(compliant), 0), coalesce(sum(due_soon), 0),
		coalesce(sum(overdue), 0), coalesce(sum(expired), 0), coalesce(sum(not_due), 0) FROM (`+q.statusCounts("1", "", a)+`) x`,
		a, &k.Assigned, &k.Compliant, &k.DueSoon, &k.Overdue, &k.Expired, &k.NotDue)
	k.Rate = pct(k.Compliant, k.Assigned)
	return k, err
}

var statusColumns = []Column{
	{Key: "assigned", Kind: Int},
	{Key: "compliant", Kind: Int},
	{Key: "due_soon", Kind: Int},
	{Key: "overdue", Kind: Int},
	{Key: "expired", Kind: Int},
	{Key: "not_due", Kind: Int},
	{Key: "compliance_rate", Kind: Percent},
}

const statusSelect = `x.assigned, x.compliant, x.due_soon, x.overdue, x.expired, x.not_due,
	round(100.0 * x.compliant / nullif(x.assigned, 0), 1)::float8 AS compliance_rate`

// requirementLabel names a requirement (alias r, course c) for people.
const requirementLabel = `coalesce(nullif(c.title, ''), c.activity_iri) ||
	CASE WHEN r.audience ? 'all' THEN '' ELSE ' (' || concat_ws(', ', r.audience->>'department', r.audience->>'location', r.audience->>'job_title') || ')' END`

// RequirementTitle names a requirement of the tenant, or ErrNotFound.
func (q *Q) RequirementTitle(id int64) (string, error) {
	var title string
	err := q.one(`SELECT coalesce((SELECT `+requirementLabel+` FROM compliance_requirements r JOIN courses c ON c.tenant_id = r.tenant_id AND c.id = r.course_id
		WHERE r.tenant_id = @tenant AND r.id = @id), '')`, with(q.args(), "id", id), &title)
	if err == nil && title == "" {
		return "", ErrNotFound
	}
	return title, err
}

// assignmentsTable lists people's assignments in scope, with a condition
// on their status st.
func (q *Q) assignmentsTable(id, statusCond string, a pgx.NamedArgs, extra string) tableQuery {
	return tableQuery{
		id: id,
		columns: []Column{{Key: "learner_id", Kind: ID}, {Key: "requirement_id", Kind: ID},
			{Key: "learner"},
			{Key: "email"}, {Key: "department"},
			{Key: "requirement"}, {Key: "status"},
			{Key: "assigned_on", Kind: Date}, {Key: "due_on", Kind: Date},
			{Key: "completed_at", Kind: Time}, {Key: "expires_on", Kind: Date}},
		sql: `SELECT * FROM (SELECT l.id AS learner_id, r.id AS requirement_id,
				coalesce(nullif(l.name, ''), l.email, l.employee_id) AS learner, coalesce(l.email, '') AS email, l.department,
				` + requirementLabel + ` AS requirement,
				replace(` + complianceStatus("ca.due_on", "coalesce(ca.expires_on, 'infinity')", "ca.completed_at IS NOT NULL") + `, '_', ' ') AS status,
				ca.assigned_on, ca.due_on, ca.completed_at, ca.expires_on
			FROM compliance_assignments ca
			JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id
			JOIN compliance_requirements r ON r.tenant_id = ca.tenant_id AND r.id = ca.requirement_id
			JOIN courses c ON c.tenant_id = r.tenant_id AND c.id = r.course_id
			WHERE ca.tenant_id = @tenant AND ` + q.Scope.learnerCond("l") + q.F.orgCond("l", a) + q.F.courseCond("r", a) + extra +
			`) p WHERE ` + statusCond,
		args: a, defaultSort: "due_on", search: "t.learner || ' ' || t.email",
	}
}

func init() {
	tables["compliance/requirements"] = func(q *Q, _ Params) (tableQuery, error) {
		a := q.complianceArgs()
		return tableQuery{
			id: "compliance/requirements",
			columns: append([]Column{{Key: "requirement_id", Kind: ID},
				{Key: "requirement"}},
				statusColumns...),
			sql: `SELECT r.id AS requirement_id, ` + requirementLabel + ` AS requirement, ` + statusSelect + `
				FROM (` + q.statusCounts("requirement_id", "", a) + `) x
				JOIN compliance_requirements r ON r.tenant_id = @tenant AND r.id = x.k
				JOIN courses c ON c.tenant_id = r.tenant_id AND c.id = r.course_id`,
			args: a, defaultSort: "overdue", defaultDesc: true, search: "t.requirement",
		}, nil
	}
	tables["compliance/teams"] = func(q *Q, p Params) (tableQuery, error) {
		if _, err := q.RequirementTitle(p.Requirement); err != nil {
			return tableQuery{}, err
		}
		a := with(q.complianceArgs(), "requirement_id", p.Requirement)
		return tableQuery{
			id: "compliance/teams",
			columns: append([]Column{{Key: "requirement_id", Kind: ID}, {Key: "manager_id", Kind: ID},
				{Key: "team"}},
				statusColumns...),
			sql: `SELECT @requirement_id::bigint AS requirement_id, x.k AS manager_id,
				coalesce(nullif(m.name, ''), m.email, 'No manager') AS team, ` + statusSelect + `
				FROM (` + q.statusCounts("manager_id", " AND g.requirement_id = @requirement_id", a) + `) x
				LEFT JOIN learners m ON m.tenant_id = @tenant AND m.id = x.k`,
			args: a, defaultSort: "overdue", defaultDesc: true, search: "t.team",
		}, nil
	}
	tables["compliance/people"] = func(q *Q, p Params) (tableQuery, error) {
		if _, err := q.RequirementTitle(p.Requirement); err != nil {
			return tableQuery{}, err
		}
		a := with(q.complianceArgs(), "requirement_id", p.Requirement, "team", p.Team)
		t := q.assignmentsTable("compliance/people", "true", a,
			" AND ca.requirement_id = @requirement_id AND coalesce(l.manager_id, 0) = @team")
		if err := q.exists(`SELECT 1 FROM (`+t.sql+`) t`, a); err != nil {
			return t, err
		}
		return t, nil
	}
	tables["compliance/at-risk"] = func(q *Q, _ Params) (tableQuery, error) {
		// At risk: expired, overdue or due soon — said on the columns, so
		// the assignment index narrows the rows before statuses are named.
		return q.assignmentsTable("compliance/at-risk", "true", q.complianceArgs(),
			" AND ((ca.completed_at IS NOT NULL AND ca.expires_on < @today) OR (ca.completed_at IS NULL AND ca.due_on <= @soon))"), nil
	}
	tables["compliance/assignments"] = func(q *Q, _ Params) (tableQuery, error) {
		return q.assignmentsTable("compliance/assignments", "true", q.complianceArgs(), ""), nil
	}
}
