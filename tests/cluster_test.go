package tests

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// The cluster tests run real learnlens processes behind a real haproxy
// with deploy/haproxy/haproxy.cfg, on one test database.

// clusterHost is the tenant the cluster tests use.
const clusterHost = "acme.localhost"

// buildLearnLens builds cmd/learnlens of the source tree dir into a
// temporary directory, with the version string versions (none: "dev").
func buildLearnLens(t *testing.T, dir string, version ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "learnlens")
	args := []string{"build", "-o", bin}
	if len(version) > 0 {
		args = append(args, "-ldflags", "-X main.version="+version[0])
	}
	// Under make cover, this tree's binary counts its statements (an
	// older tree's would count lines that are no longer there).
	if dir == ".." && os.Getenv("LEARNLENS_COVERDIR") != "" {
		args = append(args, coverBuildFlags...)
	}
	cmd := exec.Command("go", append(args, "./cmd/learnlens")...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", dir, err, out)
	}
	return bin
}

// instance is one `learnlens serve` process.
type instance struct {
	name   string
	port   int
	cmd    *exec.Cmd
	exited chan error
	log    *bytes.Buffer
}

// instanceEnv is the environment of the cluster's instances: haproxy on
// 127.0.0.1 is a trusted proxy, and the per-credential xAPI limits are off
// (they hold per instance; the drill's producers share one credential and
// would get 429s, which are not what the drill is about).
func instanceEnv(logins database.Logins, drain time.Duration) []string {
	return append(os.Environ(), "DATABASE_URL="+logins.App, "DATABASE_PLATFORM_URL="+logins.Platform,
		"LOG_LEVEL=warn", "METRICS_ADDR=off", "TRUSTED_PROXIES=127.0.0.1", "SHUTDOWN_DRAIN="+drain.String(),
		"XAPI_CREDENTIAL_CONCURRENCY=0", "XAPI_CREDENTIAL_RATE=0")
}

// startInstance starts bin serve on port and waits until it is ready.
func startInstance(t *testing.T, name, bin string, env []string, port int) *instance {
	t.Helper()
	in := &instance{name: name, port: port, exited: make(chan error, 1), log: &bytes.Buffer{}}
	in.cmd = exec.Command(bin, "serve")
	in.cmd.Env = append(slices.Clone(env), "PORT="+strconv.Itoa(port))
	w := &lockedWriter{w: in.log}
	in.cmd.Stdout, in.cmd.Stderr = w, w
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.exited <- in.cmd.Wait() }()
	t.Cleanup(func() {
		in.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, w.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if status, _ := getStatus("http://127.0.0.1:" + strconv.Itoa(port) + "/readyz"); status == http.StatusOK {
			return in
		}
		select {
		case err := <-in.exited:
			t.Fatalf("%s exited before it was ready: %v\n%s", name, err, w.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 30 s\n%s", name, w.String())
		}
	}
}

// stop sends SIGTERM and waits for the process to end.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	if err := <-in.stopAsync(); err != nil {
		t.Error(err)
	}
}

// stopAsync sends SIGTERM; the channel has the outcome once the process
// has ended (or has not, 40 s on).
func (in *instance) stopAsync() chan error {
	done := make(chan error, 1)
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		done <- err
		return done
	}
	go func() {
		select {
		case err := <-in.exited:
			if err != nil {
				err = fmt.Errorf("%s exited with %v", in.name, err)
			}
			done <- err
		case <-time.After(40 * time.Second):
			done <- fmt.Errorf("%s still running 40 s after SIGTERM", in.name)
		}
	}()
	return done
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func getStatus(url string) (int, string) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// balancer is a running haproxy with deploy/haproxy/haproxy.cfg.
type balancer struct {
	port, stats int
	log         *lockedWriter
}

// startHAProxy runs haproxy in front of the instances on ports app1 and
// app2 and waits until it sees both up.
func startHAProxy(t *testing.T, app1, app2 int) *balancer {
	t.Helper()
	path, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatal("haproxy is not installed: make deps installs it (apt-get install haproxy)")
	}
	b := &balancer{port: freePort(t), stats: freePort(t), log: &lockedWriter{w: &bytes.Buffer{}}}
	cmd := exec.Command(path, "-db", "-f", "../deploy/haproxy/haproxy.cfg")
	cmd.Env = append(os.Environ(), fmt.Sprintf("LL_BIND=127.0.0.1:%d", b.port), fmt.Sprintf("LL_STATS=127.0.0.1:%d", b.stats),
		fmt.Sprintf("LL_APP1=127.0.0.1:%d", app1), fmt.Sprintf("LL_APP2=127.0.0.1:%d", app2))
	cmd.Stdout, cmd.Stderr = b.log, b.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("haproxy's log:\n%s", b.log.String())
		}
	})
	for range 200 {
		if b.state("app1") == "UP" && b.state("app2") == "UP" {
			return b
		}
		select {
		case <-exited:
			t.Fatalf("haproxy exited:\n%s", b.log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("haproxy does not see both instances up after 10 s: %s, %s", b.state("app1"), b.state("app2"))
	return nil
}

// state is haproxy's status of server ("UP", "DOWN", "UP 1/2"…).
func (b *balancer) state(server string) string { return b.stat(server, "status") }

// stat is column of server's line in haproxy's CSV statistics.
func (b *balancer) stat(server, column string) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/;csv", b.stats))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(rows) == 0 {
		return fmt.Sprintf("stats: %v", err)
	}
	col := slices.Index(rows[0], column)
	for _, r := range rows[1:] {
		if col >= 0 && len(r) > col && r[0] == "instances" && r[1] == server {
			return r[col]
		}
	}
	return "no " + column + " of " + server
}

// waitState waits until haproxy reports server in state and returns how
// long that took.
func (b *balancer) waitState(t *testing.T, server, state string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		s := b.state(server)
		if s == state {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("haproxy: %s is %q after %v, want %s", server, s, limit, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clusterClient is a browser-like client reaching the cluster at port
// (haproxy's or an instance's) from local address ip.
func clusterClient(t *testing.T, port int, ip string) *testserver.Client {
	return (&testserver.Server{Port: port}).NewClientFrom(t, ip)
}

// clusterDB is a fresh test database with the demo tenants and users.
func clusterDB(t *testing.T) (*database.DB, database.Logins) {
	t.Helper()
	url := testdb.NewURL(t)
	db := testdb.Open(t, url)
	if _, err := seed.Demo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db, testdb.Logins(url)
}

// load is the drill's traffic: signed-in clients reading dashboards and
// exports, producers posting statement batches (every statement with an
// id, so a producer may resend), all through haproxy. Any answer but a 200
// (or a transport error) is a failure.
type load struct {
	t        *testing.T
	port     int
	stop     chan struct{}
	wg       sync.WaitGroup
	requests atomic.Int64
	mu       sync.Mutex
	failures []string
	acked    []string // statement ids acknowledged with a 200
	batches  int
}

// dashboardPaths are what the signed-in clients read, round-robin.
var dashboardPaths = []string{"/dashboards/completion", "/dashboards/engagement", "/dashboards/compliance",
	"/api/v1/dashboards/completion/kpis", "/tables/completion/courses/export.csv", "/me"}

// startLoad starts readers signed-in clients (sessions shared between
// them, as tabs of a few people) and producers posting batches of batch
// statements, each client pausing pause between requests.
func startLoad(t *testing.T, port, readers, producers, batch int, pause time.Duration, tag string) *load {
	l := &load{t: t, port: port, stop: make(chan struct{})}
	emails := []string{"admin@acme.test", "manager@acme.test", "learner@acme.test"}
	var sessions []*cookiejar.Jar
	for i, email := range emails {
		c := clusterClient(t, port, fmt.Sprintf("127.0.0.%d", 10+i))
		c.Login(clusterHost, email)
		sessions = append(sessions, c.Jar.(*cookiejar.Jar))
	}
	tr := &http.Transport{MaxIdleConnsPerHost: readers + producers, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(port))
	}}
	t.Cleanup(tr.CloseIdleConnections)
	for i := range readers {
		c := &http.Client{Transport: tr, Jar: sessions[i%len(sessions)], Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		email := emails[i%len(emails)]
		l.wg.Go(func() {
			for n := i; !l.stopped(pause); n++ {
				path := dashboardPaths[n%len(dashboardPaths)]
				if email == "learner@acme.test" {
					path = "/me"
				}
				req, _ := http.NewRequest(http.MethodGet, "http://"+clusterHost+path, nil)
				l.record("GET "+path+" as "+email, c, req)
			}
		})
	}
	var next atomic.Int64
	for p := range producers {
		c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		l.wg.Go(func() {
			for !l.stopped(pause) {
				ids := make([]string, batch)
				var b strings.Builder
				b.WriteString("[")
				for j := range ids {
					ids[j] = fmt.Sprintf("c1a5%s-0000-4000-8000-%012x", tag, next.Add(1))
					if j > 0 {
						b.WriteString(",")
					}
					fmt.Fprintf(&b, `{"id":%q,"actor":{"mbox":"mailto:roll%d@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://lms.acme.test/roll/%d"},"timestamp":"2026-10-01T09:00:00Z"}`,
						ids[j], (p*batch+j)%40, j%7)
				}
				b.WriteString("]")
				req, _ := http.NewRequest(http.MethodPost, "http://"+clusterHost+"/xapi/statements", strings.NewReader(b.String()))
				req.SetBasicAuth("acme-demo-key", "acme-demo-secret")
				req.Header.Set("X-Experience-API-Version", "1.0.3")
				req.Header.Set("Content-Type", "application/json")
				if l.record("POST /xapi/statements", c, req) {
					l.mu.Lock()
					l.acked = append(l.acked, ids...)
					l.batches++
					l.mu.Unlock()
				}
			}
		})
	}
	return l
}

// stopped says whether the load is over, after pausing about pause.
func (l *load) stopped(pause time.Duration) bool {
	select {
	case <-l.stop:
		return true
	case <-time.After(pause/2 + rand.N(pause+1)):
		return false
	}
}

// record sends req and says whether it got a 200.
func (l *load) record(what string, c *http.Client, req *http.Request) bool {
	l.requests.Add(1)
	resp, err := c.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	if err != nil {
		l.mu.Lock()
		l.failures = append(l.failures, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), what, err))
		l.mu.Unlock()
		return false
	}
	return true
}

// finish stops the load and fails the test for every failed request.
func (l *load) finish() {
	l.t.Helper()
	close(l.stop)
	l.wg.Wait()
	if len(l.failures) > 0 {
		kinds := map[string]int{}
		for _, f := range l.failures {
			_, kind, _ := strings.Cut(f, " ")
			kinds[kind]++
		}
		l.t.Errorf("%d of %d requests failed: %v; the first: %s", len(l.failures), l.requests.Load(), kinds, strings.Join(l.failures[:min(5, len(l.failures))], "; "))
	}
	if l.batches == 0 {
		l.t.Error("no batch was acknowledged: the load did not reach the database")
	}
}

// assertAllStored fails the test for every acknowledged statement that is
// not in the database.
func assertAllStored(t *testing.T, db *database.DB, ids []string) {
	t.Helper()
	var n int64
	db.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM xapi_statements WHERE id = ANY(?::uuid[])`, "{"+strings.Join(ids, ",")+"}").Scan(&n).Error
	})
	if n != int64(len(ids)) {
		t.Errorf("%d statements were acknowledged but %d of them are stored", len(ids), n)
	}
}

var liveVersion = regexp.MustCompile(`data-version="(\d+)"`)

// watcher is a live dashboard's WebSocket through haproxy, as a page keeps
// it: closed with 1012, it reconnects (after a jittered pause, as the
// page's extension does) and subscribes with the version it last showed;
// the server then sends every section again at the current version.
type watcher struct {
	t        *testing.T
	port     int
	jar      http.CookieJar
	version  atomic.Int64
	restarts atomic.Int64 // 1012s received
	refused  atomic.Int64 // 1013s: a reconnection reached the draining instance
	attempts atomic.Int64 // connections opened
	mu       sync.Mutex
	resyncs  []time.Duration // from a 1012 to the resync's first message
	problems []string
	done     chan struct{}
}

func startWatcher(t *testing.T, port int, jar http.CookieJar, version int64, stop chan struct{}) *watcher {
	w := &watcher{t: t, port: port, jar: jar, done: make(chan struct{})}
	w.version.Store(version)
	go w.run(stop)
	return w
}

func (w *watcher) problem(format string, args ...any) {
	w.mu.Lock()
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

func (w *watcher) dial() (*websocket.Conn, error) {
	w.attempts.Add(1)
	addr := "127.0.0.1:" + strconv.Itoa(w.port)
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}, HandshakeTimeout: 5 * time.Second, Jar: w.jar}
	host := clusterHost + ":" + strconv.Itoa(w.port)
	conn, _, err := d.Dial("ws://"+host+"/ws", http.Header{"Origin": {"http://" + host}})
	if err != nil {
		return nil, err
	}
	b := fmt.Appendf(nil, `{"page":"/dashboards/completion","version":%d}`, w.version.Load())
	if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (w *watcher) run(stop chan struct{}) {
	defer close(w.done)
	var closedAt time.Time // of the last 1012, until the resync arrives
	for attempt := 0; ; attempt++ {
		select {
		case <-stop:
			return
		default:
		}
		conn, err := w.dial()
		if err != nil {
			// The upgrade itself failed: haproxy had no instance to give,
			// or a connection broke. A page would retry; so do we, but it
			// counts against the drill.
			w.problem("dial /ws: %v", err)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		msgs := make(chan error, 1)
		go func() {
			for {
				_, b, err := conn.ReadMessage()
				if err != nil {
					msgs <- err
					return
				}
				if m := liveVersion.FindSubmatch(b); m != nil {
					v, _ := strconv.ParseInt(string(m[1]), 10, 64)
					if !closedAt.IsZero() {
						if v <= w.version.Load() {
							w.problem("resync at version %d, not after %d", v, w.version.Load())
						}
						w.mu.Lock()
						w.resyncs = append(w.resyncs, time.Since(closedAt))
						w.mu.Unlock()
						closedAt = time.Time{}
					}
					w.version.Store(v)
				}
			}
		}()
		select {
		case <-stop:
			conn.Close()
			<-msgs
			return
		case err := <-msgs:
			conn.Close()
			// 1012 closes the open page; a reconnection that reached the
			// draining instance before haproxy's check moved away gets
			// 1013 (try again later). The page retries after either.
			var ce *websocket.CloseError
			switch {
			case errors.As(err, &ce) && ce.Code == websocket.CloseTryAgainLater:
				w.refused.Add(1)
			case !errors.As(err, &ce) || ce.Code != websocket.CloseServiceRestart:
				w.problem("live connection ended with %v, want 1012", err)
			default:
				w.restarts.Add(1)
				if closedAt.IsZero() {
					closedAt = time.Now()
				}
			}
			// The htmx extension waits a random part of a second before
			// its first retry.
			time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		}
	}
}

// pageVersion is the version of the completion dashboard c sees.
func pageVersion(t *testing.T, c *testserver.Client) int64 {
	t.Helper()
	r := c.Get(clusterHost, "/dashboards/completion")
	v, err := strconv.ParseInt(r.Header.Get("X-LearnLens-Version"), 10, 64)
	if r.Status != http.StatusOK || err != nil {
		t.Fatalf("completion dashboard: %d, version %q", r.Status, r.Header.Get("X-LearnLens-Version"))
	}
	return v
}

// TestClusterThroughHAProxy: two instances behind haproxy on one
// database. Sign-in, dashboards and an export work through haproxy, with
// requests spread over both instances; a statement accepted by one
// instance reaches a live dashboard connected to the other; and when one
// instance is stopped (SIGTERM) while clients keep working, haproxy's
// check sees its readiness fail and no request fails.
func TestClusterThroughHAProxy(t *testing.T) {
	t.Parallel()
	bin := buildLearnLens(t, "..")
	db, logins := clusterDB(t)
	env := instanceEnv(logins, 2*time.Second)
	a := startInstance(t, "app1", bin, env, freePort(t))
	b := startInstance(t, "app2", bin, env, freePort(t))
	lb := startHAProxy(t, a.port, b.port)

	c := clusterClient(t, lb.port, "127.0.0.20")
	c.Login(clusterHost, "admin@acme.test")
	for _, path := range dashboardPaths {
		if r := c.Get(clusterHost, path); r.Status != http.StatusOK {
			t.Errorf("GET %s through haproxy: %d %.200s", path, r.Status, r.Body)
		}
	}
	if r := c.Get(clusterHost, "/tables/completion/courses/export.csv"); !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("export through haproxy: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	// haproxy spread them over both instances (its count of requests sent
	// to each server).
	for _, server := range []string{"app1", "app2"} {
		if n, _ := strconv.Atoi(lb.stat(server, "stot")); n == 0 {
			t.Errorf("haproxy sent no request to %s (stot %q)", server, lb.stat(server, "stot"))
		}
	}
	// The session made through haproxy is good on each instance by itself:
	// it lives in PostgreSQL, so haproxy needs no affinity.
	for _, in := range []*instance{a, b} {
		direct := clusterClient(t, in.port, "")
		direct.Jar = c.Jar
		if r := direct.Get(clusterHost, "/dashboards/completion"); r.Status != http.StatusOK {
			t.Errorf("the session on %s alone: %d", in.name, r.Status)
		}
	}
	// X-Forwarded-For is haproxy's: a client's own is replaced, and the
	// instance records the client's address (a failed sign-in's audit entry).
	bad := clusterClient(t, lb.port, "127.0.0.21")
	bad.PostForm(clusterHost, "/login", map[string][]string{"email": {"admin@acme.test"}, "password": {"wrong"}}, "X-Forwarded-For", "203.0.113.9")
	var ip string
	db.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT coalesce(ip, '') FROM audit_log WHERE action = 'login.failed' ORDER BY at DESC LIMIT 1`).Scan(&ip).Error
	})
	if ip != "127.0.0.21" {
		t.Errorf("a failed sign-in through haproxy was recorded from %q, want the client's 127.0.0.21", ip)
	}

	// A statement accepted by app1 is pushed to a page connected to app2.
	v := pageVersion(t, c)
	direct := clusterClient(t, b.port, "")
	direct.Jar = c.Jar
	conn, status := dialLive(t, &testserver.Server{Port: b.port}, direct, clusterHost, "http://"+clusterHost+":"+strconv.Itoa(b.port))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("live connection on app2: %d", status)
	}
	conn.subscribe("/dashboards/completion", v)
	lrs := clusterClient(t, a.port, "")
	body := stmt("", "learner@acme.test", "completed", "https://lms.acme.test/cluster/1", time.Now().UTC().Format(time.RFC3339), `,"result":{"completion":true}`)
	if r := lrs.Do(http.MethodPost, clusterHost, "/xapi/statements", strings.NewReader(body),
		"Authorization", basic("acme-demo-key", "acme-demo-secret"), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json"); r.Status != http.StatusOK {
		t.Fatalf("POST a statement to app1: %d %s", r.Status, r.Body)
	}
	if msg, err := conn.next(5 * time.Second); err != nil || !liveVersion.MatchString(msg) {
		t.Errorf("app2's page after a statement accepted by app1: %.200q, %v", msg, err)
	}

	// One instance stops mid-run.
	l := startLoad(t, lb.port, 12, 3, 50, 20*time.Millisecond, "0001")
	time.Sleep(1500 * time.Millisecond)
	term := time.Now()
	stopped := a.stopAsync()
	down := lb.waitState(t, "app1", "DOWN", 5*time.Second)
	if err := <-stopped; err != nil {
		t.Error(err)
	}
	t.Logf("haproxy saw app1 down %v after SIGTERM; app1 exited %v after it", down.Round(time.Millisecond), time.Since(term).Round(time.Millisecond))
	time.Sleep(1500 * time.Millisecond)
	l.finish()
	assertAllStored(t, db, l.acked)
	t.Logf("%d requests through haproxy, %d failed, %d batches acknowledged", l.requests.Load(), len(l.failures), l.batches)
}

// rollFigures are what a rolling restart measured, per instance restarted.
type rollFigures struct {
	readyFlip, lbDown, exited, ready, lbUp []time.Duration
}

func (f rollFigures) String() string {
	span := func(ds []time.Duration) string {
		if len(ds) == 0 {
			return "-"
		}
		return fmt.Sprintf("%v–%v", slices.Min(ds).Round(time.Millisecond), slices.Max(ds).Round(time.Millisecond))
	}
	return fmt.Sprintf("readiness 503 after SIGTERM %s, haproxy saw it down after %s, exited after %s; the new one ready %s after start, up in haproxy %s later",
		span(f.readyFlip), span(f.lbDown), span(f.exited), span(f.ready), span(f.lbUp))
}

// roll restarts the instances one after the other, rounds times: SIGTERM,
// the readiness flip and haproxy's check seeing it, the process's exit,
// then bin started on the same port, ready, and up in haproxy, before the
// next instance.
func roll(t *testing.T, lb *balancer, ins []*instance, rounds int, bin string, env []string) rollFigures {
	t.Helper()
	var f rollFigures
	for round := range rounds {
		for i, in := range ins {
			server := fmt.Sprintf("app%d", i+1)
			term := time.Now()
			stopped := in.stopAsync()
			for {
				status, body := getStatus("http://127.0.0.1:" + strconv.Itoa(in.port) + "/readyz")
				if status == http.StatusServiceUnavailable && strings.Contains(body, "draining") {
					f.readyFlip = append(f.readyFlip, time.Since(term))
					break
				}
				if time.Since(term) > 5*time.Second {
					t.Fatalf("round %d, %s: readiness %d %s 5 s after SIGTERM", round, server, status, body)
				}
				time.Sleep(5 * time.Millisecond)
			}
			lb.waitState(t, server, "DOWN", 10*time.Second)
			f.lbDown = append(f.lbDown, time.Since(term))
			if err := <-stopped; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			f.exited = append(f.exited, time.Since(term))
			start := time.Now()
			ins[i] = startInstance(t, in.name, bin, env, in.port)
			f.ready = append(f.ready, time.Since(start))
			f.lbUp = append(f.lbUp, lb.waitState(t, server, "UP", 10*time.Second))
		}
	}
	return f
}

// TestRollingRestart is the rolling-restart drill: two instances behind
// haproxy restarted one after the other (DRILL_ROLLS rounds, 1 in make
// test) while 50 clients read dashboards and exports (40) and post
// statement batches (10), and live dashboards stay open. No request fails,
// every acknowledged statement is stored, gold equals a rebuild, and every
// live page is closed with 1012, reconnects through haproxy and resyncs to
// a version newer than the one it had.
func TestRollingRestart(t *testing.T) {
	t.Parallel()
	rounds := 1
	if n, err := strconv.Atoi(os.Getenv("DRILL_ROLLS")); err == nil && n > 0 {
		rounds = n
	}
	bin := buildLearnLens(t, "..")
	db, logins := clusterDB(t)
	env := instanceEnv(logins, 2*time.Second)
	ins := []*instance{startInstance(t, "app1", bin, env, freePort(t)), startInstance(t, "app2", bin, env, freePort(t))}
	lb := startHAProxy(t, ins[0].port, ins[1].port)
	rollingDrill(t, db, lb, rounds, func() rollFigures { return roll(t, lb, ins, rounds, bin, env) }, nil)
}

// rollingDrill runs change (restarts or an upgrade) under the drill's load
// and checks what the drill promises. The gold tables derived names, once
// change is done, are left out of the comparison with a rebuild: an
// upgrade's new derived tables, which the previous release does not keep
// while it serves beside them (docs/OPERATIONS.md: rebuilt once it is gone).
func rollingDrill(t *testing.T, db *database.DB, lb *balancer, rounds int, change func() rollFigures, derived func() []string) {
	t.Helper()
	l := startLoad(t, lb.port, 40, 10, 50, 100*time.Millisecond, fmt.Sprintf("%04x", rand.IntN(1<<16)))
	viewer := clusterClient(t, lb.port, "127.0.0.30")
	viewer.Login(clusterHost, "admin@acme.test")
	stopWatch := make(chan struct{})
	var watchers []*watcher
	for range 6 {
		watchers = append(watchers, startWatcher(t, lb.port, viewer.Jar, pageVersion(t, viewer), stopWatch))
	}
	time.Sleep(1500 * time.Millisecond)
	figures := change()
	time.Sleep(1500 * time.Millisecond)
	l.finish()
	close(stopWatch)
	var restarts, refused, attempts int64
	var resyncs []time.Duration
	for i, w := range watchers {
		<-w.done
		restarts += w.restarts.Load()
		refused += w.refused.Load()
		attempts += w.attempts.Load()
		resyncs = append(resyncs, w.resyncs...)
		for _, p := range w.problems {
			t.Errorf("live page %d: %s", i, p)
		}
		if len(w.resyncs) < rounds {
			t.Errorf("live page %d: %d 1012s, %d resyncs over %d rounds", i, w.restarts.Load(), len(w.resyncs), rounds)
		}
	}
	assertAllStored(t, db, l.acked)
	var except []string
	if derived != nil {
		except = derived()
	}
	assertGoldEqualsRebuild(t, db, "acme", except...)
	t.Logf("%d requests through haproxy, %d failed; %d batches (%d statements) acknowledged and stored", l.requests.Load(), len(l.failures), l.batches, len(l.acked))
	t.Logf("%s", figures)
	if len(resyncs) > 0 {
		t.Logf("live pages: %d closed with 1012, %d connections opened (%d of them turned away with 1013 by the draining instance), resynced %v–%v after the 1012 (median %v)", restarts, attempts, refused,
			slices.Min(resyncs).Round(time.Millisecond), slices.Max(resyncs).Round(time.Millisecond), median(resyncs).Round(time.Millisecond))
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
