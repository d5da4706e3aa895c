package tests

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// TestDatabaseOutageGives503AndRecovers takes the server's database away
// under load, as a PostgreSQL restart does (every connection killed, new
// ones refused for a few seconds), and brings it back: meanwhile every
// request is answered promptly with a 503, never a 500 or a hang, and
// readiness says so; afterwards the same server process answers again by
// itself, and every statement it acknowledged is stored.
func TestDatabaseOutageGives503AndRecovers(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	var name string
	if err := srv.DB.SQL().QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	cluster, err := sql.Open("pgx", os.Getenv(testdb.EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	outage := func(down bool) {
		t.Helper()
		if _, err := cluster.Exec(fmt.Sprintf(`ALTER DATABASE %q ALLOW_CONNECTIONS %t`, name, !down)); err != nil {
			t.Fatal(err)
		}
		if down {
			if _, err := cluster.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer func() {
		if t.Failed() {
			outage(false)
		}
	}()
	databaseOutageDrill(t, srv, testdb.Superuser(t, srv.DB), func() {
		outage(true)
		time.Sleep(3 * time.Second)
		outage(false)
	})
}

// TestPostgresRestartGives503AndRecovers is the same drill with a real
// restart: the server's own cluster is stopped with pg_ctl (-m fast) under
// load, kept down for 3 s and started again.
func TestPostgresRestartGives503AndRecovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cluster, url := testdb.Private(t)
	db := testdb.Open(t, url)
	if _, err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}
	srv := testserver.StartOn(t, db)
	super, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { super.Close() })
	databaseOutageDrill(t, srv, super, func() {
		if err := cluster.Restart(ctx, 3*time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

// databaseOutageDrill puts srv under load (dashboards, readiness,
// statements), runs outage (which must end with the database back), and
// checks every answer: 200 or a prompt 503 during it, 200 again by itself
// after it, and every acknowledged statement stored (read through super,
// a superuser's connection to srv's database).
func databaseOutageDrill(t *testing.T, srv *testserver.Server, super *sql.DB, outage func()) {
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	x := newLRS(t, srv, "acme")

	// Load: dashboards (new filters, so they compute), readiness, and
	// statements, each answer recorded with when it came.
	type answer struct {
		at     time.Time
		what   string
		status int
		took   time.Duration
	}
	var mu sync.Mutex
	var answers []answer
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	load := func(what string, do func(i int) (int, string)) {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				status, id := do(i)
				mu.Lock()
				answers = append(answers, answer{start, what, status, time.Since(start)})
				if id != "" {
					acked = append(acked, id)
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	load("dashboard", func(i int) (int, string) {
		return admin.Get(acme, fmt.Sprintf("/dashboards/engagement?from=2026-01-%02d&to=2026-03-01", 1+i%28)).Status, ""
	})
	load("readyz", func(int) (int, string) { return admin.Get(acme, "/readyz").Status, "" })
	load("xapi", func(i int) (int, string) {
		id := fmt.Sprintf("0d5e1a2b-0000-4000-8000-%012d", i)
		r := x.do(http.MethodPost, "/xapi/statements", "["+stmt(id, "outage@acme.test", "experienced", "http://acme.test/outage",
			time.Now().UTC().Format(time.RFC3339), "")+"]")
		if r.Status == http.StatusOK {
			return r.Status, id
		}
		return r.Status, ""
	})

	time.Sleep(time.Second)
	down := time.Now()
	outage()
	up := time.Now()
	// Recovered: every kind of request succeeds again, in the same process.
	deadline := up.Add(15 * time.Second)
	for {
		mu.Lock()
		ok := map[string]bool{}
		for _, a := range answers {
			if a.at.After(up) && a.status == http.StatusOK {
				ok[a.what] = true
			}
		}
		mu.Unlock()
		if len(ok) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after the database came back, only %v answer 200", ok)
		}
		time.Sleep(100 * time.Millisecond)
	}
	recovered := time.Now()
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	during := map[string]map[int]int{}
	for _, a := range answers {
		if a.took > 10*time.Second {
			t.Errorf("%s at %v took %v: a hang", a.what, a.at.Sub(down), a.took)
		}
		if a.status >= 500 && a.status != http.StatusServiceUnavailable {
			t.Errorf("%s at %v: %d, want 200 or 503", a.what, a.at.Sub(down), a.status)
		}
		if a.at.After(down) && a.at.Before(up) {
			if during[a.what] == nil {
				during[a.what] = map[int]int{}
			}
			during[a.what][a.status]++
		}
		if a.at.After(recovered) && a.status != http.StatusOK {
			t.Errorf("%s at %v, after recovery: %d", a.what, a.at.Sub(down), a.status)
		}
	}
	t.Logf("answers during the outage: %v; recovered %v after the database came back", during, recovered.Sub(up))
	for _, what := range []string{"dashboard", "readyz", "xapi"} {
		if during[what][http.StatusServiceUnavailable] == 0 {
			t.Errorf("no 503 for %s during the outage: %v", what, during[what])
		}
	}

	// Every acknowledged statement is stored.
	var stored int
	ctx := context.Background()
	if err := super.QueryRowContext(ctx, `SELECT count(*) FROM xapi_statements WHERE id::text = ANY ($1)`, acked).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != len(acked) {
		t.Errorf("%d statements acknowledged, %d stored", len(acked), stored)
	}
}
