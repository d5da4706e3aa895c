package database

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// LSN is a position in PostgreSQL's write-ahead log (pg_lsn), as a byte
// offset. Zero means unknown.
type LSN uint64

// ParseLSN reads an LSN in PostgreSQL's text form, "16/B374D848".
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("lsn %q: want X/Y", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("lsn %q: %w", s, err)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("lsn %q: %w", s, err)
	}
	return LSN(h<<32 | l), nil
}

// String is the LSN in PostgreSQL's text form.
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

// HasReplica reports whether a read replica is configured (Logins.Read).
func (db *DB) HasReplica() bool { return db.read != nil }

// ReplicaSnapshot is TenantSnapshot on the read replica: the same
// AppRole login, Row Level Security and tenant setting, on a hot standby
// that may trail the primary. Callers check that it has replayed what
// they must show (ReplicaReplayed, and the data's own version) and read
// from the primary otherwise. Without a replica it fails.
func (db *DB) ReplicaSnapshot(ctx context.Context, tenantID int64, fn func(tx pgx.Tx) error) error {
	return db.ReplicaSnapshotAnd(ctx, tenantID, nil, fn)
}

// ReplicaSnapshotAnd is ReplicaSnapshot that first runs the statements
// queued on first, as TenantSnapshotAnd does.
func (db *DB) ReplicaSnapshotAnd(ctx context.Context, tenantID int64, first *pgx.Batch, fn func(tx pgx.Tx) error) error {
	if db.read == nil {
		return errNoReplica
	}
	return snapshot(ctx, db.read.pool, tenantID, first, fn)
}

var errNoReplica = errors.New("no read replica configured (DATABASE_READ_URL)")

// replayedSQL is true once the server has replayed the WAL up to $1. A
// server that is not a standby (a read URL naming a primary, or a replica
// promoted after a failover) has everything it will ever have.
const replayedSQL = `SELECT coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, NOT pg_is_in_recovery())`

// ReplicaReplayed reports whether the replica has replayed the WAL up to
// lsn, so that a transaction that committed at lsn is visible on it.
func (db *DB) ReplicaReplayed(ctx context.Context, lsn LSN) (bool, error) {
	if db.read == nil {
		return false, errNoReplica
	}
	var ok bool
	if err := db.read.pool.QueryRow(ctx, replayedSQL, lsn.String()).Scan(&ok); err != nil {
		return false, fmt.Errorf("replica replay position: %w", err)
	}
	return ok, nil
}

// ReplicaLag returns how many bytes of WAL the primary has written that
// the replica has not replayed yet (0 when it has caught up or is not a
// standby).
func (db *DB) ReplicaLag(ctx context.Context) (int64, error) {
	if db.read == nil {
		return 0, errNoReplica
	}
	var written string
	if err := db.app.pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&written); err != nil {
		return 0, fmt.Errorf("primary wal position: %w", err)
	}
	var lag *int64
	err := db.read.pool.QueryRow(ctx, `SELECT (greatest($1::text::pg_lsn - pg_last_wal_replay_lsn(), 0))::bigint`, written).Scan(&lag)
	if err != nil {
		return 0, fmt.Errorf("replica replay position: %w", err)
	}
	if lag == nil {
		return 0, nil
	}
	return *lag, nil
}

// ReplicaPoolStat reports the replica pool's connections (nil without a
// replica).
func (db *DB) ReplicaPoolStat() *pgxpool.Stat {
	if db.read == nil {
		return nil
	}
	return db.read.pool.Stat()
}
