package tests

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/devdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// replicaSetup is a primary with the demo data, a streaming replica made
// from it, and a server whose dashboards read from the replica.
type replicaSetup struct {
	srv              *testserver.Server
	primary, replica *devdb.Cluster
	acme, globex     int64
}

// startReplica starts a private primary cluster (the shared test cluster
// holds every other test's databases, too many to copy), migrated, seeds
// it, makes a replica with pg_basebackup and serves LearnLens with
// DATABASE_READ_URL set to the replica.
func startReplica(t *testing.T) replicaSetup {
	t.Helper()
	ctx := context.Background()
	primary, owner := testdb.Private(t)
	logins := testdb.Logins(owner)
	seedDB, err := database.Open(ctx, logins)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Demo(ctx, seedDB); err != nil {
		t.Fatal(err)
	}
	acme, err := models.NewTenantStore(seedDB).BySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	globex, err := models.NewTenantStore(seedDB).BySlug(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Seed, cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 5, 30, 2, 3, 1, 150
	if _, err := generator.Populate(ctx, pipeline.New(seedDB), acme.ID, cfg); err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	seedDB.Close()

	replica := testdb.Replica(t, primary, devdb.Options{})
	logins.Read = replica.URLAs(database.AppRole, "learnlens")
	db, err := database.Open(ctx, logins)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if !db.HasReplica() {
		t.Fatal("Open with a read login has no replica")
	}
	return replicaSetup{srv: testserver.StartOn(t, db), primary: primary, replica: replica, acme: acme.ID, globex: globex.ID}
}

// sqlExec runs sql on url.
func sqlExec(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// queryInt returns the one int64 sql returns on url.
func queryInt(t *testing.T, url, sql string, args ...any) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// freshnessReads counts, on cluster, the executions of the dashboards'
// first query (the gold version of the snapshot), which every read of a
// dashboard view runs on the server it reads from. Scopes and filter
// choices, read on the primary by directory version, start with another.
func freshnessReads(t *testing.T, c *devdb.Cluster) int64 {
	return queryInt(t, c.URL("learnlens"), `SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
		WHERE query LIKE 'SELECT f.as_of, coalesce(f.version%'`)
}

// clusterVersion is the tenant's gold version on cluster (superuser: no RLS).
func clusterVersion(t *testing.T, c *devdb.Cluster, tenant int64) int64 {
	return queryInt(t, c.URL("learnlens"), `SELECT coalesce(max(version), 0) FROM gold_freshness WHERE tenant_id = $1`, tenant)
}

// completedKPI is the completion dashboard's KPIs JSON as c sees them,
// with the version the response claims.
func completedKPI(t *testing.T, c *testserver.Client, host, query string) (body string, version int64) {
	t.Helper()
	r := c.Get(host, "/api/v1/dashboards/completion/kpis"+query)
	if r.Status != http.StatusOK {
		t.Fatalf("kpis on %s: %d %.300s", host, r.Status, r.Body)
	}
	v, err := strconv.ParseInt(r.Header.Get("X-LearnLens-Version"), 10, 64)
	if err != nil {
		t.Fatalf("kpis without a version header: %v", err)
	}
	return r.Body, v
}

// TestReplicaReads: with DATABASE_READ_URL, dashboards read from a real
// streaming replica; while its replay is paused, a change is shown at once
// from the primary (the response claims the new version and has its
// numbers, never the replica's old ones); Row Level Security holds on
// the replica as on the primary; and with the replica gone, dashboards
// answer from the primary.
func TestReplicaReads(t *testing.T) {
	t.Parallel()
	rs := startReplica(t)
	srv := rs.srv
	admin := srv.NewClient(t)
	admin.Login("acme.localhost", "admin@acme.test")

	// Caught up: reads land on the replica.
	testdb.WaitReplayed(t, srv.DB, 10*time.Second)
	onReplica, onPrimary := freshnessReads(t, rs.replica), freshnessReads(t, rs.primary)
	r := admin.Get("acme.localhost", "/dashboards/completion")
	if r.Status != http.StatusOK {
		t.Fatalf("completion dashboard: %d %.300s", r.Status, r.Body)
	}
	before, v0 := completedKPI(t, admin, "acme.localhost", "")
	if got := freshnessReads(t, rs.replica) - onReplica; got == 0 {
		t.Errorf("the dashboards read nothing from the replica")
	}
	if got := freshnessReads(t, rs.primary) - onPrimary; got != 0 {
		t.Errorf("a caught-up replica, yet %d dashboard reads went to the primary", got)
	}
	if m := scrape(t, srv); value(sample(m, "learnlens_replica_reads_total", nil)) < 1 {
		t.Errorf("learnlens_replica_reads_total: %v, want ≥ 1", value(sample(m, "learnlens_replica_reads_total", nil)))
	}
	if v0 != clusterVersion(t, rs.primary, rs.acme) {
		t.Fatalf("a caught-up replica's response claims version %d, the primary is at %d", v0, clusterVersion(t, rs.primary, rs.acme))
	}

	// Replay paused: the replica stays at v0 while a completion commits on
	// the primary. The next response must show it, so it reads from the
	// primary.
	sqlExec(t, rs.replica.URL("learnlens"), `SELECT pg_wal_replay_pause()`)
	unpaused := false
	resume := func() {
		if !unpaused {
			unpaused = true
			sqlExec(t, rs.replica.URL("learnlens"), `SELECT pg_wal_replay_resume()`)
		}
	}
	t.Cleanup(resume)
	learner := firstLearner(t, rs)
	complete(t, srv, learner)
	v1 := clusterVersion(t, rs.primary, rs.acme)
	if v1 <= v0 || clusterVersion(t, rs.replica, rs.acme) != v0 {
		t.Fatalf("versions: primary %d, paused replica %d, want the primary past %d and the replica at it", v1, clusterVersion(t, rs.replica, rs.acme), v0)
	}
	fallbacks := value(sample(scrape(t, srv), "learnlens_replica_fallbacks_total", nil))
	start := time.Now()
	after, v := completedKPI(t, admin, "acme.localhost", "")
	took := time.Since(start)
	if v < v1 {
		t.Errorf("with the replica paused at %d, the response claims version %d, older than the primary's %d", v0, v, v1)
	}
	if after == before {
		t.Errorf("the completion is not in the numbers (still %s)", before)
	}
	if got := value(sample(scrape(t, srv), "learnlens_replica_fallbacks_total", nil)); got <= fallbacks {
		t.Errorf("learnlens_replica_fallbacks_total %v → %v, want a fallback", fallbacks, got)
	}
	if took > 2*time.Second {
		t.Errorf("a fallback took %v: the wait for the replica is not bounded", took)
	}
	// The page claims the new version too.
	if r := admin.Get("acme.localhost", "/dashboards/completion"); r.Status != http.StatusOK || r.Header.Get("X-LearnLens-Version") != strconv.FormatInt(v1, 10) {
		t.Errorf("the dashboard while the replica is behind: %d, version %q, want %d", r.Status, r.Header.Get("X-LearnLens-Version"), v1)
	}

	// Replay resumed: reads go back to the replica.
	resume()
	testdb.WaitReplayed(t, srv.DB, 10*time.Second)
	onReplica = freshnessReads(t, rs.replica)
	if _, v := completedKPI(t, admin, "acme.localhost", "?department=x"); v < v1 {
		t.Errorf("after the replica caught up, version %d < %d", v, v1)
	}
	if freshnessReads(t, rs.replica) == onReplica {
		t.Errorf("after the replica caught up, the dashboards still read from the primary")
	}
	if m := scrape(t, srv); value(sample(m, "learnlens_replica_lag_bytes", nil)) < 0 {
		t.Errorf("learnlens_replica_lag_bytes: %v", value(sample(m, "learnlens_replica_lag_bytes", nil)))
	}

	// Isolation on the replica: globex's admin sees none of acme's people
	// or courses through it, and acme's drill-downs are 404s to them.
	globex := srv.NewClient(t)
	globex.Login("globex.localhost", "admin@globex.test")
	acmeLearner := queryInt(t, rs.replica.URL("learnlens"), `SELECT id FROM learners WHERE tenant_id = $1 AND email = $2`, rs.acme, learner)
	onReplica = freshnessReads(t, rs.replica)
	if r := globex.Get("globex.localhost", "/api/v1/dashboards/engagement/activity"); r.Status != http.StatusOK ||
		listsLearner(r.Body, acmeLearner) {
		t.Errorf("globex's active people through the replica: %d %.300s, shows acme's learner %d", r.Status, r.Body, acmeLearner)
	}
	if r := admin.Get("acme.localhost", "/api/v1/dashboards/engagement/activity"); r.Status != http.StatusOK ||
		!listsLearner(r.Body, acmeLearner) {
		t.Errorf("acme's active people through the replica: %d %.300s, without learner %d who just completed", r.Status, r.Body, acmeLearner)
	}
	if r := globex.Get("globex.localhost", fmt.Sprintf("/api/v1/dashboards/completion/kpis?manager=%d", acmeLearner)); r.Status != http.StatusNotFound {
		t.Errorf("globex filtered to an acme manager through the replica: %d, want 404", r.Status)
	}
	if freshnessReads(t, rs.replica) == onReplica {
		t.Errorf("globex's reads did not go to the replica")
	}
	// And in the database itself: the app's login on the replica sees no
	// tenant's rows without a tenant, and only its tenant's with one.
	appOnReplica := rs.replica.URLAs(database.AppRole, "learnlens")
	if n := queryInt(t, appOnReplica, `SELECT count(*) FROM learners`); n != 0 {
		t.Errorf("the app login on the replica, no tenant set, sees %d learners", n)
	}
	err := srv.DB.ReplicaSnapshot(context.Background(), rs.globex, func(tx pgx.Tx) error {
		var n int64
		if err := tx.QueryRow(context.Background(), `SELECT count(*) FROM learners WHERE tenant_id = $1`, rs.acme).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			t.Errorf("a globex snapshot on the replica sees %d of acme's learners", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The replica gone: dashboards still answer, from the primary.
	if err := rs.replica.Stop(); err != nil {
		t.Fatal(err)
	}
	fallbacks = value(sample(scrape(t, srv), "learnlens_replica_fallbacks_total", nil))
	start = time.Now()
	if _, v := completedKPI(t, admin, "acme.localhost", "?department=y"); v < v1 {
		t.Errorf("with the replica down, version %d < %d", v, v1)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("with the replica down, a dashboard read took %v", took)
	}
	if got := value(sample(scrape(t, srv), "learnlens_replica_fallbacks_total", nil)); got <= fallbacks {
		t.Errorf("with the replica down, learnlens_replica_fallbacks_total %v → %v", fallbacks, got)
	}
}

// firstLearner is the email of one of acme's learners with a course left
// to complete.
func firstLearner(t *testing.T, rs replicaSetup) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, rs.primary.URL("learnlens"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var email string
	err = conn.QueryRow(ctx, `SELECT l.email FROM learners l WHERE l.tenant_id = $1 AND l.email LIKE '%@%'
		AND EXISTS (SELECT 1 FROM courses c WHERE c.tenant_id = l.tenant_id AND NOT EXISTS (SELECT 1 FROM enrollments e
			WHERE e.tenant_id = c.tenant_id AND e.course_id = c.id AND e.learner_id = l.id AND e.status = 'completed'))
		ORDER BY l.id LIMIT 1`, rs.acme).Scan(&email)
	if err != nil {
		t.Fatal(err)
	}
	return email
}

// listsLearner says whether JSON body has a "learner_id" of id.
func listsLearner(body string, id int64) bool {
	key := `"learner_id":` + strconv.FormatInt(id, 10)
	return strings.Contains(body, key+",") || strings.Contains(body, key+"}")
}
