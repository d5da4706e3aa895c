//go:build drills

package tests

import (
	"context"
	"database/sql"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/seed"
)

// upgradeMigration is the migration the drill upgrades across: the
// previous release is the commit before the one that added it.
const upgradeMigration = "migrations/00026_instances.sql"

// TestRollingUpgrade is the rolling-upgrade drill (make drills; built with
// -tags drills, as it needs the git history): the previous release, built
// from the commit before upgradeMigration was added, runs as two instances
// behind haproxy under the drill's load; this release's `migrate up`
// applies the new migrations while they serve; then each instance is
// replaced by this release, one after the other. No request fails, every
// acknowledged statement is stored, gold equals a rebuild, live pages
// resync, and both instances report this release in instances.
func TestRollingUpgrade(t *testing.T) {
	t.Parallel()
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", ".."}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	added := git("log", "--diff-filter=A", "--format=%H", "-1", "--", upgradeMigration)
	if added == "" {
		t.Fatalf("no commit adds %s in this clone's history (a shallow clone?): the drill builds the release before it; fetch the history (git fetch --unshallow)", upgradeMigration)
	}
	if out, err := exec.Command("git", "-C", "..", "rev-parse", "--verify", "-q", added+"^{commit}^").CombinedOutput(); err != nil {
		t.Fatalf("the commit before %s (the previous release) is not in this clone (a shallow clone?): fetch the history (git fetch --unshallow): %v %s", added, err, out)
	}
	previous := added + "^"
	dir := filepath.Join(t.TempDir(), "previous")
	git("worktree", "add", "--detach", dir, previous)
	t.Cleanup(func() { exec.Command("git", "-C", "..", "worktree", "remove", "--force", dir).Run() })
	var previousSchema int64
	for _, name := range strings.Fields(git("ls-tree", "--name-only", previous, "migrations/")) {
		n, _, _ := strings.Cut(filepath.Base(name), "_")
		if v, err := strconv.ParseInt(n, 10, 64); err == nil {
			previousSchema = max(previousSchema, v)
		}
	}
	oldBin := buildLearnLens(t, dir, "previous")
	newBin := buildLearnLens(t, "..", "upgraded")

	// The database as the previous release left it: this release's demo
	// tenants, and its newer migrations rolled back.
	url := testdb.NewURL(t)
	db := testdb.Open(t, url)
	if _, err := seed.Demo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	owner, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	env := append(instanceEnv(testdb.Logins(url), 2*time.Second), "DATABASE_OWNER_URL="+url)
	migrate := func(bin, command string) string {
		cmd := exec.Command(bin, "migrate", command)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s migrate %s: %v\n%s", filepath.Base(filepath.Dir(bin)), command, err, out)
		}
		return string(out)
	}
	schema := func() (v int64) {
		owner.QueryRow(`SELECT max(version_id) FROM goose_db_version`).Scan(&v)
		return
	}
	for schema() > previousSchema {
		migrate(newBin, "down")
	}
	t.Logf("previous release %s, schema at migration %d", git("rev-parse", "--short", previous), schema())

	goldTables := func() (names []string) {
		rows, err := owner.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'gold\_%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			rows.Scan(&name)
			names = append(names, name)
		}
		return names
	}
	previousGold := goldTables()

	ins := []*instance{startInstance(t, "app1", oldBin, env, freePort(t)), startInstance(t, "app2", oldBin, env, freePort(t))}
	lb := startHAProxy(t, ins[0].port, ins[1].port)
	var derived []string // gold tables the previous release does not keep
	rollingDrill(t, db, lb, 1, func() rollFigures {
		start := time.Now()
		out := migrate(newBin, "up")
		t.Logf("migrate up under load, the previous release serving: %v\n%s", time.Since(start).Round(time.Millisecond), out)
		for _, name := range goldTables() {
			if !slices.Contains(previousGold, name) {
				derived = append(derived, name)
			}
		}
		t.Logf("gold tables the previous release does not keep, left out of the comparison with a rebuild: %d", len(derived))
		time.Sleep(time.Second) // the previous release on the new schema, under load
		return roll(t, lb, ins, 1, newBin, env)
	}, func() []string { return derived })
	var versions []string
	db.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT version FROM instances ORDER BY id`).Scan(&versions).Error
	})
	if !slices.Equal(versions, []string{"upgraded", "upgraded"}) {
		t.Errorf("instances after the upgrade: %v, want both on the upgraded release", versions)
	}
}
