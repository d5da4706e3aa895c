package analytics

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
)

// TestRollupsEqualGroupedGold checks that the dashboards of the whole
// organisation, read from the roll-ups (tenant-wide without a department
// or location filter, by department and location with one or both), show
// the numbers the grouped gold gives: the completion, engagement (tiles,
// trend lines, heatmap, courses) and assessment views, for departments,
// locations, both, with ranges and with course and category filters,
// before and after people move to another department and location and one
// is erased.
func TestRollupsEqualGroupedGold(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	ten := populatedTenant(t, db, "org", func(cfg *generator.Config) {
		cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements, cfg.Months = 200, 3, 8, 2, 5_000, 12
	})
	p := pipeline.New(db)
	compareRollups(t, db, ten.ID, "after populating")

	// Half of one department's people move to another department and
	// location (the roster's path: the learners' rows, then a gold
	// rebuild), and someone is erased.
	var moved, erased int64
	err := db.TenantTx(ctx, ten.ID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE learners l SET department = o.department, location = o.location
			FROM (SELECT department, location FROM learners WHERE tenant_id = $1 ORDER BY department DESC, location DESC LIMIT 1) o
			WHERE l.tenant_id = $1 AND l.id % 2 = 0 AND l.department = (SELECT min(department) FROM learners WHERE tenant_id = $1)`, ten.ID)
		moved = tag.RowsAffected()
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT learner_id FROM daily_activity WHERE tenant_id = $1 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
			ten.ID).Scan(&erased)
	})
	if err != nil || moved == 0 {
		t.Fatalf("move people: %d moved, %v", moved, err)
	}
	if err := p.RebuildGold(ctx, ten.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Erase(ctx, ten.ID, erased); err != nil {
		t.Fatalf("erase %d: %v", erased, err)
	}
	compareRollups(t, db, ten.ID, "after moving people and an erasure")
}

// compareRollups compares each view read from the roll-ups with the same
// read from the grouped gold, for the tenant's admin and filter sets of
// the most common department and location.
func compareRollups(t *testing.T, db *database.DB, tenant int64, step string) {
	t.Helper()
	var department, location, category string
	var course int64
	readAll(t, db, tenant, `SELECT (SELECT department FROM learners WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
		(SELECT location FROM learners WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
		(SELECT course_id FROM learning_events WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
		(SELECT category FROM courses WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)`, nil,
		func(r pgx.Rows) error { return r.Scan(&department, &location, &course, &category) })
	loc, _ := time.LoadLocation("Europe/London")
	today := Today(loc)
	filters := []url.Values{{}, {"department": {department}}, {"location": {location}},
		{"department": {department}, "location": {location}}, {"department": {department}, "range": {"12m"}},
		{"location": {location}, "range": {"7d"}}, {"department": {department}, "course": {fmt.Sprint(course)}, "range": {"12m"}},
		{"location": {location}, "category": {category}, "range": {"30d"}}}
	admin := Viewer{Role: models.RoleTenantAdmin, Email: "nobody@example.test"}
	store := NewStore(db)
	nonzero := map[string]bool{}
	for _, fv := range filters {
		f, err := ParseFilters(fv, today)
		if err != nil {
			t.Fatal(err)
		}
		views := func(grouped bool) (out map[string]string) {
			out = map[string]string{}
			err := store.Run(context.Background(), Request{Tenant: tenant, Loc: loc, Today: today, Viewer: admin, Filters: f}, func(q *Q) error {
				q.grouped = grouped
				c, err := q.CompletionView()
				if err != nil {
					return err
				}
				e, err := q.EngagementView()
				if err != nil {
					return err
				}
				a, err := q.AssessmentsView()
				if err != nil {
					return err
				}
				if e.Trend.Active != nil {
					out["active learners"] = fmt.Sprintf("%+v", *e.Trend.Active)
					e.Trend.Active = nil // printed above, not as an address
				}
				for name, v := range map[string]any{"completion": c, "engagement": e, "assessments": a} {
					out[name] = fmt.Sprintf("%+v", v)
				}
				nonzero["completion"] = nonzero["completion"] || c.KPIs.Enrolled > 0
				nonzero["heatmap"] = nonzero["heatmap"] || fmt.Sprint(e.Heatmap) != fmt.Sprint(Heatmap{})
				nonzero["statements"] = nonzero["statements"] || e.KPIs.Statements > 0
				nonzero["assessments"] = nonzero["assessments"] || a.KPIs.Attempts > 0
				return nil
			})
			if err != nil {
				t.Fatalf("%s, %s: %v", step, fv.Encode(), err)
			}
			return out
		}
		got, want := views(false), views(true)
		for name := range want {
			if got[name] != want[name] {
				t.Errorf("%s, filters %s: the %s view from the roll-ups\n%s\nfrom the grouped gold\n%s", step, fv.Encode(), name, got[name], want[name])
			}
		}
	}
	if len(nonzero) != 4 || !nonzero["completion"] || !nonzero["heatmap"] || !nonzero["statements"] || !nonzero["assessments"] {
		t.Fatalf("%s: some views are empty (%v): the case checks too little", step, nonzero)
	}
}
