package handlers

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/realtime"
	"github.com/learnlens/learnlens/viewcache"
)

// measure registers the metrics read from what the instance keeps anyway
// (the view cache's counters, open live connections, the database pool)
// and times the gold notifications from other instances' commits.
func (h *Handlers) measure(l *realtime.Listener) {
	m := h.metrics
	cache := func(f func(viewcache.Stats) int64) func() float64 {
		return func() float64 { return float64(f(h.views.Stats())) }
	}
	m.Counter("view_cache_hits_total", "Dashboard views served from the shared result cache.",
		cache(func(s viewcache.Stats) int64 { return s.Hits }))
	m.Counter("view_cache_misses_total", "Dashboard views that waited for a computation (their own or one already running).",
		cache(func(s viewcache.Stats) int64 { return s.Misses }))
	m.Counter("view_cache_computations_total", "Dashboard view computations started.",
		cache(func(s viewcache.Stats) int64 { return s.Computations }))
	m.Counter("view_cache_refreshes_total", "Of the computations, those started ahead for a view served from the cache whose value would soon be too old (under steady ingest).",
		cache(func(s viewcache.Stats) int64 { return s.Refreshes }))
	seconds := func(f func(viewcache.Stats) time.Duration) func() float64 {
		return func() float64 { return f(h.views.Stats()).Seconds() }
	}
	m.Counter("view_cache_compute_seconds_total", "Time the view computations ran (wall time, waits for the database included).",
		seconds(func(s viewcache.Stats) time.Duration { return s.ComputeTime }))
	m.Counter("view_cache_refresh_seconds_total", "Of that time, the computations started ahead (view_cache_refreshes_total).",
		seconds(func(s viewcache.Stats) time.Duration { return s.RefreshTime }))
	m.Counter("view_cache_evictions_total", "Results dropped to keep the cache within VIEW_CACHE_MB.",
		cache(func(s viewcache.Stats) int64 { return s.Evictions }))
	m.Gauge("view_cache_bytes", "Bytes of results the view cache holds (as estimated when stored).",
		cache(func(s viewcache.Stats) int64 { return s.Bytes }))
	m.Counter("ingest_groups_total", "Groups of statement batches stored, each in one transaction (group commit: one tenant's batches that arrive while its earlier ones are stored go together).",
		func() float64 { g, _ := h.pipeline.GroupStats(); return float64(g) })
	m.Counter("ingest_grouped_batches_total", "Statement batches stored in those groups (divided by ingest_groups_total: the mean group size).",
		func() float64 { _, b := h.pipeline.GroupStats(); return float64(b) })
	m.Gauge("live_connections", "Open live-dashboard WebSocket connections on this instance.",
		func() float64 { return float64(h.hub.Connections()) })
	m.Gauge("live_connections_limit", "LIVE_MAX_CONNECTIONS: the live connections this instance accepts.",
		func() float64 { return float64(h.cfg.LiveMaxConnections) })
	m.Gauge("db_pool_connections_in_use", "Database connections in use.",
		func() float64 { return float64(h.db.PoolStat().AcquiredConns()) })
	m.Gauge("db_pool_connections_max", "The database pool's size.",
		func() float64 { return float64(h.db.PoolStat().MaxConns()) })
	m.Counter("db_pool_waits_total", "Times a request had to wait for a free database connection.",
		func() float64 { return float64(h.db.PoolStat().EmptyAcquireCount()) })
	m.Counter("db_pool_wait_seconds_total", "Time requests spent waiting for a free database connection.",
		func() float64 { return h.db.PoolStat().EmptyAcquireWaitTime().Seconds() })
	m.Gauge("ready", "1 while the instance is ready (its database answers, as /readyz checks), 0 when not.", func() float64 {
		if h.ready(context.Background()) != nil {
			return 0
		}
		return 1
	})
	l.Handle(viewcache.GoldChannel, func(payload string) {
		if _, v, ok := viewcache.ParseNotification(payload); ok && v.N != 0 {
			m.VersionLearnt(time.Since(v.At))
		}
	})
}

// observeRequest records an answered request by its route pattern (a
// path the code registered); a request that only middleware saw is
// "unmatched", so that probes of random paths add no series. Refused
// statement requests are counted on their own.
func (h *Handlers) observeRequest(c *fiber.Ctx, status int, d time.Duration) {
	route := "unmatched"
	if r := c.Route(); r != nil && r.Path != "/" {
		route = r.Path
	}
	// Fiber's strings point into buffers it reuses; a label must own its
	// bytes.
	method := strings.Clone(c.Method())
	h.metrics.Request(route, method, status, d)
	if status >= 400 && (method == fiber.MethodPost || method == fiber.MethodPut) && route == "/xapi/statements" {
		h.metrics.StatementsRefused(status)
	}
}
