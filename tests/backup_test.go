package tests

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/devdb"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// TestBackupRestoresIntoAFreshCluster runs the backup and restore of
// docs/OPERATIONS.md: pg_dump of a live database in the custom format,
// pg_restore into a cluster made for the purpose (its roles created as an
// operator creates them), and a server on the restored copy. Every
// dashboard section, for an admin and a manager, answers exactly as it did
// before the backup.
func TestBackupRestoresIntoAFreshCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.NewURL(t)
	db := testdb.Open(t, url)
	if _, err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}
	before := sectionsOf(t, testserver.StartOn(t, db))

	dump := filepath.Join(t.TempDir(), "learnlens.dump")
	if out, err := exec.Command("pg_dump", "--format=custom", "--file="+dump, "--dbname="+url).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	// A fresh cluster has the app's login roles (devdb creates them, as the
	// operator's SQL in docs/SECURITY.md does); the database comes from
	// the dump.
	// (Its directory must be open to the postgres user, which t.TempDir's
	// is not when the tests run as root.)
	dir, err := os.MkdirTemp("", "llbackup-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cluster, err := devdb.Start(ctx, devdb.Options{Dir: filepath.Join(dir, "pg")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Stop() })
	// Roles and their memberships are the cluster's, not the database's:
	// pg_dump has none of them, so they come first (docs/SECURITY.md).
	if out, err := exec.Command("psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--dbname="+cluster.URL("postgres"),
		"-c", "GRANT learnlens_app TO learnlens_platform").CombinedOutput(); err != nil {
		t.Fatalf("roles: %v\n%s", err, out)
	}
	if err := cluster.EnsureDatabase(ctx, "restored"); err != nil {
		t.Fatal(err)
	}
	restored := cluster.URL("restored")
	if out, err := exec.Command("pg_restore", "--exit-on-error", "--dbname="+restored, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	after := sectionsOf(t, testserver.StartOn(t, testdb.Open(t, restored)))

	if len(before) == 0 {
		t.Fatal("no sections read before the backup")
	}
	for key, want := range before {
		if got := after[key]; got != want {
			t.Errorf("%s after the restore:\n got %.300s\nwant %.300s", key, got, want)
		}
	}
}

// sectionsOf reads every dashboard JSON section of acme as its admin and
// its manager, keyed by user and path.
func sectionsOf(t *testing.T, srv *testserver.Server) map[string]string {
	t.Helper()
	paths := []string{"completion/kpis", "completion/trend", "completion/courses", "engagement/kpis", "engagement/trend",
		"engagement/heatmap", "compliance/kpis", "assessments/kpis", "assessments/scores", "team/nodes"}
	out := map[string]string{}
	for _, email := range []string{"admin@acme.test", "manager@acme.test"} {
		c := srv.NewClient(t)
		c.Login(acme, email)
		for _, p := range paths {
			for _, q := range []string{"?range=12m", "?range=30d"} {
				path := "/api/v1/dashboards/" + p + q
				r := c.Get(acme, path, "Accept", "application/json")
				if r.Status != http.StatusOK {
					t.Fatalf("%s %s: %d %.200s", email, path, r.Status, r.Body)
				}
				out[email+" "+path] = r.Body
			}
		}
	}
	return out
}
