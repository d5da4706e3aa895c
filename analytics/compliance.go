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

// statusCounts sums people by status per key from the compliance counts
// of the scope and filters (complianceGold).
func (q *Q) statusCounts(key, extra string, a pgx.NamedArgs) string {
	from, cond := q.complianceGold(key, a)
	return fmt.Sprintf(`SELECT %[1]s AS k, sum(people)::bigint AS assigned,
			coalesce(sum(people) FILTER (WHERE st = 'compliant'), 0)::bigint AS compliant,
			coalesce(sum(people) FILTER (WHERE st = 'due_soon'), 0)::bigint AS due_soon,
			coalesce(sum(people) FILTER (WHERE st = 'overdue'), 0)::bigint AS overdue,
			coalesce(sum(people) FILTER (WHERE st = 'expired'), 0)::bigint AS expired,
			coalesce(sum(people) FILTER (WHERE st = 'not_due'), 0)::bigint AS not_due
		FROM (SELECT g.*, %[2]s AS st FROM %[3]s WHERE true%[4]s%[5]s) s GROUP BY 1`,
		key, complianceStatus("g.on_date", "g.on_date", "g.completed"), from, cond+q.F.requirementCond("g", a), extra)
}

// complianceGold is a FROM item g of compliance counts (complianceCols)
// for the scope and filters, and the conditions on it that the
// department and location filters still need. By team (key manager_id)
// it is the grouped gold of the scope. Otherwise one index range of the
// counts kept for the page's scopes (migrations/00030): the tenant-wide
// roll-up, one department's or one location's counts
// (gold_compliance_groups), or a manager's people's
// (gold_compliance_nodes); a manager's people in one department or
// location read the grouped gold of the subtree.
func (q *Q) complianceGold(key string, a pgx.NamedArgs) (from, cond string) {
	const counts = `(SELECT requirement_id, 0::bigint AS manager_id, ''::text AS department, ''::text AS location,
		completed, on_date, people FROM %s WHERE tenant_id = @tenant AND %s) g`
	dept, loc := q.F.Department != "", q.F.Location != ""
	switch {
	case key == "manager_id" || q.Scope.None || (q.Scope.Root != 0 && (dept || loc)):
		return q.Scope.gold("gold_compliance", complianceCols, "g"), q.F.orgCond("g", a)
	case q.Scope.Root != 0:
		return fmt.Sprintf(counts, "gold_compliance_nodes", "node_id = @root"), ""
	case dept && loc:
		return q.gold("gold_compliance", complianceCols, "g"), q.F.orgCond("g", a)
	case dept:
		a["grp"] = "d:" + q.F.Department
	case loc:
		a["grp"] = "l:" + q.F.Location
	default:
		return q.gold("gold_compliance", complianceCols, "g"), ""
	}
	return fmt.Sprintf(counts, "gold_compliance_groups", "grp = @grp"), ""
}

// ComplianceKPIs computes the tiles. The at-risk and assignments tables
// take their totals from them too, so one view reads them once.
func (q *Q) ComplianceKPIs() (ComplianceKPIs, error) {
	return q.memo.complianceKPIs.get(q.F, func() (ComplianceKPIs, error) {
		var k ComplianceKPIs
		a := q.complianceArgs()
		err := q.one(`SELECT coalesce(sum(assigned), 0), coalesce(sum(compliant), 0), coalesce(sum(due_soon), 0),
			coalesce(sum(overdue), 0), coalesce(sum(expired), 0), coalesce(sum(not_due), 0) FROM (`+q.statusCounts("1", "", a)+`) x`,
			a, &k.Assigned, &k.Compliant, &k.DueSoon, &k.Overdue, &k.Expired, &k.NotDue)
		k.Rate = pct(k.Compliant, k.Assigned)
		return k, err
	})
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

// assignmentRow is the columns of an assignments table's row, from the
// assignment ca and assignmentJoins.
var assignmentRow = `l.id AS learner_id, r.id AS requirement_id,
	coalesce(nullif(l.name, ''), l.email, l.employee_id) AS learner, coalesce(l.email, '') AS email, l.department,
	` + requirementLabel + ` AS requirement,
	replace(` + complianceStatus("ca.due_on", "coalesce(ca.expires_on, 'infinity')", "ca.completed_at IS NOT NULL") + `, '_', ' ') AS status,
	ca.assigned_on, ca.due_on, ca.completed_at, ca.expires_on`

// assignmentJoins joins an assignment ca to its learner l, requirement r
// and r's course c.
const assignmentJoins = `JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id
	JOIN compliance_requirements r ON r.tenant_id = ca.tenant_id AND r.id = ca.requirement_id
	JOIN courses c ON c.tenant_id = r.tenant_id AND c.id = r.course_id`

// assignmentsTable lists people's assignments in scope that meet the
// condition extra (on ca and l).
func (q *Q) assignmentsTable(id string, a pgx.NamedArgs, extra string) tableQuery {
	return tableQuery{
		id: id,
		columns: []Column{{Key: "learner_id", Kind: ID}, {Key: "requirement_id", Kind: ID},
			{Key: "learner"},
			{Key: "email"}, {Key: "department"},
			{Key: "requirement"}, {Key: "status"},
			{Key: "assigned_on", Kind: Date}, {Key: "due_on", Kind: Date},
			{Key: "completed_at", Kind: Time}, {Key: "expires_on", Kind: Date}},
		sql: `SELECT ` + assignmentRow + `
			FROM compliance_assignments ca ` + assignmentJoins + `
			WHERE ca.tenant_id = @tenant AND ` + q.Scope.learnerCond("l") + q.F.orgCond("l", a) + q.F.courseCond("r", a) + extra,
		args: a, defaultSort: "due_on", search: "t.learner || ' ' || t.email",
	}
}

// indexedAssignments serves t's default order (due date, person,
// requirement) along compliance_assignments_due, or along
// compliance_assignments_at_risk for a condition cond (on ca) that
// implies its predicate: the page's assignments are found in the index
// first, skipping the earlier pages' without joining them, and then
// joined; the total comes from the compliance counts (count).
func (q *Q) indexedAssignments(t tableQuery, cond string, count func(ComplianceKPIs) int64) tableQuery {
	a := t.args
	learners := ""
	if q.F.Department != "" || q.F.Location != "" {
		learners = ` JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id`
	}
	// A manager's people are tested on the assignment, with no person
	// to read for each index entry.
	where := q.Scope.learnerCond("l")
	if q.Scope.Root != 0 {
		where = "ca.learner_id IN (SELECT learner_id FROM org_closure WHERE tenant_id = @tenant AND manager_id = @root)"
	}
	t.indexed = &indexedPage{
		sql: `WITH pg AS MATERIALIZED (
				SELECT ca.learner_id, ca.requirement_id, ca.due_on FROM compliance_assignments ca` + learners + `
				WHERE ca.tenant_id = @tenant AND ` + where + q.F.orgCond("l", a) + q.F.requirementCond("ca", a) + cond + `
				ORDER BY ca.due_on, ca.learner_id, ca.requirement_id LIMIT @limit OFFSET @offset)
			SELECT ` + assignmentRow + `
			FROM pg JOIN compliance_assignments ca ON ca.tenant_id = @tenant AND ca.requirement_id = pg.requirement_id
				AND ca.learner_id = pg.learner_id
			` + assignmentJoins + `
			ORDER BY pg.due_on, pg.learner_id, pg.requirement_id`,
		total: func() (int, error) {
			k, err := q.ComplianceKPIs()
			return int(count(k)), err
		},
	}
	return t
}

// atRisk is an assignment that is expired, overdue or due soon — said on
// the columns, so that an index narrows the rows before statuses are
// named.
const atRisk = ` AND ((ca.completed_at IS NOT NULL AND ca.expires_on < @today) OR (ca.completed_at IS NULL AND ca.due_on <= @soon))`

// atRiskIndex is compliance_assignments_at_risk's predicate, which atRisk
// implies: said too, so the planner need not prove it.
const atRiskIndex = ` AND (ca.completed_at IS NULL OR ca.expires_on IS NOT NULL)`

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
				` + managerNameJoin,
			args: a, defaultSort: "overdue", defaultDesc: true, search: "t.team",
		}, nil
	}
	tables["compliance/people"] = func(q *Q, p Params) (tableQuery, error) {
		if _, err := q.RequirementTitle(p.Requirement); err != nil {
			return tableQuery{}, err
		}
		a := with(q.complianceArgs(), "requirement_id", p.Requirement, "team", p.Team)
		t := q.assignmentsTable("compliance/people", a,
			" AND ca.requirement_id = @requirement_id AND coalesce(l.manager_id, 0) = @team")
		if err := q.exists(`SELECT 1 FROM (`+t.sql+`) t`, a); err != nil {
			return t, err
		}
		return t, nil
	}
	tables["compliance/at-risk"] = func(q *Q, _ Params) (tableQuery, error) {
		t := q.assignmentsTable("compliance/at-risk", q.complianceArgs(), atRisk)
		return q.indexedAssignments(t, atRisk+atRiskIndex, func(k ComplianceKPIs) int64 { return k.Expired + k.Overdue + k.DueSoon }), nil
	}
	tables["compliance/assignments"] = func(q *Q, _ Params) (tableQuery, error) {
		t := q.assignmentsTable("compliance/assignments", q.complianceArgs(), "")
		return q.indexedAssignments(t, "", func(k ComplianceKPIs) int64 { return k.Assigned }), nil
	}
}
