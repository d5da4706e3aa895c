package analytics

import (
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// The point-in-time team view: the org tree and its numbers as they stood
// at the end of a past day, from the effective-dated roster
// (learner_history) and silver. Today's tree (team.go) reads gold, which
// is grouped by today's managers and so cannot say who reported to whom
// before; this reads the history rows valid on the day instead.
//
// What a past day's numbers mean, per person:
//   - enrolled: enrolled on or before the day; completed: completed on or
//     before it; overdue: enrolled, not completed by the end of the day
//     and due before it;
//   - assigned: a requirement assigned on or before the day; compliant:
//     completed on or before the day and not expired on it. Assignments
//     keep their latest completion only, so a certificate renewed after
//     the day counts as not completed on it.

// AsOfYears is how far back an as-of date may go.
const AsOfYears = 10

// ParseAsOf reads an as-of date (YYYY-MM-DD) for a tenant whose local date
// is today. "" is today (no as-of); today itself is also no as-of.
func ParseAsOf(s string, today time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, &InputError{Param: "as_of", Reason: "must be a date written YYYY-MM-DD"}
	}
	switch {
	case d.After(today):
		return time.Time{}, &InputError{Param: "as_of", Reason: "must not be after today (" + today.Format(time.DateOnly) + ")"}
	case d.Before(today.AddDate(-AsOfYears, 0, 0)):
		return time.Time{}, &InputError{Param: "as_of", Reason: fmt.Sprintf("must be within the last %d years", AsOfYears)}
	case d.Equal(today):
		return time.Time{}, nil
	}
	return d, nil
}

// rosterDay is the org tree on one day: who reported to whom, solid and
// dotted line, and each person's learning numbers as of that day.
type rosterDay struct {
	people   map[int64]*asOfPerson
	children map[int64][]asOfEdge // manager → direct reports
	inScope  map[int64]bool       // nil: the whole tenant
}

type asOfPerson struct {
	node    TeamNode // name, job and numbers of the person alone
	counted bool     // matches the department and location filters
	manager int64
}

type asOfEdge struct {
	id     int64
	dotted bool
}

// TeamStartAsOf is TeamStart on day: the scope's root as it stood then,
// or for the whole tenant everyone at the top with people under them.
func (q *Q) TeamStartAsOf(day time.Time) ([]TeamNode, error) {
	if q.Scope.None {
		return nil, nil
	}
	r, err := q.rosterOn(day)
	if err != nil {
		return nil, err
	}
	var start []asOfEdge
	if q.Scope.Root != 0 {
		if _, ok := r.people[q.Scope.Root]; ok {
			start = append(start, asOfEdge{id: q.Scope.Root})
		}
	} else {
		for id, p := range r.people {
			if p.manager == 0 && len(r.children[id]) > 0 {
				start = append(start, asOfEdge{id: id})
			}
		}
	}
	return r.nodes(start), nil
}

// TeamChildrenAsOf are node's direct reports on day; node must be in the
// scope as it stood on that day.
func (q *Q) TeamChildrenAsOf(node int64, day time.Time) ([]TeamNode, error) {
	if q.Scope.None {
		return nil, ErrNotFound
	}
	r, err := q.rosterOn(day)
	if err != nil {
		return nil, err
	}
	if _, ok := r.people[node]; !ok || (r.inScope != nil && !r.inScope[node]) {
		return nil, ErrNotFound
	}
	return r.nodes(r.children[node]), nil
}

// rosterOn reads the tree of day, limited to the scope's root and
// everyone under it then, and the numbers of each person in it.
func (q *Q) rosterOn(day time.Time) (*rosterDay, error) {
	a := with(q.args(), "day", day)
	rows, err := q.tx.Query(q.ctx, `SELECT h.learner_id, coalesce(h.manager_id, 0), h.dotted_manager_ids,
			coalesce(nullif(l.name, ''), l.email, l.employee_id, ''), h.job_title, h.department, h.location
		FROM learner_history h JOIN learners l ON l.tenant_id = h.tenant_id AND l.id = h.learner_id
		WHERE h.tenant_id = @tenant AND h.valid_from <= @day AND h.valid_to > @day`, a)
	if err != nil {
		return nil, fmt.Errorf("read the roster as of %s: %w", day.Format(time.DateOnly), err)
	}
	r := &rosterDay{people: map[int64]*asOfPerson{}, children: map[int64][]asOfEdge{}}
	var (
		id, manager int64
		dotted      []int64
		n           TeamNode
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &manager, &dotted, &n.Name, &n.JobTitle, &n.Department, &n.Location}, func() error {
		p := &asOfPerson{node: TeamNode{ID: id, Name: n.Name, JobTitle: n.JobTitle, Department: n.Department, Location: n.Location}, manager: manager,
			counted: (q.F.Department == "" || q.F.Department == n.Department) && (q.F.Location == "" || q.F.Location == n.Location)}
		r.people[id] = p
		if manager != 0 {
			r.children[manager] = append(r.children[manager], asOfEdge{id: id})
		}
		for _, m := range dotted {
			if m != manager && m != id {
				r.children[m] = append(r.children[m], asOfEdge{id: id, dotted: true})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the roster as of %s: %w", day.Format(time.DateOnly), err)
	}
	// A reporting line to someone who was not on the roster that day
	// (left, or not yet hired) leads nowhere.
	for m := range r.children {
		if _, ok := r.people[m]; !ok {
			delete(r.children, m)
		}
	}
	if q.Scope.Root != 0 {
		r.inScope = r.under(q.Scope.Root)
		for id := range r.people {
			if !r.inScope[id] {
				delete(r.people, id)
			}
		}
	}
	ids := make([]int64, 0, len(r.people))
	for id, p := range r.people {
		if p.counted {
			ids = append(ids, id)
		}
	}
	return r, q.numbersOn(r, ids, day)
}

// numbersOn fills in each person's own numbers as of the end of day.
func (q *Q) numbersOn(r *rosterDay, ids []int64, day time.Time) error {
	next := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, q.Loc)
	a := with(q.args(), "ids", ids, "day", day, "next", next)
	rows, err := q.tx.Query(q.ctx, `SELECT en.learner_id,
			count(*) FILTER (WHERE en.enrolled_at < @next),
			count(*) FILTER (WHERE en.completed_at < @next),
			count(*) FILTER (WHERE en.enrolled_at < @next AND (en.completed_at IS NULL OR en.completed_at >= @next) AND en.due_at < @day)
		FROM enrollments en WHERE en.tenant_id = @tenant AND en.learner_id = ANY(@ids)`+q.F.courseCond("en", a)+` GROUP BY 1`, a)
	if err != nil {
		return fmt.Errorf("read enrolments as of %s: %w", day.Format(time.DateOnly), err)
	}
	var id, x, y, z int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &x, &y, &z}, func() error {
		n := &r.people[id].node
		n.Enrolled, n.Completed, n.Overdue = x, y, z
		return nil
	}); err != nil {
		return fmt.Errorf("read enrolments as of %s: %w", day.Format(time.DateOnly), err)
	}
	rows, err = q.tx.Query(q.ctx, `SELECT ca.learner_id,
			count(*) FILTER (WHERE ca.assigned_on <= @day),
			count(*) FILTER (WHERE ca.assigned_on <= @day AND ca.completed_at < @next AND coalesce(ca.expires_on, 'infinity') >= @day)
		FROM compliance_assignments ca WHERE ca.tenant_id = @tenant AND ca.learner_id = ANY(@ids)`+q.F.requirementCond("ca", a)+` GROUP BY 1`, a)
	if err != nil {
		return fmt.Errorf("read assignments as of %s: %w", day.Format(time.DateOnly), err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &x, &y}, func() error {
		n := &r.people[id].node
		n.Assigned, n.Compliant = x, y
		return nil
	}); err != nil {
		return fmt.Errorf("read assignments as of %s: %w", day.Format(time.DateOnly), err)
	}
	return nil
}

// under is root and everyone reporting to root, directly or not, solid or
// dotted line.
func (r *rosterDay) under(root int64) map[int64]bool {
	seen := map[int64]bool{}
	if _, ok := r.people[root]; !ok {
		return seen
	}
	stack := []int64{root}
	seen[root] = true
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range r.children[id] {
			if !seen[c.id] {
				seen[c.id] = true
				stack = append(stack, c.id)
			}
		}
	}
	return seen
}

// nodes are the tree nodes of edges, each with the numbers of its part:
// the person and everyone under them, each person once however many
// lines lead to them. Sorted like today's tree: by name, then id.
func (r *rosterDay) nodes(edges []asOfEdge) []TeamNode {
	out := make([]TeamNode, 0, len(edges))
	for _, e := range edges {
		p, ok := r.people[e.id]
		if !ok {
			continue
		}
		n := p.node
		n.Dotted = e.dotted
		n.Reports = int64(len(r.children[e.id]))
		n.Enrolled, n.Completed, n.Overdue, n.Assigned, n.Compliant = 0, 0, 0, 0, 0
		for id := range r.under(e.id) {
			m := r.people[id]
			if m == nil || !m.counted {
				continue
			}
			n.People++
			n.Enrolled += m.node.Enrolled
			n.Completed += m.node.Completed
			n.Overdue += m.node.Overdue
			n.Assigned += m.node.Assigned
			n.Compliant += m.node.Compliant
		}
		n.CompletionRate, n.ComplianceRate = pct(n.Completed, n.Enrolled), pct(n.Compliant, n.Assigned)
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}
