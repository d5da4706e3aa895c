package tests

import (
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/devdb"
	"github.com/learnlens/learnlens/migrations"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
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

// TestMakeRunOnAPrivateCluster is a developer's `make run` on a machine
// with no database set up: with DATABASE_URL unset every command uses a
// private cluster under DATA_DIR (PostgreSQL found where Debian puts it).
// migrate status, up and down work on it;
// `serve --dev` on demo tenants that already have statements (a second
// make run) keeps them, makes a TOKEN_KEY under DATA_DIR, prints the demo
// logins and answers; `keys list` afterwards opens the keys with that
// TOKEN_KEY.
func TestMakeRunOnAPrivateCluster(t *testing.T) {
	t.Parallel()
	dataDir := clusterDir(t, "learnlens-run-")
	devPort := freePort(t)
	// PostgreSQL's server binaries are not on a Debian user's PATH: the
	// commands find them under /usr/lib/postgresql/*/bin.
	env := []string{"DATA_DIR=" + dataDir, "DEV_DB_PORT=" + strconv.Itoa(devPort), "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if _, err := os.Stat("/usr/lib/postgresql"); err != nil {
		t.Fatalf("this test runs PostgreSQL from /usr/lib/postgresql/*/bin, as Debian installs it: %v", err)
	}
	// The cluster is stopped at the end of each command; a failed test
	// may leave one running.
	t.Cleanup(func() { learnlens(t, nil, "devdb", "stop", "--dir", filepath.Join(dataDir, "postgres")) })

	newest := newestMigration(t)
	r := learnlens(t, env, "migrate", "status")
	r.want(t, "migrate status on a fresh cluster", 0, "pending")
	r.want(t, "migrate status on a fresh cluster", 0, "running instances (seen in the last 30 s):\n  none")
	learnlens(t, env, "migrate", "up").want(t, "migrate up", 0, "migrated up 00001_")
	learnlens(t, env, "migrate", "down").want(t, "migrate down", 0, "migrated down "+newest)
	r = learnlens(t, env, "migrate", "status")
	if !regexp.MustCompile(`(?m)^\S+\s+`+newest+`\S*\s+pending$`).MatchString(r.stdout) || strings.Count(r.stdout, "pending") != 1 {
		t.Errorf("migrate status after down: want %s alone pending:\n%s", newest, r.stdout)
	}
	learnlens(t, env, "migrate", "up").want(t, "migrate up after down", 0, "migrated up "+newest)
	learnlens(t, env, "migrate", "sideways").want(t, "an unknown migrate action", 1, `unknown migrate command "sideways"`)

	// The demo tenants, each with a statement, as an earlier make run
	// leaves them.
	ctx := context.Background()
	cluster, err := devdb.Start(ctx, devdb.Options{Dir: filepath.Join(dataDir, "postgres"), Port: devPort})
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(ctx, database.Logins{App: cluster.URLAs(database.AppRole, "learnlens"), Platform: cluster.URLAs(database.PlatformRole, "learnlens")})
	if err != nil {
		cluster.Stop()
		t.Fatal(err)
	}
	if _, err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}
	srv := testserver.StartOn(t, db)
	for _, tenant := range []string{"acme", "globex"} {
		if code := postDemoStatement(t, srv.URL("127.0.0.1", "/xapi/statements"), tenant); code != http.StatusOK {
			t.Fatalf("a statement for %s: status %d", tenant, code)
		}
	}
	srv.Down()
	db.Close()
	cluster.Stop()

	port := freePort(t)
	cmd := exec.Command(learnlensBinary(t), "serve", "--dev")
	cmd.Env = commandEnv(t, append(env, "PORT="+strconv.Itoa(port)))
	var out bytes.Buffer
	w := &lockedWriter{w: &out}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.Now().Add(2 * time.Minute)
	for status, _ := getStatus("http://127.0.0.1:" + strconv.Itoa(port) + "/readyz"); status != http.StatusOK; status, _ = getStatus("http://127.0.0.1:" + strconv.Itoa(port) + "/readyz") {
		select {
		case err := <-exited:
			t.Fatalf("serve --dev exited before it was ready: %v\n%s", err, w.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve --dev not ready after 2 minutes:\n%s", w.String())
		}
	}
	if code := postDemoStatement(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/xapi/statements", "acme"); code != http.StatusOK {
		t.Errorf("serve --dev: a statement with the printed acme credential: status %d", code)
	}
	stopBySIGTERM(t, cmd, exited, "serve --dev", w.String)
	log := w.String()
	for _, want := range []string{"LearnLens is running.", "platform@learnlens.test", "key acme-demo-key", "shutting down"} {
		if !strings.Contains(log, want) {
			t.Errorf("serve --dev's output lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "loading demo learning data") {
		t.Errorf("serve --dev loaded the demo data again into tenants that have statements:\n%s", log)
	}
	key, err := os.Stat(filepath.Join(dataDir, "token.key"))
	if err != nil || key.Mode().Perm() != 0o600 {
		t.Errorf("serve --dev's TOKEN_KEY file: %v, %v; want one only its owner reads", key, err)
	}
	learnlens(t, env, "keys", "rotate").want(t, "keys rotate with DATA_DIR's TOKEN_KEY", 0, "new signing key ")
	learnlens(t, env, "keys", "list").want(t, "keys list with DATA_DIR's TOKEN_KEY", 0, "current")
	learnlens(t, append(env, "TOKEN_KEY="+strings.Repeat("cd", 32)), "keys", "list").
		want(t, "keys list with another TOKEN_KEY", 1, "is this the servers' TOKEN_KEY?")
}

// newestMigration is the file name prefix ("00029_") of this release's
// newest migration.
func newestMigration(t *testing.T) string {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v", err)
	}
	sort.Strings(names)
	n, _, _ := strings.Cut(names[len(names)-1], "_")
	return n + "_"
}

// postDemoStatement posts a statement with the demo xAPI credential of
// tenant (seed.PrintLogins prints it) and returns the status.
func postDemoStatement(t *testing.T, url, tenant string) int {
	t.Helper()
	return postCompletion(t, url, tenant+"-demo-key", tenant+"-demo-secret", "dev@"+tenant+".test")
}

// postCompletion posts a completion by email of a course to the xAPI
// endpoint url with the credential key and secret, and returns the status.
func postCompletion(t *testing.T, url, key, secret, email string) int {
	t.Helper()
	body := `{"actor":{"mbox":"mailto:` + email + `"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://lms.dev.test/courses/1"}}`
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.SetBasicAuth(key, secret)
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
