package bench

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/devdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// The goals, each p95 under the closed-loop clients: a page or JSON
// section on its own ("one view"), /me relative to /healthz, the
// customer-shaped mix, the mix while statements arrive, and how stale an
// answer under ingest may be.
const (
	viewGoal      = 50 * time.Millisecond
	meGoalFactor  = 4 // /me's p95 under this many times /healthz's
	mixGoal       = 100 * time.Millisecond
	ingestMixGoal = 150 * time.Millisecond
	freshnessGoal = time.Second
)

// envInt reads a positive integer from the environment, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// envSet reads a comma-separated list from the environment, or def.
func envSet(name, def string) map[string]bool {
	v := os.Getenv(name)
	if strings.TrimSpace(v) == "" {
		v = def
	}
	out := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out[s] = true
		}
	}
	return out
}

// dashEnv is the benchmark's configuration, from the environment.
type dashEnv struct {
	statements, clients, managers          int
	per, mix                               time.Duration
	scenarios, tenants                     map[string]bool
	ingestRate, ingestBatch, ingestSenders int
	replica                                bool
}

func readDashEnv() dashEnv {
	return dashEnv{
		statements:    envInt("BENCH_DASH_STATEMENTS", 1_000_000),
		clients:       envInt("BENCH_DASH_CLIENTS", 50),
		managers:      envInt("BENCH_DASH_MANAGERS", 200),
		per:           time.Duration(envInt("BENCH_DASH_SECONDS", 5)) * time.Second,
		mix:           time.Duration(envInt("BENCH_DASH_MIX_SECONDS", 30)) * time.Second,
		scenarios:     envSet("BENCH_DASH_SCENARIOS", "views,extra,mix,ingest"),
		tenants:       envSet("BENCH_DASH_TENANTS", "acme,bigco"),
		ingestRate:    envInt("BENCH_DASH_INGEST_RATE", 2000),
		ingestBatch:   envInt("BENCH_DASH_INGEST_BATCH", 100),
		ingestSenders: envInt("BENCH_DASH_INGEST_SENDERS", 8),
		replica:       os.Getenv("BENCH_DASH_REPLICA") == "1",
	}
}

// BenchmarkDashboards measures the dashboards under 50 concurrent
// closed-loop clients, each its own signed-in session, on the acme demo
// data and on a tenant of about a million statements ("bigco"). Every
// figure is printed with its ratio to GET /healthz measured the same way
// in the same run (before the tenant's scenarios; again after them).
// Scenarios, per tenant:
//
//   - views: every client on the same page and filters, one at a time:
//     the five dashboard pages, every JSON section
//     (/api/v1/dashboards/<dash>/<section>, tables included) and /me, as
//     the admin. Goal: p95 < 50 ms; /me: p95 < 4 × /healthz's p95.
//   - extra: the same for the drill-downs, a learner page, the table
//     fragments, and a manager's pages and sections (no goal of their
//     own; the 50 ms mark is shown).
//   - mix: a customer-shaped mix (see mixData.pick): 70% on 20 popular
//     views (the admin's and three managers' default dashboard pages),
//     30% on filters, drill-downs, table pages and the scopes of 200
//     manager users the benchmark creates (learners with reports). Goal:
//     p95 < 100 ms overall; p95 per request class is printed too.
//   - ingest: the same mix while a paced sender posts generated statements
//     for the tenant's learners and courses to POST /xapi/statements
//     (2,000/s in batches of 100). Goal: p95 < 150 ms; and freshness: a
//     response showing gold version v (X-LearnLens-Version) is fresh if v
//     was the newest version committed when the request started, or if
//     the first version after v was committed less than 1 s before it
//     started (versions from gold_freshness, polled every 20 ms).
//
// Environment:
//
//	BENCH_DASH_STATEMENTS      statements of bigco (default 1,000,000; people scale with it)
//	BENCH_DASH_CLIENTS         concurrent clients, each its own session per user (default 50)
//	BENCH_DASH_SECONDS         measured seconds per route of views and extra, and of /healthz (default 5)
//	BENCH_DASH_MIX_SECONDS     measured seconds of the mix and of the mix under ingest (default 30)
//	BENCH_DASH_SCENARIOS       which scenarios to run (default views,extra,mix,ingest)
//	BENCH_DASH_TENANTS         which tenants to load and measure (default acme,bigco)
//	BENCH_DASH_MANAGERS        manager users created for the mix's manager scopes (default 200)
//	BENCH_DASH_INGEST_RATE     statements per second sent during the ingest scenario (default 2000)
//	BENCH_DASH_INGEST_BATCH    statements per POST (default 100: one POST every 50 ms at 2,000/s)
//	BENCH_DASH_INGEST_SENDERS  POSTs in flight at most (default 8); a late batch is sent at once
//	BENCH_DASH_EXPLAIN=1       afterwards, print EXPLAIN (ANALYZE, BUFFERS) of every
//	                           query over BENCH_DASH_EXPLAIN_MS (default 10) that bigco's
//	                           view and extra routes run (auto_explain), on the first
//	                           request and after BENCH_DASH_EXPLAIN_WARM (default 8)
//	                           more on the same connection
//	BENCH_DASH_MEASURE=0       skip the measurements (load, then explain)
//	BENCH_DASH_CPUPROFILE=DIR  write a CPU profile of this process (server and
//	                           clients) during each mix to DIR/<tenant>-mix.pprof and
//	                           DIR/<tenant>-ingest.pprof
//	BENCH_DASH_TOP             after each mix, the statements that took most database
//	                           time (pg_stat_statements; default 8, 0 = none); the
//	                           CPU per request of this process and of PostgreSQL is
//	                           printed too
//	BENCH_DASH_REPLICA=1       a private primary cluster and, after the load, a streaming
//	                           replica of it; the mix (and ingest) run twice: on a server
//	                           reading from the primary, then on one whose dashboards
//	                           read from the replica (DATABASE_READ_URL), with the CPU
//	                           per request of each cluster, the reads each served, the
//	                           replica's CPU per read and what N cores of it would serve
func BenchmarkDashboards(b *testing.B) {
	ctx := context.Background()
	env := readDashEnv()

	// With a replica, a primary of the benchmark's own: a base backup
	// copies the whole cluster, and the shared test cluster holds other
	// tests' databases.
	var primary *devdb.Cluster
	var dbURL string
	if env.replica {
		primary, dbURL = testdb.Private(b)
	} else {
		dbURL = testdb.NewURL(b)
	}
	db := testdb.Open(b, dbURL)
	if _, err := seed.Demo(ctx, db); err != nil {
		b.Fatal(err)
	}
	srv := testserver.StartOn(b, db)
	tenants := models.NewTenantStore(db)

	// Load the tenants through the real ingest path, side by side
	// (different tenants ingest in parallel).
	now := time.Now().Truncate(time.Hour)
	var sets []*benchTenant
	if env.tenants["acme"] {
		acme, err := tenants.BySlug(ctx, "acme")
		if err != nil {
			b.Fatal(err)
		}
		sets = append(sets, &benchTenant{t: acme, host: "acme.localhost", admin: "admin@acme.test", manager: "manager@acme.test",
			cfg: generator.Acme(now)})
	}
	if env.tenants["bigco"] {
		big, err := tenants.Create(ctx, models.NewTenant{Slug: "bigco", Name: "Big Co", TimeZone: "Europe/London",
			Domains: []models.TenantDomain{{Kind: models.DomainEmail, Domain: "bigco.test"}}})
		if err != nil {
			b.Fatal(err)
		}
		n := env.statements
		learners := min(7000, max(200, n*7/1000)) // ~140 statements per person, as at 1M
		sets = append(sets, &benchTenant{t: big, host: "bigco.localhost", admin: "admin@bigco.test",
			cfg: generator.Config{Seed: 1, Learners: learners, Depth: 5, Courses: 40, Required: 6, Statements: n,
				Months: 12, EmailDomain: "bigco.test", TimeZone: "Europe/London", Now: now, BatchSize: 1000}})
	}
	p := pipeline.New(db)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(sets))
	var outMu sync.Mutex
	for i, s := range sets {
		last := time.Now()
		cfg := s.cfg
		cfg.Progress = func(sent, total int) {
			if time.Since(last) < 30*time.Second && sent != total {
				return
			}
			last = time.Now()
			outMu.Lock()
			fmt.Printf("  loading %s: %d of %d statements (%.0f s)\n", s.t.Slug, sent, total, time.Since(start).Seconds())
			outMu.Unlock()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.sum, errs[i] = generator.Populate(ctx, p, s.t.ID, cfg)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	for _, s := range sets {
		fmt.Printf("loaded %s: %d people, %d statements\n", s.t.Slug, s.sum.Learners, s.sum.Statements)
	}
	fmt.Printf("loading took %.0f s\n", time.Since(start).Seconds())

	// A production database would have been vacuumed and analysed by
	// autovacuum by the time anyone reads these dashboards.
	vacuumAnalyze(b, dbURL)

	// Users of the big tenant: an admin, and a manager who is a learner
	// with 20–100 people under them.
	hash, err := auth.HashPassword(seed.DemoPassword)
	if err != nil {
		b.Fatal(err)
	}
	users := models.NewUserStore(db)
	for _, s := range sets {
		s.learner = s.sum.LearnerEmail
		if s.manager != "" {
			continue
		}
		s.manager = pickManager(b, db, s.t.ID, s.sum.ManagerEmail)
		for _, u := range []models.NewUser{
			{Email: s.admin, Name: "Big Admin", Role: models.RoleTenantAdmin, PasswordHash: hash},
			{Email: s.manager, Name: "Big Manager", Role: models.RoleManager, PasswordHash: hash},
		} {
			if _, err := users.Create(ctx, s.t.ID, u); err != nil {
				b.Fatal(err)
			}
		}
	}

	var sum summary
	if os.Getenv("BENCH_DASH_MEASURE") != "0" {
		targets := []target{{srv: srv}}
		if env.replica {
			targets = withReplica(b, primary, dbURL, srv)
		}
		for _, s := range sets {
			runTenant(b, env, targets, db, dbURL, hash, s, &sum)
		}
		sum.print(env)
		for _, f := range sum.failed {
			b.Error(f)
		}
	}

	if os.Getenv("BENCH_DASH_EXPLAIN") == "1" {
		for _, s := range sets {
			if s.t.Slug == "bigco" {
				ids := pickIDs(b, db, s.t.ID, s.learner, s.manager)
				explainRoutes(b, dbURL, s.t, s.host, append(viewRoutes(ids, s.admin), extraRoutes(ids, s.admin, s.manager)...))
			}
		}
	}
}

// benchTenant is a tenant the benchmark measures: its host, its admin
// and named manager users, the generator's config it was loaded with and
// what it made.
type benchTenant struct {
	t                       models.Tenant
	host                    string
	admin, manager, learner string
	cfg                     generator.Config
	sum                     generator.Summary
}

// replicaWarmUp is how long the mix runs unmeasured on each server
// before its measured run, with BENCH_DASH_REPLICA.
const replicaWarmUp = 10 * time.Second

// target is a server the mix runs on: the benchmark's own, whose
// dashboards read from the primary, and with BENCH_DASH_REPLICA=1 a
// second one whose dashboards read from a streaming replica.
type target struct {
	name       string // "" without BENCH_DASH_REPLICA, else "primary" or "replica"
	srv        *testserver.Server
	replicaURL string // the replica's superuser URL (BENCH_DASH_REPLICA; its CPU is measured on both targets)
}

// label names the target in headings and the summary.
func (tg target) label() string {
	if tg.name == "" {
		return ""
	}
	return " (" + tg.name + ")"
}

// withReplica makes a streaming replica of primary (the whole cluster as
// loaded; its own 1 GB of buffers, as the primary has), waits until it
// has replayed everything, and starts a second server whose dashboards
// read from it; it returns srv, reading from the primary, and that
// server.
func withReplica(b *testing.B, primary *devdb.Cluster, dbURL string, srv *testserver.Server) []target {
	b.Helper()
	start := time.Now()
	replica := testdb.Replica(b, primary, devdb.Options{SharedBuffers: "1GB"})
	logins := testdb.Logins(dbURL)
	logins.Read = replica.URLAs(database.AppRole, "learnlens")
	db, err := database.Open(context.Background(), logins)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	testdb.WaitReplayed(b, db, 5*time.Minute)
	fmt.Printf("replica: base backup and replay in %.0f s\n", time.Since(start).Seconds())
	url := replica.URL("learnlens")
	return []target{{name: "primary", srv: srv, replicaURL: url}, {name: "replica", srv: testserver.StartOn(b, db), replicaURL: url}}
}

// runTenant runs the chosen scenarios on one tenant: the one-view ones on
// the first target, the mixes on each.
func runTenant(b *testing.B, env dashEnv, targets []target, db *database.DB, dbURL, hash string, s *benchTenant, sum *summary) {
	b.Helper()
	srv := targets[0].srv
	describeTenant(b, db, s.t)
	ids := pickIDs(b, db, s.t.ID, s.learner, s.manager)
	fmt.Printf("  drill-down ids: course %d, team %d, requirement %d (team %d), assessed course %d, team node %d, learner %d; manager's node %d, report %d\n",
		ids.course, ids.team, ids.requirement, ids.reqTeam, ids.assessed, ids.node, ids.learner, ids.self, ids.report)
	clients := newClients(b, srv, env.clients)
	signIn(b, srv, s.host, clients, s.admin)

	fmt.Printf("\n=== tenant %s: %d closed-loop clients (each its own session per user), GOMAXPROCS=%s\n",
		s.t.Slug, env.clients, os.Getenv("GOMAXPROCS"))
	fmt.Printf("times in ms; solo = median of 5 requests by one client; vs hlth = p95 / p95 of /healthz (first baseline)\n")
	healthz := route{class: "healthz", path: "/healthz"}
	printHeader()
	base := measure(srv, s.host, clients, healthz, env.per)
	printRow("baseline: GET /healthz", base, base, "")

	if env.scenarios["views"] {
		fmt.Printf("\n--- %s, scenario 1, one view: all clients on the same route, %s each, as %s; goal p95 < %s (/me: < %d× /healthz p95 = %s)\n",
			s.t.Slug, env.per, s.admin, viewGoal, meGoalFactor, ms(meGoalFactor*base.p95))
		printHeader()
		var pass, total int
		type miss struct {
			path string
			p95  time.Duration
		}
		var misses []miss
		for _, r := range viewRoutes(ids, s.admin) {
			st := measure(srv, s.host, clients, r, env.per)
			ok := st.p95 < viewGoal
			if r.path == "/me" {
				ok = st.p95 < meGoalFactor*base.p95
				sum.add(s.t.Slug, fmt.Sprintf("views: /me p95 < %d× /healthz p95", meGoalFactor), verdict(st, ok),
					fmt.Sprintf("p95 %s ms vs %d × %s ms", ms(st.p95), meGoalFactor, ms(base.p95)))
			} else {
				total++
				if verdict(st, ok) == "PASS" {
					pass++
				} else {
					misses = append(misses, miss{r.path, st.p95})
				}
			}
			printRow(r.String(), st, base, verdict(st, ok))
			sum.noteFailures(s.t.Slug, r.String(), st)
		}
		v := "PASS"
		if pass < total {
			v = "MISS"
		}
		detail := fmt.Sprintf("%d of %d routes pass", pass, total)
		if len(misses) > 0 {
			// The slowest few; the table above has them all.
			slices.SortFunc(misses, func(a, b miss) int { return cmp.Compare(b.p95, a.p95) })
			var worst []string
			for _, m := range misses[:min(5, len(misses))] {
				worst = append(worst, fmt.Sprintf("%s %s", m.path, ms(m.p95)))
			}
			detail += "; slowest p95 (ms): " + strings.Join(worst, ", ")
		}
		sum.add(s.t.Slug, fmt.Sprintf("views: every dashboard page and JSON section p95 < %s", viewGoal), v, detail)
	}

	if env.scenarios["extra"] {
		fmt.Printf("\n--- %s, one view, other routes: drill-downs, a learner, table fragments, a manager (%s); %s each; 50 ms mark shown, not a goal\n",
			s.t.Slug, s.manager, env.per)
		signIn(b, srv, s.host, clients, s.manager)
		printHeader()
		for _, r := range extraRoutes(ids, s.admin, s.manager) {
			st := measure(srv, s.host, clients, r, env.per)
			who := "admin "
			if r.as != s.admin {
				who = "manager "
			}
			printRow(who+r.String(), st, base, verdict(st, st.p95 < viewGoal))
			sum.noteFailures(s.t.Slug, who+r.String(), st)
		}
	}

	if env.scenarios["mix"] || env.scenarios["ingest"] {
		m := prepareMix(b, env, srv, db, dbURL, hash, s, clients)
		// Each target's clients: the same sessions (they live in the
		// database), each client's own connection to its server.
		onTarget := make([][]*benchClient, len(targets))
		for i, tg := range targets {
			onTarget[i] = clients
			if tg.srv != srv {
				onTarget[i] = clientsOn(b, tg.srv, clients)
			}
		}
		if env.scenarios["mix"] {
			runs := make([]mixRun, len(targets))
			for i, tg := range targets {
				fmt.Printf("\n--- %s, scenario 2, customer-shaped mix%s, %s; goal p95 < %s overall\n", s.t.Slug, tg.label(), env.mix, mixGoal)
				if tg.name != "" {
					// Both servers' view caches and both clusters'
					// buffers warm, as the primary's are after the load.
					fmt.Printf("  (first %s of the mix unmeasured, to warm the caches)\n", replicaWarmUp)
					load(tg.srv, s.host, onTarget[i], replicaWarmUp, 7, m.pick)
				}
				cost := startMixCost(b, dbURL).watch(b, tg).profiled(b, s.t.Slug+"-mix"+tg.name)
				samples, elapsed := load(tg.srv, s.host, onTarget[i], env.mix, 2, m.pick)
				all := printMix(samples, elapsed, base, mixGoal)
				runs[i] = cost.print(elapsed, len(samples))
				runs[i].all = all
				sum.add(s.t.Slug, fmt.Sprintf("mix%s: p95 < %s", tg.label(), mixGoal), verdict(all, all.p95 < mixGoal),
					fmt.Sprintf("p95 %s ms, %.0f req/s", ms(all.p95), all.rate))
				sum.noteFailures(s.t.Slug, "mix"+tg.label(), all)
			}
			printReplicaRuns(s.t.Slug+", the mix", runs)
		}
		if env.scenarios["ingest"] {
			runs := make([]mixRun, len(targets))
			for i, tg := range targets {
				runs[i] = runIngestMix(b, env, tg, i, db, dbURL, s, onTarget[i], m, base, sum)
			}
			printReplicaRuns(s.t.Slug+", the mix under ingest", runs)
		}
	}

	fmt.Println()
	printHeader()
	again := measure(srv, s.host, clients, healthz, env.per)
	printRow("baseline again: GET /healthz", again, base, "")
}

// summary collects the verdicts per tenant and goal, and the failures.
type summary struct {
	rows   [][4]string // tenant, goal, verdict, detail
	failed []string
}

func (s *summary) add(tenant, goal, verdict, detail string) {
	s.rows = append(s.rows, [4]string{tenant, goal, verdict, detail})
}

// noteFailures records requests that did not answer 200: the harness (or
// the server) is broken, whatever the figures say.
func (s *summary) noteFailures(tenant, what string, st stats) {
	if st.failed > 0 {
		s.failed = append(s.failed, fmt.Sprintf("%s %s: %d failed, first: %s", tenant, what, st.failed, st.firstErr))
	}
}

func (s *summary) print(env dashEnv) {
	fmt.Printf("\n=== Summary (%d clients; views %s per route, mix %s)\n", env.clients, env.per, env.mix)
	for _, r := range s.rows {
		fmt.Printf("%-6s %-4s  %-62s %s\n", r[0], r[2], r[1], r[3])
	}
	if len(s.failed) > 0 {
		fmt.Printf("%d routes or scenarios had failed requests (see the errors below)\n", len(s.failed))
	}
}

// viewRoutes are scenario 1's routes, as the admin: the dashboard pages,
// every JSON section (drill-down ones at the busiest ids) and /me.
func viewRoutes(x dashIDs, admin string) []route {
	paths := []string{
		"/dashboards/completion",
		"/dashboards/engagement",
		"/dashboards/compliance",
		"/dashboards/assessments",
		"/dashboards/team",
	}
	for _, s := range []string{
		"completion/kpis", "completion/trend",
		"engagement/kpis", "engagement/trend", "engagement/heatmap",
		"compliance/kpis",
		"assessments/kpis", "assessments/scores", fmt.Sprintf("assessments/attempts-to-pass?course_id=%d", x.assessed),
		"team/nodes", fmt.Sprintf("team/nodes?learner_id=%d", x.node),
		fmt.Sprintf("learner/profile?learner_id=%d", x.learner),
		// Tables (analytics' table ids).
		"completion/courses", fmt.Sprintf("completion/teams?course_id=%d", x.course),
		fmt.Sprintf("completion/learners?course_id=%d&team_id=%d", x.course, x.team),
		"compliance/requirements", fmt.Sprintf("compliance/teams?requirement_id=%d", x.requirement),
		fmt.Sprintf("compliance/people?requirement_id=%d&team_id=%d", x.requirement, x.reqTeam),
		"compliance/at-risk", "compliance/assignments",
		"engagement/courses", "engagement/inactive",
		"assessments/courses", fmt.Sprintf("assessments/attempts?course_id=%d", x.assessed),
		fmt.Sprintf("assessments/questions?course_id=%d", x.assessed),
		fmt.Sprintf("learner/enrollments?learner_id=%d", x.learner),
		fmt.Sprintf("learner/attempts?learner_id=%d", x.learner),
		fmt.Sprintf("learner/certificates?learner_id=%d", x.learner),
	} {
		paths = append(paths, "/api/v1/dashboards/"+s)
	}
	paths = append(paths, "/me")
	out := make([]route, len(paths))
	for i, p := range paths {
		out[i] = route{class: "view", as: admin, path: p}
	}
	return out
}

// extraRoutes are the other routes measured one at a time: the admin's
// drill-downs, a learner page and table fragments, and the named
// manager's pages, drill-downs, fragments and sections.
func extraRoutes(x dashIDs, admin, manager string) []route {
	a := func(path string, frag bool) route {
		return route{class: "extra", as: admin, path: path, fragment: frag}
	}
	m := func(path string, frag bool) route {
		return route{class: "extra", as: manager, path: path, fragment: frag}
	}
	return []route{
		a(fmt.Sprintf("/dashboards/completion/courses/%d", x.course), false),
		a(fmt.Sprintf("/dashboards/completion/courses/%d/teams/%d", x.course, x.team), false),
		a(fmt.Sprintf("/dashboards/compliance/requirements/%d", x.requirement), false),
		a(fmt.Sprintf("/dashboards/assessments/courses/%d", x.assessed), false),
		a(fmt.Sprintf("/dashboards/team/nodes/%d", x.node), true),
		a(fmt.Sprintf("/learners/%d", x.learner), false),
		a("/tables/completion/courses?sort=completed&dir=desc", true),
		a("/tables/engagement/inactive", true),
		a("/tables/compliance/at-risk", true),
		m("/dashboards/completion", false),
		m("/dashboards/engagement", false),
		m("/dashboards/compliance", false),
		m("/dashboards/assessments", false),
		m("/dashboards/team", false),
		m(fmt.Sprintf("/dashboards/completion/courses/%d", x.course), false),
		m(fmt.Sprintf("/dashboards/team/nodes/%d", x.self), true),
		m(fmt.Sprintf("/learners/%d", x.report), false),
		m("/me", false),
		m("/tables/completion/courses?sort=completed&dir=desc", true),
		m("/tables/engagement/inactive", true),
		m("/tables/compliance/at-risk", true),
		m("/api/v1/dashboards/completion/kpis", false),
		m("/api/v1/dashboards/engagement/kpis", false),
	}
}

// dashIDs are the drill-down targets: the busiest course, requirement and
// assessed course, the team of the course and of the requirement with the
// most people, the top of the org tree, the generator's learner with a
// rich history, and the manager's own learner record and one of their
// reports.
type dashIDs struct {
	course, team, requirement, reqTeam, assessed, node, learner int64
	self, report                                                int64
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
	fmt.Printf("manager: %s, %d people under them\n", email, people)
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
		// The team with the most people assigned the requirement.
		if err := tx.QueryRow(ctx, `SELECT coalesce(l.manager_id, 0) FROM compliance_assignments ca
			JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id
			WHERE ca.tenant_id = $1 AND ca.requirement_id = $2 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, tenant, x.requirement).Scan(&x.reqTeam); err != nil {
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

// explainRoutes requests each route once, as its user, through a second
// server instance whose connections load auto_explain, and prints the
// EXPLAIN (ANALYZE, BUFFERS) of every query slower than
// BENCH_DASH_EXPLAIN_MS that the request ran. It reads the plans from the
// PostgreSQL server log (data_directory/server.log, where the test
// cluster of scripts/with-test-db.sh writes it).
func explainRoutes(b *testing.B, dbURL string, t models.Tenant, host string, routes []route) {
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
	// A loaded database outlives the benchmark: take the settings off again.
	defer func() {
		for _, name := range []string{"session_preload_libraries", "auto_explain.log_min_duration", "auto_explain.log_analyze",
			"auto_explain.log_buffers", "auto_explain.log_format"} {
			conn.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s RESET %s`, pgx.Identifier{dbName}.Sanitize(), name))
		}
	}()
	// A second instance on a new pool, with the result cache off (every
	// request runs its queries): its connections start with auto_explain
	// loaded.
	db2 := testdb.Open(b, dbURL)
	srv2 := testserver.StartWith(b, db2, func(cfg *config.Config) { cfg.ViewCacheBytes = 0 })
	fmt.Printf("\nEXPLAIN (ANALYZE, BUFFERS) of queries over %d ms, tenant %s (tenant_id %d), one request at a time\n", threshold, t.Slug, t.ID)
	c := newBenchClient(srv2)
	defer c.http.CloseIdleConnections()
	{
		for _, r := range routes {
			if _, ok := c.sessions[r.as]; !ok {
				if err := c.login(srv2, host, r.as); err != nil {
					b.Fatal(err)
				}
			}
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
				rep, err := c.get(srv2, host, r)
				took := time.Since(t0)
				status = rep.status
				if err != nil {
					status = -1
				}
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
			fmt.Printf("\n===== %s %s: status %d; ms per request in a row: %s\n", r.as, r, status, strings.Join(times, " "))
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
