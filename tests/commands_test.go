package tests

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/tests/testserver"
)

// The learnlens command, built and run as a user runs it. Under make cover
// (LEARNLENS_COVERDIR set) the binary is built with -cover and writes its
// coverage there, so the command paths count.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func learnlensBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "learnlens-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "learnlens")
		args := []string{"build", "-o", binPath}
		if os.Getenv("LEARNLENS_COVERDIR") != "" {
			args = append(args, coverBuildFlags...)
		}
		cmd := exec.Command("go", append(args, "./cmd/learnlens")...)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// coverBuildFlags build a learnlens binary that counts the statements of
// every package, as the test binaries under make cover do.
var coverBuildFlags = []string{"-cover", "-coverpkg=github.com/learnlens/learnlens/..."}

// result is what a run of the command printed and how it ended.
type result struct {
	stdout, stderr string
	code           int
}

// learnlens runs the command with args and env (NAME=value) added to a
// clean environment: no DATABASE_URL, TOKEN_KEY or DATA_DIR of the
// developer's leak in.
func learnlens(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, learnlensBinary(t), args...)
	cmd.Env = commandEnv(t, env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("learnlens %s: %v", strings.Join(args, " "), err)
	}
	return r
}

func commandEnv(t *testing.T, env []string) []string {
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DATA_DIR=" + t.TempDir(), "METRICS_ADDR=off"}
	if d := os.Getenv("LEARNLENS_COVERDIR"); d != "" {
		base = append(base, "GOCOVERDIR="+d)
	}
	return append(base, env...)
}

// databaseEnv is the environment of a deployment on a fresh test database:
// the app's two logins and the owner's.
func databaseEnv(t *testing.T) (env []string, superuser string) {
	t.Helper()
	superuser = testdb.NewURL(t)
	logins := testdb.Logins(superuser)
	return []string{"DATABASE_URL=" + logins.App, "DATABASE_PLATFORM_URL=" + logins.Platform, "DATABASE_OWNER_URL=" + superuser}, superuser
}

func (r result) want(t *testing.T, what string, code int, out string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout+r.stderr, out) {
		t.Errorf("%s: exit %d, want %d with %q; stdout: %s; stderr: %s", what, r.code, code, out, r.stdout, r.stderr)
	}
}

func TestCommandUsageAndBadInput(t *testing.T) {
	t.Parallel()
	r := learnlens(t, nil)
	r.want(t, "no command", 1, "learnlens: no command given")
	if !strings.Contains(r.stderr, "usage: learnlens <command>") || !strings.Contains(r.stderr, "keys rotate|list") {
		t.Errorf("no command: the usage is not printed: %s", r.stderr)
	}
	learnlens(t, nil, "frobnicate").want(t, "unknown command", 1, `unknown command "frobnicate"`)
	learnlens(t, nil, "version").want(t, "version", 0, "learnlens ")
	learnlens(t, nil, "serve", "--bogus").want(t, "serve with an unknown flag", 1, "flag provided but not defined: -bogus")
	learnlens(t, []string{"PORT=eighty"}, "serve").want(t, "a PORT that is no number", 1, "PORT")
	learnlens(t, []string{"DATABASE_URL=postgres://x@127.0.0.1:1/db"}, "serve").
		want(t, "DATABASE_URL without DATABASE_PLATFORM_URL", 1, "set DATABASE_URL and DATABASE_PLATFORM_URL together")
	learnlens(t, []string{"TOKEN_KEY=short"}, "version").want(t, "a TOKEN_KEY that is no key", 1, "TOKEN_KEY")
	learnlens(t, nil, "migrate").want(t, "migrate without an action", 1, "usage: learnlens migrate up|down|status")
	learnlens(t, nil, "devdb").want(t, "devdb without an action", 1, "usage: learnlens devdb start|stop --dir DIR")
	learnlens(t, nil, "devdb", "start").want(t, "devdb without --dir", 1, "devdb: --dir is required")
	learnlens(t, nil, "devdb", "restart", "--dir", t.TempDir()).want(t, "devdb restart", 1, `devdb: unknown action "restart": use start or stop`)

	env, _ := databaseEnv(t)
	learnlens(t, env, "seed").want(t, "seed without a kind", 1, "usage: learnlens seed --demo | --bench")
	learnlens(t, env, "seed", "--bench", "--learners", "11", "--prefix", "few").want(t, "seed --bench with too few learners", 1, "--learners ≥ 12")
	learnlens(t, env, "gold", "rebuild", "--tenant", "few001").want(t, "the tenant of a refused seed --bench", 1, `no tenant "few001"`)
	learnlens(t, env, "credentials").want(t, "credentials without create", 1, "usage: learnlens credentials create --tenant SLUG --name NAME")
	learnlens(t, env, "credentials", "create", "--name", "x").want(t, "credentials without a tenant", 1, "--tenant is required")
	learnlens(t, env, "credentials", "create", "--tenant", "nosuch", "--name", "x").want(t, "credentials for no tenant", 1, `no tenant "nosuch"`)
	learnlens(t, env, "gold").want(t, "gold without rebuild", 1, "usage: learnlens gold rebuild --tenant SLUG")
	learnlens(t, env, "import", "--tenant", "nosuch").want(t, "import without a file", 1, "usage: learnlens import")
	learnlens(t, env, "tenant", "xapi-limits", "--rate", "5").want(t, "xapi-limits without a tenant", 1, "--tenant is required")
	learnlens(t, env, "keys", "list").want(t, "keys without TOKEN_KEY", 1, "set TOKEN_KEY or TOKEN_KEY_FILE")
	learnlens(t, env[2:], "keys", "list").want(t, "keys without the app's login", 1, "DATABASE_URL and DATABASE_PLATFORM_URL are unset")
	learnlens(t, append(env[:2:2], "TOKEN_KEY_FILE="+filepath.Join(t.TempDir(), "missing.key")), "keys", "list").
		want(t, "keys with a TOKEN_KEY_FILE that is not there", 1, "TOKEN_KEY_FILE: open ")
	learnlens(t, []string{"LOG_LEVEL=verbose"}, "serve").want(t, "a LOG_LEVEL slog does not know", 1, `LOG_LEVEL="verbose" is not debug, info, warn or error`)

	// Each command that needs a login says which when it is not set: the
	// app's two for what runs as the app, the owner's for what changes the
	// schema or loads data as its owner.
	learnlens(t, env[:2], "migrate", "up").want(t, "migrate without the owner's login", 1, "DATABASE_OWNER_URL is unset")
	learnlens(t, env[:2], "seed", "--demo").want(t, "seed --demo without the owner's login", 1, "DATABASE_OWNER_URL is unset")
	for _, args := range [][]string{
		{"seed", "--bench"},
		{"credentials", "create", "--tenant", "acme", "--name", "x"},
		{"gold", "rebuild", "--tenant", "acme"},
	} {
		learnlens(t, env[2:], args...).want(t, strings.Join(args, " ")+" without the app's login", 1, "DATABASE_URL and DATABASE_PLATFORM_URL are unset")
	}

	// Flags a command does not take, and tenants that do not exist.
	for _, args := range [][]string{
		{"seed", "--bogus"},
		{"credentials", "create", "--bogus"},
		{"gold", "rebuild", "--bogus"},
		{"tenant", "xapi-limits", "--bogus"},
		{"devdb", "stop", "--bogus"},
	} {
		learnlens(t, env, args...).want(t, strings.Join(args, " "), 1, "flag provided but not defined: -bogus")
	}
	learnlens(t, env, "gold", "rebuild").want(t, "gold rebuild without a tenant", 1, "--tenant is required")
	learnlens(t, env, "gold", "rebuild", "--tenant", "nosuch").want(t, "gold rebuild for no tenant", 1, `no tenant "nosuch"`)
	learnlens(t, env, "tenant", "xapi-limits", "--tenant", "nosuch").want(t, "xapi-limits for no tenant", 1, `no tenant "nosuch"`)

	// devdb start refuses a directory that holds something else than a
	// cluster (initdb would not write into it) and a path that is a file,
	// and leaves both as they were, with no socket directory left in TMPDIR.
	used, tmp := clusterDir(t, "learnlens-used-"), clusterDir(t, "learnlens-tmp-")
	notes := filepath.Join(used, "notes.txt")
	if err := os.WriteFile(notes, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	learnlens(t, []string{"TMPDIR=" + tmp}, "devdb", "start", "--dir", used).want(t, "devdb start on a used directory", 1, "exists but is not empty")
	learnlens(t, []string{"TMPDIR=" + tmp}, "devdb", "start", "--dir", notes).want(t, "devdb start on a file", 1, "create "+notes+": mkdir "+notes+": not a directory")
	if b, err := os.ReadFile(notes); err != nil || string(b) != "mine" {
		t.Errorf("devdb start changed the used directory's file: %q, %v", b, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("a devdb start that failed left %v in TMPDIR", left)
	}
}

// TestSeedThenCredentialsThenStatements is an operator's first day: seed a
// tenant, make an xAPI credential for its LMS, and the LMS's statements
// are accepted with it (and with nothing else).
func TestSeedThenCredentialsThenStatements(t *testing.T) {
	t.Parallel()
	env, superuser := databaseEnv(t)
	learnlens(t, env, "migrate", "status").want(t, "migrate status", 0, "")
	learnlens(t, env, "seed", "--bench", "--tenants", "1", "--learners", "20", "--statements", "300", "--prefix", "cli").
		want(t, "seed --bench", 0, "cli001")
	r := learnlens(t, env, "credentials", "create", "--tenant", "cli001", "--name", "Moodle production")
	r.want(t, "credentials create", 0, `xAPI credential "Moodle production" for`)
	m := regexp.MustCompile(`key:\s+(\S+)\s+secret:\s+(\S+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("credentials create printed no key and secret: %s", r.stdout)
	}
	// A second run resumes: the tenant made already stays as it is, the
	// next one is made, here through the ingest path.
	r = learnlens(t, env, "seed", "--bench", "--tenants", "2", "--learners", "12", "--statements", "200", "--prefix", "cli", "--ingest")
	r.want(t, "seed --bench --ingest after an earlier run", 0, "statements through the ingest path")
	if !strings.HasPrefix(r.stdout, "cli002: 12 people, ") || strings.Contains(r.stdout, "cli001") {
		t.Errorf("seed --bench --tenants 2 after cli001 was made: %s", r.stdout)
	}
	learnlens(t, env, "gold", "rebuild", "--tenant", "cli001").want(t, "gold rebuild", 0, "rebuilt gold for")
	learnlens(t, env, "tenant", "xapi-limits", "--tenant", "cli001", "--rate", "5", "--burst", "10").
		want(t, "tenant xapi-limits", 0, "cli001: xAPI rate 5/s, burst 10")
	learnlens(t, env, "tenant", "xapi-limits", "--tenant", "cli001", "--rate", "-2").want(t, "a negative rate", 1, "--rate must be 0 or more, not -2")

	srv := testserver.StartOn(t, testdb.Open(t, superuser))
	post := func(key, secret string) int {
		return postCompletion(t, srv.URL("127.0.0.1", "/xapi/statements"), key, secret, "someone@cli.test")
	}
	if code := post(m[1], m[2]); code != http.StatusOK {
		t.Errorf("a statement with the new credential: status %d, want 200", code)
	}
	if code := post(m[1], m[2]+"x"); code != http.StatusUnauthorized {
		t.Errorf("a statement with a wrong secret: status %d, want 401", code)
	}
}

// TestKeysRotateAndList: the token signing keys an operator rotates are
// listed, the newest current, and only the servers' TOKEN_KEY opens them.
func TestKeysRotateAndList(t *testing.T) {
	t.Parallel()
	env, _ := databaseEnv(t)
	withKey := append(env[:len(env):len(env)], "TOKEN_KEY="+testserver.TokenKey)
	learnlens(t, withKey, "keys").want(t, "keys without an action", 1, "usage")
	learnlens(t, withKey, "keys", "list").want(t, "keys list before any", 0, "no keys yet")
	r := learnlens(t, withKey, "keys", "rotate")
	r.want(t, "keys rotate", 0, "new signing key ")
	first := strings.Fields(strings.TrimPrefix(r.stdout, "new signing key "))[0]
	r = learnlens(t, withKey, "keys", "rotate")
	r.want(t, "keys rotate again", 0, "the 1 key(s) before it stay published")
	second := strings.Fields(strings.TrimPrefix(r.stdout, "new signing key "))[0]
	list := learnlens(t, withKey, "keys", "list")
	list.want(t, "keys list", 0, first)
	lines := strings.Split(strings.TrimSpace(list.stdout), "\n")
	if len(lines) != 2 || !strings.Contains(list.stdout, second) || first == second {
		t.Errorf("keys list after two rotations (%s, %s): %s", first, second, list.stdout)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, second) != strings.Contains(l, "current") {
			t.Errorf("keys list: only %s is current: %q", second, l)
		}
	}
	other := append(env[:len(env):len(env)], "TOKEN_KEY="+strings.Repeat("ab", 32))
	learnlens(t, other, "keys", "list").want(t, "keys list with another TOKEN_KEY", 1, "is this the servers' TOKEN_KEY?")
}

// TestDevDBStartStop: the private cluster the developer's make run and
// make test use starts, takes connections, and stops.
func TestDevDBStartStop(t *testing.T) {
	t.Parallel()
	parent := clusterDir(t, "learnlens-devdb-")
	dir := filepath.Join(parent, "pg")
	r := learnlens(t, nil, "devdb", "start", "--dir", dir)
	r.want(t, "devdb start", 0, "postgres://")
	t.Cleanup(func() { learnlens(t, nil, "devdb", "stop", "--dir", dir) })
	query := func(u string) error {
		db, err := sql.Open("pgx", u)
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var one int
		return db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
	}
	if err := query(strings.TrimSpace(r.stdout)); err != nil {
		t.Fatalf("query the started cluster at %s: %v", r.stdout, err)
	}
	// Starting it again (after a crash, say) stops the server left
	// running and starts a fresh one on the same data.
	r = learnlens(t, nil, "devdb", "start", "--dir", dir)
	r.want(t, "devdb start again", 0, "postgres://")
	u := strings.TrimSpace(r.stdout)
	if err := query(u); err != nil {
		t.Fatalf("query the restarted cluster at %s: %v", u, err)
	}
	learnlens(t, nil, "devdb", "stop", "--dir", dir).want(t, "devdb stop", 0, "")
	if err := query(u); err == nil {
		t.Errorf("the cluster at %s still takes connections after devdb stop", u)
	}

	// make cluster's replica: a second URL, a hot standby that follows
	// what the primary writes and refuses writes itself; stop stops both.
	replicaDir := filepath.Join(parent, "replica")
	r = learnlens(t, nil, "devdb", "start", "--dir", dir, "--replica-dir", replicaDir)
	r.want(t, "devdb start with a replica", 0, "postgres://")
	urls := strings.Fields(r.stdout)
	if len(urls) != 2 || urls[0] == urls[1] {
		t.Fatalf("devdb start --replica-dir printed %q, want the primary's URL and the replica's", r.stdout)
	}
	exec := func(u, q string) error {
		db, err := sql.Open("pgx", u)
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = db.ExecContext(ctx, q)
		return err
	}
	if err := exec(urls[0], `CREATE TABLE replicated AS SELECT 42 AS answer`); err != nil {
		t.Fatalf("write to the primary: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for exec(urls[1], `SELECT answer FROM replicated`) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the replica did not show the primary's new table within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := exec(urls[1], `CREATE TABLE on_replica (x int)`); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("a write to the replica: %v, want a read-only transaction error", err)
	}
	learnlens(t, nil, "devdb", "stop", "--dir", dir, "--replica-dir", replicaDir).want(t, "devdb stop with a replica", 0, "")
	for _, u := range urls {
		if err := query(u); err == nil {
			t.Errorf("%s still takes connections after devdb stop --replica-dir", u)
		}
	}
}

// TestServeStartsAndStopsOnSIGTERM: serve answers on PORT and, on SIGTERM,
// fails readiness, finishes and exits 0.
func TestServeStartsAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	env, _ := databaseEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(learnlensBinary(t), "serve")
	cmd.Env = commandEnv(t, append(env, "PORT="+strconv.Itoa(port), "SHUTDOWN_DRAIN=0s", "TOKEN_KEY="+testserver.TokenKey))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready within 60 s: %v; output: %s", err, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The bare domain (BASE_DOMAIN, localhost) is the platform's realm:
	// its sign-in page answers.
	resp, err := http.Get("http://localhost:" + strconv.Itoa(port) + "/login")
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /login on localhost: %v, %v", resp, err)
	}
	stopBySIGTERM(t, cmd, done, "serve", out.String)
	if !strings.Contains(out.String(), `"msg":"listening"`) || !strings.Contains(out.String(), "shutting down") {
		t.Errorf("serve's log lacks its start or shutdown: %s", out.String())
	}
}

// TestServeRefusesAddressesItCannotUse: serve stops with the reason when
// its port is taken or METRICS_ADDR is no address it can listen on.
func TestServeRefusesAddressesItCannotUse(t *testing.T) {
	t.Parallel()
	env, _ := databaseEnv(t)
	env = append(env, "TOKEN_KEY="+testserver.TokenKey)
	taken, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)
	learnlens(t, append(env, "PORT="+port), "serve").want(t, "serve on a port in use", 1, "address already in use")
	learnlens(t, append(env, "PORT=0", "METRICS_ADDR=127.0.0.1:"+port), "serve").want(t, "METRICS_ADDR in use", 1, "METRICS_ADDR: listen tcp 127.0.0.1:"+port)
	learnlens(t, append(env, "PORT=0", "METRICS_ADDR=nowhere"), "serve").want(t, "METRICS_ADDR without a port", 1, "METRICS_ADDR: listen tcp: address nowhere: missing port in address")
}

// clusterDir makes a directory for PostgreSQL clusters, removed after the
// test. As root, devdb runs PostgreSQL as the postgres user, who must reach
// the data directories inside: t.TempDir's parent is private to root.
func clusterDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// stopBySIGTERM sends cmd SIGTERM and expects it to exit 0 within 40 s;
// exited receives cmd.Wait's result, output is what it wrote.
func stopBySIGTERM(t *testing.T, cmd *exec.Cmd, exited <-chan error, what string, output func() string) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM; output:\n%s", what, err, output())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("%s still running 40 s after SIGTERM", what)
	}
}
