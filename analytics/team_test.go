package analytics

import (
	"context"
	"fmt"
	"math"
	"os"
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

// TestTeamTotalsEqualSums checks that the team tree read from the
// per-subtree totals (gold_team_*) equals the tree summed from grouped
// gold and silver, for every node of a generated organisation with
// dotted lines: the whole tenant, each manager's own tree, the filters the
// totals carry (a department, a location), before and after an erasure
// of a manager and a statement batch.
func TestTeamTotalsEqualSums(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	ten, err := models.NewTenantStore(db).Create(ctx, models.NewTenant{Slug: "team", Name: "Team", TimeZone: "Europe/London"})
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(db)
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 250, 4, 12, 3, 6_000
	if _, err := generator.Populate(ctx, p, ten.ID, cfg); err != nil {
		t.Fatalf("populate: %v", err)
	}
	compareTeamTotals(t, db, ten.ID, "after populating")

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
func readAll(t *testing.T, db *database.DB, tenant int64, sql string, args pgx.NamedArgs, scan func(pgx.Rows) error) {
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
