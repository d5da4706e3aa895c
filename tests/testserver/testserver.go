// Package testserver starts the real LearnLens server, on a fresh database
// with the demo tenants, for black-box tests, and gives them HTTP clients
// that reach it under any host name (acme.localhost, custom domains) the way
// a browser would.
package testserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/handlers"
	"github.com/learnlens/learnlens/seed"
)

// TokenKey is the TOKEN_KEY of every test server.
const TokenKey = "6c6561726e6c656e732d746573742d746f6b656e2d6b65792d33322d62797465"

// Server is a running LearnLens server.
type Server struct {
	App *fiber.App
	// Metrics serves the server's Prometheus metrics, as METRICS_ADDR
	// would (tests read it in process: no port per server).
	Metrics http.Handler
	DB      *database.DB
	Port    int
	t       testing.TB

	cfg  config.Config
	log  *slog.Logger
	stop func() // shuts the app down and ends its background work
}

// Start seeds a fresh database with the demo tenants and serves LearnLens on
// 127.0.0.1 until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	db := testdb.New(t)
	if _, err := seed.Demo(context.Background(), db); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return StartOn(t, db)
}

// StartOn serves LearnLens on db, as a second instance beside another
// server would: they share nothing but the database.
func StartOn(t testing.TB, db *database.DB) *Server {
	t.Helper()
	return StartWith(t, db, nil)
}

// StartWith is StartOn with the configuration changed by configure first
// (a test's clock, say).
func StartWith(t testing.TB, db *database.DB, configure func(*config.Config)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseDomain = "localhost"
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	// The demo data, as `serve --dev` serves it: the platform admin signs
	// in without a second factor unless a test turns this off.
	cfg.AdminMFAOptional = true
	cfg.TokenKey = TokenKey // every instance of a test's database seals its token keys alike
	if configure != nil {
		configure(&cfg)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s := &Server{DB: db, Port: cfg.Port, t: t, cfg: cfg, log: log}
	s.serve(ln)
	t.Cleanup(func() { s.stop() })
	return s
}

// serve starts a new app on ln.
func (s *Server) serve(ln net.Listener) {
	app, metrics, lc := handlers.New(s.cfg, s.DB, s.log)
	go app.Listener(ln)
	s.App, s.Metrics = app, metrics
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			lc.Drain()
			app.ShutdownWithTimeout(5 * time.Second)
			lc.Stop()
		})
	}
}

// Restart stops the server, as a deploy does, and starts a new one on the
// same port and database.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Down()
	s.Up(t)
}

// Down stops the server: its port refuses connections until Up.
func (s *Server) Down() { s.stop() }

// Up starts a new server on the port and database of one that is Down.
func (s *Server) Up(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the old listener's port may take a moment to free
		if ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(s.Port)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("start again on port %d: %v", s.Port, err)
	}
	s.serve(ln)
}

// URL returns the address of path on host (e.g. "acme.localhost").
func (s *Server) URL(host, path string) string {
	return "http://" + host + ":" + strconv.Itoa(s.Port) + path
}

// Client is a browser-like HTTP client: it keeps cookies per host, does not
// follow redirects (tests look at them), and reaches the test server
// whatever the host name.
type Client struct {
	*http.Client
	srv *Server
	t   testing.TB
}

// NewClient returns a Client with an empty cookie jar.
func (s *Server) NewClient(t testing.TB) *Client { return s.NewClientFrom(t, "") }

// NewClientFrom returns a Client with an empty cookie jar whose
// connections come from the local address ip (any of 127.0.0.0/8; "" lets
// the system choose), so a test can be several client addresses.
func (s *Server) NewClientFrom(t testing.TB, ip string) *Client {
	jar, _ := cookiejar.New(nil)
	addr := "127.0.0.1:" + strconv.Itoa(s.Port)
	d := &net.Dialer{}
	if ip != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ip)}
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &Client{
		Client: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		srv: s, t: t,
	}
}

// Response is a read response.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Get fetches path on host.
func (c *Client) Get(host, path string, header ...string) Response {
	return c.Do(http.MethodGet, host, path, nil, header...)
}

// PostForm posts form to path on host, adding the CSRF token the client last
// saw on that host unless form already has one.
func (c *Client) PostForm(host, path string, form url.Values, header ...string) Response {
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.CSRF(host))
	}
	return c.Do(http.MethodPost, host, path, strings.NewReader(form.Encode()),
		append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
}

// Do sends a request with header given as name, value pairs.
func (c *Client) Do(method, host, path string, body io.Reader, header ...string) Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL(host, path), body)
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// CSRF returns a CSRF token of the client's session on host, loading the
// sign-in page (or home page, when signed in) to get one.
func (c *Client) CSRF(host string) string {
	c.t.Helper()
	for _, p := range []string{"/login", "/"} {
		r := c.Get(host, p)
		if loc := r.Header.Get("Location"); strings.HasPrefix(loc, "/") {
			r = c.Get(host, loc)
		}
		if m := csrfInput.FindStringSubmatch(r.Body); m != nil {
			return m[1]
		}
	}
	c.t.Fatalf("no CSRF token found on %s", host)
	return ""
}

// Login signs in on host and fails the test unless it works.
func (c *Client) Login(host, email string) {
	c.t.Helper()
	r := c.PostForm(host, "/login", url.Values{"email": {email}, "password": {seed.DemoPassword}})
	if r.Status != http.StatusSeeOther {
		c.t.Fatalf("login %s on %s: status %d, want 303; body: %.300s", email, host, r.Status, r.Body)
	}
}

// SessionCookie returns the session cookie the client holds for host.
func (c *Client) SessionCookie(host string) string {
	u, _ := url.Parse(c.srv.URL(host, "/"))
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "learnlens_session" {
			return ck.Value
		}
	}
	return ""
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
