// Package database opens LearnLens's PostgreSQL connections, applies the
// migrations, and runs request work in transactions scoped to one tenant so
// that Row Level Security applies to every query.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
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
type DB struct {
	gorm *gorm.DB
	sql  *sql.DB
}

// Open connects to url and switches each new connection to AppRole.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	sqlDB := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "SET ROLE "+AppRole)
		return err
	}))
	sqlDB.SetMaxOpenConns(40)
	sqlDB.SetMaxIdleConns(20)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to database as %s (have the migrations run?): %w", AppRole, err)
	}
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		TranslateError:         true,
	})
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open gorm: %w", err)
	}
	return &DB{gorm: g, sql: sqlDB}, nil
}

// SQL returns the pool as *sql.DB, for libraries that need one (the session
// store). Its connections run as AppRole too.
func (db *DB) SQL() *sql.DB { return db.sql }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// Close closes the pool.
func (db *DB) Close() error { return db.sql.Close() }

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
