package tests

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/seed"
)

// TestImportFromTheCommandLine is an operator loading an HR roster with
// `learnlens import`: a dry run reports the bad row by file, line and
// column and changes nothing; --all-or-nothing refuses the file (exit 1)
// and changes nothing; the default applies the valid rows. Then silver and
// gold are rebuilt from the command line.
func TestImportFromTheCommandLine(t *testing.T) {
	t.Parallel()
	env, superuser := databaseEnv(t)
	db := testdb.Open(t, superuser)
	if _, err := seed.Demo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.csv")
	if err := os.WriteFile(roster, []byte("Employee ID,Email,Name,Department,Manager ID\n"+
		"CLI1,cara@cli.test,Cara Chief,Board,\n"+
		"CLI2,sam@cli.test,Sam Sales,Sales,CLI1\n"+
		"CLI3,not-an-email,Bo Bad,Sales,CLI1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rostered := func() (n int64) {
		t.Helper()
		err := db.Platform(context.Background(), func(tx *gorm.DB) error {
			return tx.Raw(`SELECT count(*) FROM learners l JOIN tenants t ON t.id = l.tenant_id
				WHERE t.slug = 'acme' AND l.employee_id LIKE 'CLI%'`).Scan(&n).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	importArgs := func(extra ...string) []string {
		return append(append([]string{"import", "--tenant", "acme", "--kind", "roster"}, extra...), roster)
	}

	r := learnlens(t, env, importArgs("--dry-run")...)
	r.want(t, "import --dry-run", 0, "roster.csv line 4, column email")
	r.want(t, "import --dry-run", 0, "roster.csv: would apply 2 of 3 rows")
	if n := rostered(); n != 0 {
		t.Errorf("a dry run wrote %d people", n)
	}
	r = learnlens(t, env, importArgs("--all-or-nothing")...)
	r.want(t, "import --all-or-nothing with a bad row", 1, "refused the whole file (3 rows) because 1 rows have errors")
	r.want(t, "import --all-or-nothing with a bad row", 1, "learnlens: import refused")
	if n := rostered(); n != 0 {
		t.Errorf("a refused import wrote %d people", n)
	}
	learnlens(t, env, importArgs()...).want(t, "import", 0, "roster.csv: applied 2 of 3 rows")
	if n := rostered(); n != 2 {
		t.Errorf("after the import %d of the file's people are rostered, want 2", n)
	}

	empty := filepath.Join(dir, "empty.csv")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	learnlens(t, env, "import", "--tenant", "acme", "--kind", "roster", empty).want(t, "an empty file", 1, "file is empty")
	learnlens(t, env, "import", "--tenant", "acme", "--kind", "payroll", roster).want(t, "an unknown kind", 1, `unknown import kind "payroll"`)
	learnlens(t, env, "import", "--tenant", "acme", "--kind", "roster", filepath.Join(dir, "missing.csv")).
		want(t, "a file that is not there", 1, "no such file or directory")
	learnlens(t, env, "import", "--tenant", "nosuch", "--kind", "roster", roster).want(t, "import for no tenant", 1, `no tenant "nosuch"`)
	learnlens(t, env, "import", "--bogus").want(t, "import with an unknown flag", 1, "flag provided but not defined: -bogus")

	r = learnlens(t, env, "silver", "rebuild", "--tenant", "acme")
	r.want(t, "silver rebuild", 0, "rebuilt silver for Acme Corp from its learning events")
	r.want(t, "silver rebuild", 0, "rebuilt gold for Acme Corp from silver")
	learnlens(t, env, "silver", "rebuild", "--tenant", "nosuch").want(t, "silver rebuild for no tenant", 1, `no tenant "nosuch"`)
	learnlens(t, env, "silver").want(t, "silver without rebuild", 1, "usage: learnlens silver rebuild --tenant SLUG")
	learnlens(t, env, "tenant", "limits").want(t, "tenant without xapi-limits", 1, "usage: learnlens tenant xapi-limits")
	learnlens(t, env, "tenant", "xapi-limits", "--tenant", "acme", "--burst", "20").
		want(t, "xapi-limits with one flag", 0, "acme: xAPI rate deployment default/s, burst 20, concurrency deployment default per credential")
}
