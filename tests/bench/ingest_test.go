// Package bench measures LearnLens end to end against a real PostgreSQL.
// Run it with make bench (or make bench-ingest); each figure is printed with
// a baseline measured in the same run.
package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/tests/testserver"
	"gorm.io/gorm"
)

func TestMain(m *testing.M) {
	config.TuneGC() // the benchmarks' server runs in this process: tune it as learnlens serve does
	os.Exit(testdb.Run(m))
}

var verbs = []string{"registered", "launched", "progressed", "experienced", "completed", "passed", "failed", "scored"}

// Statement timestamps: a backfill spreads them over the last 90 days (an
// LMS's history sent at once), live traffic over the last 10 minutes (what
// an LRS receives as people learn).
const (
	backfill = 90 * 24 * time.Hour
	live     = 10 * time.Minute
)

// makeStatements returns n realistic statements (500 learners, 20 courses)
// as JSON objects, with timestamps spread over the last spread.
func makeStatements(n int, seed uint64, domain string, spread time.Duration) []string {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]string, n)
	base := time.Now().UTC().Add(-spread)
	for i := range out {
		verb := verbs[r.IntN(len(verbs))]
		result := ""
		switch verb {
		case "passed", "failed", "scored":
			result = fmt.Sprintf(`,"result":{"score":{"scaled":%.2f},"success":%v}`, r.Float64(), verb != "failed")
		case "progressed", "experienced":
			result = fmt.Sprintf(`,"result":{"duration":"PT%dM%dS"}`, r.IntN(40), r.IntN(60))
		}
		ts := base.Add(time.Duration(r.Int64N(int64(spread/time.Second))) * time.Second)
		out[i] = fmt.Sprintf(`{"actor":{"mbox":"mailto:learner%d@%s","name":"Learner %d"},"verb":{"id":"http://adlnet.gov/expapi/verbs/%s"},"object":{"id":"https://lms.%s/courses/%d","definition":{"name":{"en-US":"Course %d"}}},"timestamp":%q%s}`,
			r.IntN(500), domain, i%500, verb, domain, r.IntN(20), i%20, ts.Format(time.RFC3339), result)
	}
	return out
}

// post sends batches of size from stmts with clients concurrent clients,
// each with its own credential, and returns statements per second.
func post(b *testing.B, srv *testserver.Server, creds [][2]string, stmts []string, size int) float64 {
	b.Helper()
	bodies := map[[2]string][]body{}
	for i, k := 0, 0; i+size <= len(stmts); i, k = i+size, k+1 {
		c := creds[k%len(creds)]
		bodies[c] = append(bodies[c], body{"[" + strings.Join(stmts[i:i+size], ",") + "]", size})
	}
	start := time.Now()
	sent := postBodies(b, srv, creds, bodies)
	return float64(sent) / time.Since(start).Seconds()
}

// body is a request's JSON array of n statements.
type body struct {
	json string
	n    int
}

// postBodies sends, with one concurrent client per entry of creds, the
// requests in bodies (by credential; clients with the same credential
// share its list) and returns the statements sent. Every request must get
// a 200.
func postBodies(b *testing.B, srv *testserver.Server, creds [][2]string, bodies map[[2]string][]body) int {
	b.Helper()
	queues := map[[2]string]chan string{}
	sent := 0
	for c, list := range bodies {
		q := make(chan string, len(list))
		for _, bd := range list {
			q <- bd.json
			sent += bd.n
		}
		close(q)
		queues[c] = q
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(srv.Port))
	}}
	client := &http.Client{Transport: tr, Timeout: 120 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, len(creds))
	for _, cred := range creds {
		wg.Add(1)
		go func(cred [2]string) {
			defer wg.Done()
			for body := range queues[cred] {
				req, _ := http.NewRequest(http.MethodPost, "http://localhost/xapi/statements", strings.NewReader(body))
				req.SetBasicAuth(cred[0], cred[1])
				req.Header.Set("X-Experience-API-Version", "1.0.3")
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("status %d: %s", resp.StatusCode, msg)
					return
				}
			}
		}(cred)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return sent
}

// copyBaseline copies the same statements into a plain table with one
// jsonb column: the ceiling of what PostgreSQL takes on this machine.
func copyBaseline(b *testing.B, url string, stmts []string) float64 {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_copy (id bigserial, statement jsonb NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	rows := make([][]any, len(stmts))
	for i, s := range stmts {
		rows[i] = []any{s}
	}
	start := time.Now()
	for i := 0; i < len(rows); i += 1000 {
		end := min(i+1000, len(rows))
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"bench_copy"}, []string{"statement"}, pgx.CopyFromRows(rows[i:end])); err != nil {
			b.Fatal(err)
		}
	}
	return float64(len(stmts)) / time.Since(start).Seconds()
}

// BenchmarkIngest measures statements per second through the real xAPI
// endpoint, gold refresh included, for batches of 100 and 1,000 with
// several clients (one tenant, and one tenant per client), against a raw
// COPY of the same statements.
func BenchmarkIngest(b *testing.B) {
	n := 40000
	if v, err := strconv.Atoi(os.Getenv("BENCH_STATEMENTS")); err == nil && v > 0 {
		n = v
	}
	url := testdb.NewURL(b)
	srv := testserver.Start(b)
	ctx := context.Background()
	creds := models.NewCredentialStore(srv.DB)
	tenants := models.NewTenantStore(srv.DB)
	var perTenant [][2]string
	for i := 0; i < 4; i++ {
		t, err := tenants.Create(ctx, models.NewTenant{Slug: fmt.Sprintf("bench%d", i), Name: fmt.Sprintf("Bench %d", i), TimeZone: "Europe/London"})
		if err != nil {
			b.Fatal(err)
		}
		key, secret := fmt.Sprintf("bench%d-key-xx", i), "bench-secret"
		if _, err := creds.CreateWithSecret(ctx, t.ID, "bench", key, secret); err != nil {
			b.Fatal(err)
		}
		perTenant = append(perTenant, [2]string{key, secret})
	}
	acme := [2]string{"acme-demo-key", "acme-demo-secret"}
	sameTenant := [][2]string{acme, acme, acme, acme}

	copyRate := copyBaseline(b, url, makeStatements(n, 99, "copy.test", backfill))
	fmt.Printf("\nIngest, %d statements per run, GOMAXPROCS=%s\n", n, os.Getenv("GOMAXPROCS"))
	fmt.Printf("%-44s %12s %10s\n", "run", "stmts/s", "vs COPY")
	fmt.Printf("%-44s %12.0f %10s\n", "baseline: raw COPY into a jsonb table", copyRate, "1.00")
	runs := []struct {
		name   string
		creds  [][2]string
		size   int
		spread time.Duration
	}{
		{"backfill, batch 100, 4 clients, 1 tenant", sameTenant, 100, backfill},
		{"backfill, batch 1000, 4 clients, 1 tenant", sameTenant, 1000, backfill},
		{"backfill, batch 1000, 4 clients, 4 tenants", perTenant, 1000, backfill},
		{"live, batch 100, 4 clients, 1 tenant", sameTenant, 100, live},
		{"live, batch 1000, 4 clients, 1 tenant", sameTenant, 1000, live},
		{"live, batch 1000, 4 clients, 4 tenants", perTenant, 1000, live},
	}
	only := os.Getenv("BENCH_INGEST_ONLY") // profiling: run only the runs whose name contains it
	for i, r := range runs {
		if !strings.Contains(r.name, only) {
			continue
		}
		rate := post(b, srv, r.creds, makeStatements(n, uint64(i+1), fmt.Sprintf("run%d.test", i), r.spread), r.size)
		fmt.Printf("%-44s %12.0f %10.2f\n", r.name, rate, rate/copyRate)
	}

	// Gold is refreshed inside the request: right after the last 200 it
	// must already include every statement.
	var inGold, stored int64
	srv.DB.Platform(ctx, func(tx *gorm.DB) error {
		tx.Raw(`SELECT count(*) FROM xapi_statements`).Scan(&stored)
		return tx.Raw(`SELECT coalesce(sum(statements), 0) FROM gold_engagement_daily`).Scan(&inGold).Error
	})
	fmt.Printf("gold freshness: %d of %d stored statements counted in gold_engagement_daily right after the last 200\n\n", inGold, stored)
}
