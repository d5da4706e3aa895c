package database_test

import (
	"context"
	"database/sql"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// seedTwoTenants inserts tenants a and b with one user each, as the platform.
func seedTwoTenants(t *testing.T, db *database.DB) (a, b int64) {
	t.Helper()
	ctx := context.Background()
	err := db.Platform(ctx, func(tx *gorm.DB) error {
		for _, slug := range []string{"a", "b"} {
			var id int64
			if err := tx.Raw(`INSERT INTO tenants (slug, name) VALUES (?, ?) RETURNING id`, slug, "Tenant "+slug).Scan(&id).Error; err != nil {
				return err
			}
			if err := tx.Exec(`INSERT INTO users (tenant_id, email, name, role, password_hash) VALUES (?, ?, 'U', 'learner', 'x')`, id, "u@"+slug+".test").Error; err != nil {
				return err
			}
			if slug == "a" {
				a = id
			} else {
				b = id
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestEveryTenantTableForcesRLSAndHidesRowsWithoutATenant finds every table
// with a tenant_id column, so a new table without RLS fails it.
func TestEveryTenantTableForcesRLSAndHidesRowsWithoutATenant(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seedTwoTenants(t, db)
	ctx := context.Background()
	type table struct {
		Name          string
		RLS, ForceRLS bool
	}
	var tables []table
	err := db.Unscoped(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT c.relname AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind = 'r'
			  AND (EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
			       OR c.relname = 'tenants')
			ORDER BY 1`).Scan(&tables).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 5 {
		t.Fatalf("found only %d tenant tables", len(tables))
	}
	for _, tb := range tables {
		if !tb.RLS || !tb.ForceRLS {
			t.Errorf("%s: row level security enabled=%v forced=%v, want both", tb.Name, tb.RLS, tb.ForceRLS)
		}
		var n int64
		if err := db.Unscoped(ctx, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT count(*) FROM ` + tb.Name).Scan(&n).Error
		}); err != nil {
			t.Fatalf("%s: %v", tb.Name, err)
		}
		if n != 0 {
			t.Errorf("%s: %d rows visible with no tenant set, want 0", tb.Name, n)
		}
	}
}

func TestRLSTenantSeesOnlyItsOwnRows(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	a, b := seedTwoTenants(t, db)
	ctx := context.Background()
	var emails []string
	err := db.Tenant(ctx, a, func(tx *gorm.DB) error {
		// No WHERE clause on purpose: RLS alone must hide tenant b.
		return tx.Raw(`SELECT email FROM users ORDER BY email`).Scan(&emails).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(emails) != 1 || emails[0] != "u@a.test" {
		t.Fatalf("tenant a sees users %v, want only u@a.test", emails)
	}
	// Asking for b's rows by id from a's transaction finds nothing.
	var n int64
	db.Tenant(ctx, a, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM users WHERE tenant_id = ?`, b).Scan(&n).Error
	})
	if n != 0 {
		t.Errorf("tenant a counted %d of tenant b's users, want 0", n)
	}
	// Writing a row for b from a's transaction is refused.
	err = db.Tenant(ctx, a, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO users (tenant_id, email, name, role, password_hash) VALUES (?, 'x@b.test', 'X', 'learner', 'x')`, b).Error
	})
	if err == nil {
		t.Error("tenant a inserted a user into tenant b")
	}
	// Updates from a cannot touch b's rows either.
	var touched int64
	db.Tenant(ctx, a, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE users SET name = 'hijacked'`)
		touched = res.RowsAffected
		return res.Error
	})
	if touched != 1 {
		t.Errorf("tenant a's unrestricted UPDATE touched %d rows, want its own 1", touched)
	}
}

func TestAppRoleDoesNotBypassRLS(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	var role string
	var bypass, super bool
	err := db.Unscoped(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT current_user, rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user`).Row().Scan(&role, &bypass, &super)
	})
	if err != nil {
		t.Fatal(err)
	}
	if role != database.AppRole || bypass || super {
		t.Errorf("queries run as %s (bypassrls=%v, superuser=%v), want %s without either", role, bypass, super, database.AppRole)
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	a, _ := seedTwoTenants(t, db)
	ctx := context.Background()
	if err := db.Tenant(ctx, a, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO audit_log (tenant_id, action) VALUES (?, 'test')`, a).Error
	}); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`UPDATE audit_log SET action = 'x'`, `DELETE FROM audit_log`} {
		if err := db.Tenant(ctx, a, func(tx *gorm.DB) error { return tx.Exec(stmt).Error }); err == nil {
			t.Errorf("%s succeeded; the audit log must be append-only for the app", stmt)
		}
	}
}

func TestMigrationsGoDownAndUpAgain(t *testing.T) {
	t.Parallel()
	url := testdb.NewURL(t)
	ctx := context.Background()
	var out strings.Builder
	for _, cmd := range []string{"status", "down", "up", "status"} {
		if err := database.Migrate(ctx, url, cmd, &out); err != nil {
			t.Fatalf("migrate %s: %v\n%s", cmd, err, out.String())
		}
	}
	if !strings.Contains(out.String(), "migrated down ") || !strings.Contains(out.String(), "migrated up ") {
		t.Errorf("unexpected migrate output:\n%s", out.String())
	}
	if err := database.Migrate(ctx, url, "sideways", &out); err == nil {
		t.Error("an unknown migrate command was accepted")
	}
}

// tenantTables lists every table of the schema with a tenant_id column,
// and tenants itself, with the column that names the tenant.
func tenantTables(t *testing.T, db *database.DB) map[string]string {
	t.Helper()
	var names []string
	err := db.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind = 'r'
			  AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)`).Scan(&names).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{"tenants": "id"}
	for _, n := range names {
		tables[n] = "tenant_id"
	}
	return tables
}

// TestAppLoginCannotBecomeAnythingElse checks the app's own login, not a
// role it switched to: a connection of the app pool can neither reset
// nor set its role to the schema's owner or the platform role.
func TestAppLoginCannotBecomeAnythingElse(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	conn, err := db.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var login, role string
	var super, bypass bool
	var owned int
	if err := conn.QueryRow(ctx, `SELECT session_user, current_user, rolsuper, rolbypassrls,
			(SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid)
		FROM pg_roles r WHERE rolname = session_user`).Scan(&login, &role, &super, &bypass, &owned); err != nil {
		t.Fatal(err)
	}
	if login != database.AppRole || role != database.AppRole || super || bypass || owned != 0 {
		t.Fatalf("the app logs in as %s and runs as %s (superuser=%v, bypassrls=%v, owns %d relations), want %s, neither, owning nothing",
			login, role, super, bypass, owned, database.AppRole)
	}
	if _, err := conn.Exec(ctx, `RESET ROLE`); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT current_user`).Scan(&role); err != nil || role != database.AppRole {
		t.Errorf("after RESET ROLE the app runs as %s (%v), want %s", role, err, database.AppRole)
	}
	var owner string
	if err := conn.QueryRow(ctx, `SELECT tableowner FROM pg_tables WHERE tablename = 'users'`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`SET ROLE ` + database.PlatformRole,
		`SET ROLE ` + owner,
		`SET SESSION AUTHORIZATION ` + owner,
		`SET SESSION AUTHORIZATION ` + database.PlatformRole,
	} {
		if _, err := conn.Exec(ctx, stmt); err == nil {
			t.Errorf("%s succeeded on the app's connection", stmt)
		}
	}
}

// TestPlatformSettingOpensNoOtherTenant is what one SQL injection in a
// tenant's transaction could try: turning the old platform switch on. No
// tenant table may show another tenant's row.
func TestPlatformSettingOpensNoOtherTenant(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	a, b := seedTwoTenants(t, db)
	ctx := context.Background()
	for table, col := range tenantTables(t, db) {
		var n int64
		err := db.Tenant(ctx, a, func(tx *gorm.DB) error {
			if err := tx.Exec(`SELECT set_config('app.platform', 'on', true)`).Error; err != nil {
				return err
			}
			return tx.Raw(`SELECT count(*) FROM `+table+` WHERE `+col+` <> ?`, a).Scan(&n).Error
		})
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n != 0 {
			t.Errorf("%s: tenant %d's transaction with app.platform on sees %d rows of other tenants", table, a, n)
		}
	}
	// Without a tenant, the switch shows nothing either.
	var users int64
	err := db.Unscoped(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT set_config('app.platform', 'on', true)`).Error; err != nil {
			return err
		}
		return tx.Raw(`SELECT count(*) FROM users`).Scan(&users).Error
	})
	if err != nil || users != 0 {
		t.Errorf("the app with app.platform on and no tenant sees %d users (%v), want 0", users, err)
	}
	// The rows are there: tenant b's user, for the platform login.
	err = db.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM users WHERE tenant_id = ?`, b).Scan(&users).Error
	})
	if err != nil || users != 1 {
		t.Errorf("the platform sees %d of tenant b's users (%v), want 1", users, err)
	}
}

// TestPlatformSeesAndWritesEveryTenant: platform-level work (seeding,
// host resolution, the platform admin's pages) still spans tenants, with
// GORM and with pgx.
func TestPlatformSeesAndWritesEveryTenant(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	a, b := seedTwoTenants(t, db)
	ctx := context.Background()
	var viaGORM, viaPGX int64
	err := db.Platform(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE users SET name = 'Renamed' WHERE tenant_id IN (?, ?)`, a, b).Error; err != nil {
			return err
		}
		return tx.Raw(`SELECT count(*) FROM users WHERE name = 'Renamed'`).Scan(&viaGORM).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.PlatformTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM tenants WHERE id IN ($1, $2)`, a, b).Scan(&viaPGX)
	})
	if err != nil {
		t.Fatal(err)
	}
	if viaGORM != 2 || viaPGX != 2 {
		t.Errorf("the platform renamed %d users and sees %d tenants, want 2 and 2", viaGORM, viaPGX)
	}
}

// TestOpenRefusesLoginsThatSeeTooMuch: a deployment that gives the app the
// owner's, a superuser's or the platform's login for DATABASE_URL would
// have no tenant isolation; it does not start.
func TestOpenRefusesLoginsThatSeeTooMuch(t *testing.T) {
	t.Parallel()
	url := testdb.NewURL(t)
	good := testdb.Logins(url)
	ctx := context.Background()
	for name, logins := range map[string]database.Logins{
		"superuser as the app": {App: url, Platform: good.Platform},
		"platform as the app":  {App: good.Platform, Platform: good.Platform},
		"app as the platform":  {App: good.App, Platform: good.App},
	} {
		db, err := database.Open(ctx, logins)
		if err == nil {
			db.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
	db, err := database.Open(ctx, good)
	if err != nil {
		t.Fatalf("the right logins: %v", err)
	}
	db.Close()
}

// TestOwnerWhoIsNoSuperuserRunsTheMigrations follows docs/SECURITY.md's
// set-up on a database whose owner is an ordinary role: the migrations run
// as the owner, the app's two logins start, the owner cannot stand in for
// the app, and FORCE ROW LEVEL SECURITY still lets the owner (a member of
// the platform role) see every tenant, for backfills.
func TestOwnerWhoIsNoSuperuserRunsTheMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	su, err := sql.Open("pgx", os.Getenv(testdb.EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close()
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	owner, name := "owner_"+suffix, "ops_"+suffix
	for _, stmt := range []string{
		`CREATE ROLE ` + owner + ` LOGIN PASSWORD 'owner-secret'`,
		`GRANT learnlens_app TO learnlens_platform`,
		`GRANT learnlens_app, learnlens_platform TO ` + owner,
		`CREATE DATABASE ` + name + ` OWNER ` + owner,
	} {
		if _, err := su.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		su, _ := sql.Open("pgx", os.Getenv(testdb.EnvURL))
		defer su.Close()
		su.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`)
		su.Exec(`DROP ROLE ` + owner)
	})
	u, err := url.Parse(os.Getenv(testdb.EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	inDB, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer inDB.Close()
	for _, stmt := range []string{`ALTER SCHEMA public OWNER TO ` + owner, `REVOKE CREATE ON SCHEMA public FROM PUBLIC`} {
		if _, err := inDB.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	inDB.Close()
	u.User = url.User(owner)
	ownerURL := u.String()
	if err := database.Migrate(ctx, ownerURL, "up", io.Discard); err != nil {
		t.Fatalf("migrate as %s: %v", owner, err)
	}
	if db, err := database.Open(ctx, database.Logins{App: ownerURL, Platform: testdb.Logins(ownerURL).Platform}); err == nil {
		db.Close()
		t.Error("Open accepted the schema's owner as the app's login")
	}
	db, err := database.Open(ctx, testdb.Logins(ownerURL))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, b := seedTwoTenants(t, db)
	owned, err := sql.Open("pgx", ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owned.Close()
	var n int64
	if err := owned.QueryRow(`SELECT count(*) FROM users WHERE tenant_id IN ($1, $2)`, a, b).Scan(&n); err != nil || n != 2 {
		t.Errorf("the owner sees %d of the two tenants' users (%v), want 2", n, err)
	}
}

// TestConnectionsRunWithoutJIT: the app's connections compile no query
// (database.connect), whatever the server's default.
func TestConnectionsRunWithoutJIT(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	var jit string
	err := db.Unscoped(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT current_setting('jit')`).Row().Scan(&jit)
	})
	if err != nil {
		t.Fatal(err)
	}
	if jit != "off" {
		t.Errorf("jit is %q on the app's connections, want off", jit)
	}
}
