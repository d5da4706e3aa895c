package tests

import (
	"context"
	"database/sql"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// TestAnonymousVisitsStoreNoSession: the sign-in page and a failed sign-in
// write no session row and set no session cookie; the form's CSRF token
// is tied to a cookie and to the tenant; only a sign-in creates a session.
func TestAnonymousVisitsStoreNoSession(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := adminDB(t, srv)
	c := srv.NewClient(t)
	for _, host := range []string{acme, globex, bare} {
		for range 3 {
			if r := c.Get(host, "/login"); r.Status != http.StatusOK {
				t.Fatalf("GET %s/login: status %d", host, r.Status)
			}
		}
	}
	r := c.PostForm(acme, "/login", url.Values{"email": {"admin@acme.test"}, "password": {"wrong"}})
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d, want 401", r.Status)
	}
	if n := countSessions(t, admin); n != 0 {
		t.Errorf("anonymous visits stored %d sessions, want none", n)
	}
	if ck := c.SessionCookie(acme); ck != "" {
		t.Errorf("anonymous visits got a session cookie %q", ck)
	}

	// The token is worthless without its cookie, with a forged value, and
	// on another tenant's host with the same cookie.
	token := c.CSRF(acme)
	anon := srv.NewClient(t)
	login := func(who *testserver.Client, host, token string) int {
		return who.PostForm(host, "/login", url.Values{"_csrf": {token}, "email": {"admin@acme.test"}, "password": {seed.DemoPassword}}).Status
	}
	if st := login(anon, acme, token); st != http.StatusForbidden {
		t.Errorf("CSRF token without its cookie: status %d, want 403", st)
	}
	if st := login(c, acme, token+"x"); st != http.StatusForbidden {
		t.Errorf("forged CSRF token: status %d, want 403", st)
	}
	setNamedCookie(c, srv, globex, auth.CSRFCookieName, cookieValue(c, srv, acme, auth.CSRFCookieName))
	if st := login(c, globex, token); st != http.StatusForbidden {
		t.Errorf("acme's CSRF token on globex's host: status %d, want 403", st)
	}

	c.Login(acme, "admin@acme.test")
	if n := countSessions(t, admin); n != 1 {
		t.Errorf("after sign-in: %d sessions, want 1", n)
	}
	if c.SessionCookie(acme) == "" {
		t.Error("sign-in set no session cookie")
	}
}

// TestSignedInRequestsReadNoSessionUserOrTenant: once warm, signed-in
// requests leave the sessions, users, tenants and tenant_domains tables
// alone: no reads and no writes, counted by pg_stat_statements.
func TestSignedInRequestsReadNoSessionUserOrTenant(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := statementCounter(t, srv)
	waitListening(t, admin, 1)
	c := srv.NewClient(t)
	c.Login(acme, "admin@acme.test")
	// Warm-up: the first requests fill the caches, and the sign-in's own
	// change notifications (which empty them) may arrive after them on a
	// busy machine: warm until a round of requests reads nothing.
	for round := 0; round < 20; round++ {
		before, _ := authStatements(t, admin)
		for range 3 {
			c.Get(acme, "/")
		}
		if after, _ := authStatements(t, admin); maps.Equal(before, after) {
			break
		}
	}
	for attempt := 0; ; attempt++ {
		before, evictedBefore := authStatements(t, admin)
		for i := range 20 {
			if r := c.Get(acme, "/"); r.Status != http.StatusOK {
				t.Fatalf("signed-in request %d: status %d", i, r.Status)
			}
		}
		after, evictedAfter := authStatements(t, admin)
		if evictedAfter != evictedBefore && attempt < 3 {
			continue // pg_stat_statements made room by dropping entries: count again
		}
		for q, n := range after {
			if n > before[q] {
				t.Errorf("20 signed-in requests ran %d times: %s", n-before[q], q)
			}
		}
		return
	}
}

// TestTwoInstancesAgreeAtOnce: two app servers on one database. A session
// made on A works on B; then a sign-out on A, a role change, a
// deactivation, a suspension and a removed domain reach B's caches at once.
func TestTwoInstancesAgreeAtOnce(t *testing.T) {
	t.Parallel()
	a := testserver.Start(t)
	b := testserver.StartOn(t, a.DB)
	waitListening(t, adminDB(t, a), 2)
	ctx := context.Background()
	users, tenants := models.NewUserStore(a.DB), models.NewTenantStore(a.DB)
	acmeID := tenantID(t, a, "acme")
	// on signs in email on A and returns a client of B holding that session,
	// with B's caches warm.
	on := func(email string) (*testserver.Client, *testserver.Client) {
		ca := a.NewClient(t)
		ca.Login(acme, email)
		cb := b.NewClient(t)
		setCookie(cb, b, acme, ca.SessionCookie(acme))
		for range 2 {
			if r := cb.Get(acme, "/"); r.Status != http.StatusOK {
				t.Fatalf("%s's session on B: status %d", email, r.Status)
			}
		}
		return ca, cb
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Second); !ok(); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: B did not see it within 2 s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	signedOut := func(r testserver.Response) bool {
		return r.Status == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/login")
	}

	// Sign-out on A: B is signed out as soon as its listener hears of it.
	// A's sign-out returns once A heard its own notification, which B gets
	// at the same moment; on a loaded machine B's listener may still be a
	// few milliseconds from handling it.
	ca, cb := on("analyst@acme.test")
	if r := ca.PostForm(acme, "/logout", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("logout on A: status %d", r.Status)
	}
	eventually("sign-out on A", func() bool { return signedOut(cb.Get(acme, "/")) })

	// A role change shows on B.
	_, cb = on("manager@acme.test")
	manager := userID(t, a, "acme", "manager@acme.test")
	if r := cb.Get(acme, "/admin/users"); r.Status != http.StatusForbidden {
		t.Fatalf("manager on B's users page: status %d, want 403", r.Status)
	}
	if _, err := users.ChangeRole(ctx, acmeID, manager, models.RoleTenantAdmin); err != nil {
		t.Fatal(err)
	}
	eventually("role change", func() bool { return cb.Get(acme, "/admin/users").Status == http.StatusOK })

	// Deactivation signs them out on B.
	if _, err := users.SetActive(ctx, acmeID, manager, false); err != nil {
		t.Fatal(err)
	}
	eventually("deactivation", func() bool { return signedOut(cb.Get(acme, "/")) })

	// Suspending the tenant shuts B's door; resuming opens it again.
	_, cb = on("learner@acme.test")
	if err := tenants.SetStatus(ctx, acmeID, models.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	eventually("suspension", func() bool { return cb.Get(acme, "/").Status == http.StatusForbidden })
	if err := tenants.SetStatus(ctx, acmeID, models.TenantActive); err != nil {
		t.Fatal(err)
	}
	eventually("resumption", func() bool { return cb.Get(acme, "/").Status == http.StatusOK })

	// A removed custom domain serves nobody on B.
	const host = "learning.acme.example"
	if err := tenants.AddDomain(ctx, models.TenantDomain{TenantID: acmeID, Kind: models.DomainHost, Domain: host}); err != nil {
		t.Fatal(err)
	}
	eventually("new domain", func() bool { return b.NewClient(t).Get(host, "/login").Status == http.StatusOK })
	if err := tenants.RemoveDomain(ctx, acmeID, models.DomainHost, host); err != nil {
		t.Fatal(err)
	}
	eventually("removed domain", func() bool { return b.NewClient(t).Get(host, "/login").Status == http.StatusNotFound })

	// A sign-in form served by A posts to B: the CSRF key is shared.
	c := a.NewClient(t)
	token := c.CSRF(acme)
	cb2 := b.NewClient(t)
	setNamedCookie(cb2, b, acme, auth.CSRFCookieName, cookieValue(c, a, acme, auth.CSRFCookieName))
	r := cb2.PostForm(acme, "/login", url.Values{"_csrf": {token}, "email": {"admin@acme.test"}, "password": {seed.DemoPassword}})
	if r.Status != http.StatusSeeOther {
		t.Errorf("sign-in form of A posted to B: status %d, want 303", r.Status)
	}
}

func cookieValue(c *testserver.Client, srv *testserver.Server, host, name string) string {
	u, _ := url.Parse(srv.URL(host, "/"))
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func setNamedCookie(c *testserver.Client, srv *testserver.Server, host, name, value string) {
	u, _ := url.Parse(srv.URL(host, "/"))
	c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// adminDB opens a superuser connection to srv's database.
func adminDB(t *testing.T, srv *testserver.Server) *sql.DB { return testdb.Superuser(t, srv.DB) }

// statementCounter is adminDB for tests that count statements with
// pg_stat_statements, which the test cluster preloads (devdb does when the
// server has it).
func statementCounter(t *testing.T, srv *testserver.Server) *sql.DB {
	t.Helper()
	admin := adminDB(t, srv)
	if _, err := admin.Exec(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		t.Fatalf("this test counts statements with pg_stat_statements, which the test cluster must preload: %v", err)
	}
	return admin
}

func countSessions(t *testing.T, admin *sql.DB) int {
	t.Helper()
	var n int
	if err := admin.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitListening waits until n app instances LISTEN on the database, so
// that their caches are in use.
func waitListening(t *testing.T, admin *sql.DB, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var got int
		err := admin.QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got >= n {
			time.Sleep(50 * time.Millisecond) // the listener marks itself connected just after
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d instances listening after 10 s", got, n)
		}
	}
}

// authStatements returns the calls of each statement on this database that
// names sessions, users, tenants or tenant_domains, and how many times
// pg_stat_statements has evicted entries so far.
func authStatements(t *testing.T, admin *sql.DB) (map[string]int64, int64) {
	t.Helper()
	rows, err := admin.Query(`SELECT s.query, s.calls FROM pg_stat_statements s
		JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = current_database() AND s.query ~* '\m(sessions|users|tenants|tenant_domains)\M'
			AND s.query NOT LIKE '%pg_stat%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var q string
		var n int64
		if err := rows.Scan(&q, &n); err != nil {
			t.Fatal(err)
		}
		out[q] += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var evicted int64
	if err := admin.QueryRow(`SELECT dealloc FROM pg_stat_statements_info`).Scan(&evicted); err != nil {
		t.Fatal(err)
	}
	return out, evicted
}
