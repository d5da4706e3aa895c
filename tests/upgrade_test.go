package tests

import (
	"database/sql"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/database/testdb"
)

// TestServeChecksTheSchemaVersion: serve refuses a database that lacks
// one of its migrations (saying to run migrate up), and serves one that a
// newer release has migrated further (as the previous release of a
// rolling upgrade), reporting itself in instances; migrate up leaves the
// newer schema alone and migrate down refuses to touch it.
func TestServeChecksTheSchemaVersion(t *testing.T) {
	t.Parallel()
	bin := buildLearnLens(t, "..")
	url := testdb.NewURL(t)
	logins := testdb.Logins(url)
	owner, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	env := append(instanceEnv(logins, 0), "DATABASE_OWNER_URL="+url)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	var newest int64
	if err := owner.QueryRow(`SELECT max(version_id) FROM goose_db_version`).Scan(&newest); err != nil {
		t.Fatal(err)
	}

	// A schema one migration behind: serve stops at once, saying why.
	if _, err := owner.Exec(`UPDATE goose_db_version SET version_id = -version_id WHERE version_id = $1`, newest); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(env, "PORT="+strconv.Itoa(freePort(t)))
	done := make(chan []byte)
	go func() { out, _ := cmd.CombinedOutput(); done <- out }()
	select {
	case out := <-done:
		if !strings.Contains(string(out), "run `learnlens migrate up`") || cmd.ProcessState.ExitCode() == 0 {
			t.Errorf("serve on a schema behind its release: exit %d, %s", cmd.ProcessState.ExitCode(), out)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("serve on a schema behind its release is still running after 30 s")
	}
	if _, err := owner.Exec(`UPDATE goose_db_version SET version_id = -version_id WHERE version_id = $1`, -newest); err != nil {
		t.Fatal(err)
	}

	// A schema a newer release migrated further.
	ahead := newest + 1000
	if _, err := owner.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, ahead); err != nil {
		t.Fatal(err)
	}
	if out, err := run("migrate", "up"); err != nil || !strings.Contains(out, "nothing to do") {
		t.Errorf("migrate up on a newer schema: %v %s", err, out)
	}
	if out, err := run("migrate", "down"); err == nil || !strings.Contains(out, "newer than this release") {
		t.Errorf("migrate down on a newer schema: %v %s", err, out)
	}
	in := startInstance(t, "serve", bin, env, freePort(t))
	if !strings.Contains(in.log.String(), "newer than this release knows") {
		t.Errorf("serve on a newer schema did not say so: %s", in.log.String())
	}
	// It reports itself: migrate status lists it with what it knows.
	var out string
	for range 50 {
		if out, err = run("migrate", "status"); strings.Contains(out, ":"+strconv.Itoa(in.port)+"/") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out, "knows migrations up to "+strconv.FormatInt(newest, 10)) {
		t.Errorf("migrate status does not list the running instance: %v\n%s", err, out)
	}
	in.stop(t)
	var rows int
	owner.QueryRow(`SELECT count(*) FROM instances`).Scan(&rows)
	if rows != 0 {
		t.Errorf("%d rows in instances after the only instance stopped", rows)
	}
}
