package analytics

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
)

// ErrNotFound is an id the viewer may not see: missing, another tenant's,
// or outside their part of the organisation. All three look the same.
var ErrNotFound = errors.New("analytics: not found")

// Scope is whose learning a request may see. Every query of this package
// takes one, so pages, fragments, JSON and exports share the same rule:
// tenant admins and analysts see the whole tenant, a manager everyone
// reporting to them (solid or dotted line, at any depth), and a filter on
// a manager narrows either to that manager's people.
type Scope struct {
	Tenant int64
	// Root is the manager whose people are in scope; 0 means the whole
	// tenant.
	Root int64
	// Self is the viewer's own learner record (linked by an admin, else
	// matched by email), if any.
	Self int64
	// None is a manager without a learner record: nobody reports to them.
	None bool
	// extra are the people in Root's scope whose gold group is not: they
	// report to Root only through a dotted line somewhere above them.
	extra []int64
	// managers are the gold groups' managers in Root's scope: Root and
	// everyone in it whom somebody reports to (nil: not resolved, or too
	// many to list; the gold is then read through managersIn).
	managers []int64
	// people is how many people report to Root, at any depth, counted up
	// to maxGenericPlanPeople+1.
	people int
	// view says that the reads compute a view of the scope's own people
	// (Store.RunView), which may run on generic plans.
	view bool
	// directory is the tenant's directory version extra, managers and
	// people were read at (directory_versions.version, 0 for none yet).
	directory int64
}

// Key names the scope for sharing computed views between viewers: two
// viewers with equal keys see exactly the same people. Views that also
// depend on the viewer's own record (My learning, a learner page) add
// Self to their own name.
func (s Scope) Key() string {
	switch {
	case s.None:
		return "none:" + strconv.FormatInt(s.Self, 10)
	case s.Root == 0:
		return "all"
	}
	return "root:" + strconv.FormatInt(s.Root, 10)
}

// Viewer is who asks: their role and email, and the learner record an
// admin linked them to (0: none, the record with their email counts).
type Viewer struct {
	Role    string
	Email   string
	Learner int64
}

// ResolveScope decides the scope of viewer in tenant, narrowed to the
// people of manager (0 = no narrowing). A manager outside the viewer's
// scope is ErrNotFound.
func ResolveScope(ctx context.Context, tx pgx.Tx, tenant int64, v Viewer, manager int64) (Scope, error) {
	s := Scope{Tenant: tenant}
	if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT id FROM learners WHERE tenant_id = $1 AND id = $3),
			(SELECT id FROM learners WHERE tenant_id = $1 AND email = lower($2)), 0)`,
		tenant, v.Email, v.Learner).Scan(&s.Self); err != nil {
		return s, fmt.Errorf("find the viewer's learner record: %w", err)
	}
	switch v.Role {
	case models.RoleTenantAdmin, models.RoleAnalyst:
		if manager != 0 {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM learners WHERE tenant_id = $1 AND id = $2)`,
				tenant, manager).Scan(&ok); err != nil {
				return s, err
			}
			if !ok {
				return s, ErrNotFound
			}
			s.Root = manager
		}
	case models.RoleManager:
		if s.Self == 0 {
			if manager != 0 {
				return s, ErrNotFound
			}
			s.None = true
			return s, nil
		}
		s.Root = s.Self
		if manager != 0 && manager != s.Self {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM org_closure WHERE tenant_id = $1 AND manager_id = $2 AND learner_id = $3)`,
				tenant, s.Self, manager).Scan(&ok); err != nil {
				return s, err
			}
			if !ok {
				return s, ErrNotFound
			}
			s.Root = manager
		}
	default: // learners see only themselves (Self)
		if manager != 0 {
			return s, ErrNotFound
		}
		s.None = true
		return s, nil
	}
	return s, s.readPeople(ctx, tx)
}

// readPeople reads what the scope's reads need to know of Root's people,
// in one round trip: those whose gold group lies outside the scope, the
// managers of the scope's gold groups (see Scope.gold), and how many
// they are.
func (s *Scope) readPeople(ctx context.Context, tx pgx.Tx) error {
	s.extra, s.managers, s.people = nil, nil, 0
	if s.Root == 0 {
		return nil
	}
	tenant := s.Tenant
	var b pgx.Batch
	collect := func(into *[]int64, what string) func(pgx.Rows) error {
		return func(rows pgx.Rows) error {
			var err error
			if *into, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
				return fmt.Errorf("find %s: %w", what, err)
			}
			return nil
		}
	}
	b.Queue(`SELECT c.learner_id FROM org_closure c
		JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.learner_id
		WHERE c.tenant_id = $1 AND c.manager_id = $2 AND coalesce(l.manager_id, 0) <> $2
		  AND NOT EXISTS (SELECT 1 FROM org_closure m WHERE m.tenant_id = $1 AND m.manager_id = $2 AND m.learner_id = l.manager_id)`,
		tenant, s.Root).Query(collect(&s.extra, "dotted-line reports"))
	b.Queue(`SELECT $2::bigint UNION ALL SELECT c.learner_id FROM org_closure c
		WHERE c.tenant_id = $1 AND c.manager_id = $2 AND EXISTS (SELECT FROM learners l WHERE l.tenant_id = $1 AND l.manager_id = c.learner_id)
		LIMIT $3`, tenant, s.Root, maxListedManagers+1).Query(collect(&s.managers, "the scope's managers"))
	b.Queue(`SELECT count(*) FROM (SELECT FROM org_closure WHERE tenant_id = $1 AND manager_id = $2 LIMIT $3) c`,
		tenant, s.Root, maxGenericPlanPeople+1).QueryRow(func(row pgx.Row) error { return row.Scan(&s.people) })
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("resolve the scope of %d: %w", s.Root, err)
	}
	if len(s.managers) > maxListedManagers {
		s.managers = nil
	}
	return nil
}

// maxListedManagers bounds the managers a scope lists for its gold reads
// (Scope.gold): beyond it, planning a list of constants costs more than
// the subquery, whose hash over a scan of the tenant's rows is the right
// plan for so large a part of the organisation anyway.
const maxListedManagers = 1000

// maxGenericPlanPeople is the largest manager's scope whose reads run on
// generic plans (see Scope.genericPlans).
const maxGenericPlanPeople = 500

// genericPlans says whether the scope's reads may run on generic plans,
// made once per connection and statement, rather than a plan made for
// each read's own values: a learner's own view, or a manager's people
// listed by their managers (Scope.gold) when they are at most
// maxGenericPlanPeople. Planning these queries took more time than
// running them for a small team (2–5 ms of planning against 0.3–3 ms of
// execution for a page of a manager of 11 or 53 people of a
// 1M-statement tenant), and the generic plans, made without the values,
// are the index reads a few people's rows want whatever the tenant's
// size: the same or less execution time up to about 560 people, more
// (up to 1.5 times) from about 900. The whole organisation and larger
// scopes keep plans made for their values: a generic plan assumes an
// average tenant and an average manager, which a large one is not
// (docs/PERFORMANCE.md, "Generic plans for small scopes").
func (s Scope) genericPlans() bool {
	return s.None || (s.Root != 0 && s.managers != nil && s.people <= maxGenericPlanPeople)
}

// CanSeeLearner reports whether learner is in the scope.
func (s Scope) CanSeeLearner(ctx context.Context, tx pgx.Tx, learner int64) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM learners l WHERE l.tenant_id = @tenant AND l.id = @id AND `+
		s.learnerCond("l")+`)`, s.args(pgx.NamedArgs{"id": learner})).Scan(&ok)
	return ok, err
}

// args are the named arguments the scope's SQL uses, plus more.
func (s Scope) args(more pgx.NamedArgs) pgx.NamedArgs {
	a := pgx.NamedArgs{"tenant": s.Tenant, "root": s.Root, "learners": s.extra, "managers": s.managers}
	for k, v := range more {
		a[k] = v
	}
	return a
}

// managersIn is the set of gold group managers wholly inside Root's scope:
// Root and everyone reporting to Root.
const managersIn = `(SELECT @root::bigint UNION ALL SELECT learner_id FROM org_closure WHERE tenant_id = @tenant AND manager_id = @root)`

// gold is a FROM item named alias holding the scope's rows of a gold
// table with the given columns. The scope's groups are those of its
// managers, listed as constants when the scope has them (Scope.managers):
// the planner then expects as many rows as the listed managers have and
// reads them along the table's manager index. Through managersIn it
// expected thousands of rows for a manager of 53 people and hashed a scan
// of the tenant's every row (1M statements: 12 ms of a 22 ms course
// table, of which 0.4 ms were the manager's rows).
func (s Scope) gold(table, columns, alias string) string {
	switch {
	case s.None:
		return fmt.Sprintf("(SELECT %s FROM %s WHERE false) %s", columns, table, alias)
	case s.Root == 0:
		return fmt.Sprintf("(SELECT %s FROM %s WHERE tenant_id = @tenant) %s", columns, table, alias)
	}
	in := "manager_id IN " + managersIn
	if s.managers != nil {
		in = "manager_id = ANY(@managers::bigint[])"
	}
	src := fmt.Sprintf("SELECT %s FROM %s WHERE tenant_id = @tenant AND %s", columns, table, in)
	if len(s.extra) > 0 {
		src += fmt.Sprintf(" UNION ALL SELECT %s FROM (%s) x", columns, pipeline.GoldRowsFor(table))
	}
	return "(" + src + ") " + alias
}

// gold is Scope.gold, but reads a roll-up of the table when the request
// covers the whole organisation (no manager scope): its tenant-wide
// roll-up without a department or location filter, its organisation
// roll-up (by department and location) with one or both. The same numbers
// from far fewer rows; the group columns a roll-up sums over read as
// constants there.
func (q *Q) gold(table, columns, alias string) string {
	if q.Scope.None || q.Scope.Root != 0 || q.grouped {
		return q.Scope.gold(table, columns, alias)
	}
	rollup, keep := pipeline.RollupOf(table), map[string]bool{}
	if q.F.Department != "" || q.F.Location != "" {
		rollup, keep = pipeline.OrgRollupOf(table), map[string]bool{"department": true, "location": true}
	}
	if rollup == "" {
		return q.Scope.gold(table, columns, alias)
	}
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		switch {
		case c == "manager_id":
			cols[i] = "0::bigint AS manager_id"
		case (c == "department" || c == "location") && !keep[c]:
			cols[i] = "''::text AS " + c
		}
	}
	return fmt.Sprintf("(SELECT %s FROM %s WHERE tenant_id = @tenant) %s", strings.Join(cols, ", "), rollup, alias)
}

// learnerCond is a condition on a learners row named alias: in scope.
func (s Scope) learnerCond(alias string) string {
	switch {
	case s.None:
		return "false"
	case s.Root == 0:
		return "true"
	}
	return fmt.Sprintf("%s.id IN (SELECT learner_id FROM org_closure WHERE tenant_id = @tenant AND manager_id = @root)", alias)
}

// dims says which filter dimensions a relation has.
type dims struct {
	course bool   // course_id
	day    string // the date column the range applies to, if any
}

// cond is the filters as "AND …" conditions on a relation named alias
// (which has department and location), adding their arguments to a.
func (f Filters) cond(alias string, d dims, a pgx.NamedArgs) string {
	c := f.orgCond(alias, a)
	if d.course {
		c += f.courseCond(alias, a)
	}
	if d.day != "" {
		c += fmt.Sprintf(" AND %s.%s BETWEEN @from AND @to", alias, d.day)
		a["from"], a["to"] = f.From, f.To
	}
	return c
}

// orgCond is the department and location filters on alias.
func (f Filters) orgCond(alias string, a pgx.NamedArgs) string {
	var b strings.Builder
	if f.Department != "" {
		fmt.Fprintf(&b, " AND %s.department = @department", alias)
		a["department"] = f.Department
	}
	if f.Location != "" {
		fmt.Fprintf(&b, " AND %s.location = @location", alias)
		a["location"] = f.Location
	}
	return b.String()
}

// courseCond is the course and category filters on alias.course_id.
func (f Filters) courseCond(alias string, a pgx.NamedArgs) string {
	var b strings.Builder
	if f.Course != 0 {
		fmt.Fprintf(&b, " AND %s.course_id = @course", alias)
		a["course"] = f.Course
	}
	if f.Category != "" {
		fmt.Fprintf(&b, " AND %s.course_id IN (SELECT id FROM courses WHERE tenant_id = @tenant AND category = @category)", alias)
		a["category"] = f.Category
	}
	return b.String()
}
