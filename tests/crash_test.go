package tests

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/seed"
)

// TestKilledMidBatchLosesNothingHalfway kills the real server process
// (SIGKILL) while it stores a large batch, again and again at different
// moments: each batch must be wholly in (all its statements, learning
// events and gold) or wholly out.
func TestKilledMidBatchLosesNothingHalfway(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "learnlens")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/learnlens").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	url := testdb.NewURL(t)
	logins := testdb.Logins(url)
	ctx := context.Background()
	db := testdb.Open(t, url)
	if _, err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}

	const batch = 1000
	counts := func() (statements, events int64) {
		db.Platform(ctx, func(tx *gorm.DB) error {
			tx.Raw(`SELECT count(*) FROM xapi_statements`).Scan(&statements)
			return tx.Raw(`SELECT count(*) FROM learning_events`).Scan(&events).Error
		})
		return
	}
	var in, out int
	for i, delay := range []time.Duration{5, 60, 150, 300, 5000} {
		delay *= time.Millisecond
		port := freePort(t)
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+logins.App, "DATABASE_PLATFORM_URL="+logins.Platform, "PORT="+strconv.Itoa(port), "LOG_LEVEL=error", "METRICS_ADDR=off")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitHealthy(t, port)
		var b strings.Builder
		b.WriteString("[")
		for j := 0; j < batch; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"actor":{"mbox":"mailto:crash%d@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://lms.acme.test/crash/%d"},"timestamp":"2026-10-01T09:00:00Z"}`, j%50, i)
		}
		b.WriteString("]")
		before, _ := counts()
		done := make(chan int, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/xapi/statements", port), strings.NewReader(b.String()))
			req.Header.Set("Authorization", basic("acme-demo-key", "acme-demo-secret"))
			req.Header.Set("X-Experience-API-Version", "1.0.3")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		status := <-done
		// The database may still be finishing the transaction the dead
		// process left; wait until the count settles.
		var after, events int64
		for k := 0; k < 50; k++ {
			after, events = counts()
			time.Sleep(50 * time.Millisecond)
			if a, _ := counts(); a == after {
				break
			}
		}
		added := after - before
		switch {
		case added == 0:
			out++
			if status == http.StatusOK {
				t.Errorf("kill after %v: the client got 200 but nothing was stored", delay)
			}
		case added == batch:
			in++
		default:
			t.Fatalf("kill after %v: %d of %d statements stored: a batch was half-written", delay, added, batch)
		}
		if events != after {
			t.Fatalf("kill after %v: %d statements but %d learning events", delay, after, events)
		}
	}
	t.Logf("batches wholly in: %d, wholly out: %d", in, out)
	if in == 0 {
		t.Error("no batch completed, not even with 5 s to run: the test did not exercise a commit")
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
