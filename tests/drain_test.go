package tests

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/seed"
)

// TestSIGTERMDrainsBeforeItStops: a stopping instance first fails its
// readiness check ("draining") while it keeps serving for SHUTDOWN_DRAIN,
// so that a load balancer moves traffic away before the HTTP server shuts
// down; then it exits cleanly.
func TestSIGTERMDrainsBeforeItStops(t *testing.T) {
	t.Parallel()
	bin := buildLearnLens(t, "..")
	url := testdb.NewURL(t)
	if _, err := seed.Demo(context.Background(), testdb.Open(t, url)); err != nil {
		t.Fatal(err)
	}
	logins := testdb.Logins(url)
	port := freePort(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+logins.App, "DATABASE_PLATFORM_URL="+logins.Platform, "PORT="+strconv.Itoa(port),
		"LOG_LEVEL=error", "METRICS_ADDR=off", "SHUTDOWN_DRAIN=2s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	waitHealthy(t, port)

	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+path, nil)
		req.Host = acme
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	term := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		status, body := get("/readyz")
		if status == http.StatusServiceUnavailable && strings.Contains(body, "draining") {
			break
		}
		if time.Since(term) > time.Second {
			t.Fatalf("readiness still %d %s 1 s after SIGTERM", status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Still serving while it drains.
	for _, path := range []string{"/healthz", "/login"} {
		if status, body := get(path); status != http.StatusOK {
			t.Errorf("%s while draining: %d %.200s", path, status, body)
		}
	}
	select {
	case err := <-exited:
		if after := time.Since(term); after < 1800*time.Millisecond {
			t.Errorf("exited %v after SIGTERM, before its 2 s drain", after)
		}
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("still running 15 s after SIGTERM")
	}
}
