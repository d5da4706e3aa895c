package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/tests/testserver"
)

// The mix's request classes and their shares of requests, in percent.
// popular is 70%: the 20 popular views. The rest is the long tail.
var mixClasses = []struct {
	name  string
	share int
}{
	{"popular", 70},   // the admin's and three managers' default dashboard pages (4 users × 5 pages)
	{"filters", 9},    // a dashboard page or JSON section with a range, department, location, course or category
	{"drill-down", 6}, // a course, a course's team, a requirement, an assessed course, a team node
	{"table", 6},      // a page of a table fragment, sorted by a column
	{"manager", 9},    // one of the 200 managers' own dashboard pages or KPI sections
}

var dashboards = []string{"completion", "engagement", "compliance", "assessments", "team"}

// filterSections are the JSON sections that take only filters.
var filterSections = []string{
	"completion/kpis", "completion/trend", "engagement/kpis", "engagement/trend", "engagement/heatmap",
	"compliance/kpis", "assessments/kpis", "assessments/scores",
}

// mixTables are the tables that need no drill-down id, as the mix pages
// and sorts them.
var mixTables = []string{
	"completion/courses", "compliance/requirements", "compliance/at-risk", "compliance/assignments",
	"engagement/courses", "engagement/inactive", "assessments/courses",
}

// mixData is what the mix draws its requests from, for one tenant.
type mixData struct {
	admin   string
	popular []string // the admin and three managers: the popular views' users

	departments, locations, categories []string
	courses                            []int64 // courses with enrolments
	courseTeams                        [][2]int64
	requirements, assessed, nodes      []int64
	tables                             []mixTable
	managers                           []string // the scope managers the benchmark created
	today                              time.Time
}

// mixTable is a table the mix pages through: its sortable columns and
// how many pages the admin sees.
type mixTable struct {
	id    string
	sorts []string
	pages int
}

// pick draws client c's next request of the mix.
func (m *mixData) pick(c *benchClient, r *rand.Rand) route {
	x := r.IntN(100)
	class := mixClasses[len(mixClasses)-1].name
	for _, k := range mixClasses {
		if x < k.share {
			class = k.name
			break
		}
		x -= k.share
	}
	one := func(xs []string) string { return xs[r.IntN(len(xs))] }
	oneID := func(xs []int64) int64 { return xs[r.IntN(len(xs))] }
	switch class {
	case "popular":
		return route{class: class, as: one(m.popular), path: "/dashboards/" + one(dashboards)}
	case "filters":
		as := m.admin
		if r.IntN(10) < 3 {
			as = one(m.popular[1:])
		}
		path := "/dashboards/" + one(dashboards)
		if r.IntN(10) < 4 {
			path = "/api/v1/dashboards/" + one(filterSections)
		}
		return route{class: class, as: as, path: path + "?" + m.filters(r).Encode()}
	case "drill-down":
		switch r.IntN(5) {
		case 0:
			return route{class: class, as: m.admin, path: fmt.Sprintf("/dashboards/completion/courses/%d", oneID(m.courses))}
		case 1:
			ct := m.courseTeams[r.IntN(len(m.courseTeams))]
			return route{class: class, as: m.admin, path: fmt.Sprintf("/dashboards/completion/courses/%d/teams/%d", ct[0], ct[1])}
		case 2:
			return route{class: class, as: m.admin, path: fmt.Sprintf("/dashboards/compliance/requirements/%d", oneID(m.requirements))}
		case 3:
			return route{class: class, as: m.admin, path: fmt.Sprintf("/dashboards/assessments/courses/%d", oneID(m.assessed))}
		default:
			return route{class: class, as: m.admin, path: fmt.Sprintf("/dashboards/team/nodes/%d", oneID(m.nodes)), fragment: true}
		}
	case "table":
		t := m.tables[r.IntN(len(m.tables))]
		q := url.Values{}
		if p := 1 + r.IntN(min(t.pages, 10)); p > 1 {
			q.Set("page", strconv.Itoa(p))
		}
		if len(t.sorts) > 0 && r.IntN(10) < 7 {
			q.Set("sort", one(t.sorts))
			if r.IntN(2) == 0 {
				q.Set("dir", "desc")
			}
		}
		path := "/tables/" + t.id
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		return route{class: class, as: m.admin, path: path, fragment: true}
	default: // a scope manager's own view
		as := one(c.managers)
		if r.IntN(4) == 0 {
			return route{class: class, as: as, path: "/api/v1/dashboards/" + one(dashboards[:4]) + "/kpis"}
		}
		return route{class: class, as: as, path: "/dashboards/" + one(dashboards)}
	}
}

// filters draws a filter set: always a range (7d, 30d, 12m or a custom
// one within the last year), sometimes a department, location, course or
// category.
func (m *mixData) filters(r *rand.Rand) url.Values {
	v := url.Values{}
	switch r.IntN(4) {
	case 0:
		v.Set("range", "7d")
	case 1:
		v.Set("range", "30d")
	case 2:
		v.Set("range", "12m")
	default:
		to := m.today.AddDate(0, 0, -r.IntN(60))
		v.Set("range", "custom")
		v.Set("from", to.AddDate(0, 0, -7-r.IntN(120)).Format(time.DateOnly))
		v.Set("to", to.Format(time.DateOnly))
	}
	if len(m.departments) > 0 && r.IntN(10) < 4 {
		v.Set("department", m.departments[r.IntN(len(m.departments))])
	}
	if len(m.locations) > 0 && r.IntN(10) < 3 {
		v.Set("location", m.locations[r.IntN(len(m.locations))])
	}
	if len(m.courses) > 0 && r.IntN(10) < 2 {
		v.Set("course", strconv.FormatInt(m.courses[r.IntN(len(m.courses))], 10))
	}
	if len(m.categories) > 0 && r.IntN(10) < 2 {
		v.Set("category", m.categories[r.IntN(len(m.categories))])
	}
	return v
}

// prepareMix creates the mix's users (two more popular managers beside
// the named one, and env.managers scope managers: learners with reports,
// role manager, signed in by email as analytics.ResolveScope matches
// them), signs every client in as each popular user and as its share of
// the scope managers, and reads the filter values and drill-down ids the
// mix draws from.
func prepareMix(b *testing.B, env dashEnv, srv *testserver.Server, db *database.DB, dbURL, hash string, s *benchTenant, clients []*benchClient) *mixData {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	conn, err := pgx.Connect(ctx, dbURL) // a superuser: reads across the tenant without its RLS context
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	loc, err := time.LoadLocation(s.t.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	now := time.Now().In(loc)
	m := &mixData{admin: s.admin, today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)}

	strs := func(sql string, args ...any) []string {
		rows, err := conn.Query(ctx, sql, append([]any{s.t.ID}, args...)...)
		if err != nil {
			b.Fatalf("%v\n%s", err, sql)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			b.Fatalf("%v\n%s", err, sql)
		}
		return out
	}
	ids := func(sql string) []int64 {
		rows, err := conn.Query(ctx, sql, s.t.ID)
		if err != nil {
			b.Fatalf("%v\n%s", err, sql)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			b.Fatalf("%v\n%s", err, sql)
		}
		if len(out) == 0 {
			b.Fatalf("mix: no rows for %s", sql)
		}
		return out
	}

	// Popular managers: the named one, the biggest manager below the top,
	// and a team lead with 5–15 people.
	subtree := `SELECT l.email FROM org_closure c JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.manager_id
		WHERE c.tenant_id = $1 AND l.email IS NOT NULL AND l.manager_id IS NOT NULL AND l.email <> $2
		GROUP BY l.email HAVING count(*) BETWEEN $3 AND $4 ORDER BY count(*) DESC, l.email LIMIT 1`
	m.popular = []string{s.admin, s.manager}
	for _, size := range [][2]int{{16, 1_000_000}, {5, 15}} {
		got := strs(subtree, s.manager, size[0], size[1])
		if len(got) == 0 {
			b.Fatalf("mix: no manager with %d–%d people in %s", size[0], size[1], s.t.Slug)
		}
		m.popular = append(m.popular, got[0])
	}
	// Scope managers: learners with reports who are not users yet, in an
	// order that mixes big and small teams.
	m.managers = strs(`SELECT l.email FROM learners l WHERE l.tenant_id = $1 AND l.email IS NOT NULL
		AND EXISTS (SELECT 1 FROM org_closure c WHERE c.tenant_id = $1 AND c.manager_id = l.id)
		AND l.email <> ALL ($2::text[])
		AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = $1 AND u.email = l.email)
		ORDER BY md5(l.email) LIMIT $3`, m.popular, env.managers)
	if len(m.managers) == 0 {
		b.Fatalf("mix: no learners with reports in %s", s.t.Slug)
	}
	users := models.NewUserStore(db)
	for i, email := range append(slices.Clone(m.popular[2:]), m.managers...) {
		if _, err := users.ByEmail(ctx, s.t.ID, email); err == nil {
			continue
		}
		if _, err := users.Create(ctx, s.t.ID, models.NewUser{Email: email, Name: fmt.Sprintf("Bench Manager %d", i+1),
			Role: models.RoleManager, PasswordHash: hash}); err != nil {
			b.Fatal(err)
		}
	}
	var sizes []int64
	rows, err := conn.Query(ctx, `SELECT count(*) FROM org_closure c JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.manager_id
		WHERE c.tenant_id = $1 AND l.email = ANY ($2) GROUP BY l.id ORDER BY 1`, s.t.ID, m.managers)
	if err == nil {
		sizes, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	if err != nil || len(sizes) == 0 {
		b.Fatalf("mix: scope sizes: %v", err)
	}

	// Sessions: every client as each popular user, and scope manager j on
	// client j mod clients (every client gets at least one).
	signIn(b, srv, s.host, clients, m.popular...)
	n := max(len(m.managers), len(clients))
	for j := range n {
		c := clients[j%len(clients)]
		c.managers = append(c.managers, m.managers[j%len(m.managers)])
	}
	signInJobs(b, srv, s.host, n, func(j int) (*benchClient, string) {
		return clients[j%len(clients)], m.managers[j%len(m.managers)]
	})

	m.departments = strs(`SELECT DISTINCT department FROM learners WHERE tenant_id = $1 AND department <> '' ORDER BY 1`)
	m.locations = strs(`SELECT DISTINCT location FROM learners WHERE tenant_id = $1 AND location <> '' ORDER BY 1`)
	m.categories = strs(`SELECT DISTINCT category FROM courses WHERE tenant_id = $1 AND category <> '' ORDER BY 1`)
	m.courses = ids(`SELECT DISTINCT course_id FROM enrollments WHERE tenant_id = $1 ORDER BY 1`)
	m.requirements = ids(`SELECT DISTINCT requirement_id FROM compliance_assignments WHERE tenant_id = $1 ORDER BY 1`)
	m.assessed = ids(`SELECT DISTINCT course_id FROM gold_assessment WHERE tenant_id = $1 ORDER BY 1`)
	m.nodes = ids(`SELECT DISTINCT manager_id FROM org_closure WHERE tenant_id = $1 ORDER BY 1`)
	rows, err = conn.Query(ctx, `SELECT en.course_id, coalesce(l.manager_id, 0) FROM enrollments en
		JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
		WHERE en.tenant_id = $1 GROUP BY 1, 2 ORDER BY md5(en.course_id || '/' || coalesce(l.manager_id, 0)) LIMIT 500`, s.t.ID)
	if err == nil {
		m.courseTeams, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int64, error) {
			var ct [2]int64
			return ct, r.Scan(&ct[0], &ct[1])
		})
	}
	if err != nil || len(m.courseTeams) == 0 {
		b.Fatalf("mix: course teams: %v", err)
	}

	// Tables: their sortable columns (those with a label; id columns have
	// none) and pages, from their JSON as the admin.
	for _, id := range mixTables {
		rep, err := clients[0].get(srv, s.host, route{as: s.admin, path: "/api/v1/dashboards/" + id})
		if err != nil || rep.status != http.StatusOK {
			b.Fatalf("mix: table %s: status %d, %v: %.200s", id, rep.status, err, rep.body)
		}
		var t struct {
			Columns []struct{ Key, Label string }
			Total   int
		}
		if err := json.Unmarshal(rep.body, &t); err != nil {
			b.Fatalf("mix: table %s: %v", id, err)
		}
		mt := mixTable{id: id, pages: max(1, (t.Total+24)/25)}
		for _, c := range t.Columns {
			if c.Label != "" {
				mt.sorts = append(mt.sorts, c.Key)
			}
		}
		m.tables = append(m.tables, mt)
	}

	fmt.Printf("\nmix of %s: popular users %s; %d scope managers (people under them: min %d, median %d, max %d), %d sessions per client at most;\n"+
		"  filters over %d departments, %d locations, %d categories, %d courses; drill-downs over %d course teams, %d requirements, %d assessed courses, %d team nodes; prepared in %.0f s\n",
		s.t.Slug, strings.Join(m.popular, ", "), len(m.managers), sizes[0], sizes[len(sizes)/2], sizes[len(sizes)-1],
		len(m.popular)+(n+len(clients)-1)/len(clients), len(m.departments), len(m.locations), len(m.categories), len(m.courses),
		len(m.courseTeams), len(m.requirements), len(m.assessed), len(m.nodes), time.Since(start).Seconds())
	if len(m.managers) < env.managers {
		fmt.Printf("  note: %s has only %d learners with reports who are not users, fewer than BENCH_DASH_MANAGERS=%d\n",
			s.t.Slug, len(m.managers), env.managers)
	}
	return m
}

// printMix prints a mix's figures: all requests against goal, then each
// class; it returns the figures of all requests.
func printMix(samples []sample, elapsed time.Duration, base stats, goal time.Duration) stats {
	printHeader()
	all := summarize(samples, "", elapsed)
	printRow(fmt.Sprintf("all requests (goal p95 < %s)", goal), all, base, verdict(all, all.p95 < goal))
	for _, k := range mixClasses {
		st := summarize(samples, k.name, elapsed)
		printRow(fmt.Sprintf("  %s (%d%%)", k.name, k.share), st, base, "")
	}
	return all
}

// mixCost reports what a scenario's requests cost: CPU seconds of this
// process (the server and the load's clients) and of the PostgreSQL
// cluster per request, which stay comparable when other work shares the
// machine and latencies do not; and where the database time went, from
// pg_stat_statements (which devdb preloads): the statements that took
// most of it; and the server's view cache counters (lookups,
// computations and their time). With a replica (BENCH_DASH_REPLICA, see
// watch), the replica's cluster the same way, and where the reads went.
type mixCost struct {
	conn       *pgx.Conn
	top        int
	postmaster int
	self, pg   time.Duration // CPU used so far
	reads      int64         // dashboard reads so far (readsSQL)

	replica  *mixCost           // the replica's cluster; nil without one
	srv      *testserver.Server // whose counters are read
	counters map[string]float64 // srv's counters so far
	profile  *os.File           // this process's CPU profile of the scenario (BENCH_DASH_CPUPROFILE)
}

// profiled starts a CPU profile of this process (the server and the
// clients) for the scenario named name, written to
// BENCH_DASH_CPUPROFILE/name.pprof when it is set; print stops it.
func (m *mixCost) profiled(b *testing.B, name string) *mixCost {
	b.Helper()
	dir := os.Getenv("BENCH_DASH_CPUPROFILE")
	if dir == "" {
		return m
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	m.profile = f
	return m
}

// startMixCost notes the CPU used so far and empties pg_stat_statements
// for the database of dbURL (unless BENCH_DASH_TOP=0 or the extension is
// missing; on a hot standby the primary's extension is there already).
func startMixCost(b *testing.B, dbURL string) *mixCost {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(ctx) })
	m := &mixCost{conn: conn, top: envInt("BENCH_DASH_TOP", 8)}
	var backend int
	var standby bool
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid(), pg_is_in_recovery()`).Scan(&backend, &standby); err != nil {
		b.Fatal(err)
	}
	m.postmaster = parentPID(backend)
	if m.top > 0 {
		if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil && !standby {
			fmt.Printf("  (no pg_stat_statements: %v)\n", err)
			m.top = 0
		} else if _, err := conn.Exec(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
			b.Fatal(err)
		}
	}
	m.self, m.pg, m.reads = cpuOf(os.Getpid()), clusterCPU(m.postmaster), m.dashboardReads()
	return m
}

// watch adds tg's server counters to m, and its replica when it has one.
func (m *mixCost) watch(b *testing.B, tg target) *mixCost {
	b.Helper()
	if tg.replicaURL != "" {
		m.replica = startMixCost(b, tg.replicaURL)
	}
	m.srv, m.counters = tg.srv, serverCounters(tg.srv)
	return m
}

// readsSQL counts the dashboards' reads in the current database: the
// first query of every read (analytics.readStart, the snapshot's gold and
// directory versions, or the directory's alone for a scope or the filter
// choices) in pg_stat_statements.
const readsSQL = `SELECT coalesce(sum(s.calls), 0)::bigint FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
	WHERE d.datname = current_database() AND (s.query LIKE 'SELECT f.as_of, coalesce(f.version%'
	  OR s.query LIKE '%coalesce((SELECT version FROM directory_versions WHERE tenant_id = $1)%')`

// dashboardReads is the count of readsSQL, or 0 without pg_stat_statements
// (testdb.Private, which BENCH_DASH_REPLICA uses, creates it).
func (m *mixCost) dashboardReads() int64 {
	var n int64
	_ = m.conn.QueryRow(context.Background(), readsSQL).Scan(&n)
	return n
}

// mixRun is what one run of a mix measured, for the comparison of a
// server reading from the primary with one reading from the replica:
// CPU per request in ms of this process, the primary's and the replica's
// PostgreSQL, the dashboards' reads on each, and the view cache's
// lookups.
type mixRun struct {
	all                        stats
	requests                   int // answered or not
	self, primary, replica     float64
	readsPrimary, readsReplica int64
	hits, misses               float64
}

// print prints the CPU per request of the scenario's requests and the
// database's top statements by total time, and returns the figures.
func (m *mixCost) print(elapsed time.Duration, requests int) mixRun {
	if m.profile != nil {
		pprof.StopCPUProfile()
		m.profile.Close()
		fmt.Printf("  CPU profile of this process: %s\n", m.profile.Name())
	}
	self, pg := cpuOf(os.Getpid())-m.self, clusterCPU(m.postmaster)-m.pg
	perRequest := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(requests) }
	var run mixRun
	if m.srv != nil {
		c := serverCounters(m.srv)
		delta := func(name string) float64 {
			return c["learnlens_view_cache_"+name] - m.counters["learnlens_view_cache_"+name]
		}
		fmt.Printf("  view cache: %.0f hits, %.0f misses, %.0f computations (%.0f ahead) that ran %.1f s (%.1f s ahead) in %.0f s\n",
			delta("hits_total"), delta("misses_total"), delta("computations_total"), delta("refreshes_total"),
			delta("compute_seconds_total"), delta("refresh_seconds_total"), elapsed.Seconds())
		printKinds(c, m.counters)
	}
	switch {
	case requests == 0 || m.postmaster == 0:
	case m.replica == nil:
		fmt.Printf("  CPU per request: %.2f ms in this process (server and clients), %.2f ms in PostgreSQL; %.2f cores busy in all\n",
			perRequest(self), perRequest(pg), (self+pg).Seconds()/elapsed.Seconds())
	default:
		rpg := clusterCPU(m.replica.postmaster) - m.replica.pg
		c := serverCounters(m.srv)
		delta := func(name string) float64 { return c[name] - m.counters[name] }
		run = mixRun{requests: requests, self: perRequest(self), primary: perRequest(pg), replica: perRequest(rpg),
			readsPrimary: m.dashboardReads() - m.reads, readsReplica: m.replica.dashboardReads() - m.replica.reads,
			hits: delta("learnlens_view_cache_hits_total"), misses: delta("learnlens_view_cache_misses_total")}
		fmt.Printf("  CPU per request: %.2f ms in this process (server and clients), %.2f ms in the primary's PostgreSQL, %.2f ms in the replica's; %.2f cores busy in all\n",
			run.self, run.primary, run.replica, (self+pg+rpg).Seconds()/elapsed.Seconds())
		fmt.Printf("  dashboard reads (pg_stat_statements): %d on the primary, %d on the replica, %.2f a request; the server counted %.0f replica reads, %.0f fallbacks to the primary\n",
			run.readsPrimary, run.readsReplica, float64(run.readsPrimary+run.readsReplica)/float64(requests),
			delta("learnlens_replica_reads_total"), delta("learnlens_replica_fallbacks_total"))
		fmt.Printf("  view cache lookups (scopes, pages and views; several a request): %.0f hits, %.0f misses (%.1f%%), %.0f computations\n",
			run.hits, run.misses, 100*run.misses/max(1, run.hits+run.misses), delta("learnlens_view_cache_computations_total"))
	}
	m.printTop(elapsed, "")
	if m.replica != nil {
		m.replica.printTop(elapsed, " on the replica")
	}
	return run
}

// printTop prints the statements that took most of the database's time.
func (m *mixCost) printTop(elapsed time.Duration, where string) {
	if m.top <= 0 {
		return
	}
	ctx := context.Background()
	rows, err := m.conn.Query(ctx, `SELECT s.total_exec_time, s.calls, s.mean_exec_time, regexp_replace(s.query, '\s+', ' ', 'g'),
			sum(s.total_exec_time) OVER (), sum(s.total_plan_time) OVER ()
		FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = current_database() AND s.query NOT LIKE '%pg_stat_statements%'
		ORDER BY 1 DESC LIMIT $1`, m.top)
	if err != nil {
		fmt.Printf("  (pg_stat_statements: %v)\n", err)
		return
	}
	defer rows.Close()
	first := true
	for rows.Next() {
		var total, mean, all, planning float64
		var calls int64
		var query string
		if err := rows.Scan(&total, &calls, &mean, &query, &all, &planning); err != nil {
			fmt.Printf("  (pg_stat_statements: %v)\n", err)
			return
		}
		if first {
			fmt.Printf("  statement time%s: %.1f s in %.0f s (waits included), and %.1f s planning them (devdb tracks planning); the top %d statements by execution:\n",
				where, all/1000, elapsed.Seconds(), planning/1000, m.top)
			first = false
		}
		if len(query) > 150 {
			query = query[:150] + "…"
		}
		fmt.Printf("  %7.1f s %6d calls %7.2f ms  %s\n", total/1000, calls, mean, query)
	}
}

// printReplicaRuns compares a mix on the server reading from the primary
// (runs[0]) with the same mix on the server reading from the replica
// (runs[1]); it prints nothing without a replica. Both clusters share
// this machine's cores, so the figures that transfer are the replica's
// CPU per read and per request, and what a replica of N cores of its
// own would serve at that cost.
func printReplicaRuns(what string, runs []mixRun) {
	if len(runs) < 2 {
		return
	}
	fmt.Printf("\n--- %s: dashboards reading from the primary vs from the replica (same run; both clusters share this machine's %d cores; load average %s)\n",
		what, runtime.NumCPU(), loadAverage())
	fmt.Printf("the req/s are not what a replica adds (it takes cores from the primary here); its CPU per read, below, is the figure that transfers\n")
	fmt.Printf("CPU per request in ms: of this process (server and clients), of each cluster's PostgreSQL; reads: the dashboards' reads each cluster served; cache miss: of the view cache's lookups\n")
	const format = "%-18s %8s %7s %7s %9s %10s %10s %9s %10s %10s %9s %10s\n"
	fmt.Printf(format, "reads from", "req/s", "p50 ms", "p95 ms", "CPU: here", "primary PG", "replica PG", "all PG",
		"reads prim", "reads repl", "reads/req", "cache miss")
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	for i, r := range runs {
		fmt.Printf(format, []string{"the primary", "the replica"}[i], f(r.all.rate, 0), ms(r.all.p50), ms(r.all.p95),
			f(r.self, 2), f(r.primary, 2), f(r.replica, 2), f(r.primary+r.replica, 2), strconv.FormatInt(r.readsPrimary, 10), strconv.FormatInt(r.readsReplica, 10),
			f(float64(r.readsPrimary+r.readsReplica)/float64(max(1, r.requests)), 2), f(100*r.misses/max(1, r.hits+r.misses), 1)+"%")
	}
	ratio := func(a, b float64) string {
		if b <= 0.05 { // nothing to compare with (the replica idle while the primary serves)
			return "-"
		}
		return f(a/b, 2)
	}
	p, r := runs[0], runs[1]
	fmt.Printf(format, "replica / primary", ratio(r.all.rate, p.all.rate), ratio(float64(r.all.p50), float64(p.all.p50)),
		ratio(float64(r.all.p95), float64(p.all.p95)), ratio(r.self, p.self), ratio(r.primary, p.primary), ratio(r.replica, p.replica),
		ratio(r.primary+r.replica, p.primary+p.replica), ratio(float64(r.readsPrimary), float64(p.readsPrimary)),
		ratio(float64(r.readsReplica), float64(p.readsReplica)), "", "")
	if r.readsReplica == 0 {
		fmt.Printf("  the replica served no reads\n")
		return
	}
	perRead := r.replica * float64(r.requests) / float64(r.readsReplica)
	cores := func(per float64) string {
		var out []string
		for _, n := range []int{2, 4, 8, 16} {
			out = append(out, fmt.Sprintf("%d cores %.0f/s", n, float64(n)*1000/per))
		}
		return strings.Join(out, ", ")
	}
	fmt.Printf("  CPU per read on the replica: %.2f ms (its PostgreSQL's CPU, replay and the replay-position checks included, over the %d reads it served)",
		perRead, r.readsReplica)
	if p.readsPrimary > 0 {
		fmt.Printf("; on the primary, in the run reading from it: %.2f ms (its PostgreSQL's CPU over its reads, the sessions' queries included)", p.primary*float64(p.requests)/float64(p.readsPrimary))
	}
	fmt.Println()
	fmt.Printf("  a replica of N cores of its own serves about N / %.2f ms = %s reads (view cache misses)\n", perRead, cores(perRead))
	fmt.Printf("  of this mix (%.2f reads a request, the rest from each instance's view cache; %.2f ms of replica CPU a request): %s requests\n",
		float64(r.readsReplica)/float64(r.requests), r.replica, cores(r.replica))
}

// serverCounters reads srv's unlabelled metrics (counters and gauges) by
// name.
func serverCounters(srv *testserver.Server) map[string]float64 {
	rec := httptest.NewRecorder()
	srv.Metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := map[string]float64{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if name, v, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(name, "#") && (!strings.Contains(name, "{") || strings.HasPrefix(name, kindPrefix)) {
			out[name], _ = strconv.ParseFloat(v, 64)
		}
	}
	return out
}

// kindPrefix begins the view cache's counters by kind of view, the only
// labelled series serverCounters keeps (whole, labels included).
const kindPrefix = "learnlens_view_cache_kind_"

// printKinds prints the view computations between the counters before
// and now by kind of view, the costliest first: which views the
// computing went to, for a miss or ahead.
func printKinds(now, before map[string]float64) {
	type kind struct {
		name             string
		n, ahead, s, sAh float64
	}
	byName := map[string]*kind{}
	for series, v := range now {
		what, labels, ok := strings.Cut(strings.TrimPrefix(series, kindPrefix), "{")
		if !ok {
			continue
		}
		name, ahead := "", false
		for _, l := range strings.Split(strings.TrimSuffix(labels, "}"), ",") {
			k, val, _ := strings.Cut(l, "=")
			val = strings.Trim(val, `"`)
			switch k {
			case "kind":
				name = val
			case "ahead":
				ahead = val == "true"
			}
		}
		k := byName[name]
		if k == nil {
			k = &kind{name: name}
			byName[name] = k
		}
		d := v - before[series]
		switch {
		case what == "computations_total" && ahead:
			k.n, k.ahead = k.n+d, k.ahead+d
		case what == "computations_total":
			k.n += d
		case what == "compute_seconds_total" && ahead:
			k.s, k.sAh = k.s+d, k.sAh+d
		case what == "compute_seconds_total":
			k.s += d
		}
	}
	var kinds []*kind
	for _, k := range byName {
		if k.n > 0 {
			kinds = append(kinds, k)
		}
	}
	slices.SortFunc(kinds, func(a, b *kind) int { return cmp.Compare(b.s, a.s) })
	var line strings.Builder
	for i, k := range kinds {
		if i > 0 {
			line.WriteString(", ")
		}
		fmt.Fprintf(&line, "%s %.0f (%.0f ahead) %.1f s", k.name, k.n, k.ahead, k.s)
	}
	if line.Len() > 0 {
		fmt.Printf("  computations by kind of view (nested views' time counts in their page's too): %s\n", line.String())
	}
}

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// Linux).
const clockTick = 10 * time.Millisecond

// cpuOf is the CPU time process pid has used (user and system), or 0 when
// it cannot be read.
func cpuOf(pid int) time.Duration {
	f := procStat(pid)
	if len(f) < 15 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[13], 10, 64)
	stime, _ := strconv.ParseInt(f[14], 10, 64)
	return time.Duration(utime+stime) * clockTick
}

// clusterCPU is the CPU time used by the postmaster's live children (the
// backends and PostgreSQL's own processes); backends that ended are not
// counted, so pooled connections that stay open are.
func clusterCPU(postmaster int) time.Duration {
	if postmaster <= 0 {
		return 0
	}
	entries, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procStat(pid); len(f) > 3 && f[3] == strconv.Itoa(postmaster) {
			total += cpuOf(pid)
		}
	}
	return total
}

// parentPID is pid's parent, or 0.
func parentPID(pid int) int {
	f := procStat(pid)
	if len(f) < 4 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[3])
	return ppid
}

// procStat is /proc/<pid>/stat's fields, the command (field 2, which may
// hold spaces) read as one.
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return append([]string{s[:strings.IndexByte(s, ' ')], s[strings.IndexByte(s, '(') : i+1]}, strings.Fields(s[i+1:])...)
}
