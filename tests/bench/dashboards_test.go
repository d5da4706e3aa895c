package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// dashGoal is the goal for every page, fragment and JSON section:
// p95 under 50 concurrent clients.
const dashGoal = 25 * time.Millisecond

// envInt reads a positive integer from the environment, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkDashboards measures the latency (p50/p95/p99) and throughput of
// every dashboard page, drill-down, table fragment and JSON section under
// concurrent signed-in clients, on the acme demo data and on a tenant of
// about a million statements, against GET /healthz measured the same way
// in the same run.
//
//	BENCH_DASH_STATEMENTS  statements of the big tenant (default 1,000,000)
//	BENCH_DASH_CLIENTS     concurrent clients, each its own session (default 50)
//	BENCH_DASH_SECONDS     measured seconds per route (default 5)
//	BENCH_DASH_EXPLAIN=1   afterwards, print EXPLAIN (ANALYZE, BUFFERS) of every
//	                       query over BENCH_DASH_EXPLAIN_MS (default 10) that the
//	                       big tenant's routes run (auto_explain), on the first
//	                       request and after BENCH_DASH_EXPLAIN_WARM (default 8)
//	                       more on the same connection
//	BENCH_DASH_MEASURE=0   skip the latency measurements (load, then explain)
func BenchmarkDashboards(b *testing.B) {
	ctx := context.Background()
	n := envInt("BENCH_DASH_STATEMENTS", 1_000_000)
	clients := envInt("BENCH_DASH_CLIENTS", 50)
	per := time.Duration(envInt("BENCH_DASH_SECONDS", 5)) * time.Second

	dbURL := testdb.NewURL(b)
	db, err := database.Open(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := seed.Demo(ctx, db); err != nil {
		b.Fatal(err)
	}
	srv := testserver.StartOn(b, db)
	tenants := models.NewTenantStore(db)
	acme, err := tenants.BySlug(ctx, "acme")
	if err != nil {
		b.Fatal(err)
	}
	big, err := tenants.Create(ctx, models.NewTenant{Slug: "bigco", Name: "Big Co", TimeZone: "Europe/London",
		Domains: []models.TenantDomain{{Kind: models.DomainEmail, Domain: "bigco.test"}}})
	if err != nil {
		b.Fatal(err)
	}

	// Load both tenants through the real ingest path, side by side
	// (different tenants ingest in parallel).
	now := time.Now().Truncate(time.Hour)
	learners := min(7000, max(200, n*7/1000)) // ~140 statements per person, as at 1M
	bigCfg := generator.Config{Seed: 1, Learners: learners, Depth: 5, Courses: 40, Required: 6, Statements: n,
		Months: 12, EmailDomain: "bigco.test", TimeZone: "Europe/London", Now: now, BatchSize: 1000}
	loads := []struct {
		t   models.Tenant
		cfg generator.Config
		sum generator.Summary
	}{{t: acme, cfg: generator.Acme(now)}, {t: big, cfg: bigCfg}}
	p := pipeline.New(db)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(loads))
	var outMu sync.Mutex
	for i := range loads {
		l := &loads[i]
		last := time.Now()
		l.cfg.Progress = func(sent, total int) {
			if time.Since(last) < 30*time.Second && sent != total {
				return
			}
			last = time.Now()
			outMu.Lock()
			fmt.Printf("  loading %s: %d of %d statements (%.0f s)\n", l.t.Slug, sent, total, time.Since(start).Seconds())
			outMu.Unlock()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.sum, errs[i] = generator.Populate(ctx, p, l.t.ID, l.cfg)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("loaded acme (%d statements) and bigco (%d statements) in %.0f s\n",
		loads[0].sum.Statements, loads[1].sum.Statements, time.Since(start).Seconds())

	// A production database would have been vacuumed and analysed by
	// autovacuum by the time anyone reads these dashboards.
	vacuumAnalyze(b, dbURL)

	// Users of the big tenant: an admin, and a manager who is a learner
	// with 20–100 people under them.
	mgrEmail := pickManager(b, db, big.ID, loads[1].sum.ManagerEmail)
	users := models.NewUserStore(db)
	hash, err := auth.HashPassword(seed.DemoPassword)
	if err != nil {
		b.Fatal(err)
	}
	for _, u := range []models.NewUser{
		{Email: "admin@bigco.test", Name: "Big Admin", Role: models.RoleTenantAdmin, PasswordHash: hash},
		{Email: mgrEmail, Name: "Big Manager", Role: models.RoleManager, PasswordHash: hash},
	} {
		if _, err := users.Create(ctx, big.ID, u); err != nil {
			b.Fatal(err)
		}
	}

	sets := []struct {
		t                    models.Tenant
		admin, manager, host string
		learner              string
	}{
		{acme, "admin@acme.test", "manager@acme.test", "acme.localhost", loads[0].sum.LearnerEmail},
		{big, "admin@bigco.test", mgrEmail, "bigco.localhost", loads[1].sum.LearnerEmail},
	}
	var failed []string
	if os.Getenv("BENCH_DASH_MEASURE") == "0" {
		sets = nil // only load (and explain)
	}
	for _, s := range sets {
		describeTenant(b, db, s.t)
		ids := pickIDs(b, db, s.t.ID, s.learner, s.manager)
		fmt.Printf("  drill-down ids: course %d, team %d, requirement %d, assessed course %d, team node %d, learner %d; manager's node %d, report %d\n",
			ids.course, ids.team, ids.requirement, ids.assessed, ids.node, ids.learner, ids.self, ids.report)
		admin := signIn(b, srv, s.host, s.admin, clients)
		manager := signIn(b, srv, s.host, s.manager, clients)
		fmt.Printf("\nDashboards, tenant %s, %d clients (each its own session), %s per route, GOMAXPROCS=%s\n",
			s.t.Slug, clients, per, os.Getenv("GOMAXPROCS"))
		fmt.Printf("times in ms; solo = median of 5 requests by one client; goal: p95 < %s\n", dashGoal)
		fmt.Printf("%-64s %6s %7s %7s %7s %7s %8s %7s %5s\n", "route", "n", "solo", "p50", "p95", "p99", "req/s", "vs hlth", "goal")
		base := measure(srv, s.host, admin, route{path: "/healthz"}, per)
		base.print("baseline: GET /healthz", base)
		for _, v := range []struct {
			who     string
			clients []*http.Client
			routes  []route
		}{{"admin", admin, adminRoutes(ids)}, {"manager", manager, managerRoutes(ids)}} {
			for _, r := range v.routes {
				res := measure(srv, s.host, v.clients, r, per)
				res.print(v.who+" "+r.String(), base)
				if res.failed > 0 {
					failed = append(failed, fmt.Sprintf("%s %s %s: %d failed, first: %s", s.t.Slug, v.who, r, res.failed, res.firstErr))
				}
			}
		}
		again := measure(srv, s.host, admin, route{path: "/healthz"}, per)
		again.print("baseline again: GET /healthz", base)
	}
	fmt.Println()
	for _, f := range failed {
		b.Error(f)
	}

	if os.Getenv("BENCH_DASH_EXPLAIN") == "1" {
		ids := pickIDs(b, db, big.ID, loads[1].sum.LearnerEmail, mgrEmail)
		explainRoutes(b, dbURL, big, "bigco.localhost", map[string][]route{
			"admin@bigco.test": adminRoutes(ids), mgrEmail: managerRoutes(ids)})
	}
}

// route is one GET the benchmark measures; fragment ones carry HX-Request,
// as htmx sends them.
type route struct {
	path     string
	fragment bool
}

func (r route) String() string {
	if r.fragment {
		return "GET " + r.path + " (htmx)"
	}
	return "GET " + r.path
}

// dashIDs are the drill-down targets: the busiest course, requirement and
// assessed course, a team of the course, the top of the org tree, the
// generator's learner with a rich history, and the manager's own learner
// record and one of their reports.
type dashIDs struct {
	course, team, requirement, assessed, node, learner int64
	self, report                                       int64
}

func adminRoutes(x dashIDs) []route {
	return []route{
		{path: "/dashboards/completion"},
		{path: "/dashboards/engagement"},
		{path: "/dashboards/compliance"},
		{path: "/dashboards/assessments"},
		{path: "/dashboards/team"},
		{path: fmt.Sprintf("/dashboards/completion/courses/%d", x.course)},
		{path: fmt.Sprintf("/dashboards/completion/courses/%d/teams/%d", x.course, x.team)},
		{path: fmt.Sprintf("/dashboards/compliance/requirements/%d", x.requirement)},
		{path: fmt.Sprintf("/dashboards/assessments/courses/%d", x.assessed)},
		{path: fmt.Sprintf("/dashboards/team/nodes/%d", x.node), fragment: true},
		{path: fmt.Sprintf("/learners/%d", x.learner)},
		{path: "/me"},
		{path: "/tables/completion/courses?sort=completed&dir=desc", fragment: true},
		{path: "/tables/engagement/inactive", fragment: true},
		{path: "/tables/compliance/at-risk", fragment: true},
		{path: "/api/v1/dashboards/completion/kpis"},
		{path: "/api/v1/dashboards/engagement/kpis"},
		{path: "/api/v1/dashboards/compliance/kpis"},
		{path: "/api/v1/dashboards/assessments/kpis"},
		{path: "/api/v1/dashboards/engagement/heatmap"},
	}
}

func managerRoutes(x dashIDs) []route {
	return []route{
		{path: "/dashboards/completion"},
		{path: "/dashboards/engagement"},
		{path: "/dashboards/compliance"},
		{path: "/dashboards/assessments"},
		{path: "/dashboards/team"},
		{path: fmt.Sprintf("/dashboards/completion/courses/%d", x.course)},
		{path: fmt.Sprintf("/dashboards/team/nodes/%d", x.self), fragment: true},
		{path: fmt.Sprintf("/learners/%d", x.report)},
		{path: "/me"},
		{path: "/tables/completion/courses?sort=completed&dir=desc", fragment: true},
		{path: "/tables/engagement/inactive", fragment: true},
		{path: "/tables/compliance/at-risk", fragment: true},
		{path: "/api/v1/dashboards/completion/kpis"},
		{path: "/api/v1/dashboards/engagement/kpis"},
	}
}

// vacuumAnalyze vacuums and analyses the tables the dashboards read.
func vacuumAnalyze(b *testing.B, dbURL string) {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	start := time.Now()
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE) tenants, tenant_domains, users, sessions, learners, org_closure, courses,
		learning_events, enrollments, daily_activity, compliance_requirements, compliance_assignments, gold_freshness, `+
		strings.Join(pipeline.GoldTables(), ", ")); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("VACUUM (ANALYZE) of the dashboards' tables: %.0f s\n", time.Since(start).Seconds())
}

// pickManager returns the email of a learner with 20–100 people under them
// (solid or dotted line): the generator's named manager if it qualifies.
func pickManager(b *testing.B, db *database.DB, tenant int64, preferred string) string {
	b.Helper()
	var email string
	var people int64
	err := db.TenantTx(context.Background(), tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT l.email, count(*) FROM org_closure c
			JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.manager_id
			WHERE c.tenant_id = $1 AND l.email IS NOT NULL
			GROUP BY l.email HAVING count(*) BETWEEN 20 AND 100
			ORDER BY l.email = $2 DESC, abs(count(*) - 60), l.email LIMIT 1`, tenant, strings.ToLower(preferred)).Scan(&email, &people)
	})
	if err != nil {
		b.Fatalf("no manager with 20–100 people: %v", err)
	}
	fmt.Printf("bigco manager: %s, %d people under them\n", email, people)
	return email
}

// pickIDs finds the drill-down targets of tenant.
func pickIDs(b *testing.B, db *database.DB, tenant int64, learnerEmail, managerEmail string) dashIDs {
	b.Helper()
	ctx := context.Background()
	var x dashIDs
	err := db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		for _, q := range []struct {
			dst  *int64
			sql  string
			args []any
		}{
			{&x.course, `SELECT course_id FROM gold_course_completion WHERE tenant_id = $1 GROUP BY 1 ORDER BY sum(enrolled) DESC, 1 LIMIT 1`, nil},
			{&x.requirement, `SELECT requirement_id FROM compliance_assignments WHERE tenant_id = $1 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, nil},
			{&x.assessed, `SELECT course_id FROM gold_assessment WHERE tenant_id = $1 AND day >= current_date - 90 GROUP BY 1 ORDER BY sum(attempts) DESC, 1 LIMIT 1`, nil},
			{&x.node, `SELECT l.id FROM learners l WHERE l.tenant_id = $1 AND l.manager_id IS NULL
				ORDER BY (SELECT count(*) FROM org_closure c WHERE c.tenant_id = $1 AND c.manager_id = l.id) DESC, 1 LIMIT 1`, nil},
			{&x.learner, `SELECT id FROM learners WHERE tenant_id = $1 AND email = $2`, []any{strings.ToLower(learnerEmail)}},
			{&x.self, `SELECT id FROM learners WHERE tenant_id = $1 AND email = $2`, []any{strings.ToLower(managerEmail)}},
		} {
			if err := tx.QueryRow(ctx, q.sql, append([]any{tenant}, q.args...)...).Scan(q.dst); err != nil {
				return fmt.Errorf("%w\n%s", err, q.sql)
			}
		}
		// The team (manager) with the most people enrolled in the course.
		if err := tx.QueryRow(ctx, `SELECT coalesce(l.manager_id, 0) FROM enrollments en
			JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
			WHERE en.tenant_id = $1 AND en.course_id = $2 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, tenant, x.course).Scan(&x.team); err != nil {
			return err
		}
		// The manager's direct report with the most enrolments.
		return tx.QueryRow(ctx, `SELECT c.learner_id FROM org_closure c
			WHERE c.tenant_id = $1 AND c.manager_id = $2 AND c.depth = 1
			ORDER BY (SELECT count(*) FROM enrollments en WHERE en.tenant_id = $1 AND en.learner_id = c.learner_id) DESC, 1 LIMIT 1`,
			tenant, x.self).Scan(&x.report)
	})
	if err != nil {
		b.Fatalf("pick drill-down ids: %v", err)
	}
	return x
}

// describeTenant prints how much data tenant holds.
func describeTenant(b *testing.B, db *database.DB, t models.Tenant) {
	b.Helper()
	ctx := context.Background()
	tables := []string{"learners", "xapi_statements", "learning_events", "enrollments", "daily_activity", "compliance_assignments",
		"gold_course_completion", "gold_completion_daily", "gold_course_activity_daily", "gold_activity_hourly", "gold_engagement_daily",
		"gold_assessment", "gold_compliance"}
	counts := make([]int64, len(tables))
	err := db.TenantTx(ctx, t.ID, func(tx pgx.Tx) error {
		for i, table := range tables {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, t.ID).Scan(&counts[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var parts []string
	for i, table := range tables {
		parts = append(parts, fmt.Sprintf("%s %d", table, counts[i]))
	}
	fmt.Printf("\ntenant %s rows: %s\n", t.Slug, strings.Join(parts, ", "))
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// newClient is a browser-like client of srv: its own cookie jar and
// connection, reaching 127.0.0.1 whatever the host name, not following
// redirects.
func newClient(srv *testserver.Server) *http.Client {
	jar, _ := cookiejar.New(nil)
	addr := "127.0.0.1:" + strconv.Itoa(srv.Port)
	return &http.Client{Jar: jar, Timeout: 120 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login signs c in on host as email (password seed.DemoPassword).
func login(c *http.Client, srv *testserver.Server, host, email string) error {
	resp, err := c.Get(srv.URL(host, "/login"))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		return fmt.Errorf("no CSRF token on %s/login (status %d)", host, resp.StatusCode)
	}
	form := url.Values{"email": {email}, "password": {seed.DemoPassword}, "_csrf": {string(m[1])}}
	resp, err = c.PostForm(srv.URL(host, "/login"), form)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("login %s on %s: status %d, want 303", email, host, resp.StatusCode)
	}
	return nil
}

// signIn returns n clients, each signed in as email with its own session.
func signIn(b *testing.B, srv *testserver.Server, host, email string, n int) []*http.Client {
	b.Helper()
	out := make([]*http.Client, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range out {
		out[i] = newClient(srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = login(out[i], srv, host, email)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	for _, c := range out {
		b.Cleanup(c.CloseIdleConnections)
	}
	return out
}

// get fetches r on host and reads the whole body.
func get(c *http.Client, srv *testserver.Server, host string, r route) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, srv.URL(host, r.path), nil)
	if err != nil {
		return 0, nil, err
	}
	if r.fragment {
		req.Header.Set("HX-Request", "true")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// result is one route's figures.
type result struct {
	lat           []time.Duration // sorted
	solo          time.Duration
	rate          float64
	failed        int
	firstErr      string
	p50, p95, p99 time.Duration
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// measure requests r once to warm up (and check it answers 200), five
// times from one client (solo), then from every client in a loop for d;
// requests started before the deadline count, and throughput is completed
// requests over the time until the last one finished.
func measure(srv *testserver.Server, host string, clients []*http.Client, r route, d time.Duration) result {
	var res result
	note := func(status int, body []byte, err error) {
		res.failed++
		if res.firstErr == "" {
			if err != nil {
				res.firstErr = err.Error()
			} else {
				res.firstErr = fmt.Sprintf("status %d: %.300s", status, body)
			}
		}
	}
	if status, body, err := get(clients[0], srv, host, r); err != nil || status != http.StatusOK {
		note(status, body, err)
		return res
	}
	var solo []time.Duration
	for range 5 {
		t0 := time.Now()
		status, body, err := get(clients[0], srv, host, r)
		solo = append(solo, time.Since(t0))
		if err != nil || status != http.StatusOK {
			note(status, body, err)
		}
	}
	slices.Sort(solo)
	res.solo = solo[len(solo)/2]

	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t0 := time.Now()
				status, body, err := get(c, srv, host, r)
				lat := time.Since(t0)
				if err != nil || status != http.StatusOK {
					mu.Lock()
					note(status, body, err)
					mu.Unlock()
					continue
				}
				mine = append(mine, lat)
			}
			mu.Lock()
			res.lat = append(res.lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(res.lat)
	res.rate = float64(len(res.lat)) / elapsed.Seconds()
	res.p50, res.p95, res.p99 = percentile(res.lat, 0.50), percentile(res.lat, 0.95), percentile(res.lat, 0.99)
	return res
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

func (r result) print(name string, base result) {
	if len(r.lat) == 0 {
		fmt.Printf("%-64s FAILED: %s\n", name, r.firstErr)
		return
	}
	goal := "yes"
	if r.p95 >= dashGoal {
		goal = "NO"
	}
	ratio := "-"
	if base.p95 > 0 {
		ratio = strconv.FormatFloat(float64(r.p95)/float64(base.p95), 'f', 1, 64)
	}
	fmt.Printf("%-64s %6d %7s %7s %7s %7s %8.1f %7s %5s", name, len(r.lat), ms(r.solo), ms(r.p50), ms(r.p95), ms(r.p99), r.rate, ratio, goal)
	if r.failed > 0 {
		fmt.Printf("  (%d failed: %.120s)", r.failed, r.firstErr)
	}
	fmt.Println()
}

// explainRoutes requests each route once, as its user, through a second
// server instance whose connections load auto_explain, and prints the
// EXPLAIN (ANALYZE, BUFFERS) of every query slower than
// BENCH_DASH_EXPLAIN_MS that the request ran. It reads the plans from the
// PostgreSQL server log (data_directory/server.log, where the test
// cluster of scripts/with-test-db.sh writes it).
func explainRoutes(b *testing.B, dbURL string, t models.Tenant, host string, routes map[string][]route) {
	b.Helper()
	ctx := context.Background()
	threshold := envInt("BENCH_DASH_EXPLAIN_MS", 10)
	warm := envInt("BENCH_DASH_EXPLAIN_WARM", 8)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var dbName, dataDir string
	var logFile *string
	if err := conn.QueryRow(ctx, `SELECT current_database(), current_setting('data_directory'), pg_current_logfile()`).Scan(&dbName, &dataDir, &logFile); err != nil {
		b.Fatal(err)
	}
	logPath := dataDir + "/server.log"
	if logFile != nil {
		logPath = *logFile
		if !strings.HasPrefix(logPath, "/") {
			logPath = dataDir + "/" + logPath
		}
	}
	if _, err := os.Stat(logPath); err != nil {
		fmt.Printf("BENCH_DASH_EXPLAIN: cannot read the server log %s (%v); skipped\n", logPath, err)
		return
	}
	for _, set := range []string{
		`session_preload_libraries = 'auto_explain'`,
		fmt.Sprintf(`auto_explain.log_min_duration = '%dms'`, threshold),
		`auto_explain.log_analyze = on`,
		`auto_explain.log_buffers = on`,
		`auto_explain.log_format = 'text'`,
	} {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s SET %s`, pgx.Identifier{dbName}.Sanitize(), set)); err != nil {
			b.Fatal(err)
		}
	}
	// A second instance on a new pool: its connections start with
	// auto_explain loaded.
	db2, err := database.Open(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db2.Close() })
	srv2 := testserver.StartOn(b, db2)
	fmt.Printf("\nEXPLAIN (ANALYZE, BUFFERS) of queries over %d ms, tenant %s (tenant_id %d), one request at a time\n", threshold, t.Slug, t.ID)
	emails := make([]string, 0, len(routes))
	for e := range routes {
		emails = append(emails, e)
	}
	slices.Sort(emails)
	for _, email := range emails {
		c := newClient(srv2)
		if err := login(c, srv2, host, email); err != nil {
			b.Fatal(err)
		}
		for _, r := range routes[email] {
			// The app's driver prepares each statement once per
			// connection, so from the sixth execution on PostgreSQL may
			// run a generic plan: the steady state under load. Print the
			// plans of the first request (custom plans, fresh parameters)
			// and of a request after the warm-ups, with every request's time.
			var times []string
			var first, last []string
			var firstTook, lastTook time.Duration
			var status int
			for i := 0; i <= warm; i++ {
				off := fileSize(logPath)
				t0 := time.Now()
				st, _, err := get(c, srv2, host, r)
				took := time.Since(t0)
				if err != nil {
					st = -1
				}
				status = st
				times = append(times, ms(took))
				if i == 0 || i == warm {
					time.Sleep(200 * time.Millisecond) // let the backend finish writing the log
					if i == 0 {
						first, firstTook = plansSince(logPath, off), took
					} else {
						last, lastTook = plansSince(logPath, off), took
					}
				}
			}
			fmt.Printf("\n===== %s %s: status %d; ms per request in a row: %s\n", email, r, status, strings.Join(times, " "))
			if lastTook > 2*firstTook && lastTook > 20*time.Millisecond {
				fmt.Printf("----- first request (%s ms, custom plans):\n", ms(firstTook))
				for _, p := range first {
					fmt.Println(p)
				}
				fmt.Printf("----- request %d (%s ms):\n", warm+1, ms(lastTook))
			}
			for _, p := range last {
				fmt.Println(p)
			}
		}
		c.CloseIdleConnections()
	}
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// plansSince returns the auto_explain entries written to the log after off.
func plansSince(path string, off int64) []string {
	f, err := os.Open(path)
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return []string{err.Error()}
	}
	var out []string
	var cur *strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "LOG:  duration:") && strings.Contains(line, "plan:"):
			if cur != nil {
				out = append(out, cur.String())
			}
			cur = &strings.Builder{}
			cur.WriteString(line[strings.Index(line, "duration:"):])
		case cur != nil && (strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ")):
			cur.WriteString("\n" + line)
		default:
			if cur != nil {
				out = append(out, cur.String())
				cur = nil
			}
		}
	}
	if cur != nil {
		out = append(out, cur.String())
	}
	return out
}
