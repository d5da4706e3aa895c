package tests

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

const (
	acme   = "acme.localhost"
	globex = "globex.localhost"
	bare   = "localhost"
)

const badCredentials = "The email or password is incorrect"

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: missing %q in body: %.400s", what, w, body)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s: body contains %q, which it must not", what, w)
		}
	}
}

func TestEachDemoUserSeesTheNavigationOfTheirRole(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	cases := []struct {
		email      string
		role       string
		nav, notIn []string
	}{
		{"admin@acme.test", "Admin", []string{`data-testid="nav-home"`, `data-testid="nav-users"`, `data-testid="nav-audit"`, `data-testid="nav-requirements"`}, []string{`nav-tenants`}},
		{"manager@acme.test", "Manager", []string{`data-testid="nav-home"`}, []string{`nav-users`, `nav-audit`, `nav-requirements`, `nav-tenants`}},
		{"analyst@acme.test", "Analyst", []string{`data-testid="nav-home"`}, []string{`nav-users`, `nav-audit`, `nav-requirements`, `nav-tenants`}},
		{"learner@acme.test", "Learner", []string{`data-testid="nav-home"`}, []string{`nav-users`, `nav-audit`, `nav-requirements`, `nav-tenants`}},
	}
	for _, tc := range cases {
		c := srv.NewClient(t)
		c.Login(acme, tc.email)
		r := c.Get(acme, "/")
		if r.Status != http.StatusOK {
			t.Fatalf("%s: home status %d", tc.email, r.Status)
		}
		mustContain(t, tc.email, r.Body, append(tc.nav, "Acme Corp", ">"+tc.role+"<")...)
		mustNotContain(t, tc.email, r.Body, tc.notIn...)
	}

	// The platform admin signs in on the bare domain and lands on the tenant list.
	c := srv.NewClient(t)
	c.Login(bare, "platform@learnlens.test")
	r := c.Get(bare, "/")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/platform/tenants" {
		t.Fatalf("platform home: %d to %q, want 303 to /platform/tenants", r.Status, r.Header.Get("Location"))
	}
	r = c.Get(bare, "/platform/tenants")
	mustContain(t, "tenant list", r.Body, `data-testid="nav-tenants"`, "Acme Corp", "Globex", `data-testid="email-domains">acme.test<`, `data-testid="tenant-acme"`)
	mustNotContain(t, "tenant list", r.Body, `nav-users`, "LearnLens platform</span>")
}

func TestWrongPasswordAndUnknownEmailGetTheSameAnswer(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	wrong := c.PostForm(acme, "/login", url.Values{"email": {"admin@acme.test"}, "password": {"nope"}})
	unknown := c.PostForm(acme, "/login", url.Values{"email": {"nobody@acme.test"}, "password": {"nope"}})
	for name, r := range map[string]testserver.Response{"wrong password": wrong, "unknown email": unknown} {
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, r.Status)
		}
		mustContain(t, name, r.Body, badCredentials, `aria-invalid="true"`)
	}
	if c.Get(acme, "/").Status != http.StatusSeeOther {
		t.Error("after failed sign-ins the client is signed in")
	}
	// An empty form says what is missing.
	r := c.PostForm(acme, "/login", url.Values{"email": {""}, "password": {""}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Errorf("empty form: status %d, want 422", r.Status)
	}
	mustContain(t, "empty form", r.Body, "Enter your email address and your password")
	// htmx gets the form fragment alone.
	r = c.PostForm(acme, "/login", url.Values{"email": {"admin@acme.test"}, "password": {"nope"}}, "HX-Request", "true")
	if strings.Contains(r.Body, "<html") || !strings.Contains(r.Body, `data-testid="login-form"`) {
		t.Errorf("htmx login error is not the form fragment: %.300s", r.Body)
	}

	entries := auditActions(t, srv, "acme")
	if entries[models.AuditLoginFailed] < 3 {
		t.Errorf("audit log has %d login.failed entries, want at least 3", entries[models.AuditLoginFailed])
	}
}

func TestLockoutAfterRepeatedFailuresUntilAdminUnlocks(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	attacker := srv.NewClient(t)
	for i := 0; i < 5; i++ {
		attacker.PostForm(acme, "/login", url.Values{"email": {"learner@acme.test"}, "password": {"guess" + strconv.Itoa(i)}})
	}
	// The right password is refused now, with the same message as a wrong one.
	r := attacker.PostForm(acme, "/login", url.Values{"email": {"learner@acme.test"}, "password": {seed.DemoPassword}})
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("locked account signed in: status %d", r.Status)
	}
	mustContain(t, "locked", r.Body, badCredentials)
	if auditActions(t, srv, "acme")[models.AuditLoginLockedOut] != 1 {
		t.Error("no login.locked_out audit entry")
	}

	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	page := admin.Get(acme, "/admin/users")
	mustContain(t, "users page", page.Body, `data-testid="locked"`)
	learner := userID(t, srv, "acme", "learner@acme.test")
	r = admin.PostForm(acme, "/admin/users/"+strconv.FormatInt(learner, 10)+"/unlock", url.Values{}, "HX-Request", "true")
	if r.Status != http.StatusOK || strings.Contains(r.Body, `data-testid="locked"`) {
		t.Fatalf("unlock: status %d body %.300s", r.Status, r.Body)
	}
	srv.NewClient(t).Login(acme, "learner@acme.test")
	if auditActions(t, srv, "acme")[models.AuditUserUnlocked] != 1 {
		t.Error("no user.unlocked audit entry")
	}
}

func TestTooManyFailuresFromOneAddressAreThrottled(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClientFrom(t, "127.0.0.9")
	fail := func(i int) testserver.Response {
		// Different unknown accounts, so no account delay is involved.
		return c.PostForm(acme, "/login", url.Values{"email": {"u" + strconv.Itoa(i) + "@acme.test"}, "password": {"x"}})
	}
	// age moves the address's failures back in time, as if it had waited.
	age := func(sql string) {
		err := srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
			return tx.Exec(`UPDATE login_ip_failures SET ` + sql + ` WHERE ip = '127.0.0.9'`).Error
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		if r := fail(i); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, r.Status)
		}
	}
	// From the tenth failure on, each attempt waits: 1 s, then 2 s, ...
	last := fail(10)
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") != "1" {
		t.Fatalf("attempt right after the 10th failure: %d, Retry-After %q; want 429, 1", last.Status, last.Header.Get("Retry-After"))
	}
	mustContain(t, "throttled", last.Body, "Too many failed sign-ins")
	age(`last_failure_at = last_failure_at - interval '1 second'`)
	if r := fail(11); r.Status != http.StatusUnauthorized {
		t.Fatalf("after waiting a second: %d, want 401", r.Status)
	}
	if r := fail(12); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "2" {
		t.Errorf("right after the 11th failure: %d, Retry-After %q; want 429, 2", r.Status, r.Header.Get("Retry-After"))
	}
	// Thirty failures end the window, whatever the wait.
	age(`failures = 30, last_failure_at = last_failure_at - interval '10 minutes'`)
	if r := fail(13); r.Status != http.StatusTooManyRequests {
		t.Errorf("after 30 failures: %d, want 429", r.Status)
	}
}

func TestSessionSurvivesRotatesOnLoginAndDiesOnLogout(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	c.Get(acme, "/login")
	if ck := c.SessionCookie(acme); ck != "" {
		t.Fatalf("the sign-in page set a session cookie %q; anonymous visitors have no session", ck)
	}
	// A session token planted before sign-in (here another user's) is not
	// the one the sign-in gets, and is worthless after it.
	attacker := srv.NewClient(t)
	attacker.Login(acme, "learner@acme.test")
	before := attacker.SessionCookie(acme)
	setCookie(c, srv, acme, before)
	c.Login(acme, "admin@acme.test")
	after := c.SessionCookie(acme)
	if after == "" || after == before {
		t.Fatalf("session token not renewed on sign-in: before %q after %q", before, after)
	}
	planted := srv.NewClient(t)
	setCookie(planted, srv, acme, before)
	if r := planted.Get(acme, "/"); r.Status != http.StatusSeeOther {
		t.Errorf("pre-login session token signed in: status %d", r.Status)
	}

	// The session survives many requests, and a second server instance on
	// the same database knows it too (sessions live in PostgreSQL).
	for i := 0; i < 3; i++ {
		if r := c.Get(acme, "/admin/users"); r.Status != http.StatusOK {
			t.Fatalf("request %d after sign-in: status %d", i, r.Status)
		}
	}
	other := testserver.StartOn(t, srv.DB)
	c2 := other.NewClient(t)
	setCookie(c2, other, acme, after)
	if r := c2.Get(acme, "/admin/users"); r.Status != http.StatusOK {
		t.Errorf("second instance does not know the session: status %d", r.Status)
	}

	r := c.PostForm(acme, "/logout", url.Values{})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("logout: status %d to %q", r.Status, r.Header.Get("Location"))
	}
	if c.SessionCookie(acme) != "" {
		t.Error("logout left the session cookie in place")
	}
	// Replaying the old cookie after logout is not signed in either.
	replay := srv.NewClient(t)
	setCookie(replay, srv, acme, after)
	if r := replay.Get(acme, "/admin/users"); r.Status != http.StatusSeeOther {
		t.Errorf("session cookie still valid after logout: status %d", r.Status)
	}
	var n int64
	srv.DB.Unscoped(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM sessions WHERE token = ?`, after).Scan(&n).Error
	})
	if n != 0 {
		t.Error("logout left the session in the store")
	}
	if auditActions(t, srv, "acme")[models.AuditLogout] != 1 {
		t.Error("no logout audit entry")
	}
}

func TestStateChangingRequestsNeedTheCSRFToken(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	c.Login(acme, "admin@acme.test")
	for name, form := range map[string]url.Values{
		"no token":    {"_csrf": {""}},
		"wrong token": {"_csrf": {"forged"}},
	} {
		r := c.PostForm(acme, "/logout", form)
		if r.Status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, r.Status)
		}
		mustContain(t, name, r.Body, "The form has expired or was sent from another site")
	}
	// A sign-in form posted without the token is refused too (login CSRF).
	anon := srv.NewClient(t)
	r := anon.PostForm(acme, "/login", url.Values{"_csrf": {"x"}, "email": {"admin@acme.test"}, "password": {seed.DemoPassword}})
	if r.Status != http.StatusForbidden {
		t.Errorf("login without session token: status %d, want 403", r.Status)
	}
	// htmx requests send the token as a header.
	token := c.CSRF(acme)
	r = c.Do(http.MethodPost, acme, "/logout", nil, "HX-Request", "true", "X-CSRF-Token", token)
	if r.Status != http.StatusNoContent || r.Header.Get("HX-Redirect") != "/login" {
		t.Errorf("htmx logout with header token: status %d, HX-Redirect %q", r.Status, r.Header.Get("HX-Redirect"))
	}
}

func TestRoleGates(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	anon := srv.NewClient(t)
	r := anon.Get(acme, "/admin/users")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login?next=%2Fadmin%2Fusers" {
		t.Errorf("anonymous: %d to %q, want 303 to the sign-in page", r.Status, r.Header.Get("Location"))
	}
	if r := anon.Get(acme, "/admin/users", "Accept", "application/json"); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous JSON request: status %d, want 401", r.Status)
	}
	for _, email := range []string{"manager@acme.test", "analyst@acme.test", "learner@acme.test"} {
		c := srv.NewClient(t)
		c.Login(acme, email)
		for _, p := range []string{"/admin/users", "/admin/audit", "/platform/tenants"} {
			r := c.Get(acme, p)
			if r.Status != http.StatusForbidden {
				t.Errorf("%s GET %s: status %d, want 403", email, p, r.Status)
			}
			mustContain(t, email+" "+p, r.Body, "Not allowed", `data-testid="error-page"`)
		}
	}
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	if r := admin.Get(acme, "/platform/tenants"); r.Status != http.StatusForbidden {
		t.Errorf("tenant admin on platform page: status %d, want 403", r.Status)
	}
	platform := srv.NewClient(t)
	platform.Login(bare, "platform@learnlens.test")
	if r := platform.Get(bare, "/admin/users"); r.Status != http.StatusForbidden {
		t.Errorf("platform admin on a tenant admin page: status %d, want 403", r.Status)
	}
}

func TestTenantResolution(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	mustContain(t, "subdomain", c.Get(acme, "/login").Body, "Sign in to Acme Corp")
	mustContain(t, "subdomain", c.Get(globex, "/login").Body, "Sign in to Globex")
	mustContain(t, "bare domain", c.Get(bare, "/login").Body, "Sign in to LearnLens", "finds your organisation")

	// A verified custom domain serves its tenant.
	err := srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO tenant_domains (tenant_id, kind, domain, verified_at)
			SELECT id, 'host', 'learning.acme.example', now() FROM tenants WHERE slug = 'acme'`).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "custom domain", c.Get("learning.acme.example", "/login").Body, "Sign in to Acme Corp")
	c.Login("learning.acme.example", "admin@acme.test")

	for _, host := range []string{"nope.localhost", "unknown.example", "a.b.localhost", "platform.localhost"} {
		r := c.Get(host, "/login")
		if r.Status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", host, r.Status)
		}
		mustContain(t, host, r.Body, "No organisation here")
	}

	// On the bare domain the email's domain finds the tenant, and a
	// one-time ticket carries the sign-in to the tenant's own host: kept in
	// a cookie of the bare domain, then posted from its hand-over page.
	b := srv.NewClient(t)
	action, ticket := bareDomainSignIn(t, srv, b, "manager@acme.test")
	if action != srv.URL(acme, "/login/ticket") {
		t.Fatalf("hand-over form posts to %q, want %s", action, srv.URL(acme, "/login/ticket"))
	}
	if b.SessionCookie(bare) != "" && b.Get(bare, "/").Status == http.StatusOK {
		t.Error("the acme user is signed in on the bare domain")
	}
	if r := redeem(b, acme, ticket, srv.URL(bare, "")); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("ticket: %d to %q", r.Status, r.Header.Get("Location"))
	}
	mustContain(t, "after ticket", b.Get(acme, "/").Body, "Max Manager")
	// A ticket works once, and only on its tenant's host.
	if r := redeem(srv.NewClient(t), acme, ticket, srv.URL(bare, "")); r.Status != http.StatusBadRequest {
		t.Errorf("reused ticket: status %d, want 400", r.Status)
	}
	_, gticket := bareDomainSignIn(t, srv, srv.NewClient(t), "admin@globex.test")
	if r := redeem(srv.NewClient(t), acme, gticket, srv.URL(bare, "")); r.Status != http.StatusBadRequest {
		t.Errorf("globex ticket on acme's host: status %d, want 400", r.Status)
	}
}

var continueTicket = regexp.MustCompile(`name="t" value="([^"]+)"`)

// bareDomainSignIn signs email in on the bare domain with c and returns
// the hand-over form's action and ticket, as /login/continue shows them.
func bareDomainSignIn(t *testing.T, srv *testserver.Server, c *testserver.Client, email string) (action, ticket string) {
	t.Helper()
	r := c.PostForm(bare, "/login", url.Values{"email": {email}, "password": {seed.DemoPassword}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login/continue" {
		t.Fatalf("bare-domain sign-in: %d to %q, want 303 to /login/continue", r.Status, r.Header.Get("Location"))
	}
	if strings.Contains(r.Header.Get("Location"), "t=") {
		t.Fatal("the ticket is in a URL")
	}
	r = c.Get(bare, "/login/continue")
	form := r.Body[strings.Index(r.Body, `data-testid="continue-form"`)-200:]
	a := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(form)
	tk := continueTicket.FindStringSubmatch(form)
	if r.Status != http.StatusOK || a == nil || tk == nil {
		t.Fatalf("hand-over page: %d %.400s", r.Status, r.Body)
	}
	return a[1], tk[1]
}

// redeem posts a ticket to host's /login/ticket as a page of origin would.
func redeem(c *testserver.Client, host, ticket, origin string) testserver.Response {
	return c.Do(http.MethodPost, host, "/login/ticket", strings.NewReader(url.Values{"t": {ticket}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", origin)
}

func TestSessionOfOneTenantIsNotSignedInOnAnother(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	g := srv.NewClient(t)
	g.Login(globex, "admin@globex.test")
	stolen := g.SessionCookie(globex)

	c := srv.NewClient(t)
	setCookie(c, srv, acme, stolen)
	for _, p := range []string{"/", "/admin/users", "/admin/audit"} {
		r := c.Get(acme, p)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
			t.Errorf("globex session on acme %s: status %d to %q, want a redirect to sign in", p, r.Status, r.Header.Get("Location"))
		}
		mustNotContain(t, p, r.Body, "Acme Corp", "admin@acme.test")
	}
}

func TestSuspendedTenant(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	user := srv.NewClient(t)
	user.Login(globex, "admin@globex.test")

	p := srv.NewClient(t)
	p.Login(bare, "platform@learnlens.test")
	id := tenantID(t, srv, "globex")
	path := "/platform/tenants/" + strconv.FormatInt(id, 10) + "/status"
	r := p.PostForm(bare, path, url.Values{"status": {"suspended"}}, "HX-Request", "true")
	if r.Status != http.StatusOK {
		t.Fatalf("suspend: status %d: %.300s", r.Status, r.Body)
	}
	mustContain(t, "suspended row", r.Body, "suspended", "Re-activate")
	if r := p.PostForm(bare, path, url.Values{"status": {"deleted"}}); r.Status != http.StatusBadRequest {
		t.Errorf("bad status value: status %d, want 400", r.Status)
	}
	if r := p.PostForm(bare, "/platform/tenants/999999/status", url.Values{"status": {"active"}}); r.Status != http.StatusNotFound {
		t.Errorf("unknown tenant: status %d, want 404", r.Status)
	}

	for _, c := range []*testserver.Client{user, srv.NewClient(t)} {
		r := c.Get(globex, "/")
		if r.Status != http.StatusForbidden {
			t.Errorf("suspended tenant: status %d, want 403", r.Status)
		}
		mustContain(t, "suspended notice", r.Body, "Account suspended")
	}
	r = srv.NewClient(t).PostForm(bare, "/login", url.Values{"email": {"admin@globex.test"}, "password": {seed.DemoPassword}})
	if r.Status != http.StatusForbidden {
		t.Errorf("bare-domain sign-in to a suspended tenant: status %d, want 403", r.Status)
	}
	// Acme is untouched.
	srv.NewClient(t).Login(acme, "admin@acme.test")

	p.PostForm(bare, path, url.Values{"status": {"active"}})
	if r := user.Get(globex, "/"); r.Status != http.StatusOK {
		t.Errorf("re-activated tenant: status %d, want 200", r.Status)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	for _, host := range []string{bare, acme, "unknown.example"} {
		for _, p := range []string{"/healthz", "/readyz"} {
			if r := c.Get(host, p); r.Status != http.StatusOK || !strings.Contains(r.Body, `"ok"`) {
				t.Errorf("%s%s: status %d body %s", host, p, r.Status, r.Body)
			}
		}
	}
	if r := c.Get(acme, "/no/such/page"); r.Status != http.StatusNotFound {
		t.Errorf("missing page: status %d", r.Status)
	}
}

// auditActions counts the audit log entries of tenant slug by action.
func auditActions(t *testing.T, srv *testserver.Server, slug string) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT a.action, count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
			WHERE t.slug = ? GROUP BY a.action`, slug).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			var n int
			rows.Scan(&a, &n)
			out[a] = n
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tenantID(t *testing.T, srv *testserver.Server, slug string) int64 {
	t.Helper()
	var id int64
	err := srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id FROM tenants WHERE slug = ?`, slug).Scan(&id).Error
	})
	if err != nil || id == 0 {
		t.Fatalf("tenant %s: %v", slug, err)
	}
	return id
}

func userID(t *testing.T, srv *testserver.Server, slug, email string) int64 {
	t.Helper()
	var id int64
	err := srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT u.id FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = ? AND u.email = ?`, slug, email).Scan(&id).Error
	})
	if err != nil || id == 0 {
		t.Fatalf("user %s: %v", email, err)
	}
	return id
}

func setCookie(c *testserver.Client, srv *testserver.Server, host, value string) {
	u, _ := url.Parse(srv.URL(host, "/"))
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "learnlens_session", Value: value, Path: "/"}})
}

var csrfPattern = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func TestAdminPagesRefuseBadParameters(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	c.Login(acme, "admin@acme.test")
	for _, p := range []string{"/admin/audit?page=abc", "/admin/audit?page=0", "/admin/audit?page=100001"} {
		r := c.Get(acme, p)
		if r.Status != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400", p, r.Status)
		}
		mustContain(t, p, r.Body, "Page must be a whole number")
	}
	if r := c.Get(acme, "/admin/audit?page=2"); r.Status != http.StatusOK {
		t.Errorf("an empty later page: status %d, want 200", r.Status)
	}
	for _, id := range []string{"abc", "999999"} {
		if r := c.PostForm(acme, "/admin/users/"+id+"/unlock", url.Values{}); r.Status != http.StatusNotFound {
			t.Errorf("unlock %s: status %d, want 404", id, r.Status)
		}
	}
}
