package database_test

import (
	"context"
	"os"
	"strings"
	"testing"

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
