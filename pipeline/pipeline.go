// Package pipeline turns raw learning records into dashboard numbers:
// bronze (xAPI statements and import files exactly as accepted) → silver
// (learners, hierarchy, courses, learning events, enrolments, daily activity,
// compliance assignments) → gold (per-tenant aggregates).
//
// Every write for a tenant runs in one transaction, so a batch is wholly in
// or wholly out (a tenant's statement batches that arrive together share
// one, see group.go, and each is still wholly in or out); silver and gold are derived under the tenant's pipeline
// lock, so each batch sees the others' results complete (a statement batch
// writes bronze, and where it can its learning events, before taking it).
// Gold is updated in the same transaction for exactly the rows the batch
// changed, so it is fresh when the statements' 200 is sent; RebuildGold
// recomputes everything from silver and must give the same rows.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	_ "time/tzdata" // tenant time zones whatever the host has installed

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/metrics"
)

// Pipeline writes learning data for tenants.
type Pipeline struct {
	db *database.DB
	// Metrics, if set, records each statement batch's times.
	Metrics *metrics.Set

	mu                sync.Mutex
	onCommit          []func(tenant, version int64)
	onDirectoryCommit []func(tenant, version int64)

	groups groups // statement batches waiting to be stored (group.go)
	// learnerGroups are the learners' gold groups read by earlier
	// statement batches (groupcache.go).
	learnerGroups groupCache
}

// New returns a Pipeline on db.
func New(db *database.DB) *Pipeline { return &Pipeline{db: db} }

// OnCommit registers fn to be told, after each transaction that gave a
// tenant's gold a new version has committed, the tenant and that version,
// so this instance learns it without waiting for the notification. fn runs
// on the writer's goroutine before the write returns: it must be quick.
// A transaction that rolls back calls nothing.
func (p *Pipeline) OnCommit(fn func(tenant, version int64)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onCommit = append(p.onCommit, fn)
}

// OnDirectoryCommit is OnCommit for the tenant's directory version
// (migrations/00038_directory_versions.sql): fn is told the new version
// after each transaction that changed it has committed.
func (p *Pipeline) OnDirectoryCommit(fn func(tenant, version int64)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onDirectoryCommit = append(p.onDirectoryCommit, fn)
}

// committedVersions are the versions a transaction gave a tenant, read by
// newVersionSQL as its last statement: the new gold version (0: the
// transaction gave none), and the directory version if the transaction
// changed it (0: it did not).
type committedVersions struct{ gold, directory int64 }

// committed tells the OnCommit and OnDirectoryCommit hooks about a
// committed transaction's versions.
func (p *Pipeline) committed(tenantID int64, v committedVersions) {
	p.mu.Lock()
	hooks, directoryHooks := p.onCommit, p.onDirectoryCommit
	p.mu.Unlock()
	if v.gold != 0 {
		for _, fn := range hooks {
			fn(tenantID, v.gold)
		}
	}
	if v.directory != 0 {
		for _, fn := range directoryHooks {
			fn(tenantID, v.directory)
		}
	}
}

// ErrTenantMissing is returned for a tenant that does not exist.
var ErrTenantMissing = errors.New("tenant does not exist")

// lockKey is the first half of the per-tenant advisory lock key.
const lockKey = 0x4c4c

// inTenant runs fn in a tenant transaction holding the tenant's pipeline
// lock, with the tenant's time zone at hand.
func (p *Pipeline) inTenant(ctx context.Context, tenantID int64, fn func(tx pgx.Tx, tz string) error) error {
	return p.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, customPlans); err != nil {
			return err
		}
		tz, err := lockTenant(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		return fn(tx, tz)
	})
}

// customPlans makes PostgreSQL plan each execution of the pipeline's
// prepared statements for its own parameters. Its default switches a
// statement to a generic plan after five runs when that looks no dearer,
// and for the key arrays the pipeline passes a generic plan can be
// disastrous: on a 10M-statement tenant the lookup of a batch's voided
// statement ids became a scan that cast the 1,000-id array once per row
// (8.4 s, twice per batch), and the compliance refresh took 2.4 s.
const customPlans = `SET LOCAL plan_cache_mode = force_custom_plan`

// lockTenant takes the tenant's pipeline lock for the rest of the
// transaction and returns the tenant's time zone. Everything that derives
// silver and gold runs under it, so each transaction sees the others'
// results complete.
func lockTenant(ctx context.Context, tx pgx.Tx, tenantID int64) (string, error) {
	return lockTenantAnd(ctx, &pgx.Batch{}, tx, tenantID)
}

// lockTenantAnd is lockTenant that also runs the statements queued on b
// once the lock is held, in the same round trip.
func lockTenantAnd(ctx context.Context, then *pgx.Batch, tx pgx.Tx, tenantID int64) (string, error) {
	// The time zone is read by a statement that starts once the lock is
	// held, in the same round trip.
	//
	// The tenant's statement counter row is locked first. Whatever counts
	// statements under the pipeline lock (the pipeline's own counting,
	// the triggers of bulk loads and erasures) then takes the two in the
	// order a release before migrations/00023 takes them in its bronze
	// INSERT (the counter, by its trigger) and then the pipeline lock: two
	// releases side by side during a rolling upgrade cannot deadlock. The
	// row is held to the commit, as the pipeline lock is, so it adds no
	// wait. A tenant that has never stored a statement gets its row first
	// (0 statements, last stored -infinity: "never" on the usage page):
	// without one, a batch that found none went on to the pipeline lock
	// holding no row, and deadlocked at its count with a batch that had
	// found the row the first one committed meanwhile and held it while
	// waiting for the lock (TestRollingRestart's first batches). A row
	// being inserted by another batch is waited for here, before the lock.
	var b pgx.Batch
	b.Queue(`INSERT INTO tenant_statement_counts (tenant_id, statements, last_stored)
		SELECT id, 0, '-infinity' FROM tenants WHERE id = $1
		ON CONFLICT (tenant_id) DO NOTHING`, tenantID)
	b.Queue(`SELECT FROM tenant_statement_counts WHERE tenant_id = $1 FOR UPDATE`, tenantID)
	b.Queue(`SELECT pg_advisory_xact_lock($1, $2::int)`, lockKey, tenantID)
	var tz string
	b.Queue(`SELECT time_zone FROM tenants WHERE id = $1`, tenantID).QueryRow(func(row pgx.Row) error {
		return row.Scan(&tz)
	})
	b.QueuedQueries = append(b.QueuedQueries, then.QueuedQueries...)
	err := tx.SendBatch(ctx, &b).Close()
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrTenantMissing
	}
	if err != nil {
		return "", fmt.Errorf("lock tenant pipeline: %w", err)
	}
	return tz, nil
}

// notifyChannel carries "<tenant id>:<gold version>:<committed>:<lsn>"
// after each commit that gave a tenant's gold a new version, for caches
// and live dashboards on every instance; committed is
// gold_freshness.committed in microseconds since 1970, lsn is
// gold_freshness.lsn (the version's WAL position, which reads from a
// replica wait for) in PostgreSQL's text form.
const notifyChannel = "learnlens_gold"

// newVersionSQL gives the tenant's gold its next version, stamped with the
// clock time (the transaction commits right after), moves "data as of" to
// $2 when that is newer (NULL: leave it), and queues the notification,
// which PostgreSQL delivers at commit. It must run under the tenant's
// pipeline lock, which is held to the commit: versions then commit in
// increasing order.
const newVersionSQL = `
WITH v AS (
    INSERT INTO gold_freshness AS f (tenant_id, as_of, refreshed, version, committed)
    VALUES ($1::bigint, $2::timestamptz, now(), 1, clock_timestamp())
    ON CONFLICT (tenant_id) DO UPDATE SET as_of = greatest(f.as_of, excluded.as_of), refreshed = now(),
        version = f.version + 1, committed = excluded.committed
    RETURNING tenant_id, version, committed, lsn)
SELECT version, pg_notify($3, tenant_id::text || ':' || version::text || ':' ||
    (extract(epoch FROM committed) * 1000000)::bigint::text || ':' || lsn::text) FROM v`

// queueNewVersion queues newVersionSQL on b, and queueDirectoryVersion;
// the new versions are written to *version when b's results are read.
// asOf is nil for a change that stores no statements.
func queueNewVersion(b *pgx.Batch, tenantID int64, asOf *time.Time, version *committedVersions) {
	b.Queue(newVersionSQL, tenantID, asOf, notifyChannel).QueryRow(func(row pgx.Row) error {
		var notified any
		return row.Scan(&version.gold, &notified)
	})
	queueDirectoryVersion(b, tenantID, version)
}

// queueDirectoryVersion queues on b the read of the tenant's directory
// version if this transaction has changed it (else version.directory
// stays 0), for this instance's viewers: every instance learns it from
// the notification a trigger sends at commit
// (migrations/00038_directory_versions.sql), a few milliseconds later.
// Queue it after the transaction's last change to learners, courses or
// org_closure.
func queueDirectoryVersion(b *pgx.Batch, tenantID int64, version *committedVersions) {
	b.Queue(`SELECT version FROM directory_versions WHERE tenant_id = $1 AND xact = pg_current_xact_id()::text::bigint`,
		tenantID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			if err := rows.Scan(&version.directory); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// newVersion runs newVersionSQL on its own.
func newVersion(ctx context.Context, tx pgx.Tx, tenantID int64, version *committedVersions) error {
	var b pgx.Batch
	queueNewVersion(&b, tenantID, nil, version)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("new gold version: %w", err)
	}
	return nil
}
