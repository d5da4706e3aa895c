package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/xapi"
)

// BenchmarkStatementCost says where an ingested statement's CPU goes, for
// the customer shape (docs/PERFORMANCE.md, "Where an ingested statement's
// time goes"): batches of 1,000 customer-shaped statements are parsed and
// stored one after the other, without HTTP, into a tenant with a roster of
// BENCH_COST_PEOPLE (default 20,000) and BENCH_COST_PREFILL statements
// (default 30,000). It prints the CPU per statement of parsing, of the
// pipeline in this process and of PostgreSQL (every process of its
// cluster), and each SQL statement's share of PostgreSQL's time
// (pg_stat_statements) turned into µs per ingested statement. CPU times
// are read from /proc (10 ms ticks), so they stay comparable on a busy
// machine where wall times do not; BENCH_COST_BATCHES (default 10) sets
// how many batches are measured, after BENCH_COST_WARMUP (default 2). A
// long warm-up (40 for the default roster) measures a process that has
// seen the roster already, as one that has ingested for a minute has: its
// learners' groups are cached (pipeline/groupcache.go).
func BenchmarkStatementCost(b *testing.B) {
	people := envInt("BENCH_COST_PEOPLE", 20000)
	pre := envInt("BENCH_COST_PREFILL", 30000)
	batches := envInt("BENCH_COST_BATCHES", 10)
	const size = 1000
	ctx := context.Background()
	url := testdb.NewURL(b)
	db := testdb.Open(b, url)
	t, err := models.NewTenantStore(db).Create(ctx, models.NewTenant{Slug: "cost", Name: "Cost", TimeZone: "America/New_York"})
	if err != nil {
		b.Fatal(err)
	}
	g := newCustomerGen(7, "cost.test", people)
	start := time.Now()
	if err := prefill(ctx, db, t.ID, g, pre); err != nil {
		b.Fatalf("pre-fill: %v", err)
	}
	fmt.Printf("\nWhere an ingested statement's CPU goes: batches of %d customer-shaped statements, one at a time, no HTTP;\n", size)
	fmt.Printf("a roster of %d, %d statements before (set-up %.0f s); load %s\n", people, pre, time.Since(start).Seconds(), loadAverage())

	p := pipeline.New(db)
	auth := xapi.Agent{ObjectType: "Agent", Name: "LMS connector", AccountHomePage: "https://lms.example", AccountName: "lms"}
	store := func(body string) {
		stmts, err := xapi.ParseStatements([]byte(body))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.StoreStatements(ctx, pipeline.StatementBatch{TenantID: t.ID, Authority: auth, Statements: stmts}); err != nil {
			b.Fatal(err)
		}
	}
	for range envInt("BENCH_COST_WARMUP", 2) { // warm-up: plans, caches
		store(g.batch(size, false))
	}
	bodies := make([]string, batches)
	for i := range bodies {
		bodies[i] = g.batch(size, false)
	}
	cost := startMixCost(b, url)
	self := os.Getpid()
	// The CPU of the pipeline's own backends, beside the whole cluster's:
	// autovacuum and the other processes work in bursts that ten batches
	// catch or miss (an autovacuum worker that ends in between is even
	// subtracted), which moved the cluster's figure by half between runs.
	backends := func() time.Duration {
		rows, err := cost.conn.Query(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`)
		if err != nil {
			b.Fatal(err)
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			b.Fatal(err)
		}
		var total time.Duration
		for _, pid := range pids {
			total += cpuOf(int(pid))
		}
		return total
	}
	var parse, goStore, pg, pgBackends time.Duration
	for _, body := range bodies {
		c0 := cpuOf(self)
		stmts, err := xapi.ParseStatements([]byte(body))
		if err != nil {
			b.Fatal(err)
		}
		c1, p1, b1 := cpuOf(self), clusterCPU(cost.postmaster), backends()
		if _, err := p.StoreStatements(ctx, pipeline.StatementBatch{TenantID: t.ID, Authority: auth, Statements: stmts}); err != nil {
			b.Fatal(err)
		}
		parse += c1 - c0
		goStore += cpuOf(self) - c1
		pg += clusterCPU(cost.postmaster) - p1
		pgBackends += backends() - b1
	}
	n := float64(batches * size)
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / n }
	fmt.Printf("CPU per statement: parse and validate %.0f µs, pipeline in Go %.0f µs, PostgreSQL %.0f µs (the pipeline's backends %.0f µs); %.0f µs in all\n",
		us(parse), us(goStore), us(pg), us(pgBackends), us(parse+goStore+pg))
	b.ReportMetric(us(parse+goStore+pg), "µs-CPU/statement")

	rows, err := cost.conn.Query(ctx, `SELECT s.total_exec_time / sum(s.total_exec_time) OVER (), s.calls, regexp_replace(s.query, '\s+', ' ', 'g')
		FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = current_database() AND s.query NOT LIKE '%pg_stat_statements%'
		ORDER BY s.total_exec_time DESC LIMIT $1`, envInt("BENCH_COST_TOP", 16))
	if err != nil {
		fmt.Printf("  (pg_stat_statements: %v)\n", err)
		return
	}
	defer rows.Close()
	fmt.Println("  PostgreSQL's time by statement (share of statement time, as µs of CPU per ingested statement):")
	for rows.Next() {
		var share float64
		var calls int64
		var query string
		if err := rows.Scan(&share, &calls, &query); err != nil {
			b.Fatal(err)
		}
		if len(query) > 120 {
			query = query[:120] + "…"
		}
		fmt.Printf("  %5.1f%% %6.1f µs %5d calls  %s\n", 100*share, share*us(pg), calls, query)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
}
