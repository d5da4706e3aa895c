package analytics

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/models"
)

// BenchmarkCompliance times the compliance page's computations on a large
// tenant loaded by `learnlens seed --bench`, each beside the query it
// replaced, in the same run: one at a time through Store.Run (no result
// cache: what a view-cache miss computes) as the app's role under row
// level security, median of 5 after one untimed run. "Before" is the tiles
// from the grouped gold (a department or a location) and the lists sorted
// and counted whole; "after" the tiles from gold_compliance_groups and the
// lists paged along their indexes with totals from the tiles.
//
//	BENCH_LARGE_URL     superuser URL of the loaded database (required)
//	BENCH_LARGE_TENANT  the tenant's slug (default huge001)
//
// Run: BENCH_LARGE_URL=… LEARNLENS_TEST_DATABASE_URL=… go test -run '^$'
// -bench BenchmarkCompliance -benchtime 1x ./analytics/
func BenchmarkCompliance(b *testing.B) {
	url := os.Getenv("BENCH_LARGE_URL")
	if url == "" {
		b.Fatal("BENCH_LARGE_URL is unset: load a tenant with `learnlens seed --bench` first (docs/PERFORMANCE.md, Large tenants)")
	}
	slug := os.Getenv("BENCH_LARGE_TENANT")
	if slug == "" {
		slug = "huge001"
	}
	ctx := context.Background()
	db := testdb.Open(b, url)
	ten, err := models.NewTenantStore(db).BySlug(ctx, slug)
	if err != nil {
		b.Fatalf("tenant %s: %v", slug, err)
	}
	loc, err := time.LoadLocation(ten.TimeZone)
	if err != nil {
		b.Fatal(err)
	}
	var department, location string
	var manager int64
	readAll(b, db, ten.ID, `SELECT (SELECT department FROM learners WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
			(SELECT location FROM learners WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
			(SELECT manager_id FROM org_closure WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)`, nil,
		func(r pgx.Rows) error { return r.Scan(&department, &location, &manager) })
	store := NewStore(db)
	admin := Viewer{Role: models.RoleTenantAdmin, Email: "nobody@example.test"}
	run := func(f Filters, fn func(q *Q) error) time.Duration {
		var ds []time.Duration
		for i := range 6 {
			t0 := time.Now()
			if err := store.Run(ctx, Request{Tenant: ten.ID, Loc: loc, Viewer: admin, Filters: f}, fn); err != nil {
				b.Fatal(err)
			}
			if i > 0 {
				ds = append(ds, time.Since(t0))
			}
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	// oldTiles are the tiles as computed before gold_compliance_groups.
	oldTiles := func(q *Q) error {
		a := q.complianceArgs()
		var n [6]int64
		return q.one(`SELECT coalesce(sum(people), 0), `+
			`coalesce(sum(people) FILTER (WHERE st = 'compliant'), 0), coalesce(sum(people) FILTER (WHERE st = 'due_soon'), 0),
			coalesce(sum(people) FILTER (WHERE st = 'overdue'), 0), coalesce(sum(people) FILTER (WHERE st = 'expired'), 0),
			coalesce(sum(people) FILTER (WHERE st = 'not_due'), 0)
			FROM (SELECT g.*, `+complianceStatus("g.on_date", "g.on_date", "g.completed")+` AS st FROM `+
			q.gold("gold_compliance", complianceCols, "g")+` WHERE true`+q.F.orgCond("g", a)+q.F.requirementCond("g", a)+`) s`,
			a, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5])
	}
	newTiles := func(q *Q) error { _, err := q.ComplianceKPIs(); return err }
	// page reads page p of table id along its index or, whole, sorted
	// and counted.
	page := func(id string, p int, indexed bool) func(q *Q) error {
		return func(q *Q) error {
			tq, err := q.table(id, Params{})
			if err != nil {
				return err
			}
			if !indexed {
				tq.indexed = nil
			}
			f := q.F
			f.Page = p
			_, err = tq.page(q.ctx, q.tx, f)
			return err
		}
	}
	lastPage := func(id string, f Filters) (n int) {
		run(f, func(q *Q) error {
			t, err := q.TablePage(id, Params{})
			n = t.Pages()
			return err
		})
		return n
	}
	fmt.Printf("\n%s, compliance computations one at a time, no result cache; median of 5\n", slug)
	fmt.Printf("%-58s %10s %10s %8s\n", "computation", "before", "after", "ratio")
	row := func(what string, f Filters, before, after func(q *Q) error) {
		x, y := run(f, before), run(f, after)
		fmt.Printf("%-58s %10s %10s %7.1f×\n", what, ms(x), ms(y), float64(x)/float64(y))
	}
	for _, c := range []struct {
		what string
		f    Filters
	}{{"whole tenant", Filters{}}, {"a department", Filters{Department: department}},
		{"a location", Filters{Location: location}}, {"a manager's people", Filters{Manager: manager}}} {
		c.f.Page = 1
		row("tiles, "+c.what, c.f, oldTiles, newTiles)
		for _, id := range []string{"compliance/at-risk", "compliance/assignments"} {
			row(id+" page 1, "+c.what, c.f, page(id, 1, false), page(id, 1, true))
			row(id+" page 100, "+c.what, c.f, page(id, 100, false), page(id, 100, true))
			last := lastPage(id, c.f)
			row(fmt.Sprintf("%s last page (%d), %s", id, last, c.what), c.f, page(id, last, false), page(id, last, true))
		}
	}
	view := func(q *Q) error { _, err := q.ComplianceView(); return err }
	fmt.Printf("%-58s %10s %10s\n", "compliance page (tiles, requirements, at-risk page 1)", "", ms(run(Filters{Page: 1}, view)))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
