package analytics

import (
	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/models"
)

// TeamNode is a person in the org tree with the numbers of their part of
// the organisation: themselves and everyone reporting to them, solid or
// dotted line, at any depth.
type TeamNode struct {
	ID             int64   `json:"id"`
	Name           string  `json:"name"`
	JobTitle       string  `json:"job_title"`
	Department     string  `json:"department"`
	Location       string  `json:"location"`
	Dotted         bool    `json:"dotted"`  // reports to the parent by a dotted line
	Reports        int64   `json:"reports"` // direct reports, solid and dotted
	People         int64   `json:"people"`
	Enrolled       int64   `json:"enrolled"`
	Completed      int64   `json:"completed"`
	Overdue        int64   `json:"overdue"`
	CompletionRate float64 `json:"completion_rate"`
	Assigned       int64   `json:"assigned"`
	Compliant      int64   `json:"compliant"`
	ComplianceRate float64 `json:"compliance_rate"`
}

// bigNode is the people under a set of tree nodes above which their
// numbers are computed by hash joins (see teamNodes).
const bigNode = 2000

// TeamStart is where the tree opens: the manager filter's person, a
// manager's own node, or for the whole tenant everyone at the top with
// people under them.
func (q *Q) TeamStart() ([]TeamNode, error) {
	if q.Scope.None {
		return nil, nil
	}
	if q.Scope.Root != 0 {
		return q.teamNodes(`SELECT @root::bigint AS id, false AS dotted`, q.args())
	}
	return q.teamNodes(teamTops, q.args())
}

// teamTops are the start nodes of the whole tenant's tree; teamReports are
// the direct reports of @node.
const (
	teamTops = `SELECT l.id, false AS dotted FROM learners l WHERE l.tenant_id = @tenant AND l.manager_id IS NULL
		AND EXISTS (SELECT 1 FROM learners r WHERE r.tenant_id = @tenant AND r.manager_id = l.id)`
	teamReports = `SELECT learner_id AS id, dotted FROM org_closure WHERE tenant_id = @tenant AND manager_id = @node AND depth = 1`
)

// TeamChildren are the direct reports (solid and dotted) of node, which
// must be in the scope.
func (q *Q) TeamChildren(node int64) ([]TeamNode, error) {
	a := with(q.args(), "node", node)
	if node != q.Scope.Root || q.Scope.None {
		if err := q.exists(`SELECT 1 FROM learners l WHERE l.tenant_id = @tenant AND l.id = @node AND `+q.Scope.learnerCond("l"), a); err != nil {
			return nil, err
		}
	}
	return q.teamNodes(teamReports, a)
}

// managerNameJoin gives each row x of a drill-down's teams (x.k, the
// manager's id, 0 for no manager) its manager m, by key per row: OFFSET 0
// keeps the lookups, where the planner, expecting thousands of teams,
// hashed the tenant's every person instead (36 ms of 79 for a course of a
// 90,000-person tenant).
const managerNameJoin = `LEFT JOIN LATERAL (SELECT m.name, m.email FROM learners m
				WHERE m.tenant_id = @tenant AND m.id = x.k OFFSET 0) m ON true`

// teamGroup is the group of the per-subtree totals (gold_team_*,
// migrations/00024) that answers the filters, or false when they need the
// grouped gold and silver: a course or category, or both a department and
// a location.
func (f Filters) teamGroup() (string, bool) {
	switch {
	case f.Course != 0 || f.Category != "" || (f.Department != "" && f.Location != ""):
		return "", false
	case f.Department != "":
		return "d:" + f.Department, true
	case f.Location != "":
		return "l:" + f.Location, true
	}
	return "", true
}

// teamNodes computes the nodes listed by sql (columns id, dotted).
func (q *Q) teamNodes(sql string, a pgx.NamedArgs) ([]TeamNode, error) {
	a = with(a, "soon", q.Today.AddDate(0, 0, DueSoonDays))
	if grp, ok := q.F.teamGroup(); ok {
		return q.teamTotals(sql, with(a, "grp", grp))
	}
	return q.teamSums(sql, a)
}

// teamTotals reads the nodes' numbers from the per-subtree totals: one
// row per node and group, plus the due dates and compliance dates of the
// part. A node without reports has none; their own silver rows are their
// numbers. Each node's person is looked up by key (OFFSET 0 keeps the
// lookup per node): the planner, expecting thousands of nodes, hashed the
// tenant's every person instead (73 ms of 133 for a 90,000-person tenant's
// top ten).
func (q *Q) teamTotals(sql string, a pgx.NamedArgs) ([]TeamNode, error) {
	lc := q.F.orgCond("l", a)
	rows, err := q.tx.Query(q.ctx, `WITH nodes AS (`+sql+`),
		n AS MATERIALIZED (SELECT nodes.id, nodes.dotted,
			EXISTS (SELECT FROM org_closure c WHERE c.tenant_id = @tenant AND c.manager_id = nodes.id) AS mgr FROM nodes)
		SELECT l.id, coalesce(nullif(l.name, ''), l.email, l.employee_id, ''), l.job_title, l.department, l.location, n.dotted,
			(SELECT count(*) FROM org_closure r WHERE r.tenant_id = @tenant AND r.manager_id = l.id AND r.depth = 1),
			CASE WHEN n.mgr THEN coalesce((SELECT p.people FROM gold_team_people p
					WHERE p.tenant_id = @tenant AND p.node_id = l.id AND p.grp = @grp), 0)
				ELSE (SELECT count(*) WHERE true`+lc+`) END,
			coalesce(ec.e, 0), coalesce(ec.c, 0), coalesce(od.n, 0), coalesce(cq.a, 0), coalesce(cq.ok, 0)
		FROM n CROSS JOIN LATERAL (SELECT * FROM learners l WHERE l.tenant_id = @tenant AND l.id = n.id OFFSET 0) l
		CROSS JOIN LATERAL (SELECT sum(x.e)::bigint AS e, sum(x.c)::bigint AS c FROM (
				SELECT g.enrolled AS e, g.completed AS c FROM gold_team_completion g
				WHERE n.mgr AND g.tenant_id = @tenant AND g.node_id = l.id AND g.grp = @grp
				UNION ALL SELECT count(*), count(*) FILTER (WHERE en.status = 'completed') FROM enrollments en
				WHERE NOT n.mgr AND en.tenant_id = @tenant AND en.learner_id = l.id`+lc+`) x) ec
		CROSS JOIN LATERAL (SELECT sum(x.n)::bigint AS n FROM (
				SELECT g.incomplete AS n FROM gold_team_due g
				WHERE n.mgr AND g.tenant_id = @tenant AND g.node_id = l.id AND g.grp = @grp AND g.due_on < @today
				UNION ALL SELECT count(*) FROM enrollments en
				WHERE NOT n.mgr AND en.tenant_id = @tenant AND en.learner_id = l.id AND en.status <> 'completed' AND en.due_at < @today`+lc+`) x) od
		CROSS JOIN LATERAL (SELECT sum(x.a)::bigint AS a, sum(x.ok)::bigint AS ok FROM (
				SELECT g.people AS a, CASE WHEN `+complianceStatus("g.on_date", "g.on_date", "g.completed")+` = 'compliant' THEN g.people ELSE 0 END AS ok
				FROM gold_team_compliance g
				WHERE n.mgr AND g.tenant_id = @tenant AND g.node_id = l.id AND g.grp = @grp
				UNION ALL SELECT count(*), count(*) FILTER (WHERE `+
		complianceStatus("ca.due_on", "coalesce(ca.expires_on, 'infinity')", "ca.completed_at IS NOT NULL")+` = 'compliant')
				FROM compliance_assignments ca
				WHERE NOT n.mgr AND ca.tenant_id = @tenant AND ca.learner_id = l.id`+lc+`) x) cq
		ORDER BY 2, 1`, a)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TeamNode, error) {
		var n TeamNode
		err := r.Scan(&n.ID, &n.Name, &n.JobTitle, &n.Department, &n.Location, &n.Dotted, &n.Reports, &n.People,
			&n.Enrolled, &n.Completed, &n.Overdue, &n.Assigned, &n.Compliant)
		n.CompletionRate, n.ComplianceRate = pct(n.Completed, n.Enrolled), pct(n.Compliant, n.Assigned)
		return n, err
	})
}

// teamSums computes the nodes' numbers from the grouped gold and silver of
// their parts, for the filters the per-subtree totals do not carry.
func (q *Q) teamSums(sql string, a pgx.NamedArgs) ([]TeamNode, error) {
	mem := `WITH nodes AS (` + sql + `),
		mem AS (SELECT id AS n, id AS m FROM nodes
			UNION ALL SELECT nodes.id, c.learner_id FROM nodes JOIN org_closure c ON c.tenant_id = @tenant AND c.manager_id = nodes.id)`
	gold, err := q.teamGold(mem, a)
	if err != nil {
		return nil, err
	}
	// Silver for the people whose gold group lies outside the node's part:
	// the node itself, and people reached by a dotted line only (closure
	// rows marked dotted) whose own manager is not in the part. A person
	// with a solid path from the node has their manager on it. The sums
	// per node are MATERIALIZED: the planner, expecting a row or two of
	// ext, otherwise recomputed each of them once per node.
	ec := q.F.orgCond("l", a)
	people := `ppl AS MATERIALIZED (SELECT mem.n, count(*) AS p FROM mem JOIN learners l ON l.tenant_id = @tenant AND l.id = mem.m WHERE true` + ec + ` GROUP BY 1)`
	if ec == "" {
		// Without a department or location filter a node's people are
		// its per-subtree total (one person, itself, without reports).
		people = `ppl AS (SELECT nodes.id AS n, ` + nodePeople + ` AS p FROM nodes)`
	}
	rows, err := q.tx.Query(q.ctx, mem+`,
		ext AS (SELECT x.n, l.id FROM (SELECT id AS n, id AS m FROM nodes
				UNION ALL SELECT c.manager_id, c.learner_id FROM nodes
				JOIN org_closure c ON c.tenant_id = @tenant AND c.manager_id = nodes.id AND c.dotted) x
			JOIN learners l ON l.tenant_id = @tenant AND l.id = x.m
			WHERE (x.m = x.n OR (l.manager_id IS DISTINCT FROM x.n AND NOT EXISTS (SELECT 1 FROM org_closure c2
				WHERE c2.tenant_id = @tenant AND c2.manager_id = x.n AND c2.learner_id = l.manager_id)))`+ec+`),
		ee AS MATERIALIZED (SELECT ext.n, count(*) AS e, count(*) FILTER (WHERE en.status = 'completed') AS c,
				count(*) FILTER (WHERE en.status <> 'completed' AND en.due_at < @today) AS od
			FROM ext JOIN enrollments en ON en.tenant_id = @tenant AND en.learner_id = ext.id WHERE true`+q.F.courseCond("en", a)+` GROUP BY 1),
		eq AS MATERIALIZED (SELECT ext.n, count(*) AS a,
				count(*) FILTER (WHERE `+complianceStatus("ca.due_on", "coalesce(ca.expires_on, 'infinity')", "ca.completed_at IS NOT NULL")+` = 'compliant') AS ok
			FROM ext JOIN compliance_assignments ca ON ca.tenant_id = @tenant AND ca.learner_id = ext.id
			WHERE true`+q.F.requirementCond("ca", a)+` GROUP BY 1),
		`+people+`
		SELECT l.id, coalesce(nullif(l.name, ''), l.email, l.employee_id, ''), l.job_title, l.department, l.location, nodes.dotted,
			(SELECT count(*) FROM org_closure r WHERE r.tenant_id = @tenant AND r.manager_id = l.id AND r.depth = 1),
			coalesce(ppl.p, 0), coalesce(ee.e, 0), coalesce(ee.c, 0), coalesce(ee.od, 0), coalesce(eq.a, 0), coalesce(eq.ok, 0)
		FROM nodes JOIN learners l ON l.tenant_id = @tenant AND l.id = nodes.id
		LEFT JOIN ee ON ee.n = l.id LEFT JOIN eq ON eq.n = l.id LEFT JOIN ppl ON ppl.n = l.id
		ORDER BY 2, 1`, a)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TeamNode, error) {
		var n TeamNode
		err := r.Scan(&n.ID, &n.Name, &n.JobTitle, &n.Department, &n.Location, &n.Dotted, &n.Reports, &n.People,
			&n.Enrolled, &n.Completed, &n.Overdue, &n.Assigned, &n.Compliant)
		g := gold[n.ID]
		n.Enrolled, n.Completed, n.Overdue = n.Enrolled+g.Enrolled, n.Completed+g.Completed, n.Overdue+g.Overdue
		n.Assigned, n.Compliant = n.Assigned+g.Assigned, n.Compliant+g.Compliant
		n.CompletionRate, n.ComplianceRate = pct(n.Completed, n.Enrolled), pct(n.Compliant, n.Assigned)
		return n, err
	})
}

// nodePeople is the people of the part of the node in nodes: its
// per-subtree total, or itself alone for a node without reports (no
// row).
const nodePeople = `coalesce((SELECT p.people FROM gold_team_people p WHERE p.tenant_id = @tenant AND p.node_id = nodes.id AND p.grp = ''), 1)`

// teamGold sums, per node, the gold rows of the groups whose manager is in
// the node's part (mem: WITH … mem(n, m)).
func (q *Q) teamGold(mem string, a pgx.NamedArgs) (map[int64]TeamNode, error) {
	// The planner cannot know how many people the nodes hold: it plans
	// index lookups per person, which for the top of a large organisation
	// means thousands of them. Past bigNode people, hash joins over the
	// tenant's gold are cheaper.
	var people int64
	if err := q.one(mem+` SELECT coalesce(sum(`+nodePeople+`), 0) FROM nodes`, a, &people); err != nil {
		return nil, err
	}
	if people > bigNode {
		if _, err := q.tx.Exec(q.ctx, `SET LOCAL enable_nestloop = off`); err != nil {
			return nil, err
		}
		defer q.tx.Exec(q.ctx, `SET LOCAL enable_nestloop = on`)
	}
	// Gold rows are grouped by the people's manager: only the members who
	// have reports can have any, so only they are looked up (one probe
	// each for the others, instead of one per gold table).
	gc := q.F.orgCond("g", a) + q.F.courseCond("g", a)
	rows, err := q.tx.Query(q.ctx, mem+`,
		mgr AS MATERIALIZED (SELECT n, m FROM mem WHERE EXISTS (SELECT 1 FROM learners r WHERE r.tenant_id = @tenant AND r.manager_id = mem.m)),
		gc AS (SELECT mgr.n, sum(g.enrolled) AS e, sum(g.completed) AS c FROM mgr
			JOIN gold_course_completion g ON g.tenant_id = @tenant AND g.manager_id = mgr.m WHERE true`+gc+` GROUP BY 1),
		gd AS (SELECT mgr.n, sum(g.incomplete) AS od FROM mgr
			JOIN gold_completion_due g ON g.tenant_id = @tenant AND g.manager_id = mgr.m WHERE g.due_on < @today`+gc+` GROUP BY 1),
		gq AS (SELECT mgr.n, sum(g.people) AS a, sum(g.people) FILTER (WHERE `+complianceStatus("g.on_date", "g.on_date", "g.completed")+` = 'compliant') AS ok
			FROM mgr JOIN gold_compliance g ON g.tenant_id = @tenant AND g.manager_id = mgr.m
			WHERE true`+q.F.orgCond("g", a)+q.F.requirementCond("g", a)+` GROUP BY 1)
		SELECT n, coalesce(gc.e, 0)::bigint, coalesce(gc.c, 0)::bigint, coalesce(gd.od, 0)::bigint,
			coalesce(gq.a, 0)::bigint, coalesce(gq.ok, 0)::bigint
		FROM (SELECT id AS n FROM nodes) ns LEFT JOIN gc USING (n) LEFT JOIN gd USING (n) LEFT JOIN gq USING (n)`, a)
	if err != nil {
		return nil, err
	}
	out := map[int64]TeamNode{}
	var id int64
	var t TeamNode
	_, err = pgx.ForEachRow(rows, []any{&id, &t.Enrolled, &t.Completed, &t.Overdue, &t.Assigned, &t.Compliant}, func() error {
		out[id] = t
		return nil
	})
	return out, err
}

// Learner is one person's profile.
type Learner struct {
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	Email      string  `json:"email"`
	EmployeeID string  `json:"employee_id"`
	Department string  `json:"department"`
	Location   string  `json:"location"`
	JobTitle   string  `json:"job_title"`
	Manager    string  `json:"manager"`
	ManagerID  int64   `json:"manager_id"`
	Status     string  `json:"status"`
	Enrolled   int64   `json:"enrolled"`
	InProgress int64   `json:"in_progress"`
	Completed  int64   `json:"completed"`
	Overdue    int64   `json:"overdue"`
	Assigned   int64   `json:"assigned"`
	Compliant  int64   `json:"compliant"`
	LastActive *string `json:"last_active"` // YYYY-MM-DD
}

// CanSee is ErrNotFound unless the viewer may see learner: their own
// record, or (for managers, admins and analysts) someone in the scope.
func (q *Q) CanSee(learner int64) error {
	if learner != 0 && learner == q.Scope.Self {
		return nil
	}
	if q.Viewer.Role == models.RoleLearner {
		return ErrNotFound
	}
	ok, err := q.Scope.CanSeeLearner(q.ctx, q.tx, learner)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}

// LearnerProfile reads a learner the viewer may see.
func (q *Q) LearnerProfile(id int64) (Learner, error) {
	p := Learner{ID: id}
	if err := q.CanSee(id); err != nil {
		return p, err
	}
	err := q.one(`SELECT coalesce(nullif(l.name, ''), l.email, l.employee_id, ''), coalesce(l.email, ''), coalesce(l.employee_id, ''),
			l.department, l.location, l.job_title, coalesce(nullif(m.name, ''), m.email, ''), coalesce(l.manager_id, 0), l.status,
			(SELECT count(*) FROM enrollments en WHERE en.tenant_id = @tenant AND en.learner_id = l.id),
			(SELECT count(*) FROM enrollments en WHERE en.tenant_id = @tenant AND en.learner_id = l.id AND en.status = 'in_progress'),
			(SELECT count(*) FROM enrollments en WHERE en.tenant_id = @tenant AND en.learner_id = l.id AND en.status = 'completed'),
			(SELECT count(*) FROM enrollments en WHERE en.tenant_id = @tenant AND en.learner_id = l.id AND en.status <> 'completed' AND en.due_at < @today),
			(SELECT count(*) FROM compliance_assignments ca WHERE ca.tenant_id = @tenant AND ca.learner_id = l.id),
			(SELECT count(*) FROM compliance_assignments ca WHERE ca.tenant_id = @tenant AND ca.learner_id = l.id AND `+
		complianceStatus("ca.due_on", "coalesce(ca.expires_on, 'infinity')", "ca.completed_at IS NOT NULL")+` = 'compliant'),
			(SELECT max(day)::text FROM daily_activity d WHERE d.tenant_id = @tenant AND d.learner_id = l.id)
		FROM learners l LEFT JOIN learners m ON m.tenant_id = l.tenant_id AND m.id = l.manager_id
		WHERE l.tenant_id = @tenant AND l.id = @id`, with(q.complianceArgs(), "id", id),
		&p.Name, &p.Email, &p.EmployeeID, &p.Department, &p.Location, &p.JobTitle, &p.Manager, &p.ManagerID, &p.Status,
		&p.Enrolled, &p.InProgress, &p.Completed, &p.Overdue, &p.Assigned, &p.Compliant, &p.LastActive)
	return p, err
}

func init() {
	tables["learner/enrollments"] = func(q *Q, p Params) (tableQuery, error) {
		if err := q.CanSee(p.Learner); err != nil {
			return tableQuery{}, err
		}
		return tableQuery{
			id: "learner/enrollments",
			columns: []Column{{Key: "course"}, {Key: "category"},
				{Key: "status"}, {Key: "enrolled_at", Kind: Time},
				{Key: "completed_at", Kind: Time}, {Key: "due_on", Kind: Date},
				{Key: "overdue", Kind: Bool}, {Key: "best_score", Kind: Percent},
				{Key: "attempts", Kind: Int}, {Key: "passed", Kind: Bool}},
			sql: `SELECT coalesce(nullif(c.title, ''), c.activity_iri) AS course, c.category, replace(en.status, '_', ' ') AS status,
				en.enrolled_at, en.completed_at, en.due_at AS due_on, (en.status <> 'completed' AND en.due_at < @today) AS overdue,
				round((en.best_scaled * 100)::numeric, 1)::float8 AS best_score, en.attempts::bigint AS attempts, en.passed
				FROM enrollments en JOIN courses c ON c.tenant_id = en.tenant_id AND c.id = en.course_id
				WHERE en.tenant_id = @tenant AND en.learner_id = @learner_id`,
			args: with(q.args(), "learner_id", p.Learner), defaultSort: "enrolled_at", defaultDesc: true, search: "t.course",
		}, nil
	}
	tables["learner/attempts"] = func(q *Q, p Params) (tableQuery, error) {
		if err := q.CanSee(p.Learner); err != nil {
			return tableQuery{}, err
		}
		return tableQuery{
			id: "learner/attempts",
			columns: []Column{{Key: "course"}, {Key: "at", Kind: Time},
				{Key: "score", Kind: Percent}, {Key: "result"}},
			sql: `SELECT coalesce(nullif(c.title, ''), c.activity_iri) AS course, e.ts AS at,
				round((e.scaled * 100)::numeric, 1)::float8 AS score,
				CASE WHEN e.kind = 'pass' OR (e.kind = 'score' AND e.success) THEN 'passed'
				     WHEN e.kind = 'fail' OR (e.kind = 'score' AND NOT e.success) THEN 'failed' ELSE 'scored' END AS result
				FROM learning_events e JOIN courses c ON c.tenant_id = e.tenant_id AND c.id = e.course_id
				WHERE e.tenant_id = @tenant AND e.learner_id = @learner_id AND NOT e.voided AND e.kind IN ('pass', 'fail', 'score')`,
			args: with(q.args(), "learner_id", p.Learner), defaultSort: "at", defaultDesc: true, search: "t.course",
		}, nil
	}
	tables["learner/certificates"] = func(q *Q, p Params) (tableQuery, error) {
		if err := q.CanSee(p.Learner); err != nil {
			return tableQuery{}, err
		}
		return tableQuery{
			id: "learner/certificates",
			columns: []Column{{Key: "requirement"}, {Key: "status"},
				{Key: "due_on", Kind: Date}, {Key: "completed_at", Kind: Time},
				{Key: "expires_on", Kind: Date}},
			sql: `SELECT ` + requirementLabel + ` AS requirement,
				replace(` + complianceStatus("ca.due_on", "coalesce(ca.expires_on, 'infinity')", "ca.completed_at IS NOT NULL") + `, '_', ' ') AS status,
				ca.due_on, ca.completed_at, ca.expires_on
				FROM compliance_assignments ca
				JOIN compliance_requirements r ON r.tenant_id = ca.tenant_id AND r.id = ca.requirement_id
				JOIN courses c ON c.tenant_id = r.tenant_id AND c.id = r.course_id
				WHERE ca.tenant_id = @tenant AND ca.learner_id = @learner_id`,
			args: with(q.complianceArgs(), "learner_id", p.Learner), defaultSort: "due_on",
		}, nil
	}
}
