package tests

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/learnlens/learnlens/tests/testserver"
)

// scrape reads the server's metrics as Prometheus would.
func scrape(t *testing.T, srv *testserver.Server) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.Metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metrics: %d %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("metrics are not in Prometheus' text format: %v", err)
	}
	return fams
}

// sample finds the sample of family name whose labels include want
// (nil: not there).
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// TestMetricsTellWhatTheInstanceDid drives the paths an operator watches
// (pages, dashboards, ingest, a refused batch, a failed sign-in, a probe of
// a random path) and reads them back from the metrics handler.
func TestMetricsTellWhatTheInstanceDid(t *testing.T) {
	srv := testserver.Start(t)
	acme := "acme.localhost"

	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	for range 2 { // a computation, then the shared result
		if r := admin.Get(acme, "/dashboards/completion"); r.Status != http.StatusOK {
			t.Fatalf("completion: %d", r.Status)
		}
	}
	if r := admin.Get(acme, "/no-such-page-7f3a"); r.Status != http.StatusNotFound {
		t.Fatalf("random path: %d, want 404", r.Status)
	}
	bad := srv.NewClient(t)
	if r := bad.PostForm(acme, "/login", url.Values{"email": {"admin@acme.test"}, "password": {"nope"}}); r.Status == http.StatusSeeOther {
		t.Fatal("a wrong password signed in")
	}

	roster := "Employee ID,Email,Name\nM1,bad-email,Bo Bad\n"
	if r := upload(t, admin, acme, "roster", "all-or-nothing", "roster.csv", roster); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("refused import: %d %s", r.Status, r.Body)
	}

	x := newLRS(t, srv, "acme")
	ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	var batch []string
	for i := range 3 {
		batch = append(batch, stmt("", fmt.Sprintf("metrics%d@acme.test", i), "experienced", "http://acme.test/metrics", ts, ""))
	}
	if r := x.do(http.MethodPost, "/xapi/statements", "["+strings.Join(batch, ",")+"]"); r.Status != http.StatusOK {
		t.Fatalf("post statements: %d %s", r.Status, r.Body)
	}
	if r := x.do(http.MethodPost, "/xapi/statements", `{"actor":{}}`); r.Status != http.StatusBadRequest {
		t.Fatalf("invalid statement: %d, want 400", r.Status)
	}

	fams := scrape(t, srv)
	checks := []struct {
		what   string
		name   string
		labels map[string]string
		min    float64
		max    float64
	}{
		{"dashboard requests by route pattern", "learnlens_http_request_duration_seconds",
			map[string]string{"route": "/dashboards/completion", "method": "GET", "status": "200"}, 2, 2},
		{"a random path as unmatched", "learnlens_http_request_duration_seconds",
			map[string]string{"route": "unmatched", "status": "404"}, 1, 1e9},
		{"the statements stored", "learnlens_xapi_statements_accepted_total", nil, 3, 3},
		{"the refused batch", "learnlens_xapi_requests_refused_total", map[string]string{"status": "400"}, 1, 1},
		{"the batch's time", "learnlens_ingest_batch_seconds", nil, 1, 1},
		{"the batch's wait for the pipeline lock", "learnlens_pipeline_lock_wait_seconds", nil, 1, 1},
		{"the batch's time under the lock", "learnlens_gold_apply_seconds", nil, 1, 1},
		{"the failed sign-in", "learnlens_audit_events_total", map[string]string{"action": "login.failed"}, 1, 1},
		{"the successful sign-in", "learnlens_audit_events_total", map[string]string{"action": "login.succeeded"}, 1, 1},
		{"a view computed", "learnlens_view_cache_computations_total", nil, 1, 1e9},
		{"a view shared", "learnlens_view_cache_hits_total", nil, 1, 1e9},
		{"the computations' time", "learnlens_view_cache_compute_seconds_total", nil, 1e-6, 60},
		{"the dashboard's view computed", "learnlens_view_cache_kind_computations_total", map[string]string{"kind": "completion", "ahead": "false"}, 1, 2},
		{"its page built", "learnlens_view_cache_kind_compute_seconds_total", map[string]string{"kind": "page", "ahead": "false"}, 1e-6, 60},
		{"the pool's size", "learnlens_db_pool_connections_max", nil, 1, 1e9},
		{"live connections", "learnlens_live_connections", nil, 0, 0},
		{"the refused import", "learnlens_import_duration_seconds", map[string]string{"kind": "roster", "outcome": "refused"}, 1, 1},
		{"readiness", "learnlens_ready", nil, 1, 1},
	}
	for _, c := range checks {
		if v := value(sample(fams, c.name, c.labels)); v < c.min || v > c.max {
			t.Errorf("%s: %s%v = %v, want %v–%v", c.what, c.name, c.labels, v, c.min, c.max)
		}
	}
	for _, m := range fams["learnlens_http_request_duration_seconds"].GetMetric() {
		for _, l := range m.Label {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), "7f3a") {
				t.Errorf("a raw path became a label: %q", l.GetValue())
			}
		}
	}
	// Every metric the alert rules and the Grafana dashboard read exists.
	for _, file := range []string{"../deploy/prometheus/alerts.yml", "../deploy/grafana/learnlens.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range regexp.MustCompile(`learnlens_[a-z_]+`).FindAllString(string(b), -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
			if fams[base] == nil && fams[name] == nil {
				t.Errorf("%s reads %s, which the instance does not export", file, name)
			}
		}
	}

	// The version this instance committed is learnt from its own
	// notification too, some milliseconds later.
	deadline := time.Now().Add(5 * time.Second)
	for value(sample(scrape(t, srv), "learnlens_gold_version_lag_seconds", nil)) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no gold notification was timed")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The public port has no /metrics, on any host.
	for _, host := range []string{"localhost", acme} {
		if r := admin.Get(host, "/metrics"); r.Status == http.StatusOK || strings.Contains(r.Body, "learnlens_") {
			t.Errorf("GET /metrics on the public port (%s): %d, want nothing served", host, r.Status)
		}
	}
}
