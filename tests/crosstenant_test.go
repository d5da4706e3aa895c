package tests

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// access says who a route is for.
type access int

const (
	// public routes serve anyone the same thing whatever the tenant (health,
	// static files, the sign-in page).
	public access = iota
	// signedIn routes are for users of the host's tenant (with any role the
	// route's group allows) and show only that tenant's data.
	signedIn
)

// isolation declares, for every route of the app, who it is for and how to
// fill its parameters with ids of acme's objects. A route missing here fails
// TestEveryRouteIsIsolatedBetweenTenants, so each new route must declare it.
type isolation struct {
	access access
	params func(f *fixture) map[string]string
	form   func(f *fixture) url.Values // body of POST probes
}

// fixture holds ids of acme's objects for the probes.
type fixture struct {
	acmeTenant, acmeLearner int64
}

var routeIsolation = map[string]isolation{
	"GET /healthz":              {access: public},
	"GET /readyz":               {access: public},
	"GET /static/*":             {access: public, params: func(*fixture) map[string]string { return map[string]string{"*": "css/app.css"} }},
	"GET /sw.js":                {access: public},
	"GET /manifest.webmanifest": {access: public},
	"GET /offline.html":         {access: public},
	"GET /favicon.ico":          {access: public},
	"GET /login":                {access: public},
	"POST /login": {access: public, form: func(*fixture) url.Values {
		return url.Values{"email": {"admin@acme.test"}, "password": {seed.DemoPassword}}
	}},
	"GET /login/ticket":     {access: public},
	"POST /logout":          {access: signedIn},
	"GET /":                 {access: signedIn},
	"GET /platform/tenants": {access: signedIn},
	"POST /platform/tenants/:id/status": {access: signedIn,
		params: func(f *fixture) map[string]string {
			return map[string]string{"id": strconv.FormatInt(f.acmeTenant, 10)}
		},
		form: func(*fixture) url.Values { return url.Values{"status": {"suspended"}} }},
	"GET /admin/users": {access: signedIn},
	"POST /admin/users/:id/unlock": {access: signedIn,
		params: func(f *fixture) map[string]string {
			return map[string]string{"id": strconv.FormatInt(f.acmeLearner, 10)}
		}},
	"GET /admin/audit": {access: signedIn},
}

// acmeSecrets are strings only acme's users may see.
var acmeSecrets = []string{"admin@acme.test", "manager@acme.test", "analyst@acme.test", "learner@acme.test",
	"Ada Admin", "Max Manager", "Ana Analyst", "Lee Learner"}

// TestEveryRouteIsIsolatedBetweenTenants enumerates the app's route table
// and asks every route, with acme's object ids, as globex's admin (on
// globex's host, and with globex's session cookie on acme's host) and
// anonymously. Nothing of acme may appear and signed-in routes must refuse.
func TestEveryRouteIsIsolatedBetweenTenants(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	f := &fixture{acmeTenant: tenantID(t, srv, "acme"), acmeLearner: userID(t, srv, "acme", "learner@acme.test")}
	// Lock acme's learner, so an unlock that leaked across tenants would show.
	if err := srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE users SET locked_until = now() + interval '1 hour', failed_logins = 5 WHERE tenant_id = ? AND id = ?`,
			f.acmeTenant, f.acmeLearner).Error
	}); err != nil {
		t.Fatal(err)
	}

	type route struct{ method, path string }
	var routes []route
	seen := map[string]bool{}
	for _, r := range srv.App.GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == "CONNECT" || r.Method == "TRACE" || r.Method == "OPTIONS" {
			continue
		}
		key := r.Method + " " + r.Path
		if seen[key] {
			continue
		}
		seen[key] = true
		if _, ok := routeIsolation[key]; !ok {
			t.Errorf("route %s has no isolation expectation: declare it in routeIsolation (tests/crosstenant_test.go)", key)
			continue
		}
		routes = append(routes, route{r.Method, r.Path})
	}
	for key := range routeIsolation {
		if !seen[key] {
			t.Errorf("routeIsolation declares %s, which the app does not have", key)
		}
	}
	// GETs first: the POST /login probe writes acme's email into globex's
	// audit log (it was typed on globex's host), which the audit page shows.
	sort.SliceStable(routes, func(i, j int) bool { return routes[i].method == http.MethodGet && routes[j].method != http.MethodGet })

	globexAdmin := srv.NewClient(t)
	globexAdmin.Login(globex, "admin@globex.test")
	stolen := srv.NewClient(t)
	setCookie(stolen, srv, acme, globexAdmin.SessionCookie(globex))
	anon := srv.NewClient(t)

	for _, r := range routes {
		iso := routeIsolation[r.method+" "+r.path]
		path := r.path
		if iso.params != nil {
			for k, v := range iso.params(f) {
				if k == "*" {
					path = strings.Replace(path, "*", v, 1)
				} else {
					path = strings.Replace(path, ":"+k, v, 1)
				}
			}
		}
		probes := []struct {
			who    string
			client *testserver.Client
			host   string
		}{
			{"globex admin on globex's host", globexAdmin, globex},
			{"globex admin's cookie on acme's host", stolen, acme},
			{"anonymous on acme's host", anon, acme},
		}
		for _, p := range probes {
			var resp testserver.Response
			form := url.Values{}
			if r.method == http.MethodGet {
				resp = p.client.Get(p.host, path)
			} else {
				if iso.form != nil {
					form = iso.form(f)
				}
				form.Set("_csrf", csrfOrEmpty(p.client, p.host))
				resp = p.client.PostForm(p.host, path, form)
			}
			what := r.method + " " + path + " as " + p.who
			if resp.Status >= 500 {
				t.Errorf("%s: status %d", what, resp.Status)
			}
			// A form may echo what the prober typed; anything else of acme's is a leak.
			body := resp.Body
			for _, vs := range form {
				for _, v := range vs {
					if v != "" {
						body = strings.ReplaceAll(body, `value="`+v+`"`, "")
					}
				}
			}
			mustNotContain(t, what, body, acmeSecrets...)
			if iso.access == public {
				continue
			}
			signedInHere := p.client == globexAdmin
			switch {
			case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden || resp.Status == http.StatusNotFound:
			case resp.Status == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login"):
				if signedInHere && r.method != http.MethodPost {
					t.Errorf("%s: globex's admin was sent to sign in on their own host", what)
				}
			case resp.Status == http.StatusOK && signedInHere && r.method == http.MethodGet:
				// Globex's own page: it showed no acme data (checked above).
			default:
				t.Errorf("%s: status %d (Location %q), want 401, 403, 404 or a redirect to sign in", what, resp.Status, resp.Header.Get("Location"))
			}
		}
	}

	// Acme's state is untouched: the learner is still locked, acme active,
	// and nobody got signed in to acme.
	var locked bool
	var status string
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		tx.Raw(`SELECT locked_until > now() FROM users WHERE tenant_id = ? AND id = ?`, f.acmeTenant, f.acmeLearner).Scan(&locked)
		return tx.Raw(`SELECT status FROM tenants WHERE id = ?`, f.acmeTenant).Scan(&status).Error
	})
	if !locked || status != "active" {
		t.Errorf("probes changed acme: learner locked=%v, tenant status=%s", locked, status)
	}
	for _, c := range []*testserver.Client{globexAdmin, stolen, anon} {
		if r := c.Get(acme, "/"); r.Status == http.StatusOK {
			t.Error("a probe client ended up signed in to acme")
		}
	}
}

// csrfOrEmpty returns the client's CSRF token on host, or "" when the host
// gives it none (then a refusal for the token is as good as any).
func csrfOrEmpty(c *testserver.Client, host string) string {
	for _, p := range []string{"/", "/login"} {
		r := c.Get(host, p)
		if m := csrfPattern.FindStringSubmatch(r.Body); m != nil {
			return m[1]
		}
	}
	return ""
}
