package analytics

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
)

// TestTableSummaryEqualsItsRows: a drill-down level's summary (rows, the
// sums of its count columns, the rows by status) equals the same counted
// from every row of its table, for the tables with a status column, read
// in one grouped pass, and those without, for the whole tenant and with a
// department filter.
func TestTableSummaryEqualsItsRows(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	ten := populatedTenant(t, db, "drill", func(cfg *generator.Config) {
		cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 150, 3, 8, 3, 4_000
	})
	// The busiest course and requirement, each with its biggest team.
	var course, courseTeam, requirement, reqTeam int64
	var department string
	readAll(t, db, ten.ID, `SELECT en.course_id, coalesce(l.manager_id, 0), l.department FROM enrollments en
		JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id WHERE en.tenant_id = @tenant
		GROUP BY 1, 2, 3 ORDER BY count(*) DESC, 1, 2 LIMIT 1`, nil, func(r pgx.Rows) error { return r.Scan(&course, &courseTeam, &department) })
	readAll(t, db, ten.ID, `SELECT ca.requirement_id, coalesce(l.manager_id, 0) FROM compliance_assignments ca
		JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id WHERE ca.tenant_id = @tenant
		GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2 LIMIT 1`, nil, func(r pgx.Rows) error { return r.Scan(&requirement, &reqTeam) })

	store := NewStore(db)
	admin := Viewer{Role: models.RoleTenantAdmin, Email: "nobody@example.test"}
	loc, _ := time.LoadLocation("Europe/London")
	tables := []struct {
		id     string
		p      Params
		status bool
	}{
		{"completion/teams", Params{Course: course}, false},
		{"completion/learners", Params{Course: course, Team: courseTeam}, true},
		{"compliance/teams", Params{Requirement: requirement}, false},
		{"compliance/people", Params{Requirement: requirement, Team: reqTeam}, true},
	}
	statuses := 0
	for _, org := range []url.Values{{"range": {"12m"}}, {"range": {"12m"}, "department": {department}}} {
		f, err := ParseFilters(org, Today(loc))
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range tables {
			what := fmt.Sprintf("%s %v %s", tb.id, tb.p, org.Encode())
			err := store.Run(ctx, Request{Tenant: ten.ID, Loc: loc, Viewer: admin, Filters: f}, func(q *Q) error {
				got, err := q.TableSummary(tb.id, tb.p)
				if err != nil {
					return err
				}
				// A drill page reads its first page and summary together
				// (window sums): the same as each read alone.
				page, shared, err := q.pageWithSummary(tb.id, tb.p)
				if err != nil {
					return err
				}
				alone, err := q.pageTable(tb.id, tb.p)
				if err != nil {
					return err
				}
				if fmt.Sprint(shared) != fmt.Sprint(got) {
					t.Errorf("%s: the summary read with the page is %+v, alone %+v", what, shared, got)
				}
				if page.Total != alone.Total || fmt.Sprint(page.Rows) != fmt.Sprint(alone.Rows) || len(page.Rows) == 0 {
					t.Errorf("%s: the page read with the summary has %d of %d rows, alone %d of %d", what, len(page.Rows), page.Total,
						len(alone.Rows), alone.Total)
				}
				want := TableSummary{Sums: map[string]int64{}}
				byStatus := map[string]int64{}
				var cols []Column
				err = q.TableStream(tb.id, tb.p, func(t Table) error { cols = t.Columns; return nil }, func(vals []any) error {
					want.Rows++
					for i, c := range cols {
						switch {
						case c.Kind == Int:
							want.Sums[c.Key] += toInt64(vals[i])
						case c.Key == "status":
							byStatus[fmt.Sprint(vals[i])]++
						}
					}
					return nil
				})
				if err != nil {
					return err
				}
				for _, c := range cols {
					if c.Kind == Int {
						if _, ok := want.Sums[c.Key]; !ok {
							want.Sums[c.Key] = 0
						}
					}
				}
				if got.Rows != want.Rows || fmt.Sprint(got.Sums) != fmt.Sprint(want.Sums) {
					t.Errorf("%s: summary %d rows %v, the rows give %d, %v", what, got.Rows, got.Sums, want.Rows, want.Sums)
				}
				if (got.Statuses != nil) != tb.status {
					t.Errorf("%s: statuses %v, want them only for a table with a status column", what, got.Statuses)
				}
				gotStatus := map[string]int64{}
				for _, s := range got.Statuses {
					gotStatus[s.Status] = s.Rows
				}
				if fmt.Sprint(gotStatus) != fmt.Sprint(byStatus) {
					t.Errorf("%s: by status %v, the rows give %v", what, gotStatus, byStatus)
				}
				if !slices.IsSortedFunc(got.Statuses, func(a, b StatusCount) int { return int(b.Rows - a.Rows) }) {
					t.Errorf("%s: statuses not most first: %v", what, got.Statuses)
				}
				statuses += len(got.Statuses)
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	if statuses == 0 {
		t.Fatal("no table had a status: the grouped pass was not tested")
	}
}

// toInt64 reads an integer column's value as the driver gives it.
func toInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case nil:
		return 0
	}
	panic(fmt.Sprintf("not an integer: %T %v", v, v))
}
