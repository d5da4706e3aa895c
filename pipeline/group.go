package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Group commit. One tenant's statement batches are derived one after the
// other under its pipeline lock, so under load they used to queue for it
// (0.5–1 s per batch under the dashboards' mix). Instead, batches that
// arrive while maxGroupsInFlight groups of the tenant are being stored
// wait, and the next group takes all of them (up to maxGroupStatements):
// one transaction, one lock, one set of gold upserts whose keys collapse
// across the batches, one commit. Each request still returns only after
// its group committed, so a 200 still means every dashboard includes it.
//
// Two groups in flight let the next group's bronze (documents, the
// INSERT) overlap the current one's silver and gold under the lock, as
// separate batches did before.

// maxGroupsInFlight is how many groups of one tenant are stored at once.
const maxGroupsInFlight = 2

// maxGroupStatements bounds a group: beyond it a batch waits for the next
// one. A group's transaction then stays well within MaxIngestDuration.
const maxGroupStatements = 5000

// request is a batch waiting to be stored, and then its result.
type request struct {
	batch StatementBatch
	ctx   context.Context
	res   StoreResult
	err   error
	times batchTimes
	done  chan struct{}
}

// tenantQueue is a tenant's batches waiting for a group.
type tenantQueue struct {
	waiting []*request
	running int // groups being stored
}

// groups are the tenants' queues, on a Pipeline.
type groups struct {
	mu     sync.Mutex
	queues map[int64]*tenantQueue

	stored, batches atomic.Int64 // groups taken, and the batches in them
}

// GroupStats says how many groups of statement batches this Pipeline has
// taken and how many batches they held (their ratio is the mean group
// size; batches with attachments, stored alone, are not counted).
func (p *Pipeline) GroupStats() (groups, batches int64) {
	return p.groups.stored.Load(), p.groups.batches.Load()
}

// enqueue queues b for its tenant's next group, starting one if fewer
// than maxGroupsInFlight are being stored; r.done is closed when r's
// result is set.
func (p *Pipeline) enqueue(ctx context.Context, b StatementBatch) *request {
	r := &request{batch: b, ctx: ctx, done: make(chan struct{})}
	p.groups.mu.Lock()
	if p.groups.queues == nil {
		p.groups.queues = map[int64]*tenantQueue{}
	}
	q := p.groups.queues[b.TenantID]
	if q == nil {
		q = &tenantQueue{}
		p.groups.queues[b.TenantID] = q
	}
	q.waiting = append(q.waiting, r)
	start := q.running < maxGroupsInFlight
	if start {
		q.running++
	}
	p.groups.mu.Unlock()
	if start {
		go p.storeGroups(b.TenantID)
	}
	return r
}

// storeGroups stores the tenant's waiting batches, group after group,
// until none waits.
func (p *Pipeline) storeGroups(tenantID int64) {
	for {
		g := p.nextGroup(tenantID)
		if g == nil {
			return
		}
		// The group runs for all its requests: the first one's context
		// gives its values, not its cancellation.
		p.storeGroupOrFail(context.WithoutCancel(g[0].ctx), g)
		for _, r := range g {
			close(r.done)
		}
	}
}

// storeGroupOrFail is storeGroup that turns a panic into every request's
// error, as a handler's panic would be for its own request: this
// goroutine serves no single request, and must not take the process down.
func (p *Pipeline) storeGroupOrFail(ctx context.Context, g []*request) {
	defer func() {
		if v := recover(); v != nil {
			err := fmt.Errorf("store statements: panic: %v", v)
			for _, r := range g {
				r.res, r.err = StoreResult{}, err
			}
		}
	}()
	p.storeGroup(ctx, g)
}

// nextGroup takes the tenant's next group off its queue: the waiting
// batches in order, up to maxGroupStatements (the first in any case),
// leaving for a later group a batch that shares a statement id with one
// taken (each batch's duplicates and conflicts are then judged against
// what was stored before it, as alone). nil: none waits, and the caller's
// turn ends.
func (p *Pipeline) nextGroup(tenantID int64) []*request {
	p.groups.mu.Lock()
	defer p.groups.mu.Unlock()
	q := p.groups.queues[tenantID]
	if len(q.waiting) == 0 {
		q.running--
		if q.running == 0 {
			delete(p.groups.queues, tenantID)
		}
		return nil
	}
	var g, rest []*request
	ids := map[string]bool{}
	n := 0
	for _, r := range q.waiting {
		if len(g) > 0 && (n+len(r.batch.Statements) > maxGroupStatements || sharesID(ids, r.batch)) {
			rest = append(rest, r)
			continue
		}
		for _, s := range r.batch.Statements {
			if s.ID != "" { // the LRS gives it a fresh one
				ids[s.ID] = true
			}
		}
		n += len(r.batch.Statements)
		g = append(g, r)
	}
	q.waiting = rest
	p.groups.stored.Add(1)
	p.groups.batches.Add(int64(len(g)))
	return g
}

// sharesID says whether a statement of b has an id in ids (a statement
// sent without one has none yet).
func sharesID(ids map[string]bool, b StatementBatch) bool {
	for _, s := range b.Statements {
		if ids[s.ID] {
			return true
		}
	}
	return false
}
