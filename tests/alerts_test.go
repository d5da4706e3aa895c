package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/learnlens/learnlens/tests/testserver"
)

// TestAlertFiresInPrometheus runs Debian's Prometheus with the alert rules
// of deploy/prometheus/alerts.yml (their `for:` shortened to a second),
// scraping a running instance's metrics, and drives the instance into one
// alert's condition: most statement requests refused.
func TestAlertFiresInPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed: `make deps` installs Debian's package")
	}
	srv := testserver.Start(t)
	metricsAddr := serveMetrics(t, srv)

	rules, err := os.ReadFile("../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rules = regexp.MustCompile(`for: \d+m`).ReplaceAll(rules, []byte("for: 1s"))
	write(t, filepath.Join(dir, "alerts.yml"), rules)
	write(t, filepath.Join(dir, "prometheus.yml"), fmt.Appendf(nil, `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: learnlens
    static_configs:
      - targets: [%q]
`, metricsAddr))
	promAddr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Logf("prometheus log:\n%s", out)
		}
	})

	// A producer whose every batch is refused.
	x := newLRS(t, srv, "acme")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				x.do(http.MethodPost, "/xapi/statements", `{"actor":{}}`)
			}
		}
	}()
	defer func() { close(stop); <-done }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		firing := firingAlerts(t, promAddr)
		if firing["LearnLensIngestRefusals"] {
			if firing["LearnLensServerErrors"] || firing["LearnLensNotReady"] {
				t.Errorf("alerts firing without cause: %v", firing)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("LearnLensIngestRefusals did not fire within a minute; firing: %v", firing)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// serveMetrics serves the server's metrics on a port of their own, as
// METRICS_ADDR does, and returns its address.
func serveMetrics(t *testing.T, srv *testserver.Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Metrics}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// firingAlerts reads the alerts Prometheus has firing (an unreachable
// Prometheus, still starting, has none).
func firingAlerts(t *testing.T, addr string) map[string]bool {
	out := map[string]bool{}
	resp, err := http.Get("http://" + addr + "/api/v1/alerts")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("prometheus alerts: %v", err)
	}
	for _, a := range body.Data.Alerts {
		if a.State == "firing" {
			out[a.Labels["alertname"]] = true
		}
	}
	return out
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func write(t *testing.T, path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
