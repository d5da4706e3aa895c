package viewcache

import (
	"container/list"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Key names one view's result: everyone with the same key sees the same
// numbers.
type Key struct {
	Tenant int64
	// Scope is the viewer's resolved scope (the whole tenant, a manager's
	// people, one learner) as a string.
	Scope string
	// View is the section and its canonical filters.
	View string
	// Date is the tenant-local date: "overdue" and "last 7 days" change at
	// midnight. Only the calendar date counts.
	Date time.Time
	// Directory says the view is read from the tenant's directory alone
	// (its people, reporting lines and courses; a scope, the filter
	// choices), none of its gold: its Compute returns the directory
	// version it read, and its value is served exactly while that is the
	// tenant's current directory version (Cache.Directory), however many
	// gold versions commit meanwhile.
	Directory bool
}

// Compute computes a view's value in a transaction and returns the gold
// version that transaction saw (read in the same snapshot as the data, or
// before it), the value's approximate size in bytes, and any error.
type Compute func(ctx context.Context) (value any, version int64, size int, err error)

// Stats are a Cache's counters since it was made.
type Stats struct {
	Hits         int64 // Gets served from a stored value
	Misses       int64 // Gets that waited for a computation
	Computations int64 // computations started
	Refreshes    int64 // of which started ahead, for a hit whose value will soon be too old
	Evictions    int64 // values dropped to stay within the byte budget
	Bytes        int64 // bytes held now (sizes as Compute reported them)
	Entries      int   // values held now
	// ComputeTime and RefreshTime are how long the computations ran (wall
	// time, waits for the database included), all and those started
	// ahead: what serving a tenant's views costs, and how much of it is
	// keeping the popular ones fresh under ingest.
	ComputeTime, RefreshTime time.Duration
}

// Cache holds dashboard results shared by every viewer of the same view,
// within a byte budget, dropping the least recently used first. Safe for
// concurrent use.
type Cache struct {
	// Lag is how much older than the tenant's newest commit a result may
	// be while the tenant's gold keeps changing (see Get). NewCache sets 1 s.
	Lag time.Duration
	// ComputeTimeout bounds a computation, which runs on a context
	// detached from its callers'. NewCache sets 30 s.
	ComputeTimeout time.Duration
	// Computed, if set, is told of every computation when it ends: the
	// kind of view (Kind), whether it was started ahead, and how long it
	// ran. It must be quick; it runs outside the cache's lock.
	Computed func(kind string, ahead bool, took time.Duration)
	// Directory knows the tenants' directory versions, for keys with
	// Directory set. Without it those keys are judged by gold versions
	// like the others.
	Directory *Versions

	versions *Versions
	maxBytes int64

	mu      sync.Mutex
	entries map[Key]*list.Element // of *entry
	lru     *list.List            // most recently used first
	flights map[Key]*flight
	stats   Stats
}

// entry is one stored result.
type entry struct {
	key   Key
	value any
	v     Version
	size  int64
	took  time.Duration // how long its computation ran
}

// flight is a computation that callers wait for.
type flight struct {
	ahead bool          // started ahead, for a value still fresh
	done  chan struct{} // closed when value, v and err are set
	value any
	v     Version
	err   error
}

// NewCache returns a Cache that holds up to maxBytes of results and judges
// their freshness by versions.
func NewCache(versions *Versions, maxBytes int64) *Cache {
	return &Cache{
		Lag:            time.Second,
		ComputeTimeout: 30 * time.Second,
		versions:       versions,
		maxBytes:       maxBytes,
		entries:        map[Key]*list.Element{},
		lru:            list.New(),
		flights:        map[Key]*flight{},
	}
}

// Get returns key's value and the version it was computed at: a stored
// one if it is fresh enough, else compute's. Callers that miss the same
// key at the same time wait for one computation, which runs on a context
// detached from theirs (a caller that gives up gets its ctx's error, the
// others still get the value). Errors are returned, not stored.
//
// Freshness: a stored value computed at version e is served when the
// tenant's current version c (Versions.Current) is no newer, or when
// c.At - e.At <= Lag and the version after e committed at most Lag ago
// (now - (e+1).At <= Lag; unknown counts as too long). So when the tenant
// is quiet every response reflects its last commit, and the first change
// after a quiet spell is recomputed at once; under steady ingest a
// response may be the newest computed result if that is at most Lag older
// than the newest commit, and no response shows numbers that stopped
// being current more than Lag ago; when ingest stops, responses catch up
// within Lag. A hit whose value will soon stop being fresh starts its
// recomputation in the background (one at a time per key), so a view in
// steady demand is renewed before anyone has to wait for it.
//
// A key with Directory set is judged by the tenant's directory version
// instead (Cache.Directory), with no lag: its value is served while it was
// computed at the current directory version, and recomputed once the
// version moves.
func (c *Cache) Get(ctx context.Context, key Key, compute Compute) (any, Version, error) {
	return c.GetWithin(ctx, key, c.Lag, compute)
}

// GetWithin is Get with lag in place of Lag, for a view whose callers
// always pass the same lag. A view of wall-clock time rather than of gold
// ("Activity now": who was active in the last minutes) may take a longer
// lag than the freshness rule's, and say how old it is: under steady
// ingest it is then computed at most about once per lag, whatever the
// number of new versions, while the first change after a quiet spell
// still recomputes it at once.
func (c *Cache) GetWithin(ctx context.Context, key Key, lag time.Duration, compute Compute) (any, Version, error) {
	key = key.canonical()
	versions := c.versionsOf(key)
	if versions != c.versions {
		lag = 0
	}
	missed := false
	for {
		cur, err := versions.Current(ctx, key.Tenant)
		if err != nil {
			return nil, Version{}, fmt.Errorf("viewcache: %w", err)
		}
		c.mu.Lock()
		if el, ok := c.entries[key]; ok {
			now := time.Now()
			// A computation started ahead builds on its views' next
			// values, not on those about to go stale (see aheadKey).
			if e := el.Value.(*entry); fresh(versions, key.Tenant, e.v, cur, now, lag) && !(ahead(ctx) && expiring(versions, key.Tenant, e, cur, now, lag)) {
				c.lru.MoveToFront(el)
				c.stats.Hits++
				if _, running := c.flights[key]; !running && expiring(versions, key.Tenant, e, cur, now, lag) {
					f := &flight{ahead: true, done: make(chan struct{})}
					c.flights[key] = f
					c.stats.Computations++
					c.stats.Refreshes++
					go c.compute(context.WithoutCancel(ctx), key, cur, f, compute)
				}
				c.mu.Unlock()
				return e.value, e.v, nil
			}
		}
		if !missed {
			missed = true
			c.stats.Misses++
		}
		f, joined := c.flights[key]
		if !joined {
			f = &flight{done: make(chan struct{})}
			c.flights[key] = f
			c.stats.Computations++
			go c.compute(context.WithoutCancel(ctx), key, cur, f, compute)
		}
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, Version{}, ctx.Err()
		}
		if f.err != nil {
			return nil, Version{}, f.err
		}
		// A computation this caller started began after cur committed, so
		// it includes it. One it joined may have begun before: use it
		// only if it is fresh for cur, else go round for a newer one.
		if !joined || fresh(versions, key.Tenant, f.v, cur, time.Now(), lag) {
			return f.value, f.v, nil
		}
	}
}

// versionsOf is the Versions key's freshness is judged by.
func (c *Cache) versionsOf(key Key) *Versions {
	if key.Directory && c.Directory != nil {
		return c.Directory
	}
	return c.versions
}

// fresh says whether a value computed at e may be served at now when
// tenant is at cur in versions, with lag as Get's Lag (0: only while e
// is current).
func fresh(versions *Versions, tenant int64, e, cur Version, now time.Time, lag time.Duration) bool {
	if e.N >= cur.N {
		return true
	}
	if lag <= 0 || cur.At.Sub(e.At) > lag {
		return false
	}
	next, ok := versions.at(tenant, e.N+1)
	return ok && now.Sub(next) <= lag
}

// refreshAhead is the part of Lag after which a value that is still fresh
// is recomputed in the background: under steady ingest a popular view's
// next value is then ready before its current one stops being fresh, and
// its viewers never wait for it. Later than half the lag, so that a view
// is not recomputed much more often than once per Lag.
const refreshAhead = 3 // quarters of Lag

// expiring says whether a fresh entry e will soon stop being fresh (see
// fresh): a newer version exists and one of the two clocks of the
// freshness rule has run past refreshAhead of lag, or, for a view whose
// last computation was slow (a loaded machine), past the point where
// twice that computation's time is left, but never earlier than half the
// lag: the margin follows how long a refresh takes here, not a constant.
func expiring(versions *Versions, tenant int64, e *entry, cur Version, now time.Time, lag time.Duration) bool {
	if e.v.N >= cur.N {
		return false
	}
	soon := lag * refreshAhead / 4
	if lag-2*e.took < soon {
		soon = max(lag-2*e.took, lag/2)
	}
	if cur.At.Sub(e.v.At) >= soon {
		return true
	}
	next, ok := versions.at(tenant, e.v.N+1)
	return !ok || now.Sub(next) >= soon
}

// aheadKey marks the context of a computation started ahead, and of the
// computations it waits for. A view built from other views (a page from
// its dashboard's view and its filter choices) is stored at the version
// of what it was built from. Refreshed ahead from views that were about
// to go stale themselves, it went stale with them: every request in the
// meantime started another refresh of the page, and the next request
// after them missed it. Under ingest, pages were rebuilt 2.5 times a
// second each. Inside a computation started ahead, a view about to go
// stale counts as missing: the computation waits for (or starts) its
// next value, and the page it builds lasts as long as that.
type aheadKey struct{}

// ahead says whether ctx is a computation's started ahead (aheadKey).
func ahead(ctx context.Context) bool {
	v, _ := ctx.Value(aheadKey{}).(bool)
	return v
}

// compute runs fn for key's flight f, started when the tenant was at cur,
// stores the result unless it failed, and releases the waiters.
func (c *Cache) compute(ctx context.Context, key Key, cur Version, f *flight, fn Compute) {
	if f.ahead {
		ctx = context.WithValue(ctx, aheadKey{}, true)
	}
	ctx, cancel := context.WithTimeout(ctx, c.ComputeTimeout)
	defer cancel()
	start := time.Now()
	value, n, size, err := safely(ctx, fn)
	took := time.Since(start)
	f.value, f.err = value, err
	f.v = Version{N: n, At: committedAt(c.versionsOf(key), key.Tenant, n, cur)}
	c.mu.Lock()
	delete(c.flights, key)
	c.stats.ComputeTime += took
	if f.ahead {
		c.stats.RefreshTime += took
	}
	if err == nil {
		c.store(key, value, f.v, int64(max(size, 0)), took)
	}
	c.mu.Unlock()
	if c.Computed != nil {
		c.Computed(Kind(key.View), f.ahead, took)
	}
	close(f.done)
}

// Kind is the kind of a view, from its name: the part before the first
// ':', '?' or '@' ("page", "scope", "options", "completion", "section",
// "activity", …).
// Views of one kind share code, so their kinds are few and bounded by
// the code, fit for a metric label.
func Kind(view string) string {
	if i := strings.IndexAny(view, ":?@"); i >= 0 {
		return view[:i]
	}
	return view
}

// safely calls fn, turning a panic into an error so that the waiters are
// released.
func safely(ctx context.Context, fn Compute) (value any, version int64, size int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("viewcache: computation panicked: %v", r)
		}
	}()
	return fn(ctx)
}

// committedAt is when version n of tenant committed, as far as is known,
// erring on the side of an older result (recomputed sooner), never a
// fresher one: exactly when Versions learnt n itself; cur's time for a
// newer n (committed no earlier than cur); and for an older n whose time
// is not known (a computation that used a result shared under the lag),
// no time at all, so the result serves only while n is current.
func committedAt(versions *Versions, tenant, n int64, cur Version) time.Time {
	if at, ok := versions.at(tenant, n); ok {
		return at
	}
	if n >= cur.N {
		return cur.At
	}
	return time.Time{}
}

// store keeps a result under key, replacing an older one, and evicts the
// least recently used results beyond the byte budget. A result larger than
// the whole budget is not kept. Called with c.mu held.
func (c *Cache) store(key Key, value any, v Version, size int64, took time.Duration) {
	if el, ok := c.entries[key]; ok {
		if old := el.Value.(*entry); old.v.N > v.N {
			return
		}
		c.remove(el)
	}
	if size > c.maxBytes {
		return
	}
	c.entries[key] = c.lru.PushFront(&entry{key: key, value: value, v: v, size: size, took: took})
	c.stats.Bytes += size
	for c.stats.Bytes > c.maxBytes {
		c.remove(c.lru.Back())
		c.stats.Evictions++
	}
}

// remove drops a stored result. Called with c.mu held.
func (c *Cache) remove(el *list.Element) {
	e := el.Value.(*entry)
	c.lru.Remove(el)
	delete(c.entries, e.key)
	c.stats.Bytes -= e.size
}

// Stats returns the counters, for metrics.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries = len(c.entries)
	return s
}

// canonical makes equal keys compare equal: Date becomes the calendar
// date at midnight UTC, whatever its location and clock.
func (k Key) canonical() Key {
	y, m, d := k.Date.Date()
	k.Date = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return k
}
