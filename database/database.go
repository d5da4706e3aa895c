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
	"regexp"
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

// AppRole is the PostgreSQL role the app's tenant-scoped login (Logins.App)
// logs in as: not a superuser, NOBYPASSRLS, owner of nothing, and not a
// member of PlatformRole, so Row Level Security shows it the rows of the
// transaction's app.tenant_id and nothing else.
const AppRole = "learnlens_app"

// PlatformRole is the PostgreSQL role of the platform login
// (Logins.Platform): a policy of its own shows it every tenant's rows. It
// is a member of AppRole, so it has the app's table privileges.
const PlatformRole = "learnlens_platform"

// Logins are the connection URLs of the app's two PostgreSQL logins, and
// optionally of the app login on a streaming replica.
type Logins struct {
	App      string // logs in as AppRole: tenant requests, sessions, LISTEN
	Platform string // logs in as PlatformRole: Platform and PlatformTx only
	// Read logs in as AppRole on a streaming replica of App's database
	// (DATABASE_READ_URL), for ReplicaSnapshot; "" when there is none.
	Read string
}

// DB is the application's connections: a pool logged in as AppRole, whose
// every query is bound to one tenant by Row Level Security, and a pool
// logged in as PlatformRole for platform-level work. An SQL injection in a
// tenant's transaction reaches only the first: no setting, SET ROLE or
// RESET ROLE can widen what it sees. GORM and database/sql users share
// each pgx pool, which bulk work (COPY) uses directly.
type DB struct {
	app, platform conns
	read          *conns // the replica's AppRole pool; nil without a replica
}

// conns is one login's pgx pool with GORM and database/sql on top of it.
type conns struct {
	gorm *gorm.DB
	sql  *sql.DB
	pool *pgxpool.Pool
}

// Open connects both logins and checks that each is the role it must be:
// it refuses an app login that could see more than one tenant (a
// superuser, a BYPASSRLS role, a table owner or a member of PlatformRole),
// since that would silently turn tenant isolation off.
func Open(ctx context.Context, logins Logins) (*DB, error) {
	app, err := connect(ctx, logins.App, checkAppLogin)
	if err != nil {
		return nil, fmt.Errorf("app login: %w", err)
	}
	platform, err := connect(ctx, logins.Platform, checkPlatformLogin)
	if err != nil {
		app.close()
		return nil, fmt.Errorf("platform login: %w", err)
	}
	db := &DB{app: app, platform: platform}
	if logins.Read != "" {
		read, err := connect(ctx, logins.Read, checkAppLogin)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("read login (DATABASE_READ_URL): %w", err)
		}
		db.read = &read
	}
	return db, nil
}

// checkAppLogin fails unless the login is confined to one tenant's rows.
const checkAppLogin = `SELECT CASE
	WHEN r.rolsuper OR r.rolbypassrls THEN 'is a superuser or bypasses row level security'
	WHEN pg_has_role(current_user, '` + PlatformRole + `', 'MEMBER') THEN 'can become ` + PlatformRole + `'
	WHEN EXISTS (SELECT FROM pg_class c WHERE c.relowner = r.oid) THEN 'owns tables, whose row level security it could turn off'
	ELSE '' END
	FROM pg_roles r WHERE r.rolname = current_user`

// checkPlatformLogin fails unless the login has PlatformRole's policy.
const checkPlatformLogin = `SELECT CASE WHEN pg_has_role(current_user, '` + PlatformRole + `', 'USAGE') THEN ''
	ELSE 'is not ` + PlatformRole + `' END`

// connect opens a pool on url and runs check, a query returning why the
// login is unfit, or an empty string when it is fit.
func connect(ctx context.Context, url, check string) (conns, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return conns{}, fmt.Errorf("parse database url: %w", err)
	}
	if cfg.MaxConns < 20 {
		cfg.MaxConns = 20
	}
	// JIT off unless the URL asks for it: LearnLens's queries read tens of
	// thousands of pre-aggregated rows at most, where compiling costs more
	// than it saves, and the planner's cost (not the work) decides when it
	// compiles: a drill-down's teams took 40 ms of compiling for 70 ms of
	// work on a 90,000-person tenant (docs/PERFORMANCE.md, "10M statements").
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return conns{}, fmt.Errorf("open pool: %w", err)
	}
	var user, unfit string
	if err := pool.QueryRow(ctx, `SELECT current_user, (`+check+`)`).Scan(&user, &unfit); err != nil {
		pool.Close()
		return conns{}, fmt.Errorf("connect to database (have the migrations run?): %w", err)
	}
	if unfit != "" {
		pool.Close()
		return conns{}, fmt.Errorf("refusing to run as %s: it %s (docs/SECURITY.md says how to create the roles)", user, unfit)
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
		return conns{}, fmt.Errorf("open gorm: %w", err)
	}
	return conns{gorm: g, sql: sqlDB, pool: pool}, nil
}

func (c conns) close() error {
	err := c.sql.Close()
	c.pool.Close()
	return err
}

// SQL returns the app's pool as *sql.DB, for libraries that need one (the
// session store). Its connections are AppRole's too.
func (db *DB) SQL() *sql.DB { return db.app.sql }

// Ping checks that the database answers both logins.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.app.sql.PingContext(ctx); err != nil {
		return err
	}
	// Host resolution and xAPI key look-ups go through the platform
	// login: without it a server answers little but its cache.
	if err := db.platform.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("platform login: %w", err)
	}
	return nil
}

// PoolStat reports the app pool's connections: in use, idle, and how
// many acquisitions have had to wait for one so far.
func (db *DB) PoolStat() *pgxpool.Stat { return db.app.pool.Stat() }

// Close closes the pools.
func (db *DB) Close() error {
	err := db.app.close()
	if perr := db.platform.close(); err == nil {
		err = perr
	}
	if db.read != nil {
		if rerr := db.read.close(); err == nil {
			err = rerr
		}
	}
	return err
}

// TenantTx runs fn in a pgx transaction scoped to tenantID, like Tenant, for
// bulk work that needs pgx itself (COPY, batches).
func (db *DB) TenantTx(ctx context.Context, tenantID int64, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.app.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", strconv.FormatInt(tenantID, 10)); err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
		return fn(tx)
	})
}

// TenantSnapshot is TenantTx for reading: a READ ONLY, REPEATABLE READ
// transaction, so every query of fn sees the same snapshot.
func (db *DB) TenantSnapshot(ctx context.Context, tenantID int64, fn func(tx pgx.Tx) error) error {
	return snapshot(ctx, db.app.pool, tenantID, nil, fn)
}

// TenantSnapshotAnd is TenantSnapshot that first runs the statements
// queued on first, in the round trip that sets the tenant (their
// callbacks have run when fn is called): a read's settings and first
// lookups cost no round trip of their own.
func (db *DB) TenantSnapshotAnd(ctx context.Context, tenantID int64, first *pgx.Batch, fn func(tx pgx.Tx) error) error {
	return snapshot(ctx, db.app.pool, tenantID, first, fn)
}

// snapshot runs fn in a READ ONLY, REPEATABLE READ transaction of pool
// scoped to tenantID, after the statements queued on first (nil: none).
func snapshot(ctx context.Context, pool *pgxpool.Pool, tenantID int64, first *pgx.Batch, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var b pgx.Batch
		b.Queue("SELECT set_config('app.tenant_id', $1, true)", strconv.FormatInt(tenantID, 10))
		if first != nil {
			b.QueuedQueries = append(b.QueuedQueries, first.QueuedQueries...)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
		return fn(tx)
	})
}

// TenantTxAtSnapshot is TenantTx in a REPEATABLE READ transaction that
// sees exactly what another transaction's exported snapshot sees
// (pg_export_snapshot, which the other must keep open until this one has
// started): a second connection reading for it, e.g. the two-connection
// gold rebuild.
func (db *DB) TenantTxAtSnapshot(ctx context.Context, tenantID int64, snapshot string, fn func(tx pgx.Tx) error) error {
	if !snapshotID.MatchString(snapshot) {
		return fmt.Errorf("not a snapshot id: %q", snapshot)
	}
	return pgx.BeginTxFunc(ctx, db.app.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		// First in the transaction, and a utility statement: no parameters.
		if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+snapshot+"'"); err != nil {
			return fmt.Errorf("import snapshot: %w", err)
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", strconv.FormatInt(tenantID, 10)); err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
		return fn(tx)
	})
}

// snapshotID is what pg_export_snapshot returns, e.g. 00000003-0000001B-1.
var snapshotID = regexp.MustCompile(`^[0-9A-F]+-[0-9A-F]+-[0-9]+$`)

// PlatformTx is Platform for pgx work.
func (db *DB) PlatformTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.platform.pool, fn)
}

// Tenant runs fn in a transaction in which only tenantID's rows are visible
// and writable. fn must use the tx it is given.
func (db *DB) Tenant(ctx context.Context, tenantID int64, fn func(tx *gorm.DB) error) error {
	return db.app.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT set_config('app.tenant_id', ?, true)", strconv.FormatInt(tenantID, 10)).Error; err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
		return fn(tx)
	})
}

// Platform runs fn in a transaction of the platform login, which sees every
// tenant's rows. It is for platform-level work only: resolving a request's
// host to its tenant, the platform admin's pages, seeding. Tenant requests
// never use it.
func (db *DB) Platform(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return db.platform.gorm.WithContext(ctx).Transaction(fn)
}

// Unscoped runs fn in a transaction of the app login with no tenant set, in
// which every tenant-owned table reads as empty. Tests use it to prove that.
func (db *DB) Unscoped(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return db.app.gorm.WithContext(ctx).Transaction(fn)
}

// Connect opens a connection of the app login outside the pool, for work
// that holds a connection for long (LISTEN).
func (db *DB) Connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, db.app.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
}

// Notify sends payload on a PostgreSQL notification channel, outside any
// transaction (it is delivered at once).
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	_, err := db.app.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
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
