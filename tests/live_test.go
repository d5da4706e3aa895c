package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// liveConn is a WebSocket to /ws, as a dashboard page opens it. A
// goroutine reads it (a timed-out read would spoil the connection).
type liveConn struct {
	t      *testing.T
	conn   *websocket.Conn
	msgs   chan string
	closed chan error
}

func newLiveConn(t *testing.T, conn *websocket.Conn) *liveConn {
	l := &liveConn{t: t, conn: conn, msgs: make(chan string, 100), closed: make(chan error, 1)}
	go func() {
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				l.closed <- err
				return
			}
			if strings.TrimSpace(string(b)) != "" {
				l.msgs <- string(b)
			}
		}
	}()
	return l
}

// dialLive opens /ws on host with the client's cookies and origin. It
// returns the HTTP status of a refused upgrade.
func dialLive(t *testing.T, srv *testserver.Server, c *testserver.Client, host, origin string) (*liveConn, int) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(srv.Port)
	d := websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		HandshakeTimeout: 5 * time.Second,
		Jar:              c.Jar,
	}
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	conn, resp, err := d.Dial("ws://"+host+":"+strconv.Itoa(srv.Port)+"/ws", h)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial /ws on %s: %v", host, err)
		}
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { conn.Close() })
	return newLiveConn(t, conn), http.StatusSwitchingProtocols
}

// subscribe says the page shows page at version.
func (l *liveConn) subscribe(page string, version int64, tables ...string) {
	l.t.Helper()
	b, _ := json.Marshal(map[string]any{"page": page, "version": version, "tables": tables})
	if err := l.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		l.t.Fatalf("subscribe: %v", err)
	}
}

// next returns the next message that is not a heartbeat, or "" after d,
// or the error that closed the connection.
func (l *liveConn) next(d time.Duration) (string, error) {
	select {
	case m := <-l.msgs:
		return m, nil
	case err := <-l.closed:
		l.closed <- err
		return "", err
	case <-time.After(d):
		return "", nil
	}
}

// liveTenant is acme with a small organisation loaded, and people on
// either side of manager@acme.test's part of it.
type liveTenant struct {
	srv               *testserver.Server
	inTeam, outOfTeam string // learners' emails
}

func startLive(t *testing.T) liveTenant { t.Helper(); return startLiveWith(t, nil) }

// startLiveWith is startLive on a server whose configuration configure
// changes first (a test's clock, say).
func startLiveWith(t *testing.T, configure func(*config.Config)) liveTenant {
	t.Helper()
	db := testdb.New(t)
	if _, err := seed.Demo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	srv := testserver.StartWith(t, db, configure)
	ctx := context.Background()
	tenant, err := models.NewTenantStore(srv.DB).BySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Seed, cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 11, 80, 3, 6, 2, 1500
	if _, err := generator.Populate(ctx, pipeline.New(srv.DB), tenant.ID, cfg); err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	// Under steady ingest a view may be served up to a second behind (see
	// viewcache); a second after the last batch every view is exact, so a
	// page opened now shows the final numbers and its first push is the
	// test's own statement.
	time.Sleep(1200 * time.Millisecond)
	lt := liveTenant{srv: srv}
	err = srv.DB.Platform(ctx, func(tx *gormDB) error {
		const manager = `(SELECT id FROM learners WHERE tenant_id = @t AND email = 'manager@acme.test')`
		if err := tx.Raw(`SELECT l.email FROM org_closure c JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.learner_id
			WHERE c.tenant_id = @t AND c.manager_id = `+manager+` AND l.id <> `+manager+` ORDER BY l.id LIMIT 1`,
			map[string]any{"t": tenant.ID}).Scan(&lt.inTeam).Error; err != nil {
			return err
		}
		// Someone in another branch: neither in the manager's part nor
		// above the manager.
		return tx.Raw(`SELECT l.email FROM learners l WHERE l.tenant_id = @t AND l.id <> `+manager+`
			AND NOT EXISTS (SELECT 1 FROM org_closure c WHERE c.tenant_id = l.tenant_id AND c.manager_id = `+manager+` AND c.learner_id = l.id)
			AND NOT EXISTS (SELECT 1 FROM org_closure c WHERE c.tenant_id = l.tenant_id AND c.manager_id = l.id AND c.learner_id = `+manager+`)
			ORDER BY l.id LIMIT 1`, map[string]any{"t": tenant.ID}).Scan(&lt.outOfTeam).Error
	})
	if err != nil || lt.inTeam == "" || lt.outOfTeam == "" {
		t.Fatalf("learners in and out of the manager's team: %+v, %v", lt, err)
	}
	return lt
}

// complete posts to srv's xAPI endpoint, with acme's credential, a
// completion by email of a catalog course they have not completed: every
// viewer whose scope has email sees Completed go up by one, and nobody
// else's numbers change. (A course the catalog does not have would appear
// in every viewer's course list.)
func complete(t *testing.T, srv *testserver.Server, email string) {
	t.Helper()
	var course string
	err := srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT c.activity_iri FROM courses c JOIN learners l ON l.tenant_id = c.tenant_id AND l.email = ?
			WHERE NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.tenant_id = c.tenant_id AND e.course_id = c.id
				AND e.learner_id = l.id AND e.status = 'completed')
			ORDER BY c.id LIMIT 1`, email).Scan(&course).Error
	})
	if err != nil || course == "" {
		t.Fatalf("a course %s has not completed: %q, %v", email, course, err)
	}
	body := stmt("", email, "completed", course, time.Now().UTC().Format(time.RFC3339), `,"result":{"completion":true}`)
	r := newLRS(t, srv, "acme").do(http.MethodPost, "/xapi/statements", body)
	if r.Status != http.StatusOK {
		t.Fatalf("POST statement: %d %s", r.Status, r.Body)
	}
}

// signedIn returns a client signed in as email on host, with the version
// of the completion dashboard it sees.
func liveSignedIn(t *testing.T, srv *testserver.Server, host, email string) (*testserver.Client, int64) {
	t.Helper()
	c := srv.NewClient(t)
	c.Login(host, email)
	r := c.Get(host, "/dashboards/completion")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `data-live="kpi-completed"`) || !strings.Contains(r.Body, `ws-connect="/ws"`) {
		t.Fatalf("%s: completion dashboard %d, without live sections or socket: %.300s", email, r.Status, r.Body)
	}
	v, _ := strconv.ParseInt(r.Header.Get("X-LearnLens-Version"), 10, 64)
	return c, v
}

func TestLiveRefusesStrangers(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	const acme, origin = "acme.localhost", "http://acme.localhost"
	acmeOrigin := origin + ":" + strconv.Itoa(srv.Port)

	anon := srv.NewClient(t)
	if _, status := dialLive(t, srv, anon, acme, acmeOrigin); status != http.StatusUnauthorized {
		t.Errorf("no session cookie: status %d, want 401", status)
	}

	// A globex admin's cookie, presented on acme's host.
	globex := srv.NewClient(t)
	globex.Login("globex.localhost", "admin@globex.test")
	stolen := srv.NewClient(t)
	stolen.Jar.SetCookies(mustURL(srv.URL(acme, "/")), []*http.Cookie{{Name: "learnlens_session", Value: globex.SessionCookie("globex.localhost")}})
	if _, status := dialLive(t, srv, stolen, acme, acmeOrigin); status != http.StatusUnauthorized {
		t.Errorf("another tenant's cookie: status %d, want 401", status)
	}

	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	for _, o := range []string{"", "http://evil.test", "http://globex.localhost:" + strconv.Itoa(srv.Port), origin} {
		if _, status := dialLive(t, srv, admin, acme, o); status != http.StatusForbidden {
			t.Errorf("origin %q: status %d, want 403", o, status)
		}
	}

	// A learner connects for My learning, but a dashboard is not theirs.
	learner := srv.NewClient(t)
	learner.Login(acme, "learner@acme.test")
	l, status := dialLive(t, srv, learner, acme, acmeOrigin)
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("a learner: status %d, want 101", status)
	}
	l.subscribe("/dashboards/completion", 0)
	var ce *websocket.CloseError
	if _, err := l.next(5 * time.Second); !errors.As(err, &ce) || ce.Code != 1008 {
		t.Errorf("a learner subscribing to a dashboard: %v, want close 1008", err)
	}

	if r := admin.Get(acme, "/ws"); r.Status != http.StatusUpgradeRequired || !strings.Contains(r.Body, "WebSocket") {
		t.Errorf("plain GET /ws: %d %.200s", r.Status, r.Body)
	}

	// Subscriptions that are not a dashboard the viewer may see are closed
	// with a reason.
	for _, tc := range []struct {
		msg  string
		code int
	}{
		{`not json`, 1003},
		{`{"page":"/admin/users"}`, 1003},
		{`{"page":"/dashboards/completion","tables":["/admin/users"]}`, 1003},
		{`{"page":"/dashboards/completion","tables":["/tables/completion/courses/export.csv"]}`, 1003},
		{`{"page":"/dashboards/../admin/users"}`, 1003},
		{`{"page":"//evil.test/dashboards/completion"}`, 1003},
		{`{"page":"/dashboards/nope"}`, 1003},
		{`{"page":"/dashboards/completion?range=forever"}`, 1003},
		{`{"page":"/me/x"}`, 1003},
		{`{"page":"/learners/x"}`, 1003},
		{`{"page":"/learners/99999999"}`, 1003},
		{`{"page":"/dashboards/team","nodes":["/dashboards/team/x/1"]}`, 1003},
		{`{"page":"/dashboards/team","nodes":["/dashboards/team/nodes/99999999"]}`, 1003},
		{`{"page":"/dashboards/team","nodes":["/dashboards/team/nodes/1/export.csv"]}`, 1003},
		{`{"page":"/dashboards/team","nodes":[` + strings.Repeat(`"/dashboards/team/nodes/1",`, 32) + `"/dashboards/team/nodes/1"]}`, 1003},
	} {
		l, status := dialLive(t, srv, admin, acme, acmeOrigin)
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("admin: status %d", status)
		}
		l.conn.WriteMessage(websocket.TextMessage, []byte(tc.msg))
		_, err := l.next(5 * time.Second)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != tc.code || ce.Text == "" {
			t.Errorf("subscription %s: %v, want close %d with a reason", tc.msg, err, tc.code)
		}
	}
}

func TestLiveCapsConnectionsPerTenantWithAClearMessage(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	if _, err := seed.Demo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	srv := testserver.StartWith(t, db, func(c *config.Config) { c.LiveMaxPerTenant = 1 })
	origin := "http://acme.localhost:" + strconv.Itoa(srv.Port)
	c, v := liveSignedIn(t, srv, "acme.localhost", "admin@acme.test")
	first, _ := dialLive(t, srv, c, "acme.localhost", origin)
	first.subscribe("/dashboards/completion", v)
	second, status := dialLive(t, srv, c, "acme.localhost", origin)
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("second connection: status %d", status)
	}
	_, err := second.next(3 * time.Second)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 1013 || !strings.Contains(ce.Text, "limit") {
		t.Fatalf("over the tenant's cap: %v, want close 1013 (try again later) saying why", err)
	}
	// Globex is not held back by acme's connections.
	g, gv := liveSignedIn(t, srv, "globex.localhost", "admin@globex.test")
	other, _ := dialLive(t, srv, g, "globex.localhost", "http://globex.localhost:"+strconv.Itoa(srv.Port))
	other.subscribe("/dashboards/completion", gv)
	if msg, err := other.next(500 * time.Millisecond); msg != "" || err != nil {
		t.Errorf("globex's connection: %.100q, %v", msg, err)
	}
	if msg, err := first.next(200 * time.Millisecond); msg != "" || err != nil {
		t.Errorf("acme's first connection: %.100q, %v", msg, err)
	}
}

func TestLiveHeartbeatsAndDropsSilentConnections(t *testing.T) {
	t.Parallel()
	srv := startHeartbeatingFast(t)
	port := strconv.Itoa(srv.Port)
	c, v := liveSignedIn(t, srv, "acme.localhost", "admin@acme.test")
	dial := func() *websocket.Conn {
		d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
		}, Jar: c.Jar}
		conn, _, err := d.Dial("ws://acme.localhost:"+port+"/ws", http.Header{"Origin": {"http://acme.localhost:" + port}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"page":"/dashboards/completion","version":%d}`, v))
		return conn
	}
	// A client that reads answers pings and gets the empty heartbeat
	// messages a page watches for.
	alive := dial()
	heartbeats := 0
	alive.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
	for {
		_, msg, err := alive.ReadMessage()
		if err != nil {
			break
		}
		if strings.TrimSpace(string(msg)) == "" {
			heartbeats++
		}
	}
	if heartbeats < 4 {
		t.Errorf("%d heartbeats in 1.5 s at one per 200 ms", heartbeats)
	}
	// A client that reads nothing never answers a ping: after two and a
	// half heartbeats the server closes it.
	silent := dial()
	time.Sleep(1500 * time.Millisecond)
	silent.SetReadDeadline(time.Now().Add(2 * time.Second))
	var err error
	for err == nil {
		_, _, err = silent.ReadMessage()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("a silent client is still connected after 3.5 s: %v", err)
	}
}

func TestLivePushesChangesToTheViewersWhoseNumbersChanged(t *testing.T) {
	t.Parallel()
	lt := startLive(t)
	srv := lt.srv
	port := strconv.Itoa(srv.Port)

	clients := map[string]*testserver.Client{}
	open := func(host, email string) *liveConn {
		c, v := liveSignedIn(t, srv, host, email)
		clients[email] = c
		l, status := dialLive(t, srv, c, host, "http://"+host+":"+port)
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("%s: upgrade status %d", email, status)
		}
		l.subscribe("/dashboards/completion", v)
		return l
	}
	admin := open("acme.localhost", "admin@acme.test")
	manager := open("acme.localhost", "manager@acme.test")
	globex := open("globex.localhost", "admin@globex.test")
	// Up to date: nothing is sent on subscribing.
	for name, l := range map[string]*liveConn{"admin": admin, "manager": manager, "globex": globex} {
		if msg, err := l.next(500 * time.Millisecond); msg != "" || err != nil {
			t.Errorf("%s got %.200q, %v right after subscribing at the current version", name, msg, err)
		}
	}

	// Someone outside the manager's team completes a course: the admin's
	// tiles change at once, nobody else hears of it.
	start := time.Now()
	complete(t, srv, lt.outOfTeam)
	msg, err := admin.next(3 * time.Second)
	if err != nil || !strings.Contains(msg, `data-live="kpi-completed"`) || !strings.Contains(msg, `hx-swap-oob="outerHTML:[data-live=&#34;kpi-completed&#34;]"`) {
		t.Fatalf("admin: push %.400q, %v", msg, err)
	}
	t.Logf("first push %v after the POST was sent", time.Since(start).Round(time.Millisecond))
	// What changed flashes: the Completed tile, never the "data as of"
	// line. (Which other tiles change depends on the course: overdue, in
	// progress…; realtime/hub_test.go checks the rule exactly.)
	marked := changedKeys(msg)
	if !slices.Contains(marked, "kpi-completed") || slices.Contains(marked, "as-of") {
		t.Errorf("admin: the push marks %v: %.600s", marked, msg)
	}
	for name, l := range map[string]*liveConn{"manager": manager, "globex": globex} {
		if msg, err := l.next(2500 * time.Millisecond); msg != "" || err != nil {
			t.Errorf("%s got a push changing %v, %v for a completion outside their view: %s", name, changedKeys(msg), err, msg)
		}
	}

	// Someone in the manager's team: both acme viewers get it; globex not.
	// This is the second change within a second or two of the first: it
	// comes at most a second after the previous push.
	complete(t, srv, lt.inTeam)
	for name, l := range map[string]*liveConn{"admin": admin, "manager": manager} {
		if msg, err := l.next(4 * time.Second); err != nil || !strings.Contains(msg, `data-live="kpi-completed"`) {
			t.Errorf("%s: push %.300q, %v after a completion in the team", name, msg, err)
		}
	}
	if msg, err := globex.next(2 * time.Second); msg != "" || err != nil {
		t.Errorf("globex got %.300q, %v", msg, err)
	}

	// The manager signs out: the next render of their view, made with
	// their session, ends their connection for good (1008, no reconnect).
	if r := clients["manager@acme.test"].PostForm("acme.localhost", "/logout", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.Status)
	}
	complete(t, srv, lt.inTeam)
	_, err = manager.next(5 * time.Second)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 1008 || !strings.Contains(ce.Text, "sign in") {
		t.Errorf("signed-out manager: %v, want close 1008 asking to sign in", err)
	}
	if msg, err := admin.next(4 * time.Second); err != nil || !strings.Contains(msg, `data-live="kpi-completed"`) {
		t.Errorf("admin after the manager signed out: %.200q, %v", msg, err)
	}

	// A page that was away (a stale version) gets every section again.
	c, _ := liveSignedIn(t, srv, "acme.localhost", "admin@acme.test")
	late, _ := dialLive(t, srv, c, "acme.localhost", "http://acme.localhost:"+port)
	late.subscribe("/dashboards/completion", 1)
	if msg, err := late.next(3 * time.Second); err != nil || !strings.Contains(msg, `data-live="kpi-enrolled"`) || !strings.Contains(msg, `data-live="as-of"`) || strings.Contains(msg, "data-live-changed") {
		t.Errorf("resync: %.300q, %v", msg, err)
	}
}

func TestLiveUpdatesReachAnotherInstance(t *testing.T) {
	t.Parallel()
	lt := startLive(t)
	a := lt.srv
	b := testserver.StartOn(t, a.DB)
	c, v := liveSignedIn(t, b, "acme.localhost", "admin@acme.test")
	l, status := dialLive(t, b, c, "acme.localhost", "http://acme.localhost:"+strconv.Itoa(b.Port))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade on B: %d", status)
	}
	l.subscribe("/dashboards/completion", v)
	if msg, _ := l.next(500 * time.Millisecond); msg != "" {
		t.Fatalf("B sent %.200q before anything changed", msg)
	}
	complete(t, a, lt.inTeam)
	if msg, err := l.next(5 * time.Second); err != nil || !strings.Contains(msg, `data-live="kpi-completed"`) {
		t.Fatalf("B's viewer after a statement accepted by A: %.300q, %v", msg, err)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

var changedKey = regexp.MustCompile(`data-live=&#34;([^&]+)&#34;\]" data-live-changed`)

// changedKeys lists the sections a push marks as changed.
func changedKeys(msg string) []string {
	var out []string
	for _, m := range changedKey.FindAllStringSubmatch(msg, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestLiveEndsWhenTheTenantIsSuspended: suspension reaches live
// connections too. An open page's connection ends at its next session
// check (a heartbeat), and a new one is refused.
func TestLiveEndsWhenTheTenantIsSuspended(t *testing.T) {
	t.Parallel()
	srv := startHeartbeatingFast(t)
	origin := "http://acme.localhost:" + strconv.Itoa(srv.Port)
	c, v := liveSignedIn(t, srv, "acme.localhost", "admin@acme.test")
	conn, status := dialLive(t, srv, c, "acme.localhost", origin)
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("dial before the suspension: %d", status)
	}
	conn.subscribe("/dashboards/completion", v)
	acme, err := models.NewTenantStore(srv.DB).BySlug(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := models.NewTenantStore(srv.DB).SetStatus(context.Background(), acme.ID, models.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		msg, err := conn.next(time.Until(deadline))
		if err != nil {
			break // closed
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connection of a suspended tenant's page is still open after 5 s (last message %.200q)", msg)
		}
	}
	if _, status := dialLive(t, srv, c, "acme.localhost", origin); status == http.StatusSwitchingProtocols {
		t.Error("a suspended tenant's page opened a new live connection")
	}
}

// startHeartbeatingFast starts a server on the demo data whose live
// connections are pinged, and their viewers checked, every 200 ms.
func startHeartbeatingFast(t *testing.T) *testserver.Server {
	t.Helper()
	db := testdb.New(t)
	if _, err := seed.Demo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return testserver.StartWith(t, db, func(c *config.Config) { c.LiveHeartbeat = 200 * time.Millisecond })
}
