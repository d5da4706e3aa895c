package analytics

import (
	"context"
	"math"
	"reflect"
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

// TestSmallScopesReadOnGenericPlans: a small manager's views read on
// generic plans (Store.RunView, Scope.genericPlans), while the whole
// organisation's views, a larger scope's and the tenant-wide reads that
// serve a small scope (Store.RunScoped) use plans made for their values;
// and every dashboard view of every manager's scope is the same on
// either: nothing the pages show may depend on the plan (an order left
// to the plan, say).
func TestSmallScopesReadOnGenericPlans(t *testing.T) {
	db := testdb.New(t)
	ten := populatedTenant(t, db, "plans", func(cfg *generator.Config) {
		cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 150, 3, 10, 3, 3_000
	})
	ctx := context.Background()
	store := NewStore(db)
	loc, _ := time.LoadLocation("Europe/London")
	admin := Viewer{Role: models.RoleTenantAdmin, Email: "nobody@example.test"}
	// plans counts the generic and custom plans the transaction's
	// connection has used for its prepared statements while fn ran.
	plans := func(q *Q, fn func() error) (generic, custom int64) {
		count := func() (g, c int64) {
			if err := q.tx.QueryRow(ctx, `SELECT coalesce(sum(generic_plans), 0)::bigint, coalesce(sum(custom_plans), 0)::bigint
				FROM pg_prepared_statements WHERE statement NOT LIKE '%pg_prepared_statements%'`).Scan(&g, &c); err != nil {
				t.Fatal(err)
			}
			return g, c
		}
		g0, c0 := count()
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		g1, c1 := count()
		return g1 - g0, c1 - c0
	}
	views := func(q *Q) (out []any, err error) {
		for _, view := range []func() (any, error){
			func() (any, error) { return q.CompletionView() },
			func() (any, error) { return q.EngagementView() },
			func() (any, error) { return q.ComplianceView() },
			func() (any, error) { return q.AssessmentsView() },
			func() (any, error) { return q.TeamStart() },
		} {
			v, err := view()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}

	err := store.Run(ctx, Request{Tenant: ten.ID, Loc: loc, Viewer: admin}, func(q *Q) error {
		if q.Scope.genericPlans() {
			t.Error("the whole organisation's scope reads on generic plans")
		}
		if generic, custom := plans(q, func() error { _, err := views(q); return err }); generic != 0 || custom == 0 {
			t.Errorf("the whole organisation's views used %d generic and %d custom plans, want only custom ones", generic, custom)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var managers []int64
	readAll(t, db, ten.ID, `SELECT manager_id FROM org_closure WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*)`, nil,
		func(r pgx.Rows) error {
			var m int64
			err := r.Scan(&m)
			managers = append(managers, m)
			return err
		})
	if len(managers) < 5 {
		t.Fatalf("%d managers: the organisation is too small to test", len(managers))
	}
	for _, m := range managers {
		r := Request{Tenant: ten.ID, Loc: loc, Viewer: admin, Filters: Filters{Manager: m}}
		sc, _, err := store.ResolveScope(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if !sc.genericPlans() {
			t.Fatalf("manager %d (%d people): reads on custom plans, want generic ones", m, sc.people)
		}
		var onGeneric, onCustom []any
		err = store.RunView(ctx, r, sc, func(q *Q) error {
			var err error
			if generic, custom := plans(q, func() error { onGeneric, err = views(q); return err }); generic == 0 || custom != 0 {
				t.Errorf("manager %d: the views used %d generic and %d custom plans, want only generic ones", m, generic, custom)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Reads that only serve the scope (RunScoped: the tenant's recent
		// events) keep plans made for their values.
		err = store.RunScoped(ctx, r, sc, func(q *Q) error {
			if generic, custom := plans(q, func() error { _, err := q.RecentActivity(time.Now()); return err }); generic != 0 || custom == 0 {
				t.Errorf("manager %d: the tenant's recent activity used %d generic and %d custom plans, want only custom ones", m, generic, custom)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		large := sc
		large.people = maxGenericPlanPeople + 1
		if large.genericPlans() {
			t.Fatalf("a scope of %d people reads on generic plans", large.people)
		}
		err = store.RunView(ctx, r, large, func(q *Q) error {
			var err error
			onCustom, err = views(q)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !sameValue(reflect.ValueOf(onGeneric), reflect.ValueOf(onCustom)) {
			t.Errorf("manager %d: the views differ between generic and custom plans:\n%+v\n%+v", m, onGeneric, onCustom)
		}
	}
	// The top manager's people are counted (up to the limit).
	top := managers[len(managers)-1]
	sc, _, err := store.ResolveScope(ctx, Request{Tenant: ten.ID, Loc: loc, Viewer: admin, Filters: Filters{Manager: top}})
	if err != nil {
		t.Fatal(err)
	}
	var want int
	readAll(t, db, ten.ID, `SELECT count(*) FROM org_closure WHERE tenant_id = @tenant AND manager_id = @m`, pgx.NamedArgs{"m": top},
		func(r pgx.Rows) error { return r.Scan(&want) })
	if sc.people != want || want < 50 {
		t.Errorf("the top manager's scope counted %d people, org_closure has %d (want at least 50 to test)", sc.people, want)
	}
}

// sameValue is reflect.DeepEqual for computed views, in which a NaN (a
// rate of nothing) equals a NaN.
func sameValue(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() || a.IsValid() && a.Type() != b.Type() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			if !sameValue(a.MapIndex(k), b.MapIndex(k)) {
				return false
			}
		}
		return true
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || math.IsNaN(x) && math.IsNaN(y)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.String:
		return a.String() == b.String()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	}
	return false // functions, channels: not in views
}
