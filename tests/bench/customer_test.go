package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
	"github.com/learnlens/learnlens/xapi"
)

// The customer shape (issue 17): what an LMS with a large workforce sends.
const (
	customerLearners = 50000
	customerCourses  = 400
	customerSpread   = 30 * 24 * time.Hour
	// newLearnerShare of each batch's statements come from people the
	// tenant has never seen.
	newLearnerShare = 0.01
)

// customerGen makes customer-shaped statements for one tenant: a pool of
// known learners, 1% new ones per batch, 400 courses, timestamps over 30
// days, and verbs and results as SCORM/cmi5 content sends them.
//
// Each learner learns in coursesEach of the 400 courses
// (BENCH_CUSTOMER_COURSES_EACH, default 10: a curriculum, so a customer's
// statements mostly continue enrolments that exist, 20–50 statements per
// course and person as content sends them); 0 draws any course for every
// statement, the shape measured before 8 December 2026, in which nearly
// every statement starts a new enrolment.
type customerGen struct {
	r           *rand.Rand
	people      int // the pool of known learners
	coursesEach int
	domain      string
	base        time.Time
	next        int // the next new learner's number (beyond the pool)
	seq         int
}

func newCustomerGen(seed uint64, domain string, people int) *customerGen {
	return &customerGen{r: rand.New(rand.NewPCG(seed, 17)), people: people, domain: domain,
		coursesEach: envInt("BENCH_CUSTOMER_COURSES_EACH", 10),
		base:        time.Now().UTC().Add(-customerSpread), next: people}
}

// course draws a course of learner's: one of their coursesEach (distinct:
// 397 is prime to 400), or any course.
func (g *customerGen) course(learner int) int {
	if g.coursesEach <= 0 || g.coursesEach >= customerCourses {
		return g.r.IntN(customerCourses)
	}
	return (learner*131 + g.r.IntN(g.coursesEach)*397) % customerCourses
}

// batch returns n statements as one JSON array (see statements).
func (g *customerGen) batch(n int, pool bool) string {
	return "[" + strings.Join(g.statements(n, pool), ",") + "]"
}

// statements returns n statements. Known learners are drawn from the pool
// (pool: cycle through it in order, as a pre-fill does, so every one of
// them exists afterwards).
func (g *customerGen) statements(n int, pool bool) []string {
	out := make([]string, n)
	for i := range out {
		var learner int
		switch {
		case pool:
			learner = g.seq % g.people
		case g.r.Float64() < newLearnerShare:
			learner = g.next
			g.next++
		default:
			learner = g.r.IntN(g.people)
		}
		g.seq++
		out[i] = g.statement(learner)
	}
	return out
}

// statement is one statement of learner in a course, shaped like what
// content sends: launches, progress with durations, answered questions
// with responses, completions and pass/fail with scores, success,
// completion and durations.
func (g *customerGen) statement(learner int) string {
	r := g.r
	course := g.course(learner)
	ts := g.base.Add(time.Duration(r.Int64N(int64(customerSpread / time.Millisecond)))).Truncate(time.Millisecond)
	actor := fmt.Sprintf(`{"objectType":"Agent","mbox":"mailto:person%d@%s","name":"Person %d"}`, learner, g.domain, learner)
	courseIRI := fmt.Sprintf("https://lms.%s/courses/c%03d", g.domain, course)
	object := fmt.Sprintf(`{"objectType":"Activity","id":%q,"definition":{"type":"http://adlnet.gov/expapi/activities/course","name":{"en-US":"Course %d"}}}`, courseIRI, course)
	context := fmt.Sprintf(`,"context":{"registration":"%08x-0000-4000-8000-%012x","platform":"LMS","contextActivities":{"category":[{"id":"https://w3id.org/xapi/scorm"}]}}`,
		learner, course)
	verb, result := "", ""
	dur := fmt.Sprintf("PT%dM%dS", r.IntN(45), r.IntN(60))
	switch p := r.IntN(100); {
	case p < 8:
		verb = "registered"
	case p < 22:
		verb = "launched"
	case p < 32:
		verb = "initialized"
	case p < 52:
		verb = "progressed"
		result = fmt.Sprintf(`,"result":{"duration":%q,"extensions":{"https://w3id.org/xapi/cmi5/result/extensions/progress":%d}}`, dur, r.IntN(100))
	case p < 70:
		verb = "answered"
		q := r.IntN(20)
		object = fmt.Sprintf(`{"objectType":"Activity","id":"%s/q%02d","definition":{"type":"http://adlnet.gov/expapi/activities/cmi.interaction","interactionType":"choice","name":{"en-US":"Question %d"}}}`, courseIRI, q, q)
		context = fmt.Sprintf(`,"context":{"registration":"%08x-0000-4000-8000-%012x","contextActivities":{"parent":[{"id":%q}]}}`, learner, course, courseIRI)
		result = fmt.Sprintf(`,"result":{"response":"choice-%d","success":%v,"duration":"PT%dS"}`, r.IntN(4), r.IntN(3) > 0, 5+r.IntN(90))
	case p < 78:
		verb = "terminated"
		result = fmt.Sprintf(`,"result":{"duration":%q}`, dur)
	case p < 86:
		verb = "completed"
		result = fmt.Sprintf(`,"result":{"completion":true,"duration":%q}`, dur)
	case p < 94:
		verb = "passed"
		raw := 70 + r.IntN(31)
		result = fmt.Sprintf(`,"result":{"score":{"scaled":%.2f,"raw":%d,"min":0,"max":100},"success":true,"completion":true,"duration":%q}`, float64(raw)/100, raw, dur)
	default:
		verb = "failed"
		raw := r.IntN(70)
		result = fmt.Sprintf(`,"result":{"score":{"scaled":%.2f,"raw":%d,"min":0,"max":100},"success":false,"completion":true,"duration":%q}`, float64(raw)/100, raw, dur)
	}
	return fmt.Sprintf(`{"actor":%s,"verb":{"id":"http://adlnet.gov/expapi/verbs/%s","display":{"en-US":%q}},"object":%s%s%s,"timestamp":%q}`,
		actor, verb, verb, object, result, context, ts.Format(time.RFC3339Nano))
}

// prefill gives a tenant its customer's data: a roster of the pool's
// people (an HR import, as a customer's first day starts), then n
// customer-shaped statements that name each of them at least once (when n
// allows), so that each has an xAPI identity. The statements go in by the
// bulk path (pipeline.BulkStore: bronze by COPY, silver and gold by a
// rebuild, which the incremental path equals): through the pipeline, a
// 100,000-statement pre-fill took minutes on a loaded machine, and its
// 5,000-statement groups outlived MaxIngestDuration at load 30.
func prefill(ctx context.Context, db *database.DB, tenantID int64, g *customerGen, n int) error {
	p := pipeline.New(db)
	var roster strings.Builder
	roster.WriteString("employee_id,email,name,department,location,manager_employee_id,hire_date\n")
	depts := []string{"Sales", "Engineering", "Operations", "Finance", "Support", "Marketing", "Legal", "People"}
	for i := 0; i < g.people; i++ {
		mgr := ""
		if i > 0 {
			mgr = fmt.Sprintf("P%d", (i-1)/8)
		}
		fmt.Fprintf(&roster, "P%d,person%d@%s,Person %d,%s,Site %d,%s,2024-%02d-01\n", i, i, g.domain, i, depts[i%len(depts)], i%5, mgr, 1+i%12)
	}
	rep, err := p.Import(ctx, pipeline.ImportRequest{TenantID: tenantID, Kind: imports.KindRoster, Filename: "roster.csv",
		Data: []byte(roster.String()), Mode: pipeline.ModeAllOrNothing, UploadedBy: "bench"})
	if err != nil {
		return err
	}
	if len(rep.Errors) > 0 {
		return fmt.Errorf("roster: %s: %v", rep.Summary(), rep.Errors[0])
	}
	auth := xapi.Agent{ObjectType: "Agent", Name: "LMS connector", AccountHomePage: "https://lms.example", AccountName: "lms"}
	_, err = p.BulkStore(ctx, tenantID, auth, func(yield func([]byte) error) error {
		for sent := 0; sent < n; sent += 1000 {
			for _, s := range g.statements(min(1000, n-sent), true) {
				if err := yield([]byte(s)); err != nil {
					return err
				}
			}
		}
		return nil
	}, pipeline.BulkOptions{})
	return err
}

// goldStatements is what the dashboards count for the tenants: learning
// events in the course activity gold.
func goldStatements(b *testing.B, ctx context.Context, db *database.DB, tenants []int64) int64 {
	var n int64
	if err := db.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT coalesce(sum(statements), 0) FROM `+pipeline.RollupOf("gold_course_activity_daily")+`
			WHERE tenant_id IN ?`, tenants).Scan(&n).Error
	}); err != nil {
		b.Fatalf("count gold: %v", err)
	}
	return n
}

// BenchmarkIngestCustomer measures customer-shaped ingest (issue 17)
// through the real xAPI endpoint into tenants that already hold data, end
// to end: from the first request until the dashboards' gold counts the
// last statement, against a raw COPY of the same statements in the same
// run.
//
// The first tenant is the customer of the issue: a roster of 50,000
// people, then BENCH_CUSTOMER_PREFILL statements (default 100,000; the
// issue's form is 1,000,000). Three more tenants, for the runs across
// tenants, are smaller customers of BENCH_CUSTOMER_PEOPLE people each
// (default 5,000; 50,000 is the form, and takes a roster import
// of minutes each), with a statement for each of them.
// BENCH_CUSTOMER_STATEMENTS are posted per run (default 20,000). BENCH_INGEST_ONLY selects runs by name. For a
// profile: BENCH_CUSTOMER_TOP=n prints each run's n statements that took
// most database time (pg_stat_statements), BENCH_CUSTOMER_CPUPROFILE=file
// writes a CPU profile of this process (the server and its clients) over
// the runs.
func BenchmarkIngestCustomer(b *testing.B) {
	n := envInt("BENCH_CUSTOMER_STATEMENTS", 20000)
	pre := envInt("BENCH_CUSTOMER_PREFILL", 100000)
	people := envInt("BENCH_CUSTOMER_PEOPLE", 5000)
	ctx := context.Background()
	url := testdb.NewURL(b)
	// One database for the server, the COPY baseline and the statistics
	// (pg_stat_statements is read for the current database).
	db := testdb.Open(b, url)
	if _, err := seed.Demo(ctx, db); err != nil {
		b.Fatal(err)
	}
	srv := testserver.StartOn(b, db)
	tenants := models.NewTenantStore(srv.DB)
	creds := models.NewCredentialStore(srv.DB)
	var ids []int64
	// Sixteen credentials per tenant, one per client: a credential's
	// requests in flight are limited (handlers/xapi_limits.go).
	var cred [][][2]string
	tenantOf := map[[2]string]int{}
	var gens []*customerGen
	start := time.Now()
	for i := 0; i < 4; i++ {
		t, err := tenants.Create(ctx, models.NewTenant{Slug: fmt.Sprintf("cust%d", i), Name: fmt.Sprintf("Customer %d", i), TimeZone: "America/New_York"})
		if err != nil {
			b.Fatal(err)
		}
		var mine [][2]string
		for c := 0; c < 16; c++ {
			key, secret := fmt.Sprintf("cust%d-key-%02d", i, c), "cust-secret"
			if _, err := creds.CreateWithSecret(ctx, t.ID, fmt.Sprintf("lms %d", c), key, secret); err != nil {
				b.Fatal(err)
			}
			mine = append(mine, [2]string{key, secret})
			tenantOf[mine[c]] = i
		}
		g, fill := newCustomerGen(uint64(100+i), fmt.Sprintf("cust%d.test", i), people), people
		if i == 0 {
			g, fill = newCustomerGen(100, "cust0.test", customerLearners), pre
		}
		if err := prefill(ctx, srv.DB, t.ID, g, fill); err != nil {
			b.Fatalf("pre-fill tenant %d: %v", i, err)
		}
		ids, cred, gens = append(ids, t.ID), append(cred, mine), append(gens, g)
	}
	fmt.Printf("\nCustomer-shaped ingest: %d statements per run, known learners with 1%% new per batch, %d courses, 30 days;\n",
		n, customerCourses)
	fmt.Printf("tenant 1: a roster of %d, %d statements; tenants 2-4: rosters of %d, a statement each (pre-fill %.0f s); GOMAXPROCS=%d, load %s\n",
		customerLearners, pre, people, time.Since(start).Seconds(), runtime.GOMAXPROCS(0), loadAverage())

	copyGen := newCustomerGen(999, "copy.test", customerLearners)
	copyRate := copyBaseline(b, url, copyGen.statements(n, false))
	fmt.Printf("%-46s %10s %8s %9s\n", "run (end to end: gold counts the last one)", "stmts/s", "vs COPY", "lag")
	fmt.Printf("%-46s %10.0f %8s\n", "baseline: raw COPY into a jsonb table", copyRate, "1.00")

	one := func(k int) [][2]string {
		out := make([][2]string, k)
		for i := range out {
			out[i] = cred[0][i]
		}
		return out
	}
	several := func(k int) [][2]string {
		out := make([][2]string, k)
		for i := range out {
			out[i] = cred[i%len(cred)][i/len(cred)]
		}
		return out
	}
	runs := []struct {
		name    string
		clients [][2]string
		size    int
	}{
		{"customer, batch 100, 4 clients, 1 tenant", one(4), 100},
		{"customer, batch 1000, 4 clients, 1 tenant", one(4), 1000},
		{"customer, batch 100, 16 clients, 1 tenant", one(16), 100},
		{"customer, batch 1000, 16 clients, 1 tenant", one(16), 1000},
		{"customer, batch 1000, 16 clients, 4 tenants", several(16), 1000},
	}
	only := os.Getenv("BENCH_INGEST_ONLY")
	if path := os.Getenv("BENCH_CUSTOMER_CPUPROFILE"); path != "" { // the server runs in this process
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	for _, r := range runs {
		if !strings.Contains(r.name, only) {
			continue
		}
		// Each client sends to its own tenant's generator's batches.
		bodies := map[[2]string][]body{}
		perClient := n / len(r.clients) / r.size * r.size
		for _, c := range r.clients {
			g := gens[tenantOf[c]]
			for sent := 0; sent < perClient; sent += r.size {
				bodies[c] = append(bodies[c], body{g.batch(r.size, false), r.size})
			}
		}
		cost := startMixCost(b, url)
		cost.top = envInt("BENCH_CUSTOMER_TOP", 0)
		self, pg := cpuOf(os.Getpid()), clusterCPU(cost.postmaster)
		before := goldStatements(b, ctx, srv.DB, ids)
		began := time.Now()
		sent := postBodies(b, srv, r.clients, bodies)
		acked := time.Now()
		want := before + int64(sent)
		for goldStatements(b, ctx, srv.DB, ids) < want {
			if time.Since(acked) > 60*time.Second {
				b.Fatalf("%s: gold did not reach %d statements within 60 s of the last 200", r.name, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
		done := time.Now()
		rate := float64(sent) / done.Sub(began).Seconds()
		self, pg = cpuOf(os.Getpid())-self, clusterCPU(cost.postmaster)-pg
		fmt.Printf("%-46s %10.0f %8.3f %7.0fms   CPU/statement: %.0f µs here, %.0f µs PostgreSQL\n", r.name, rate, rate/copyRate,
			float64(done.Sub(acked).Microseconds())/1000, float64(self.Microseconds())/float64(sent), float64(pg.Microseconds())/float64(sent))
		cost.print(done.Sub(began), 0)
	}
	fmt.Printf("load average after the runs: %s\n\n", loadAverage())
}

// loadAverage is the machine's load average (1, 5, 15 minutes).
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	return strings.Join(f[:min(3, len(f))], " ")
}
