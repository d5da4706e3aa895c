package handlers

import (
	"context"
	"time"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/viewcache"
)

// useReplica sends the dashboards' reads (pages, tables, JSON, exports)
// to the read replica when DATABASE_READ_URL names one: each read must
// show at least the gold version this instance knows current, so a
// viewer never sees numbers older than those the primary would show
// (analytics.Store.UseReplica). Its counters and the replica's lag are
// metrics.
func (h *Handlers) useReplica(versions *viewcache.Versions) {
	if !h.db.HasReplica() {
		return
	}
	h.analytics.UseReplica(func(ctx context.Context, tenant int64) (int64, database.LSN, error) {
		v, err := versions.Current(ctx, tenant)
		return v.N, v.LSN, err
	}, h.cfg.ReplicaMaxWait)
	m := h.metrics
	stat := func(f func(analytics.ReplicaStats) int64) func() float64 {
		return func() float64 { return float64(f(h.analytics.ReplicaStats())) }
	}
	m.Counter("replica_reads_total", "Dashboard reads served by the read replica.",
		stat(func(s analytics.ReplicaStats) int64 { return s.Reads }))
	m.Counter("replica_fallbacks_total", "Dashboard reads sent to the primary because the replica had not replayed the version to show within REPLICA_MAX_WAIT, or could not be reached.",
		stat(func(s analytics.ReplicaStats) int64 { return s.Fallbacks }))
	m.Counter("replica_waits_total", "Dashboard reads served by the replica after waiting for it to replay the version to show.",
		stat(func(s analytics.ReplicaStats) int64 { return s.Waits }))
	m.Gauge("replica_lag_bytes", "WAL the primary has written that the read replica has not replayed yet (-1: the replica cannot be reached).", func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		lag, err := h.db.ReplicaLag(ctx)
		if err != nil {
			return -1
		}
		return float64(lag)
	})
	m.Gauge("replica_pool_connections_in_use", "Read replica connections in use.",
		func() float64 { return float64(h.db.ReplicaPoolStat().AcquiredConns()) })
}
