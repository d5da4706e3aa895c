package analytics

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
)

// Need says which gold version of tenant a read must show at least (the
// newest this instance knows committed) and the WAL position of that
// version's commit (0 when unknown).
type Need func(ctx context.Context, tenant int64) (version int64, lsn database.LSN, err error)

// ReplicaStats count the reads of a Store that has a replica.
type ReplicaStats struct {
	Reads     int64 // reads served by the replica
	Fallbacks int64 // reads sent to the primary: the replica was behind or unreachable
	Waits     int64 // reads that waited for the replica to replay their version
}

// replicaReads sends reads to the replica when it has replayed what they
// must show.
type replicaReads struct {
	need    Need
	maxWait time.Duration

	reads, fallbacks, waits atomic.Int64
	// resting is until when (Unix ns) reads skip a replica that could
	// not be reached, rather than each paying for the attempt.
	resting atomic.Int64
}

// replicaRest is how long reads skip a replica that could not be
// reached, and replicaProbe bounds the look at its replay position (an
// unreachable host would otherwise hold the request until its deadline).
const (
	replicaRest  = time.Second
	replicaProbe = time.Second
)

// errBehind means a replica's snapshot shows an older gold version than
// the read must show.
var errBehind = errors.New("replica is behind the version to show")

// replicaPoll is how often a read waiting for the replica looks again.
const replicaPoll = 2 * time.Millisecond

// UseReplica makes s read from db's replica (database.Logins.Read):
// a read must show at least the version need returns. It waits up to
// maxWait for the replica's replay position to reach that version's WAL
// position, then checks, in its snapshot, that the replica shows that
// version or a newer one; when either fails in time, or the replica cannot
// be reached, the read goes to the primary. So a response never shows
// numbers older than the version this instance knew current when the read
// began, as on the primary. Without a replica, UseReplica does nothing.
func (s *Store) UseReplica(need Need, maxWait time.Duration) {
	if s.db.HasReplica() {
		s.replica = &replicaReads{need: need, maxWait: maxWait}
	}
}

// ReplicaStats returns the replica's counters (zero without a replica).
func (s *Store) ReplicaStats() ReplicaStats {
	if s.replica == nil {
		return ReplicaStats{}
	}
	return ReplicaStats{Reads: s.replica.reads.Load(), Fallbacks: s.replica.fallbacks.Load(), Waits: s.replica.waits.Load()}
}

// run reads on the replica. done is false when the read must go to the
// primary instead; fn has not been called then. Once fn has been called,
// its outcome is final (it may have sent rows), whatever it is.
func (rr *replicaReads) run(ctx context.Context, s *Store, r Request, scope *Scope, fn func(q *Q) error) (done bool, err error) {
	if time.Now().UnixNano() < rr.resting.Load() {
		return rr.fallback(ctx)
	}
	need, lsn, err := rr.need(ctx, r.Tenant)
	if err != nil {
		return true, err
	}
	deadline := time.Now().Add(rr.maxWait)
	waited := false
	// The version's WAL position first: one round trip a look, no
	// transaction. Unknown for a version this instance committed itself
	// whose notification has not arrived; the snapshot's check below
	// then does the waiting.
	for lsn != 0 {
		probe, cancel := context.WithTimeout(ctx, replicaProbe)
		ok, err := s.db.ReplicaReplayed(probe, lsn)
		cancel()
		if err != nil { // unreachable: the primary answers instead
			rr.rest(err)
			return rr.fallback(ctx)
		}
		if ok {
			break
		}
		if waited = true; !sleepUntil(ctx, deadline) {
			return rr.fallback(ctx)
		}
	}
	for {
		called := false
		var start readStart
		err := s.db.ReplicaSnapshotAnd(ctx, r.Tenant, start.queue(r, scope), func(tx pgx.Tx) error {
			return s.read(ctx, tx, r, scope, need, &start, func(q *Q) error {
				called = true
				return fn(q)
			})
		})
		if called {
			rr.reads.Add(1)
			if waited {
				rr.waits.Add(1)
			}
			return true, err
		}
		if !errors.Is(err, errBehind) {
			// Failed before fn ran: the replica itself (unreachable, a
			// recovery conflict) or the request (a scope out of reach).
			// The primary answers either way, and says the request's
			// fault again.
			rr.rest(err)
			return rr.fallback(ctx)
		}
		// The version's position is replayed but not yet its commit
		// record, a few records on; or the position was unknown.
		if waited = true; !sleepUntil(ctx, deadline) {
			return rr.fallback(ctx)
		}
	}
}

// fallback counts a read sent to the primary, unless the caller gave up.
func (rr *replicaReads) fallback(ctx context.Context) (bool, error) {
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	rr.fallbacks.Add(1)
	return false, nil
}

// rest makes reads skip the replica for replicaRest if err says it could
// not be reached.
func (rr *replicaReads) rest(err error) {
	if database.Unavailable(err) || errors.Is(err, context.DeadlineExceeded) {
		rr.resting.Store(time.Now().Add(replicaRest).UnixNano())
	}
}

// sleepUntil sleeps replicaPoll, and reports false if that would pass
// deadline or ctx ends.
func sleepUntil(ctx context.Context, deadline time.Time) bool {
	if time.Now().Add(replicaPoll).After(deadline) {
		return false
	}
	t := time.NewTimer(replicaPoll)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
