// Package metrics is what an instance tells Prometheus about itself: one
// registry per running app (tests run many in one process), served on its
// own listen address (METRICS_ADDR), never on the public port.
//
// No metric carries a tenant label: a deployment has hundreds of tenants,
// and per-tenant series would multiply every histogram by them. Routes
// are labelled by their pattern (/dashboards/:dash), never by the raw
// path, and audit events by their action, so every label set is bounded
// by the code. docs/OPERATIONS.md lists the metrics and the alerts on
// them.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every LearnLens metric.
const namespace = "learnlens"

// Set is one instance's metrics. Its observing methods may be called on a
// nil *Set, which records nothing: code that runs outside a server (the
// CLI's seeding, tests of one package) needs no metrics.
type Set struct {
	registry *prometheus.Registry

	requests           *prometheus.HistogramVec
	statementsAccepted prometheus.Counter
	statementsRefused  *prometheus.CounterVec
	ingestBatch        prometheus.Histogram
	lockWait           prometheus.Histogram
	goldApply          prometheus.Histogram
	versionLag         prometheus.Histogram
	imports            *prometheus.HistogramVec
	audit              *prometheus.CounterVec
	viewComputations   *prometheus.CounterVec
	viewComputeTime    *prometheus.CounterVec
}

// latencyBuckets suit requests and computations from a millisecond to
// tens of seconds; alerts read p95 around 200 ms.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .2, .3, .5, 1, 2.5, 5, 10, 30}

// New returns a Set with the Go runtime's and the process's own metrics.
func New() *Set {
	s := &Set{registry: prometheus.NewRegistry()}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.requests = s.histogramVec("http_request_duration_seconds",
		"Time to answer an HTTP request, by route pattern, method and status code.", latencyBuckets, "route", "method", "status")
	s.statementsAccepted = s.counter("xapi_statements_accepted_total",
		"xAPI statements stored (new ones; a resent duplicate is not counted).")
	s.statementsRefused = s.counterVec("xapi_requests_refused_total",
		"Statement requests refused, by HTTP status (400 invalid, 401 credentials, 409 conflict, 413 too large, 429 limits, 503 unavailable).", "status")
	s.ingestBatch = s.histogram("ingest_batch_seconds",
		"Time to store a batch of statements with its silver and gold, from its arrival in the pipeline to its group's commit (the wait for a group included).", latencyBuckets)
	s.lockWait = s.histogram("pipeline_lock_wait_seconds",
		"Time a batch waited for its tenant's pipeline lock (one tenant's batches derive silver and gold one at a time).", latencyBuckets)
	s.goldApply = s.histogram("gold_apply_seconds",
		"Time a batch spent under its tenant's pipeline lock: silver and gold brought up to date, to the commit.", latencyBuckets)
	s.versionLag = s.histogram("gold_version_lag_seconds",
		"Time from a gold version's commit (on any instance) to this instance learning it: how far its dashboards and live pushes trail the data.", latencyBuckets)
	s.imports = s.histogramVec("import_duration_seconds",
		"Time to apply an uploaded import, by kind and outcome (applied, refused, failed; \"dry-run …\" for a dry run).",
		[]float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}, "kind", "outcome")
	s.viewComputations = s.counterVec("view_cache_kind_computations_total",
		"Dashboard view computations by kind of view (scope, options, page, a dashboard's view, section, table, drill, …) and whether started ahead (refresh) or for a miss.", "kind", "ahead")
	s.viewComputeTime = s.counterVec("view_cache_kind_compute_seconds_total",
		"Time the view computations ran (wall time, waits for the database and nested views included), by kind of view and whether started ahead.", "kind", "ahead")
	s.audit = s.counterVec("audit_events_total",
		"Audited events by action: login.failed, login.locked_out and login.throttled are the sign-in failures.", "action")
	return s
}

// Handler serves the metrics in Prometheus' text format.
func (s *Set) Handler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
}

// Gauge registers a gauge read from fn at every scrape: numbers another
// part keeps anyway (open connections, pool use).
func (s *Set) Gauge(name, help string, fn func() float64) {
	s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, fn))
}

// Counter registers a counter read from fn at every scrape; fn must never
// go down.
func (s *Set) Counter(name, help string, fn func() float64) {
	s.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, fn))
}

// ViewComputed records a view computation of the dashboards' result
// cache: its kind (viewcache.Kind), whether it was started ahead, and how
// long it ran.
func (s *Set) ViewComputed(kind string, ahead bool, took time.Duration) {
	if s == nil {
		return
	}
	a := strconv.FormatBool(ahead)
	s.viewComputations.WithLabelValues(kind, a).Inc()
	s.viewComputeTime.WithLabelValues(kind, a).Add(took.Seconds())
}

// Request records an answered HTTP request.
func (s *Set) Request(route, method string, status int, d time.Duration) {
	if s == nil {
		return
	}
	s.requests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// StatementsAccepted counts n newly stored statements.
func (s *Set) StatementsAccepted(n int) {
	if s == nil {
		return
	}
	s.statementsAccepted.Add(float64(n))
}

// StatementsRefused counts a statement request refused with status.
func (s *Set) StatementsRefused(status int) {
	if s == nil {
		return
	}
	s.statementsRefused.WithLabelValues(strconv.Itoa(status)).Inc()
}

// Batch records a stored batch: its whole transaction, the wait for the
// pipeline lock and the time under it (zero for a batch of duplicates
// only, which never takes the lock).
func (s *Set) Batch(total, lockWait, underLock time.Duration) {
	if s == nil {
		return
	}
	s.ingestBatch.Observe(total.Seconds())
	if lockWait > 0 || underLock > 0 {
		s.lockWait.Observe(lockWait.Seconds())
		s.goldApply.Observe(underLock.Seconds())
	}
}

// VersionLearnt records how long after its commit this instance learnt a
// gold version.
func (s *Set) VersionLearnt(lag time.Duration) {
	if s == nil {
		return
	}
	s.versionLag.Observe(max(lag, 0).Seconds())
}

// Import records an applied or refused import of kind.
func (s *Set) Import(kind, outcome string, d time.Duration) {
	if s == nil {
		return
	}
	s.imports.WithLabelValues(kind, outcome).Observe(d.Seconds())
}

// Audited counts an audit log entry of action.
func (s *Set) Audited(action string) {
	if s == nil {
		return
	}
	s.audit.WithLabelValues(action).Inc()
}

func (s *Set) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	s.registry.MustRegister(c)
	return c
}

func (s *Set) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	s.registry.MustRegister(c)
	return c
}

func (s *Set) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets})
	s.registry.MustRegister(h)
	return h
}

func (s *Set) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	s.registry.MustRegister(h)
	return h
}
