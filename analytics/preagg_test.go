package analytics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// TestPreaggregatesEqualQueries checks that each pre-aggregated section
// equals the query it replaced, on a generated organisation with dotted
// lines, before and after an erasure of a manager: the team tree read
// from the per-subtree totals (gold_team_*) equals the tree summed from
// grouped gold and silver, for every node, the whole tenant's and each
// manager's start, with the filters the totals carry (a department, a
// location); the engagement tiles' active people and the inactive people
// read from gold_active_months equal the same counted from daily_activity;
// the compliance tiles (read from gold_compliance_groups for a department
// or a location), the teams of a requirement and the index-paged at-risk
// and assignments lists equal the same counted from
// compliance_assignments and the lists sorted and counted whole.
func TestPreaggregatesEqualQueries(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	ten := populatedTenant(t, db, "team", func(cfg *generator.Config) {
		cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 250, 4, 12, 3, 6_000
	})
	p := pipeline.New(db)
	compareTeamTotals(t, db, ten.ID, "after populating")
	compareActiveMonths(t, db, ten.ID, "after populating")
	compareCompliance(t, db, ten.ID, "after populating")
	compareAttemptsToPass(t, db, ten.ID, "after populating")

	// Erase a manager with dotted-line reports or, failing that, any
	// manager: the reporting lines change under the totals.
	var manager int64
	readAll(t, db, ten.ID, `SELECT coalesce((SELECT manager_id FROM org_closure WHERE tenant_id = @tenant AND dotted AND depth = 1
		ORDER BY manager_id LIMIT 1), (SELECT manager_id FROM org_closure WHERE tenant_id = @tenant AND depth = 1
		ORDER BY manager_id LIMIT 1))`, nil, func(r pgx.Rows) error { return r.Scan(&manager) })
	if _, err := p.Erase(ctx, ten.ID, manager); err != nil {
		t.Fatalf("erase %d: %v", manager, err)
	}
	compareTeamTotals(t, db, ten.ID, "after erasing a manager")
	compareActiveMonths(t, db, ten.ID, "after erasing a manager")
	compareCompliance(t, db, ten.ID, "after erasing a manager")
	compareAttemptsToPass(t, db, ten.ID, "after erasing a manager")
}

// compareAttemptsToPass compares an assessed course's attempts to pass,
// read from gold_attempts_to_pass (its roll-up for the whole tenant), with
// the same counted from the passed enrolments' attempts in learning_events,
// for the whole tenant, a department, a location, a category, a manager's
// people and a manager's own view.
func compareAttemptsToPass(t *testing.T, db *database.DB, tenant int64, step string) {
	t.Helper()
	var department, location, category, email string
	var manager, course int64
	readAll(t, db, tenant, `SELECT l.department, l.location, m.id, coalesce(m.email, ''), c.id, c.category
		FROM learners l JOIN learners m ON m.tenant_id = l.tenant_id AND m.id = (SELECT manager_id FROM org_closure
			WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 OFFSET 1)
		JOIN courses c ON c.tenant_id = l.tenant_id AND c.id = (SELECT course_id FROM enrollments WHERE tenant_id = @tenant AND passed
			GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)
		WHERE l.tenant_id = @tenant AND l.manager_id IS NOT NULL ORDER BY l.id LIMIT 1`, nil,
		func(r pgx.Rows) error { return r.Scan(&department, &location, &manager, &email, &course, &category) })
	admin := Viewer{Role: models.RoleTenantAdmin, Email: "nobody@example.test"}
	cases := []struct {
		what   string
		viewer Viewer
		f      Filters
	}{
		{"whole tenant", admin, Filters{}},
		{"a department", admin, Filters{Department: department}},
		{"a location", admin, Filters{Location: location}},
		{"the course's category", admin, Filters{Category: category}},
		{"another category", admin, Filters{Category: category + " (not)"}},
		{"a manager's people", admin, Filters{Manager: manager}},
		{"a manager's own view", Viewer{Role: models.RoleManager, Email: email, Learner: manager}, Filters{}},
	}
	loc, _ := time.LoadLocation("Europe/London")
	store := NewStore(db)
	for _, c := range cases {
		what := fmt.Sprintf("%s, %s", step, c.what)
		err := store.Run(context.Background(), Request{Tenant: tenant, Loc: loc, Today: Today(loc), Viewer: c.viewer, Filters: c.f},
			func(q *Q) error {
				got, err := q.CourseAttemptsToPass(course)
				if err != nil {
					return err
				}
				a := with(q.args(), "course_id", course)
				want := AttemptsToPass{Average: nan}
				var people, attempts int64
				readAll(t, db, tenant, `SELECT least(5, n)::int, count(*), sum(n) FROM (SELECT count(*) AS n FROM enrollments en
						JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
						JOIN learning_events e ON e.tenant_id = en.tenant_id AND e.course_id = en.course_id AND e.learner_id = en.learner_id
							AND e.kind IN ('pass', 'fail', 'score') AND NOT e.voided AND e.ts <= en.passed_at
						WHERE en.tenant_id = @tenant AND en.course_id = @course_id AND en.passed AND `+q.Scope.learnerCond("l")+
					q.F.orgCond("l", a)+q.F.courseCond("en", a)+` GROUP BY en.learner_id) x GROUP BY 1`, a, func(r pgx.Rows) error {
					var b int
					var n, sum int64
					if err := r.Scan(&b, &n, &sum); err != nil {
						return err
					}
					want.Bins[b-1] = n
					people, attempts = people+n, attempts+sum
					return nil
				})
				if people > 0 {
					want.Average = float64(attempts) / float64(people)
				}
				if got.Bins != want.Bins || (people > 0 && got.Average != want.Average) || (people == 0 && !math.IsNaN(got.Average)) {
					t.Errorf("%s: attempts to pass %+v from gold, %+v from the attempts", what, got, want)
				}
				if c.what == "whole tenant" && (want.Bins[0] == 0 || want.Bins[1] == 0) {
					t.Errorf("%s: %+v: the course has no passes at the first or second attempt to compare", what, want)
				}
				return nil
			})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
}

// compareActiveMonths compares the engagement tiles' active people, read
// from gold_active_gaps for the whole tenant and from gold_active_months
// for a department, a location and a manager, and the inactive people's
// count and first page (gold_active_people) with the same from
// daily_activity, over ranges that start and end inside months.
func compareActiveMonths(t *testing.T, db *database.DB, tenant int64, step string) {
	t.Helper()
	var department, location string
	var manager int64
	readAll(t, db, tenant, `SELECT l.department, l.location, (SELECT manager_id FROM org_closure WHERE tenant_id = @tenant
		GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) FROM learners l WHERE l.tenant_id = @tenant AND l.manager_id IS NOT NULL
		ORDER BY l.id LIMIT 1`, nil, func(r pgx.Rows) error { return r.Scan(&department, &location, &manager) })
	loc, _ := time.LoadLocation("Europe/London")
	today := Today(loc)
	store := NewStore(db)
	admin := Viewer{Role: models.RoleTenantAdmin, Email: "nobody@example.test"}
	pages, dated := 0, 0 // inactive pages with people, and people on them with a last active day
	for _, rng := range [][2]time.Time{{today.AddDate(0, 0, -6), today}, {today.AddDate(0, 0, -29), today},
		{today.AddDate(0, -2, -17), today.AddDate(0, 0, -3)}, {today.AddDate(0, -11, -1), today.AddDate(0, -1, 0)},
		{today.AddDate(0, 0, -10), today.AddDate(0, 0, -9)}} {
		for _, org := range []url.Values{{}, {"department": {department}}, {"location": {location}},
			{"manager": {fmt.Sprint(manager)}}} {
			v := url.Values{"range": {"custom"}, "from": {rng[0].Format(time.DateOnly)}, "to": {rng[1].Format(time.DateOnly)}}
			for k, x := range org {
				v[k] = x
			}
			f, err := ParseFilters(v, today)
			if err != nil {
				t.Fatal(err)
			}
			// Answered today, and on the range's last day (the inactive
			// people then read gold_active_people, past days straddling
			// the range included).
			for _, day := range slices.Compact([]time.Time{today, rng[1]}) {
				what := fmt.Sprintf("%s, %s, today %s", step, v.Encode(), day.Format(time.DateOnly))
				err = store.Run(context.Background(), Request{Tenant: tenant, Loc: loc, Viewer: admin, Filters: f, Today: day}, func(q *Q) error {
					got, err := q.EngagementKPIs()
					if err != nil {
						return err
					}
					a := q.kpiArgs()
					var want EngagementKPIs
					if err := q.one(`SELECT count(*) FILTER (WHERE cur), count(*) FILTER (WHERE prev), count(*) FILTER (WHERE d1),
						count(*) FILTER (WHERE d7), count(*) FILTER (WHERE d30)
					FROM (SELECT bool_or(day >= @from) AS cur, bool_or(day BETWEEN @p0 AND @pto) AS prev, bool_or(day = @to) AS d1,
						bool_or(day >= @d7) AS d7, bool_or(day >= @d30) AS d30
						FROM daily_activity d JOIN learners l ON l.tenant_id = d.tenant_id AND l.id = d.learner_id
						WHERE d.tenant_id = @tenant AND d.day BETWEEN @pfrom AND @to AND `+q.Scope.learnerCond("l")+q.F.cond("l", dims{}, a)+`
						GROUP BY d.learner_id) p`, a, &want.Active, &want.ActivePrevious, &want.DAU, &want.WAU, &want.MAU); err != nil {
						return err
					}
					g := []int64{got.Active, got.ActivePrevious, got.DAU, got.WAU, got.MAU}
					w := []int64{want.Active, want.ActivePrevious, want.DAU, want.WAU, want.MAU}
					// The range may hold no activity for a filter (a week's
					// start early in a day), but the month before it must.
					if !slices.Equal(g, w) || (want.Active == 0 && want.MAU == 0) {
						t.Errorf("%s: active, previous, DAU, WAU, MAU = %v from the active months, %v from the active days", what, g, w)
					}
					page, err := q.TablePage("engagement/inactive", Params{})
					if err != nil {
						return err
					}
					var inactive int
					if err := q.one(`SELECT count(*) FROM learners l WHERE l.tenant_id = @tenant AND l.status = 'active' AND l.rostered
						AND `+q.Scope.learnerCond("l")+q.F.cond("l", dims{}, a)+`
						AND NOT EXISTS (SELECT FROM daily_activity d WHERE d.tenant_id = @tenant AND d.learner_id = l.id
							AND d.day BETWEEN @from AND @to)`, a, &inactive); err != nil {
						return err
					}
					if page.Total != inactive {
						t.Errorf("%s: %d inactive people from the active people, %d from the active days", what, page.Total, inactive)
					}
					// The first page: who, and their last active day.
					var wantPage []string
					readAll(t, db, tenant, `SELECT l.id::text || ' ' || coalesce((SELECT max(d.day) FROM daily_activity d
						WHERE d.tenant_id = @tenant AND d.learner_id = l.id AND d.day <= @to)::text, '-')
					FROM learners l WHERE l.tenant_id = @tenant AND l.status = 'active' AND l.rostered
						AND `+q.Scope.learnerCond("l")+q.F.cond("l", dims{}, a)+`
						AND NOT EXISTS (SELECT FROM daily_activity d WHERE d.tenant_id = @tenant AND d.learner_id = l.id
							AND d.day BETWEEN @from AND @to)
					ORDER BY (SELECT max(d.day) FROM daily_activity d WHERE d.tenant_id = @tenant AND d.learner_id = l.id
						AND d.day <= @to) NULLS LAST, l.id LIMIT `+fmt.Sprint(PageSize), a, func(r pgx.Rows) error {
						var w string
						err := r.Scan(&w)
						wantPage = append(wantPage, w)
						return err
					})
					var gotPage []string
					for _, row := range page.Rows {
						last := "-"
						if d, ok := row[5].(time.Time); ok {
							last = d.Format(time.DateOnly)
							dated++
						}
						gotPage = append(gotPage, fmt.Sprint(row[0], " ", last))
					}
					if len(wantPage) > 0 {
						pages++
					}
					if !slices.Equal(gotPage, wantPage) {
						t.Errorf("%s: inactive people's first page\n%v from the active people\n%v from the active days", what, gotPage, wantPage)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
		}
	}
	if pages == 0 || dated == 0 {
		t.Errorf("%s: %d inactive pages with people, %d people on them with a last active day: nothing compared", step, pages, dated)
	}
}

// compareTeamTotals compares both ways of computing the team tree.
func compareTeamTotals(t *testing.T, db *database.DB, tenant int64, step string) {
	t.Helper()
	var nodes, managers []int64
	var departments, locations []string
	var dottedManager int64
	readAll(t, db, tenant, `SELECT array_agg(DISTINCT id), array_agg(DISTINCT l.department), array_agg(DISTINCT l.location)
		FROM learners l WHERE l.tenant_id = @tenant`, nil, func(r pgx.Rows) error { return r.Scan(&nodes, &departments, &locations) })
	readAll(t, db, tenant, `SELECT coalesce(array_agg(DISTINCT manager_id), '{}') FROM org_closure WHERE tenant_id = @tenant`, nil,
		func(r pgx.Rows) error { return r.Scan(&managers) })
	readAll(t, db, tenant, `SELECT coalesce(min(manager_id), 0) FROM org_closure WHERE tenant_id = @tenant AND dotted AND depth = 1`, nil,
		func(r pgx.Rows) error { return r.Scan(&dottedManager) })
	if len(managers) < 10 || dottedManager == 0 {
		t.Fatalf("%s: %d managers, dotted-line manager %d: the organisation is too flat to test", step, len(managers), dottedManager)
	}
	filters := []Filters{{}, {Department: departments[0]}, {Department: departments[len(departments)-1]},
		{Location: locations[0]}, {Location: locations[len(locations)-1]}}
	store := NewStore(db)
	loc, _ := time.LoadLocation("Europe/London")
	admin := Viewer{Role: models.RoleTenantAdmin, Email: "nobody@example.test"}
	for _, f := range filters {
		if _, ok := f.teamGroup(); !ok {
			t.Fatalf("filters %+v are not read from the totals", f)
		}
		err := store.Run(context.Background(), Request{Tenant: tenant, Loc: loc, Viewer: admin, Filters: f}, func(q *Q) error {
			all := `SELECT unnest(@ids::bigint[]) AS id, false AS dotted`
			a := with(q.args(), "ids", nodes)
			a = with(a, "soon", q.Today.AddDate(0, 0, DueSoonDays))
			got, err := q.teamTotals(all, with(a, "grp", mustGroup(f)))
			if err != nil {
				return err
			}
			want, err := q.teamSums(all, a)
			if err != nil {
				return err
			}
			sameNodes(t, fmt.Sprintf("%s, every node, filters %+v", step, f), got, want)
			if f == (Filters{}) {
				// Both ways read the people of a part without filters from
				// the totals: count them from the reporting lines here.
				people := map[int64]int64{}
				rows, err := q.tx.Query(q.ctx, `SELECT manager_id, count(*) FROM org_closure WHERE tenant_id = @tenant GROUP BY 1`, a)
				if err != nil {
					return err
				}
				var id, n int64
				if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { people[id] = n; return nil }); err != nil {
					return err
				}
				for _, n := range got {
					if n.People != 1+people[n.ID] {
						t.Errorf("%s: node %d has %d people, the reporting lines say %d", step, n.ID, n.People, 1+people[n.ID])
					}
				}
			}
			// The tree's own entry points, both ways.
			for _, c := range []struct {
				what, sql string
				node      int64
			}{{"start", teamTops, 0}, {"children of a dotted-line manager", teamReports, dottedManager},
				{"children of the first manager", teamReports, managers[0]}} {
				a := with(q.args(), "node", c.node)
				a = with(a, "soon", q.Today.AddDate(0, 0, DueSoonDays))
				want, err := q.teamSums(c.sql, a)
				if err != nil {
					return err
				}
				got, err := q.teamTotals(c.sql, with(a, "grp", mustGroup(f)))
				if err != nil {
					return err
				}
				sameNodes(t, fmt.Sprintf("%s, %s, filters %+v", step, c.what, f), got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	// A manager's own tree.
	for _, m := range managers[:5] {
		var email string
		readAll(t, db, tenant, `SELECT coalesce(email, '') FROM learners WHERE tenant_id = @tenant AND id = @id`, pgx.NamedArgs{"id": m},
			func(r pgx.Rows) error { return r.Scan(&email) })
		v := Viewer{Role: models.RoleManager, Email: email, Learner: m}
		err := store.Run(context.Background(), Request{Tenant: tenant, Loc: loc, Viewer: v}, func(q *Q) error {
			got, err := q.TeamStart()
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].ID != m {
				t.Errorf("%s: manager %d's tree starts with %+v", step, m, got)
			}
			a := with(q.args(), "soon", q.Today.AddDate(0, 0, DueSoonDays))
			want, err := q.teamSums(`SELECT @root::bigint AS id, false AS dotted`, a)
			if err != nil {
				return err
			}
			sameNodes(t, fmt.Sprintf("%s, manager %d's own tree", step, m), got, want)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: manager %d: %v", step, m, err)
		}
	}
}

func mustGroup(f Filters) string {
	g, _ := f.teamGroup()
	return g
}

func sameNodes(t *testing.T, what string, got, want []TeamNode) {
	t.Helper()
	if len(got) == 0 {
		t.Errorf("%s: no nodes", what)
	}
	// Rates of nobody are NaN, which equals nothing: compare their bits.
	same := func(a, b TeamNode) bool {
		if math.Float64bits(a.CompletionRate) != math.Float64bits(b.CompletionRate) ||
			math.Float64bits(a.ComplianceRate) != math.Float64bits(b.ComplianceRate) {
			return false
		}
		a.CompletionRate, a.ComplianceRate, b.CompletionRate, b.ComplianceRate = 0, 0, 0, 0
		return a == b
	}
	if !slices.EqualFunc(got, want, same) {
		for i := range min(len(got), len(want)) {
			if !same(got[i], want[i]) {
				t.Errorf("%s: node %d from the totals\n%+v\nsummed\n%+v", what, got[i].ID, got[i], want[i])
				return
			}
		}
		t.Errorf("%s: %d nodes from the totals, %d summed", what, len(got), len(want))
	}
}

// readAll runs sql in platform mode with @tenant and args, calling scan
// for each row.
func readAll(t testing.TB, db *database.DB, tenant int64, sql string, args pgx.NamedArgs, scan func(pgx.Rows) error) {
	t.Helper()
	err := db.PlatformTx(context.Background(), func(tx pgx.Tx) error {
		a := pgx.NamedArgs{"tenant": tenant}
		for k, v := range args {
			a[k] = v
		}
		rows, err := tx.Query(context.Background(), sql, a)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
}

// compareCompliance compares the compliance numbers read from the
// pre-aggregates, and the at-risk and assignments pages read along their
// indexes, with the same counted from compliance_assignments and with the
// pages of the whole list sorted and counted (the query they replaced),
// on several days — statuses turn on dates, with no write — for the
// whole tenant, a department, a location, both, a course, a manager
// filter and a manager's own view.
func compareCompliance(t *testing.T, db *database.DB, tenant int64, step string) {
	t.Helper()
	var department, location, email string
	var manager, course, requirement int64
	readAll(t, db, tenant, `SELECT l.department, l.location, m.id, coalesce(m.email, ''),
			(SELECT course_id FROM compliance_requirements WHERE tenant_id = @tenant ORDER BY id LIMIT 1),
			(SELECT requirement_id FROM compliance_assignments WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)
		FROM learners l JOIN learners m ON m.tenant_id = l.tenant_id AND m.id = (SELECT manager_id FROM org_closure
			WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 OFFSET 1)
		WHERE l.tenant_id = @tenant AND l.manager_id IS NOT NULL ORDER BY l.id LIMIT 1`, nil,
		func(r pgx.Rows) error { return r.Scan(&department, &location, &manager, &email, &course, &requirement) })
	admin := Viewer{Role: models.RoleTenantAdmin, Email: "nobody@example.test"}
	cases := []struct {
		what   string
		viewer Viewer
		f      Filters
	}{
		{"whole tenant", admin, Filters{}},
		{"a department", admin, Filters{Department: department}},
		{"a location", admin, Filters{Location: location}},
		{"a department and a location", admin, Filters{Department: department, Location: location}},
		{"a course", admin, Filters{Course: course}},
		{"a department and a course", admin, Filters{Department: department, Course: course}},
		{"a manager's people", admin, Filters{Manager: manager}},
		{"a manager's own view", Viewer{Role: models.RoleManager, Email: email, Learner: manager}, Filters{}},
	}
	loc, _ := time.LoadLocation("Europe/London")
	store := NewStore(db)
	base := Today(loc)
	for _, today := range []time.Time{base, base.AddDate(0, 0, -45), base.AddDate(0, 0, 29), base.AddDate(1, 2, 0)} {
		for _, c := range cases {
			what := fmt.Sprintf("%s, %s on %s", step, c.what, today.Format(time.DateOnly))
			c.f.Page = 1
			err := store.Run(context.Background(), Request{Tenant: tenant, Loc: loc, Today: today, Viewer: c.viewer, Filters: c.f},
				func(q *Q) error {
					got, err := q.ComplianceKPIs()
					if err != nil {
						return err
					}
					a := q.complianceArgs()
					var want ComplianceKPIs
					if err := q.one(`SELECT count(*), count(*) FILTER (WHERE st = 'compliant'), count(*) FILTER (WHERE st = 'due_soon'),
							count(*) FILTER (WHERE st = 'overdue'), count(*) FILTER (WHERE st = 'expired'), count(*) FILTER (WHERE st = 'not_due')
						FROM (SELECT `+complianceStatus("ca.due_on", "coalesce(ca.expires_on, 'infinity')", "ca.completed_at IS NOT NULL")+` AS st
							FROM compliance_assignments ca `+assignmentJoins+`
							WHERE ca.tenant_id = @tenant AND `+q.Scope.learnerCond("l")+q.F.orgCond("l", a)+q.F.courseCond("r", a)+`) s`,
						a, &want.Assigned, &want.Compliant, &want.DueSoon, &want.Overdue, &want.Expired, &want.NotDue); err != nil {
						return err
					}
					want.Rate = got.Rate // NaN for nobody; compared through the counts
					if got != want {
						t.Errorf("%s: tiles %+v from gold, %+v from the assignments", what, got, want)
					}
					if c.what == "whole tenant" && (want.Overdue == 0 || want.Compliant == 0) {
						t.Errorf("%s: %+v: the data has no overdue or no compliant assignments to compare", what, want)
					}
					compareTeamsOf(t, q, requirement, what)
					for _, id := range []string{"compliance/at-risk", "compliance/assignments"} {
						compareIndexedPages(t, q, id, what)
					}
					return nil
				})
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
}

// compareTeamsOf compares the teams of a requirement with the same counted
// from compliance_assignments, team by team.
func compareTeamsOf(t *testing.T, q *Q, requirement int64, what string) {
	t.Helper()
	page, err := q.pageTable("compliance/teams", Params{Requirement: requirement})
	if errors.Is(err, ErrNotFound) {
		return
	}
	if err != nil {
		t.Fatalf("%s: teams: %v", what, err)
	}
	got := map[int64][2]int64{}
	for _, r := range page.Records() {
		got[r.Int("manager_id")] = [2]int64{r.Int("assigned"), r.Int("compliant")}
	}
	a := with(q.complianceArgs(), "requirement_id", requirement)
	want := map[int64][2]int64{}
	rows, err := q.tx.Query(q.ctx, `SELECT coalesce(l.manager_id, 0), count(*),
			count(*) FILTER (WHERE `+complianceStatus("ca.due_on", "coalesce(ca.expires_on, 'infinity')", "ca.completed_at IS NOT NULL")+` = 'compliant')
		FROM compliance_assignments ca `+assignmentJoins+`
		WHERE ca.tenant_id = @tenant AND ca.requirement_id = @requirement_id AND `+q.Scope.learnerCond("l")+q.F.orgCond("l", a)+q.F.courseCond("r", a)+`
		GROUP BY 1`, a)
	if err != nil {
		t.Fatalf("%s: teams: %v", what, err)
	}
	var m, n, ok int64
	if _, err := pgx.ForEachRow(rows, []any{&m, &n, &ok}, func() error { want[m] = [2]int64{n, ok}; return nil }); err != nil {
		t.Fatalf("%s: teams: %v", what, err)
	}
	same := page.Total == len(want) && len(got) == min(len(want), PageSize)
	for k, v := range got {
		same = same && want[k] == v
	}
	if !same {
		t.Errorf("%s: teams of requirement %d (assigned, compliant): %d teams, the first page %v; from the assignments %v",
			what, requirement, page.Total, got, want)
	}
}

// compareIndexedPages compares the first, second, last and past-the-end
// pages of table id read along its index with the same pages of the
// whole list sorted and counted.
func compareIndexedPages(t *testing.T, q *Q, id, what string) {
	t.Helper()
	tq, err := q.table(id, Params{})
	if err != nil {
		t.Fatal(err)
	}
	if tq.indexed == nil {
		t.Fatalf("%s: %s has no indexed pages", what, id)
	}
	whole := tq
	whole.indexed = nil
	f := q.F
	first, err := whole.page(q.ctx, q.tx, f)
	if err != nil {
		t.Fatalf("%s: %s: %v", what, id, err)
	}
	for _, page := range []int{1, 2, first.Pages(), first.Pages() + 1} {
		f.Page = page
		want, err := whole.page(q.ctx, q.tx, f)
		if err != nil {
			t.Fatalf("%s: %s page %d: %v", what, id, page, err)
		}
		got, err := tq.page(q.ctx, q.tx, f)
		if err != nil {
			t.Fatalf("%s: %s page %d: %v", what, id, page, err)
		}
		if got.Total != want.Total || !reflect.DeepEqual(got.Rows, want.Rows) {
			t.Errorf("%s: %s page %d: %d rows of %d along the index, %d of %d sorted whole\n%v\n%v",
				what, id, page, len(got.Rows), got.Total, len(want.Rows), want.Total, got.Rows, want.Rows)
		}
	}
}

// populatedTenant makes a tenant named slug (Europe/London) and fills it
// through the pipeline with the demo generator's history, shaped by shape
// from generator.Acme at this hour.
func populatedTenant(t *testing.T, db *database.DB, slug string, shape func(*generator.Config)) models.Tenant {
	t.Helper()
	ctx := context.Background()
	ten, err := models.NewTenantStore(db).Create(ctx, models.NewTenant{Slug: slug, Name: slug, TimeZone: "Europe/London"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	shape(&cfg)
	if _, err := generator.Populate(ctx, pipeline.New(db), ten.ID, cfg); err != nil {
		t.Fatalf("populate: %v", err)
	}
	return ten
}
