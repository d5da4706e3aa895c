// Package testdb gives each test a fresh, migrated PostgreSQL database of its
// own, cloned from a template database, on a real server: the one named by
// LEARNLENS_TEST_DATABASE_URL (make test starts one cluster for the whole
// run) or else a private cluster that Run starts for the test binary.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/devdb"
	"github.com/learnlens/learnlens/migrations"
)

// EnvURL names the variable holding a superuser URL of the test server.
const EnvURL = "LEARNLENS_TEST_DATABASE_URL"

// lockKey serialises template creation and cloning across test binaries.
const lockKey = 7716220411

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// Run starts a private cluster when EnvURL is unset, runs the tests and stops
// the cluster. Call it from TestMain: os.Exit(testdb.Run(m)).
func Run(m *testing.M) int {
	if os.Getenv(EnvURL) != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "learnlens-testdb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	c, err := devdb.Start(context.Background(), devdb.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 1
	}
	defer c.Stop()
	os.Setenv(EnvURL, c.URL("postgres"))
	return m.Run()
}

// New returns the application's connections (logged in as learnlens_app
// and learnlens_platform) on a fresh migrated database that is dropped when
// the test ends.
func New(t testing.TB) *database.DB {
	t.Helper()
	return Open(t, NewURL(t))
}

// Open returns the application's connections to the database of
// superuserURL (from NewURL), closed when the test ends.
func Open(t testing.TB, superuserURL string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), Logins(superuserURL))
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Logins returns the app's two logins to the database of superuserURL, a
// superuser URL of the test server: the same server and database as the roles
// learnlens_app and learnlens_platform, which the test server (a devdb
// cluster) trusts without a password.
func Logins(superuserURL string) database.Logins {
	return database.Logins{App: withUser(superuserURL, database.AppRole), Platform: withUser(superuserURL, database.PlatformRole)}
}

// NewURL creates a fresh migrated database and returns its superuser URL,
// for tests that need the owner (seeding, migrations) as well as the app.
func NewURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		t.Fatalf("testdb: %s is unset; call testdb.Run from TestMain or run make test", EnvURL)
	}
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(admin) })
	if templateErr != nil {
		t.Fatalf("testdb: template: %v", templateErr)
	}
	name := "t_" + randomHex(8)
	err := withLock(admin, func(db *sql.DB) error {
		_, err := db.Exec(fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, templateName))
		return err
	})
	if err != nil {
		t.Fatalf("testdb: clone template: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err == nil {
			db.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
			db.Close()
		}
	})
	return withDatabase(admin, name)
}

// ensureTemplate creates and migrates the template database named after a
// hash of the migrations, unless an earlier test binary already did.
func ensureTemplate(admin string) (string, error) {
	name := "tmpl_" + migrationsHash()
	err := withLock(admin, func(db *sql.DB) error {
		var exists bool
		if err := db.QueryRow(`SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		building := name + "_building"
		if _, err := db.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building)); err != nil {
			return err
		}
		if _, err := db.Exec(fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
			return err
		}
		if err := database.Migrate(context.Background(), withDatabase(admin, building), "up", io.Discard); err != nil {
			return err
		}
		_, err := db.Exec(fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, name))
		return err
	})
	return name, err
}

func withLock(admin string, fn func(*sql.DB) error) error {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the advisory lock belongs to one session
	if _, err := db.Exec(`SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return err
	}
	defer db.Exec(`SELECT pg_advisory_unlock($1)`, lockKey)
	return fn(db)
}

func withDatabase(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func withUser(rawURL, user string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	u.User = url.User(user)
	return u.String()
}

func migrationsHash() string {
	h := sha256.New()
	fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(migrations.FS, path)
		fmt.Fprintf(h, "%s\x00%s\x00", path, b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Superuser opens a superuser connection to db's database, for what the
// app role may not do (kill a backend, read statistics, bypass RLS). It
// is closed when the test ends.
func Superuser(t testing.TB, db *database.DB) *sql.DB {
	t.Helper()
	admin, err := sql.Open("pgx", superuserURL(t, db))
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	return admin
}

// SuperuserPool is Superuser as a pgx pool (a bulk load's direct login,
// say).
func SuperuserPool(t testing.TB, db *database.DB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), superuserURL(t, db))
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// superuserURL is a superuser URL of db's database.
func superuserURL(t testing.TB, db *database.DB) string {
	t.Helper()
	var name string
	if err := db.SQL().QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return withDatabase(os.Getenv(EnvURL), name)
}

// KillListeners terminates the backends of db's database that LISTEN, as
// a database restart would, and returns how many there were.
func KillListeners(t testing.TB, db *database.DB) int {
	t.Helper()
	var killed int
	if err := Superuser(t, db).QueryRow(`SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&killed); err != nil {
		t.Fatalf("testdb: kill listeners: %v", err)
	}
	return killed
}
