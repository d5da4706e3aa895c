// Package devdb runs a private PostgreSQL cluster for development and tests,
// so that LearnLens needs no database set-up on a fresh machine. It uses the
// machine's PostgreSQL server binaries (initdb, pg_ctl) and, when running as
// root, runs them as the postgres user because initdb refuses root.
package devdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
)

// ErrNoServer is returned when no PostgreSQL server binaries can be found.
var ErrNoServer = errors.New(`no PostgreSQL server binaries found.
LearnLens starts its own PostgreSQL cluster when DATABASE_URL is unset, and for
that it needs initdb and pg_ctl, either on PATH or under /usr/lib/postgresql/*/bin.
Install them (on Debian or Ubuntu: "apt-get install postgresql"), or set
DATABASE_URL to a PostgreSQL 14+ database you already run, e.g.
DATABASE_URL=postgres://learnlens:secret@localhost:5432/learnlens`)

// Cluster is a PostgreSQL cluster in a directory of its own, listening on
// 127.0.0.1:Port and on a Unix socket in SocketDir.
type Cluster struct {
	Dir       string // data directory
	SocketDir string
	Port      int
	bin       string
	runAs     string // "postgres" when running as root, else ""
	started   bool
	options   string // the server's options (pg_ctl -o), for Restart
}

// Options say where a cluster lives.
type Options struct {
	Dir  string // data directory; created by initdb when it holds no cluster
	Port int    // 0 picks a free port
	// SharedBuffers is a replica's shared_buffers (StartReplica; "" is
	// 128MB). Start always takes 1GB.
	SharedBuffers string
}

// Start initialises the cluster in opts.Dir the first time and starts it.
// A server left running in that directory by an earlier crash is stopped first.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: opts.Dir, Port: opts.Port, bin: bin}
	if os.Geteuid() == 0 {
		c.runAs = "postgres"
	}
	if c.Port == 0 {
		if c.Port, err = freePort(); err != nil {
			return nil, err
		}
	}
	// A start that fails leaves no socket directory behind.
	defer func() {
		if !c.started && c.SocketDir != "" {
			_ = os.RemoveAll(c.SocketDir)
		}
	}()
	if err := c.prepareDirs(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.Dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(c.Dir, "postmaster.pid")); err == nil {
		// A server from an earlier run may still hold the directory; stop it
		// (ignore failure: the pid file may be stale).
		_ = c.pgctl(ctx, "stop", "-m", "fast", "-w")
		_ = os.Remove(filepath.Join(c.Dir, "postmaster.pid"))
	}
	// PostgreSQL's stock 128 MB of shared buffers made a 10M-statement
	// tenant's ingest write out and re-read index pages on every batch
	// (3,752 statements/s with 4 clients; 7,065/s with 4 GB); 1 GB suits a
	// development machine and the benchmarks. Checkpoints are spaced so
	// that a benchmark does not run into one per gigabyte of WAL.
	opt := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300"+
		" -c shared_buffers=1GB -c max_wal_size=4GB", c.Port, c.SocketDir)
	// pg_stat_statements counts every statement per database: the tests
	// use it to prove that signed-in requests leave sessions, users and
	// tenants alone, and it is at hand for performance work, planning
	// time included (a dashboard read plans every query for its own
	// values: docs/PERFORMANCE.md).
	if c.hasLibrary("pg_stat_statements") {
		opt += " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=20000 -c pg_stat_statements.track_planning=on"
	}
	c.options = opt
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	c.started = true
	if err := c.ensureLogins(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	// Remember the socket directory so StopDir (another process) can
	// remove it.
	_ = os.WriteFile(filepath.Join(os.TempDir(), "learnlens-socket-"+dirKey(c.Dir)), []byte(c.SocketDir), 0o600)
	return c, nil
}

// dirKey names a data directory in a file name.
func dirKey(dir string) string {
	return strings.NewReplacer("/", "_", "\\", "_").Replace(dir)
}

// URL returns a connection URL for database dbname as the cluster's
// superuser, over the Unix socket.
func (c *Cluster) URL(dbname string) string { return c.URLAs("postgres", dbname) }

// URLAs returns a connection URL for database dbname as role, over the Unix
// socket. The cluster trusts every local connection (initdb --auth=trust;
// the socket's directory is private and TCP listens on 127.0.0.1 only), so
// no role needs a password.
func (c *Cluster) URLAs(role, dbname string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s&port=%d&sslmode=disable", role, dbname, c.SocketDir, c.Port)
}

// ensureLogins lets the app's two roles log in, creating them if need be
// (the migrations create them without LOGIN where an operator has not, and
// a cluster made before they logged in has them without it).
func (c *Cluster) ensureLogins(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to dev cluster: %w", err)
	}
	defer conn.Close(ctx)
	for _, role := range []string{database.AppRole, database.PlatformRole} {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
			return err
		}
		verb := "CREATE"
		if exists {
			verb = "ALTER"
		}
		if _, err := conn.Exec(ctx, verb+" ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN NOSUPERUSER NOBYPASSRLS"); err != nil {
			return fmt.Errorf("role %s: %w", role, err)
		}
	}
	return nil
}

func (c *Cluster) start(ctx context.Context) error {
	if err := c.pgctl(ctx, "start", "-w", "-t", "60", "-o", c.options, "-l", filepath.Join(c.Dir, "server.log")); err != nil {
		return fmt.Errorf("start postgres (log in %s): %w", filepath.Join(c.Dir, "server.log"), err)
	}
	return nil
}

// Restart stops the server as an operator's restart does (pg_ctl stop -m
// fast: open transactions roll back, every connection ends), keeps it down
// for down, and starts it again with the same options.
func (c *Cluster) Restart(ctx context.Context, down time.Duration) error {
	if err := c.pgctl(ctx, "stop", "-m", "fast", "-w"); err != nil {
		return fmt.Errorf("stop postgres: %w", err)
	}
	time.Sleep(down)
	return c.start(ctx)
}

// Stop shuts the cluster down, finishing open transactions quickly.
func (c *Cluster) Stop() error {
	if !c.started {
		return nil
	}
	c.started = false
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := c.pgctl(ctx, "stop", "-m", "fast", "-w")
	_ = os.RemoveAll(c.SocketDir)
	_ = os.Remove(filepath.Join(os.TempDir(), "learnlens-socket-"+dirKey(c.Dir)))
	return err
}

func (c *Cluster) prepareDirs() error {
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	c.Dir = abs
	// The parent must be traversable by the postgres user when we run as root.
	if err := os.MkdirAll(filepath.Dir(c.Dir), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(c.Dir), err)
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", c.Dir, err)
	}
	// Unix socket paths are limited to about 100 bytes, so the socket lives
	// in a short temporary directory rather than next to the data.
	if c.SocketDir, err = os.MkdirTemp("", "llpg-"); err != nil {
		return err
	}
	if c.runAs == "" {
		return nil
	}
	u, err := user.Lookup(c.runAs)
	if err != nil {
		return fmt.Errorf("running as root needs the %q user to run PostgreSQL: %w", c.runAs, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, d := range []string{c.Dir, c.SocketDir} {
		if err := os.Chown(d, uid, gid); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	return c.run(ctx, filepath.Join(c.bin, "initdb"), "-D", c.Dir, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions")
}

func (c *Cluster) pgctl(ctx context.Context, args ...string) error {
	return c.run(ctx, filepath.Join(c.bin, "pg_ctl"), append([]string{"-D", c.Dir}, args...)...)
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	if c.runAs != "" {
		args = append([]string{"-u", c.runAs, "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	// Run from a directory the postgres user can read, and detach from our
	// process group so Ctrl-C in a terminal does not kill the server before
	// we stop it cleanly.
	cmd.Dir = os.TempDir()
	cmd.SysProcAttr = detached()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// findBinaries returns the directory holding initdb and pg_ctl: PATH first,
// then the newest /usr/lib/postgresql/*/bin.
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoServer
}

// hasLibrary reports whether the server has the loadable module name (in
// its lib directory beside bin, as Debian and source builds lay it out;
// bin may hold links to the real binaries).
func (c *Cluster) hasLibrary(name string) bool {
	initdb, err := filepath.EvalSymlinks(filepath.Join(c.bin, "initdb"))
	if err != nil {
		return false
	}
	for _, dir := range []string{"lib", "lib/postgresql"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(initdb)), dir, name+".so")); err == nil {
			return true
		}
	}
	return false
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// EnsureDatabase creates database name in the cluster unless it exists.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to dev cluster: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// StopDir stops a cluster started in dir by an earlier process.
func StopDir(dir string) error {
	c := &Cluster{Dir: dir, started: true}
	var err error
	if c.bin, err = findBinaries(); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		c.runAs = "postgres"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = c.pgctl(ctx, "stop", "-m", "fast", "-w")
	if abs, aerr := filepath.Abs(dir); aerr == nil {
		note := filepath.Join(os.TempDir(), "learnlens-socket-"+dirKey(abs))
		if sock, rerr := os.ReadFile(note); rerr == nil && strings.HasPrefix(string(sock), os.TempDir()) {
			_ = os.RemoveAll(string(sock))
		}
		_ = os.Remove(note)
	}
	return err
}
