package tests

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/seed"
)

// TestKilledMidBatchLosesNothingHalfway kills the real server process
// (SIGKILL) at random moments while 4 clients post batches, again and
// again (DRILL_KILLS times, 4 in make test; make drills runs 20): every
// statement that got a 200 is stored, every batch is wholly in or wholly
// out (its statements and their learning events), and at the end the
// tenant's gold equals a rebuild from silver.
func TestKilledMidBatchLosesNothingHalfway(t *testing.T) {
	t.Parallel()
	bin := buildLearnLens(t, "..")
	url := testdb.NewURL(t)
	logins := testdb.Logins(url)
	ctx := context.Background()
	db := testdb.Open(t, url)
	if _, err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}
	kills := 4
	if n, err := strconv.Atoi(os.Getenv("DRILL_KILLS")); err == nil && n > 0 {
		kills = n
	}
	seedRand := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seedRand), 0))
	t.Logf("DRILL_KILLS=%d, random seed %d", kills, seedRand)

	const clients, batch = 4, 250
	var next atomic.Int64
	stored := func(ids []string) (n int64) {
		db.Platform(ctx, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT count(*) FROM xapi_statements WHERE id IN ?`, ids).Scan(&n).Error
		})
		return
	}
	counts := func() (statements, events int64) {
		db.Platform(ctx, func(tx *gorm.DB) error {
			tx.Raw(`SELECT count(*) FROM xapi_statements`).Scan(&statements)
			return tx.Raw(`SELECT count(*) FROM learning_events`).Scan(&events).Error
		})
		return
	}
	var acked, whollyOut, sent int
	for i := range kills {
		delay := time.Duration(20+rng.IntN(2500)) * time.Millisecond
		port := freePort(t)
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+logins.App, "DATABASE_PLATFORM_URL="+logins.Platform, "PORT="+strconv.Itoa(port), "LOG_LEVEL=error", "METRICS_ADDR=off")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitHealthy(t, port)
		type posted struct {
			ids    []string
			status int
		}
		var mu sync.Mutex
		var batches []posted
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for {
					ids := make([]string, batch)
					var b strings.Builder
					b.WriteString("[")
					for j := range ids {
						ids[j] = fmt.Sprintf("c7a5%04x-0000-4000-8000-%012x", i, next.Add(1))
						if j > 0 {
							b.WriteString(",")
						}
						fmt.Fprintf(&b, `{"id":%q,"actor":{"mbox":"mailto:crash%d@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://lms.acme.test/crash/%d"},"timestamp":"2026-10-01T09:00:00Z"}`,
							ids[j], j%50, i)
					}
					b.WriteString("]")
					req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/xapi/statements", port), strings.NewReader(b.String()))
					req.SetBasicAuth("acme-demo-key", "acme-demo-secret")
					req.Header.Set("X-Experience-API-Version", "1.0.3")
					req.Header.Set("Content-Type", "application/json")
					status := 0
					resp, err := http.DefaultClient.Do(req)
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						status = resp.StatusCode
					}
					mu.Lock()
					batches = append(batches, posted{ids, status})
					mu.Unlock()
					if err != nil {
						return // the server is gone
					}
				}
			})
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		wg.Wait()
		// The database may still be finishing the transactions the dead
		// process left; wait until the count settles.
		var after, events int64
		for range 50 {
			after, events = counts()
			time.Sleep(50 * time.Millisecond)
			if a, _ := counts(); a == after {
				break
			}
		}
		for _, p := range batches {
			n := stored(p.ids)
			switch {
			case p.status == http.StatusOK && n != batch:
				t.Errorf("kill %d after %v: a batch got 200 but %d of its %d statements are stored", i, delay, n, batch)
			case p.status == http.StatusOK:
				acked++
			case n == 0:
				whollyOut++
			case n != batch:
				t.Errorf("kill %d after %v: %d of %d statements of a batch stored: half-written", i, delay, n, batch)
			}
		}
		sent += len(batches)
		if events != after {
			t.Fatalf("kill %d after %v: %d statements but %d learning events", i, delay, after, events)
		}
	}
	t.Logf("%d kills, %d batches of %d sent: %d acknowledged and stored, %d wholly out, the rest stored without their answer",
		kills, sent, batch, acked, whollyOut)
	if acked == 0 {
		t.Error("no batch was acknowledged: the test did not exercise a commit")
	}
	assertGoldEqualsRebuild(t, db, "acme")
}

// assertGoldEqualsRebuild compares every gold table's rows of tenant slug,
// but those in except, with what a rebuild from silver makes of them.
func assertGoldEqualsRebuild(t *testing.T, db *database.DB, slug string, except ...string) {
	t.Helper()
	ctx := context.Background()
	var tenant int64
	var tables []string
	db.Platform(ctx, func(tx *gorm.DB) error {
		tx.Raw(`SELECT id FROM tenants WHERE slug = ?`, slug).Scan(&tenant)
		return tx.Raw(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'gold\_%'
			AND table_name <> 'gold_freshness' AND table_type = 'BASE TABLE' ORDER BY 1`).Scan(&tables).Error
	})
	if len(tables) == 0 {
		t.Fatal("no gold tables found")
	}
	snapshot := func() map[string]string {
		out := map[string]string{}
		db.Tenant(ctx, tenant, func(tx *gorm.DB) error {
			for _, table := range tables {
				var rows string
				if err := tx.Raw(`SELECT coalesce(string_agg(r::text, E'\n' ORDER BY r::text), '') FROM ` + table + ` r`).Scan(&rows).Error; err != nil {
					t.Fatalf("%s: %v", table, err)
				}
				out[table] = rows
			}
			return nil
		})
		return out
	}
	before := snapshot()
	if err := pipeline.New(db).RebuildGold(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	for table, rows := range snapshot() {
		if rows != before[table] && !slices.Contains(except, table) {
			t.Errorf("%s differs from a rebuild from silver", table)
		}
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHealthy(t *testing.T, port int) {
	t.Helper()
	for i := 0; i < 200; i++ {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not become ready")
}
