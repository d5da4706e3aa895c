package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// BenchmarkLargeTenant measures every dashboard page, JSON section,
// drill-down and table of a large tenant already loaded by `learnlens seed
// --bench` (issue 17's 10M-statement tenant beside 500 small ones), one
// request at a time, with the app's result cache off (VIEW_CACHE_MB=0), so
// each request computes its view. Each route is timed 5 times after one
// untimed request; the median is printed beside /healthz's, measured the
// same way in the same run. Goal: every admin route under 100 ms.
//
// Environment:
//
//	BENCH_LARGE_URL     superuser URL of the loaded database (required; the
//	                    roles learnlens_app and learnlens_platform must log in
//	                    on the same server without a password, as on a devdb
//	                    cluster)
//	BENCH_LARGE_TENANT  the tenant's slug (default huge001); its admin is
//	                    admin@<slug>.test with the demo password (created if
//	                    missing), and a manager user is made for the learner
//	                    with 20–100 people under them
//	BENCH_LARGE_EXPLAIN=1  afterwards, EXPLAIN (ANALYZE, BUFFERS) of every
//	                    query over BENCH_DASH_EXPLAIN_MS (default 10) of the
//	                    admin routes at 100 ms or more (auto_explain, as
//	                    BENCH_DASH_EXPLAIN does)
func BenchmarkLargeTenant(b *testing.B) {
	db, t := loadedTenant(b, "BENCH_LARGE", "Large tenants")
	slug := t.Slug
	admin := "admin@" + slug + ".test"
	manager := pickManager(b, db, t.ID, "")
	ensureUsers(b, db, t.ID,
		models.NewUser{Email: admin, Name: "Large Admin", Role: models.RoleTenantAdmin},
		models.NewUser{Email: manager, Name: "Large Manager", Role: models.RoleManager})
	learner := busiestLearner(b, db, t.ID)
	ids := pickIDs(b, db, t.ID, learner, manager)
	describeTenant(b, db, t)

	srv := testserver.StartWith(b, db, func(cfg *config.Config) { cfg.ViewCacheBytes = 0 })
	host := slug + ".localhost"
	clients := newClients(b, srv, 1)
	signIn(b, srv, host, clients, admin, manager)
	c := clients[0]

	solo := func(r route) (time.Duration, error) {
		if rep, err := c.get(srv, host, r); err != nil || rep.status != http.StatusOK {
			return 0, fmt.Errorf("status %d: %.200s (%v)", rep.status, rep.body, err)
		}
		var ds []time.Duration
		for range 5 {
			t0 := time.Now()
			if _, err := c.get(srv, host, r); err != nil {
				return 0, err
			}
			ds = append(ds, time.Since(t0))
		}
		slices.Sort(ds)
		return ds[len(ds)/2], nil
	}
	health, err := solo(route{path: "/healthz"})
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("\n%s, one request at a time, result cache off; median of 5; /healthz %s\n", slug, ms(health))
	fmt.Printf("%-78s %10s %9s  %s\n", "route", "median", "vs hlth", "goal")
	var over []string
	routes := append(viewRoutes(ids, admin), extraRoutes(ids, admin, manager)...)
	for _, r := range routes {
		d, err := solo(r)
		if err != nil {
			b.Errorf("%s as %s: %v", r, r.as, err)
			continue
		}
		goal := ""
		if r.as == admin {
			goal = "< 100 ms: PASS"
			if d >= 100*time.Millisecond {
				goal = "< 100 ms: MISS"
				over = append(over, r.path)
			}
		}
		who := "admin"
		if r.as == manager {
			who = "manager"
		}
		fmt.Printf("%-78s %10s %8.1f×  %s\n", strings.TrimPrefix(r.String(), "GET ")+" ("+who+")", ms(d),
			float64(d)/float64(health), goal)
	}
	fmt.Printf("admin routes at 100 ms or more: %d of %d %v\n", len(over), len(routes), over)
	if os.Getenv("BENCH_LARGE_EXPLAIN") == "1" {
		var slow []route
		for _, r := range routes {
			if slices.Contains(over, r.path) && r.as == admin {
				slow = append(slow, r)
			}
		}
		explainRoutes(b, os.Getenv("BENCH_LARGE_URL"), t, host, slow)
	}
}

// userExists says whether tenant has a user with email.
func userExists(b *testing.B, db *database.DB, tenant int64, email string) bool {
	b.Helper()
	var n int
	err := db.TenantTx(context.Background(), tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE tenant_id = $1 AND lower(email) = lower($2)`,
			tenant, email).Scan(&n)
	})
	if err != nil {
		b.Fatal(err)
	}
	return n > 0
}

// busiestLearner is the email of the learner with the most enrolments.
func busiestLearner(b *testing.B, db *database.DB, tenant int64) string {
	b.Helper()
	var email string
	err := db.TenantTx(context.Background(), tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT l.email FROM enrollments e
			JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
			WHERE e.tenant_id = $1 AND l.email IS NOT NULL GROUP BY l.email ORDER BY count(*) DESC, 1 LIMIT 1`, tenant).Scan(&email)
	})
	if err != nil {
		b.Fatal(err)
	}
	return email
}

// loadedTenant opens the database a benchmark of an already loaded tenant
// names: PREFIX_URL, the superuser URL (required), and PREFIX_TENANT, the
// tenant's slug (default huge001). section names the docs/PERFORMANCE.md
// section that says how to load one.
func loadedTenant(b *testing.B, prefix, section string) (*database.DB, models.Tenant) {
	url := os.Getenv(prefix + "_URL")
	if url == "" {
		b.Fatalf("%s_URL is unset: load a tenant with `learnlens seed --bench` first (docs/PERFORMANCE.md, %s)", prefix, section)
	}
	slug := os.Getenv(prefix + "_TENANT")
	if slug == "" {
		slug = "huge001"
	}
	db := testdb.Open(b, url)
	t, err := models.NewTenantStore(db).BySlug(context.Background(), slug)
	if err != nil {
		b.Fatalf("tenant %s: %v", slug, err)
	}
	return db, t
}

// ensureUsers creates those of users the tenant does not have yet, with
// the demo password.
func ensureUsers(b *testing.B, db *database.DB, tenantID int64, users ...models.NewUser) {
	hash, err := auth.HashPassword(seed.DemoPassword)
	if err != nil {
		b.Fatal(err)
	}
	store := models.NewUserStore(db)
	for _, u := range users {
		if userExists(b, db, tenantID, u.Email) {
			continue
		}
		u.PasswordHash = hash
		if _, err := store.Create(context.Background(), tenantID, u); err != nil {
			b.Fatal(err)
		}
	}
}
