package analytics

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
)

// TestScopeGoldListsItsManagers: a manager's scope reads the same gold
// rows through its listed managers (Scope.managers) as through the
// subquery of everyone under the manager, for every manager of a
// four-level organisation with dotted lines and every grouped gold table
// a scope reads; and the lists do reach below the manager's direct
// reports.
func TestScopeGoldListsItsManagers(t *testing.T) {
	db := testdb.New(t)
	ten := populatedTenant(t, db, "scopes", func(cfg *generator.Config) {
		cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 250, 4, 12, 3, 4_000
	})
	var managers []int64
	readAll(t, db, ten.ID, `SELECT DISTINCT manager_id FROM org_closure WHERE tenant_id = @tenant ORDER BY 1`, nil,
		func(r pgx.Rows) error {
			var m int64
			err := r.Scan(&m)
			managers = append(managers, m)
			return err
		})
	tables := []string{"gold_course_completion", "gold_completion_daily", "gold_completion_due", "gold_activity_hourly",
		"gold_engagement_daily", "gold_course_activity_daily", "gold_assessment"}
	loc, _ := time.LoadLocation("Europe/London")
	store := NewStore(db)
	admin := Viewer{Role: models.RoleTenantAdmin, Email: "nobody@example.test"}
	deepest := 0
	for _, m := range managers {
		err := store.Run(context.Background(), Request{Tenant: ten.ID, Loc: loc, Viewer: admin, Filters: Filters{Manager: m}}, func(q *Q) error {
			if q.Scope.managers == nil || q.Scope.managers[0] != m {
				t.Fatalf("manager %d: listed managers %v, want the manager first", m, q.Scope.managers)
			}
			deepest = max(deepest, len(q.Scope.managers))
			subquery := q.Scope
			subquery.managers = nil
			for _, table := range tables {
				var rows [2]int64
				var sums [2]int64
				for i, s := range []Scope{q.Scope, subquery} {
					if err := q.one(`SELECT count(*), coalesce(sum(hashtext(g.manager_id::text || '/' || g.department || '/' || g.location)), 0)::bigint
						FROM `+s.gold(table, "manager_id, department, location", "g"), q.args(), &rows[i], &sums[i]); err != nil {
						return err
					}
				}
				if rows[0] != rows[1] || sums[0] != sums[1] {
					t.Errorf("manager %d, %s: %d rows (hash sum %d) through the listed managers %v, %d (%d) through the subquery",
						m, table, rows[0], sums[0], q.Scope.managers, rows[1], sums[1])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("manager %d: %v", m, err)
		}
	}
	// Someone's list holds the manager, their reports who manage and
	// those reports' own managers.
	if len(managers) < 10 || deepest < 3 {
		t.Errorf("%d managers, at most %d listed in one scope: the organisation is too flat to test the lists", len(managers), deepest)
	}
}
