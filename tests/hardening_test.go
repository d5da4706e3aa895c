package tests

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// TestLoginNextCannotLeaveTheSite: issue 14 finding 1, the open redirect
// through a tab (or any other character browsers drop) after the slash.
func TestLoginNextCannotLeaveTheSite(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	hostile := []string{"/\t/evil.example", "/ /evil.example", "/\v/evil.example", "/\x00/evil.example", "/\u3000/evil.example", "//evil.example", "/\\evil.example", "https://evil.example"}
	for _, next := range hostile {
		r := c.PostForm(acme, "/login", url.Values{"email": {"admin@acme.test"}, "password": {seed.DemoPassword}, "next": {next}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/" {
			t.Errorf("sign-in with next=%q: %d to %q, want 303 to /", next, r.Status, r.Header.Get("Location"))
		}
		// Signed in now: /login sends the user straight on.
		r = c.Get(acme, "/login?next="+url.QueryEscape(next))
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/" {
			t.Errorf("GET /login?next=%q signed in: %d to %q, want 303 to /", next, r.Status, r.Header.Get("Location"))
		}
	}
	if r := c.Get(acme, "/login?next=%2Fadmin%2Fusers"); r.Header.Get("Location") != "/admin/users" {
		t.Errorf("a clean next path was not kept: %q", r.Header.Get("Location"))
	}
}

// TestForwardedHeadersAreTrustedOnlyFromConfiguredProxies: issue 14
// finding 2. X-Forwarded-Host chose the tenant and built the sign-in
// ticket's URL whoever sent it.
func TestForwardedHeadersAreTrustedOnlyFromConfiguredProxies(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	// No TRUSTED_PROXIES: the headers are ignored.
	r := c.Get(globex, "/login", "X-Forwarded-Host", acme+":1", "X-Forwarded-Proto", "https")
	mustContain(t, "globex host, forwarded acme", r.Body, "Sign in to Globex")
	mustNotContain(t, "globex host, forwarded acme", r.Body, "Acme Corp")
	r = c.PostForm(bare, "/login", url.Values{"email": {"manager@acme.test"}, "password": {seed.DemoPassword}},
		"X-Forwarded-Host", "localhost:8080@evil.example", "X-Forwarded-Proto", "https")
	if loc := r.Header.Get("Location"); r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, srv.URL(acme, "/")) {
		t.Errorf("bare-domain sign-in with a forged X-Forwarded-Host: %d to %q, want 303 to %s", r.Status, loc, srv.URL(acme, "/"))
	}
	// A Host whose port is not a number serves nothing.
	for _, host := range []string{"localhost:8080@evil.example", "acme.localhost:80/x"} {
		if r := c.Get(host, "/login"); r.Status != http.StatusNotFound && r.Status != http.StatusBadRequest {
			t.Errorf("Host %q: status %d, want 404 or 400", host, r.Status)
		}
	}

	// From a configured proxy the headers count, but the port must still
	// be a number.
	proxied := testserver.StartWith(t, srv.DB, func(cfg *config.Config) { cfg.TrustedProxies = []string{"127.0.0.0/8"} })
	p := proxied.NewClient(t)
	mustContain(t, "trusted proxy, forwarded acme", p.Get(bare, "/login", "X-Forwarded-Host", acme).Body, "Sign in to Acme Corp")
	r = p.PostForm(bare, "/login", url.Values{"email": {"manager@acme.test"}, "password": {seed.DemoPassword}},
		"X-Forwarded-Host", "localhost:8443", "X-Forwarded-Proto", "https")
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "https://acme.localhost:8443/") {
		t.Errorf("sign-in through a trusted proxy: %d to %q, want https://acme.localhost:8443/…", r.Status, loc)
	}
	if r := p.Get(bare, "/login", "X-Forwarded-Host", "localhost:8080@evil.example"); r.Status != http.StatusNotFound {
		t.Errorf("trusted proxy forwarding localhost:8080@evil.example: status %d, want 404", r.Status)
	}
}
