package tests

import (
	"net/http"
	"net/url"
	"testing"

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
