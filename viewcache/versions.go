// Package viewcache shares the results of dashboard computations between
// everyone looking at the same view, and knows how fresh they must be.
//
// Versions tracks each tenant's gold version on this instance: the
// counter that every transaction changing what a tenant's dashboards read
// increments (gold_freshness.version, see docs/DATA-MODEL.md). It learns
// new versions from the learnlens_gold notifications of every instance,
// from this instance's pipeline as soon as it commits, and from the
// database when notifications may have been missed. Cache keeps results
// computed at a version and serves them while they are fresh enough (see
// Cache.Get). A second Versions tracks each tenant's directory version
// (NewDirectoryVersions): scopes and filter choices are kept while it
// stands, whatever happens to gold.
package viewcache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/realtime"
)

// GoldChannel is the channel on which the pipeline announces
// "<tenant>:<version>:<committed>:<lsn>" at each commit.
const GoldChannel = "learnlens_gold"

// DirectoryChannel is the channel on which the database announces
// "<tenant>:<version>" when a transaction that changed a tenant's
// directory commits (migrations/00038_directory_versions.sql).
const DirectoryChannel = "learnlens_directory"

// Version is a tenant's gold version and when it was committed. At is the
// commit's stamp (gold_freshness.committed, taken in the transaction just
// before it commits), read from the database or carried by the
// notification. This instance's own commits are first dated when the
// pipeline's hook runs, just after the commit, and re-dated by their
// notification a few milliseconds later: the freshness rule also dates a
// result by when the version after it committed, which must not look
// later than it was. A version that was never committed (N = 0) has a
// zero At. LSN is the version's WAL position (gold_freshness.lsn), which a
// read from a replica waits for; 0 while unknown (a version learnt from
// this instance's own commit hook, until its notification arrives).
type Version struct {
	N   int64
	At  time.Time
	LSN database.LSN
}

// Versions knows each tenant's current gold version on this instance.
// Safe for concurrent use.
type Versions struct {
	db       *database.DB
	listener *realtime.Listener // nil: no notifications, always ask the database
	// query reads a tenant's version, its commit time and WAL position
	// (both may be NULL), or no row.
	query string

	mu      sync.Mutex
	tenants map[int64]known
	subs    []func(tenant int64, v Version)
}

// known is what this instance knows of one tenant's version.
type known struct {
	v Version
	// trusted says every later commit will be notified on the current
	// listener connection, so v is current until a notification says
	// otherwise. Otherwise v is only a lower bound and Current asks the
	// database.
	trusted bool
	// recent are the last versions learnt, oldest first, so a result
	// computed at one of them can be dated exactly.
	recent []Version
}

// recentVersions is how many of a tenant's versions are remembered: more
// than the commits of the freshness lag under steady ingest.
const recentVersions = 256

// NewVersions returns Versions that reads versions from db and learns new
// ones from l's notifications on learnlens_gold. Call it before l.Run, so
// its handlers are in place when l connects. With l nil every Current
// reads the database.
func NewVersions(db *database.DB, l *realtime.Listener) *Versions {
	return newVersions(db, l, GoldChannel, `SELECT version, committed, lsn::text FROM gold_freshness WHERE tenant_id = $1`)
}

// NewDirectoryVersions returns Versions of the tenants' directories: the
// counter that every transaction changing a tenant's people, reporting
// lines or courses increments (directory_versions.version), learnt from
// the learnlens_directory notifications and from this instance's pipeline
// (Observe). Its versions carry no commit time or WAL position: what is
// computed from the directory is kept exactly while the version stands.
func NewDirectoryVersions(db *database.DB, l *realtime.Listener) *Versions {
	return newVersions(db, l, DirectoryChannel, `SELECT version, NULL::timestamptz, NULL::text FROM directory_versions WHERE tenant_id = $1`)
}

func newVersions(db *database.DB, l *realtime.Listener, channel, query string) *Versions {
	v := &Versions{db: db, listener: l, query: query, tenants: map[int64]known{}}
	if l != nil {
		l.Handle(channel, v.notified)
		l.OnConnect(v.forget)
	}
	return v
}

// Current returns the newest version of tenant's gold this instance knows
// to be committed. It reads the database when the tenant is not known yet,
// or when notifications may be missed (the listener is not connected).
func (v *Versions) Current(ctx context.Context, tenant int64) (Version, error) {
	connected, gen := false, int64(0)
	if v.listener != nil {
		// Read before the database is: a read that starts while the
		// listener is connected is followed by notifications of every
		// later commit, unless the connection changes meanwhile.
		gen = v.listener.Generation()
		connected = v.listener.Connected()
	}
	v.mu.Lock()
	k, ok := v.tenants[tenant]
	v.mu.Unlock()
	if ok && k.trusted && connected {
		return k.v, nil
	}
	read, err := v.read(ctx, tenant)
	if err != nil {
		return Version{}, err
	}
	if !connected {
		gen = 0
	}
	return v.learn(tenant, read, gen), nil
}

// Observe tells Versions that tenant's version n has just committed on
// this instance; register it with pipeline's OnCommit, so this
// instance's viewers see their own writes without waiting for the
// notification.
func (v *Versions) Observe(tenant, n int64) {
	v.learn(tenant, Version{N: n, At: time.Now()}, 0)
}

// Subscribe registers fn to be called with every version this instance
// learns that is newer than the one it knew for the tenant, whichever way
// it learnt it. fn runs on the goroutine that learnt the version (the
// notification listener's, a writer's, a viewer's), so it must be quick and
// not block; Versions' lock is not held. Calls may come from several
// goroutines at once, so
// for one tenant a lower version may arrive after a higher one (keep the
// maximum). After the listener reconnects, versions are learnt afresh and
// the first one per tenant is reported again.
func (v *Versions) Subscribe(fn func(tenant int64, v Version)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.subs = append(v.subs, fn)
}

// learn merges ver into what is known of tenant, keeping the higher
// version, and returns what is known now. trustGen is the listener
// generation that was connected before ver was read (0: none): if it is
// still the current one, later versions will be notified.
func (v *Versions) learn(tenant int64, ver Version, trustGen int64) Version {
	v.mu.Lock()
	k, ok := v.tenants[tenant]
	newer := !ok || ver.N > k.v.N
	if newer {
		k.v = ver
		if len(k.recent) == recentVersions {
			k.recent = append(k.recent[:0], k.recent[1:]...)
		}
		k.recent = append(k.recent, ver)
	} else {
		// A version learnt before (by this instance's own commit hook,
		// just after the commit) is dated by its notification's stamp,
		// taken in the transaction, when that is earlier.
		for i := range k.recent {
			if r := &k.recent[i]; r.N == ver.N && ver.At.Before(r.At) {
				r.At = ver.At
			}
		}
		if k.v.N == ver.N && ver.At.Before(k.v.At) {
			k.v.At = ver.At
		}
		if k.v.N == ver.N && k.v.LSN == 0 {
			k.v.LSN = ver.LSN
		}
	}
	if trustGen != 0 && trustGen == v.listener.Generation() {
		k.trusted = true
	}
	v.tenants[tenant] = k
	subs := v.subs
	v.mu.Unlock()
	if newer {
		for _, fn := range subs {
			fn(tenant, ver)
		}
	}
	return k.v
}

// notified handles a notification, "<tenant>:<version>:<committed, µs
// since 1970>:<lsn>" (a directory's has the first two parts). It runs on the
// listener's goroutine, so the current generation is the one that
// delivered it.
func (v *Versions) notified(payload string) {
	tenant, ver, ok := ParseNotification(payload)
	if !ok {
		return
	}
	if ver.N == 0 {
		// An instance that sends no version (an older release during a
		// rolling deploy): the tenant changed, ask the database.
		v.mu.Lock()
		if k, ok := v.tenants[tenant]; ok {
			k.trusted = false
			v.tenants[tenant] = k
		}
		v.mu.Unlock()
		return
	}
	v.learn(tenant, ver, v.listener.Generation())
}

// ParseNotification reads a learnlens_gold payload: the tenant, and the
// version with its commit time and WAL position (N = 0 when the sender
// gave no version; At is now when it gave no time; LSN is 0 when it gave
// none). ok is false for a payload without a tenant.
func ParseNotification(payload string) (tenant int64, ver Version, ok bool) {
	parts := strings.Split(payload, ":")
	tenant, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return 0, Version{}, false
	}
	if len(parts) < 2 {
		return tenant, Version{}, true
	}
	if ver.N, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return tenant, Version{}, true
	}
	ver.At = time.Now()
	if len(parts) > 2 {
		if us, err := strconv.ParseInt(parts[2], 10, 64); err == nil {
			ver.At = time.UnixMicro(us)
		}
	}
	if len(parts) > 3 {
		if lsn, err := database.ParseLSN(parts[3]); err == nil {
			ver.LSN = lsn
		}
	}
	return tenant, ver, true
}

// forget drops everything known: notifications may have been missed while
// the listener was not connected.
func (v *Versions) forget() {
	v.mu.Lock()
	defer v.mu.Unlock()
	clear(v.tenants)
}

// read returns tenant's version as committed in the database. It reads in
// a tenant-scoped transaction, under Row Level Security like every other
// tenant read, rather than through a SECURITY DEFINER function that would
// bypass it: reads are rare (a tenant's first view on this instance, or
// while the listener is down), so their extra round trips do not matter.
func (v *Versions) read(ctx context.Context, tenant int64) (Version, error) {
	var ver Version
	err := v.db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		var at *time.Time
		var lsn *string
		err := tx.QueryRow(ctx, v.query, tenant).Scan(&ver.N, &at, &lsn)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if at != nil {
			ver.At = *at
		}
		if lsn != nil {
			if ver.LSN, err = database.ParseLSN(*lsn); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Version{}, fmt.Errorf("read version of tenant %d: %w", tenant, err)
	}
	return ver, nil
}

// at returns when version n of tenant committed, if this instance learnt
// n itself recently.
func (v *Versions) at(tenant, n int64) (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, r := range v.tenants[tenant].recent {
		if r.N == n {
			return r.At, true
		}
	}
	return time.Time{}, false
}
