// Package database opens LearnLens's PostgreSQL connections, applies the
// migrations, and runs request work in transactions scoped to one tenant so
// that Row Level Security applies to every query.
package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// AppRole is the PostgreSQL role the application's queries run as. It does
// not bypass Row Level Security; the migrations create it.
const AppRole = "learnlens_app"

// DB is the application's connection pool. Every connection has switched to
// AppRole, so whatever user DATABASE_URL names, queries are subject to RLS.
// GORM and database/sql users share the pgx pool, which bulk work (COPY)
// uses directly.
type DB struct {
	gorm *gorm.DB
	sql  *sql.DB
	pool *pgxpool.Pool
}

// Open connects to url and switches each new connection to AppRole.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if cfg.MaxConns < 20 {
		cfg.MaxConns = 20
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "SET ROLE "+AppRole)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database as %s (have the migrations run?): %w", AppRole, err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		TranslateError:         true,
	})
	if err != nil {
		sqlDB.Close()
		pool.Close()
		return nil, fmt.Errorf("open gorm: %w", err)
	}
	return &DB{gorm: g, sql: sqlDB, pool: pool}, nil
}

// SQL returns the pool as *sql.DB, for libraries that need one (the session
// store). Its connections run as AppRole too.
func (db *DB) SQL() *sql.DB { return db.sql }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// PoolStat reports the pool's connections: in use, idle, and how many
// acquisitions have had to wait for one so far.
func (db *DB) PoolStat() *pgxpool.Stat { return db.pool.Stat() }

// Close closes the pool.
func (db *DB) Close() error {
	err := db.sql.Close()
	db.pool.Close()
	return err
}

// TenantTx runs fn in a pgx transaction scoped to tenantID, like Tenant, for
// bulk work that needs pgx itself (COPY, batches).
func (db *DB) TenantTx(ctx context.Context, tenantID int64, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", strconv.FormatInt(tenantID, 10)); err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
		return fn(tx)
	})
}

// TenantSnapshot is TenantTx for reading: a READ ONLY, REPEATABLE READ
// transaction, so every query of fn sees the same snapshot.
func (db *DB) TenantSnapshot(ctx context.Context, tenantID int64, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", strconv.FormatInt(tenantID, 10)); err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
		return fn(tx)
	})
}

// PlatformTx is Platform for pgx work.
func (db *DB) PlatformTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.platform', 'on', true)"); err != nil {
			return fmt.Errorf("set platform: %w", err)
		}
		return fn(tx)
	})
}

// Tenant runs fn in a transaction in which only tenantID's rows are visible
// and writable. fn must use the tx it is given.
func (db *DB) Tenant(ctx context.Context, tenantID int64, fn func(tx *gorm.DB) error) error {
	return db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT set_config('app.tenant_id', ?, true)", strconv.FormatInt(tenantID, 10)).Error; err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
		return fn(tx)
	})
}

// Platform runs fn in a transaction that sees every tenant's rows. It is for
// platform-level work only: resolving a request's host to its tenant, the
// platform admin's pages, seeding. Tenant requests never use it.
func (db *DB) Platform(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT set_config('app.platform', 'on', true)").Error; err != nil {
			return fmt.Errorf("set platform: %w", err)
		}
		return fn(tx)
	})
}

// Unscoped runs fn in a transaction with no tenant set, in which every
// tenant-owned table reads as empty. Tests use it to prove that.
func (db *DB) Unscoped(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return db.gorm.WithContext(ctx).Transaction(fn)
}

// Connect opens a connection of its own outside the pool, running as
// AppRole, for work that holds a connection for long (LISTEN).
func (db *DB) Connect(ctx context.Context) (*pgx.Conn, error) {
	cfg := db.pool.Config().ConnConfig.Copy()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "SET ROLE "+AppRole); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("set role: %w", err)
	}
	return conn, nil
}

// Notify sends payload on a PostgreSQL notification channel, outside any
// transaction (it is delivered at once).
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	_, err := db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	return err
}

// Unavailable reports whether err means the database could not be reached
// or dropped the connection (a restart, a failover, connections refused),
// rather than a fault of the query: the request may succeed if tried again
// shortly, so it deserves a 503, not a 500.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) || errors.Is(err, driver.ErrBadConn) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// 08: connection exception; 57P01–57P03: shut down by an
		// administrator, a crash, or still starting; 53300: too many
		// connections.
		return strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "57P0") || pg.Code == "53300"
	}
	// A socket that failed, or a connection pgx found closed under it
	// (its peer hung up earlier).
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, pgconn.ErrConnClosed)
}
