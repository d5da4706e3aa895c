package tests

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base32"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/cli"
	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// TestLoginNextCannotLeaveTheSite: issue 14 finding 1, the open redirect
// through a tab (or any other character browsers drop) after the slash.
func TestLoginNextCannotLeaveTheSite(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	c := srv.NewClient(t)
	hostile := []string{"/\t/evil.example", "/ /evil.example", "/\v/evil.example", "/\x01/evil.example", "/\u3000/evil.example", "//evil.example", "/\\evil.example", "https://evil.example"}
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
	forged := []string{"X-Forwarded-Host", "localhost:8080@evil.example", "X-Forwarded-Proto", "https"}
	if action := handOverAction(t, c, forged...); action != srv.URL(acme, "/login/ticket") {
		t.Errorf("bare-domain sign-in with a forged X-Forwarded-Host hands over to %q, want %s", action, srv.URL(acme, "/login/ticket"))
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
	if action := handOverAction(t, p, "X-Forwarded-Host", "localhost:8443", "X-Forwarded-Proto", "https"); action != "https://acme.localhost:8443/login/ticket" {
		t.Errorf("sign-in through a trusted proxy hands over to %q, want https://acme.localhost:8443/login/ticket", action)
	}
	if r := p.Get(bare, "/login", "X-Forwarded-Host", "localhost:8080@evil.example"); r.Status != http.StatusNotFound {
		t.Errorf("trusted proxy forwarding localhost:8080@evil.example: status %d, want 404", r.Status)
	}
}

// handOverAction signs manager@acme.test in on the bare domain with header
// and returns where the hand-over form posts the ticket.
func handOverAction(t *testing.T, c *testserver.Client, header ...string) string {
	t.Helper()
	r := c.PostForm(bare, "/login", url.Values{"email": {"manager@acme.test"}, "password": {seed.DemoPassword}}, header...)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("bare-domain sign-in: %d %.300s", r.Status, r.Body)
	}
	r = c.Get(bare, "/login/continue", header...)
	m := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("hand-over page: %d %.300s", r.Status, r.Body)
	}
	return m[1]
}

// TestExportsNeutraliseFormulas: issue 14 finding 3. Names sent by an xAPI
// client or a roster import came out of CSV exports as live formulas.
func TestExportsNeutraliseFormulas(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	const (
		hyperlink = `=HYPERLINK("http://evil.example","x")`
		cmd       = `=cmd|' /C calc'!A0`
		plus      = `+1+cmd|' /C calc'!A0`
		dept      = `@SUM(1+1)`
	)
	roster := "Employee ID,Email,Name,Department\nX1,evil1@acme.test,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",@SUM(1+1)\n"
	if r := upload(t, admin, acme, "roster", "valid-rows", "roster.csv", roster); r.Status != http.StatusOK {
		t.Fatalf("roster import: %d %s", r.Status, r.Body)
	}
	l := newLRS(t, srv, "acme")
	batch := `[` + fmt.Sprintf(`{"actor":{"mbox":"mailto:evil1@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"http://evil.example/act","definition":{"name":{"en-US":%q}}},"timestamp":"2026-01-05T10:00:00Z"}`, cmd) +
		`,` + fmt.Sprintf(`{"actor":{"name":%q,"mbox":"mailto:evil2@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"http://evil.example/act"},"timestamp":"2026-01-05T10:00:00Z"}`, plus) + `]`
	if r := l.do(http.MethodPost, "/xapi/statements", batch); r.Status != http.StatusOK {
		t.Fatalf("xAPI: %d %s", r.Status, r.Body)
	}
	var course int64
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT c.id FROM courses c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = 'acme' AND c.activity_iri = 'http://evil.example/act'`).Scan(&course).Error
	})
	if course == 0 {
		t.Fatal("the statement made no course")
	}

	cells := func(path string) map[string]bool {
		r := admin.Get(acme, path)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %.300s", path, r.Status, r.Body)
		}
		_, table, _ := strings.Cut(r.Body, "\n\n")
		recs, err := csv.NewReader(strings.NewReader(table)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out := map[string]bool{}
		for _, rec := range recs {
			for _, v := range rec {
				out[v] = true
			}
		}
		return out
	}
	got := cells("/tables/completion/courses/export.csv?q=calc")
	if !got["'"+cmd] || got[cmd] {
		t.Errorf("courses CSV: the course name is not neutralised: %v", got)
	}
	learners := fmt.Sprintf("/tables/completion/learners/export.csv?course_id=%d&team_id=0", course)
	got = cells(learners)
	for _, v := range []string{hyperlink, plus, dept} {
		if !got["'"+v] || got[v] {
			t.Errorf("learners CSV: %q is not neutralised: %v", v, got)
		}
	}

	// XLSX: the same text is a typed string cell, never a formula.
	r := admin.Get(acme, strings.Replace(learners, ".csv", ".xlsx", 1))
	f, err := excelize.OpenReader(strings.NewReader(r.Body))
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	rows, _ := f.GetRows("Export")
	found := 0
	for i, row := range rows {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if formula, _ := f.GetCellFormula("Export", cell); formula != "" {
				t.Errorf("xlsx %s has the formula %q", cell, formula)
			}
			if v == hyperlink || v == plus || v == dept {
				found++
				if typ, _ := f.GetCellType("Export", cell); typ != excelize.CellTypeInlineString {
					t.Errorf("xlsx %s %q has type %v, want an inline string", cell, v, typ)
				}
			}
		}
	}
	if found != 3 {
		t.Errorf("xlsx: found %d of the 3 names as plain text: %v", found, rows)
	}
}

// TestNULAndInvalidUTF8Get400NotA500: issue 14 finding 8. NUL characters
// and bytes that are not UTF-8 reached PostgreSQL, which refused them, and
// the user got a 500 (in a CSV export, the database's error in the file).
func TestNULAndInvalidUTF8Get400NotA500(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	paths := []string{"/dashboards/completion", "/dashboards/engagement", "/dashboards/compliance", "/dashboards/assessments",
		"/dashboards/team", "/me", "/tables/completion/courses", "/tables/completion/courses/export.csv",
		"/tables/engagement/inactive/export.xlsx", "/api/v1/dashboards/completion/kpis", "/admin/users", "/admin/audit"}
	params := []string{"range", "from", "to", "department", "location", "category", "manager", "course", "sort", "dir", "page", "q",
		"course_id", "team_id", "learner_id"}
	values := []string{"%00", "%FF", "Sales%00", "%C3%28"}
	for _, p := range paths {
		for _, param := range params {
			for _, v := range values {
				q := "?" + param + "=" + v
				if param != "range" {
					q += "&range=custom&from=2026-01-01&to=2026-01-31"
				}
				r := admin.Get(acme, p+q)
				if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `\"`+param+`\"`) && !strings.Contains(r.Body, `&#34;`+param+`&#34;`) && !strings.Contains(r.Body, `"`+param+`"`) {
					t.Errorf("GET %s%s: %d, want 400 naming %s: %.300s", p, q, r.Status, param, r.Body)
				}
				mustNotContain(t, p+q, r.Body, "SQLSTATE", "invalid byte sequence")
			}
		}
	}
	// A parameter name, a sign-in form field and xAPI input too.
	if r := admin.Get(acme, "/dashboards/completion?de%00pt=1"); r.Status != http.StatusBadRequest {
		t.Errorf("NUL in a parameter name: %d, want 400", r.Status)
	}
	anon := srv.NewClient(t)
	if r := anon.PostForm(acme, "/login", url.Values{"email": {"admin\x00@acme.test"}, "password": {"x"}}); r.Status != http.StatusBadRequest {
		t.Errorf("NUL in the sign-in email: %d, want 400: %.300s", r.Status, r.Body)
	}
	l := newLRS(t, srv, "acme")
	r := l.do(http.MethodPost, "/xapi/statements", `{"actor":{"mbox":"mailto:a@acme.test","name":"a\u0000b"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"http://example.com/a"}}`)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "actor.name") || !strings.Contains(r.Body, "NUL") {
		t.Errorf("xAPI statement with \\u0000: %d %s, want 400 naming actor.name", r.Status, r.Body)
	}
	for _, q := range []string{"?activity=http://example.com/%00", "?registration=%FF", `?agent={"mbox":"mailto:a%00@acme.test"}`} {
		if r := l.do(http.MethodGet, "/xapi/statements"+q, ""); r.Status != http.StatusBadRequest {
			t.Errorf("xAPI GET %s: %d %s, want 400", q, r.Status, r.Body)
		}
	}
}

// TestSuspensionReachesEveryDoor: issue 14 finding 6. A suspended tenant's
// xAPI key could still POST and GET statements; its signed-in sessions
// must not reach pages, fragments, JSON or exports either.
func TestSuspensionReachesEveryDoor(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	user := srv.NewClient(t)
	user.Login(globex, "admin@globex.test")
	gx, ax := newLRS(t, srv, "globex"), newLRS(t, srv, "acme")
	st := stmt("", "someone@globex.test", "experienced", "http://example.com/suspension", "2026-01-05T10:00:00Z", "")
	// Warm the credential cache, so that the check cannot rely on a miss.
	if r := gx.do(http.MethodPost, "/xapi/statements", st); r.Status != http.StatusOK {
		t.Fatalf("globex POST before suspension: %d %s", r.Status, r.Body)
	}

	p := srv.NewClient(t)
	p.Login(bare, "platform@learnlens.test")
	path := "/platform/tenants/" + strconv.FormatInt(tenantID(t, srv, "globex"), 10) + "/status"
	if r := p.PostForm(bare, path, url.Values{"status": {"suspended"}}); r.Status >= 400 {
		t.Fatalf("suspend: %d", r.Status)
	}
	for _, r := range []testserver.Response{
		gx.do(http.MethodPost, "/xapi/statements", st),
		gx.do(http.MethodPut, "/xapi/statements?statementId=6690e6c9-3ef0-4ed3-8b37-7f3964730bee", st),
		gx.do(http.MethodGet, "/xapi/statements", ""),
	} {
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "suspended") {
			t.Errorf("suspended tenant's xAPI key: %d %s, want 403 saying suspended", r.Status, r.Body)
		}
	}
	for _, path := range []string{"/", "/dashboards/completion", "/api/v1/dashboards/completion/kpis",
		"/tables/completion/courses", "/tables/completion/courses/export.csv", "/admin/users"} {
		if r := user.Get(globex, path, "HX-Request", "true"); r.Status != http.StatusForbidden {
			t.Errorf("suspended tenant's session, GET %s: %d, want 403", path, r.Status)
		}
	}
	if r := ax.do(http.MethodGet, "/xapi/statements", ""); r.Status != http.StatusOK {
		t.Errorf("acme's key while globex is suspended: %d", r.Status)
	}

	p.PostForm(bare, path, url.Values{"status": {"active"}})
	if r := gx.do(http.MethodGet, "/xapi/statements", ""); r.Status != http.StatusOK {
		t.Errorf("re-activated tenant's xAPI key: %d %s", r.Status, r.Body)
	}
}

// TestSignInTicketCannotBePlantedInAnotherBrowser: issue 14 finding 7
// (login CSRF). The ticket was a GET link that signed in whoever opened it.
func TestSignInTicketCannotBePlantedInAnotherBrowser(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	attacker := srv.NewClient(t)
	_, ticket := bareDomainSignIn(t, srv, attacker, "learner@acme.test")

	victim := srv.NewClient(t)
	// The old link form does nothing.
	if r := victim.Get(acme, "/login/ticket?t="+url.QueryEscape(ticket)); r.Status == http.StatusSeeOther || victim.SessionCookie(acme) != "" {
		t.Errorf("GET /login/ticket?t=…: %d, and the victim has a session %v", r.Status, victim.SessionCookie(acme) != "")
	}
	// A page on another site, a tenant's own host, or no origin at all
	// cannot post it either.
	for _, origin := range []string{"https://evil.example", srv.URL(acme, ""), srv.URL(globex, ""), "null", ""} {
		r := redeem(victim, acme, ticket, origin)
		if r.Status != http.StatusForbidden || victim.SessionCookie(acme) != "" {
			t.Errorf("ticket posted with Origin %q: %d, want 403 and no session", origin, r.Status)
		}
	}
	r := victim.Do(http.MethodPost, acme, "/login/ticket", strings.NewReader("t="+url.QueryEscape(ticket)),
		"Content-Type", "application/x-www-form-urlencoded", "Referer", "https://evil.example/")
	if r.Status != http.StatusForbidden {
		t.Errorf("ticket posted with a foreign Referer and no Origin: %d, want 403", r.Status)
	}
	// The browser that signed in still can (the refusals did not use it
	// up), from the bare domain's page; a Referer alone does too.
	r = attacker.Do(http.MethodPost, acme, "/login/ticket", strings.NewReader("t="+url.QueryEscape(ticket)),
		"Content-Type", "application/x-www-form-urlencoded", "Referer", srv.URL(bare, "/login/continue"))
	if r.Status != http.StatusSeeOther {
		t.Errorf("the signing-in browser's own hand-over: %d, want 303", r.Status)
	}
	mustContain(t, "signed in after hand-over", attacker.Get(acme, "/").Body, "data-testid=\"home\"")
	// The hand-over page serves a ticket once, from its own cookie only.
	if r := victim.Get(bare, "/login/continue"); r.Status != http.StatusBadRequest || strings.Contains(r.Body, `name="t"`) {
		t.Errorf("hand-over page without the cookie: %d", r.Status)
	}
	if r := attacker.Get(bare, "/login/continue"); r.Status != http.StatusBadRequest {
		t.Errorf("hand-over page a second time: %d, want 400", r.Status)
	}
	if r := srv.NewClient(t).Get(acme, "/login/continue"); r.Status != http.StatusNotFound {
		t.Errorf("hand-over page on a tenant's host: %d, want 404", r.Status)
	}
}

// TestGuessingCannotLockTheOwnerOut: issue 14 finding 9. Five wrong
// passwords from anywhere locked any account for 15 minutes. Now the
// account's delay grows with each failure and holds back the addresses
// that failed on it, while its owner signs in from a fresh address.
func TestGuessingCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	const victim = "learner@acme.test"
	try := func(ip, password string) testserver.Response {
		return srv.NewClientFrom(t, ip).PostForm(acme, "/login", url.Values{"email": {victim}, "password": {password}})
	}
	heldFor := func() (secs float64) {
		srv.DB.Platform(context.Background(), func(tx *gormDB) error {
			return tx.Raw(`SELECT coalesce(extract(epoch FROM locked_until - now()), 0) FROM users u JOIN tenants t ON t.id = u.tenant_id
				WHERE t.slug = 'acme' AND u.email = ?`, victim).Scan(&secs).Error
		})
		return secs
	}
	for i := range 5 {
		if r := try("127.0.0.2", "guess"+strconv.Itoa(i)); r.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, r.Status)
		}
	}
	if s := heldFor(); s < 25 || s > 31 {
		t.Errorf("after 5 failures the account is held back %.0f s, want 30", s)
	}
	// The guessing address is refused even with the right password...
	if r := try("127.0.0.2", seed.DemoPassword); r.Status != http.StatusUnauthorized {
		t.Errorf("right password from the guessing address while held back: %d, want 401", r.Status)
	}
	// ...but the owner, from another address, signs in.
	if r := try("127.0.0.3", seed.DemoPassword); r.Status != http.StatusSeeOther {
		t.Fatalf("the owner from a fresh address: %d, want 303: %.300s", r.Status, r.Body)
	}
	if s := heldFor(); s != 0 {
		t.Errorf("a sign-in did not clear the hold: %.0f s left", s)
	}

	// The delay doubles with each failure, from any address, up to 15 min.
	for i := range 5 {
		try("127.0.0.4", "again"+strconv.Itoa(i))
	}
	want := 30.0
	for i, ip := range []string{"127.0.0.5", "127.0.0.6", "127.0.0.7"} {
		try(ip, "wrong")
		want *= 2
		if s := heldFor(); s < want-5 || s > want+1 {
			t.Errorf("after %d failures: held back %.0f s, want %.0f", 6+i, s, want)
		}
	}
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Exec(`UPDATE users SET failed_logins = 40 WHERE email = ?`, victim).Error
	})
	try("127.0.0.8", "wrong")
	if s := heldFor(); s < 895 || s > 901 {
		t.Errorf("after 41 failures: held back %.0f s, want the 900 s cap", s)
	}
	// The guessing addresses can still sign in to their own accounts.
	c := srv.NewClientFrom(t, "127.0.0.4")
	c.Login(acme, "analyst@acme.test")
}

// TestStrictHeadersAndNoSessionForAnonymousVisitors: issue 14, finding 10.
// HTML pages had no CSP, X-Frame-Options or nosniff; an anonymous GET
// /login must store no session.
func TestStrictHeadersAndNoSessionForAnonymousVisitors(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	sessions := func() (n int64) {
		srv.DB.Platform(context.Background(), func(tx *gormDB) error { return tx.Raw(`SELECT count(*) FROM sessions`).Scan(&n).Error })
		return n
	}
	before := sessions()
	anon := srv.NewClient(t)
	var nonces []string
	for range 2 {
		r := anon.Get(acme, "/login")
		if r.Status != http.StatusOK {
			t.Fatalf("GET /login: %d", r.Status)
		}
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self' 'nonce-", "style-src 'self' 'nonce-", "object-src 'none'",
			"base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("CSP allows unsafe sources: %q", csp)
		}
		m := regexp.MustCompile(`'nonce-([A-Za-z0-9_-]{20,})'`).FindStringSubmatch(csp)
		if m == nil {
			t.Fatalf("no nonce in %q", csp)
		}
		nonces = append(nonces, m[1])
	}
	if nonces[0] == nonces[1] {
		t.Error("two responses share a CSP nonce")
	}
	if n := sessions(); n != before {
		t.Errorf("anonymous GET /login stored %d session rows", n-before)
	}
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	for _, path := range []string{"/", "/dashboards/completion", "/api/v1/dashboards/completion/kpis", "/static/css/app.css", "/healthz"} {
		r := admin.Get(acme, path)
		h := r.Header
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "strict-origin-when-cross-origin" {
			t.Errorf("%s: X-Frame-Options %q, X-Content-Type-Options %q, Referrer-Policy %q", path,
				h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") && !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: HTML without the CSP", path)
		}
	}
	if hsts := admin.Get(acme, "/login").Header.Get("Strict-Transport-Security"); hsts != "" {
		t.Errorf("HSTS %q without SECURE_COOKIES", hsts)
	}
	secure := testserver.StartWith(t, srv.DB, func(cfg *config.Config) { cfg.SecureCookies = true })
	if hsts := secure.NewClient(t).Get(acme, "/login").Header.Get("Strict-Transport-Security"); hsts != "max-age=31536000" {
		t.Errorf("HSTS %q with SECURE_COOKIES, want max-age=31536000", hsts)
	}
	// The hand-over page may post to the tenant's host, and only there.
	b := srv.NewClient(t)
	b.PostForm(bare, "/login", url.Values{"email": {"manager@acme.test"}, "password": {seed.DemoPassword}})
	if csp := b.Get(bare, "/login/continue").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+srv.URL(acme, "")+";") {
		t.Errorf("hand-over page CSP %q does not allow posting to %s", csp, srv.URL(acme, ""))
	}
}

// TestHostileBodiesKeepTheServerHeapFlat: issue 14 findings 4 and 5. A
// 14 MB xAPI body with a 7-million-element array cost about 500 MB while
// it was refused (four at once: 2 GB), and an XLSX whose styles.xml
// inflated to 512 MiB raised the heap by 1.6 GB. The server runs in this
// test's process, so the test watches its heap. Not parallel: the other
// tests of this binary wait while it measures.
func TestHostileBodiesKeepTheServerHeapFlat(t *testing.T) {
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	l := newLRS(t, srv, "acme")

	var body bytes.Buffer
	body.WriteString(`[{"actor":{"mbox":"mailto:a@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},` +
		`"object":{"id":"http://example.com/a"},"result":{"extensions":{"http://example.com/x":[0`)
	for range 7_000_000 - 1 {
		body.WriteString(",0")
	}
	body.WriteString(`]}}}]`)
	hostile := body.Bytes()
	bomb := xlsxBomb(t, 200<<20)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	})

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			r := l.c.Do(http.MethodPost, "localhost", "/xapi/statements", bytes.NewReader(hostile),
				"Authorization", basic(l.key, l.secret), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json")
			if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body, "at most 10000 elements") {
				t.Errorf("hostile xAPI body: %d %.300s, want 413 naming the array limit", r.Status, r.Body)
			}
		})
	}
	wg.Go(func() {
		r := upload(t, admin, acme, "roster", "valid-rows", "bomb.xlsx", string(bomb))
		if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body, "unpacks to 200 MiB, more than the 16 MiB allowed") {
			t.Errorf("ZIP bomb of %d KB: %d %.300s, want 413 naming the limit", len(bomb)>>10, r.Status, r.Body)
		}
	})
	wg.Wait()
	close(stop)
	sampler.Wait()
	grew := int64(peak.Load()) - int64(before.HeapInuse)
	t.Logf("heap in use: %d MiB before, peak %d MiB (+%d MiB) for 4 × %d MB xAPI bodies and a %d KB ZIP bomb",
		before.HeapInuse>>20, peak.Load()>>20, grew>>20, len(hostile)>>20, len(bomb)>>10)
	// The bodies themselves are read into memory (4 × 14 MB); what was
	// decoded or inflated from them must not add more than a little.
	if grew > 160<<20 {
		t.Errorf("the heap grew by %d MiB while refusing hostile bodies, want under 160 MiB", grew>>20)
	}
}

// xlsxBomb is a workbook-shaped ZIP whose styles.xml inflates to size
// bytes of zeros.
func xlsxBomb(t *testing.T, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("[Content_Types].xml")
	w.Write([]byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"></Types>`))
	w, _ = zw.Create("xl/styles.xml")
	zeros := make([]byte, 1<<20)
	for range size >> 20 {
		w.Write(zeros)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestXAPICredentialLimits: one credential's requests beyond its rate get
// 429 with Retry-After; another credential is not slowed by it.
func TestXAPICredentialLimits(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	limited := testserver.StartWith(t, srv.DB, func(cfg *config.Config) {
		// One request per 20 s after a burst of 2: slow enough that no
		// token comes back while a loaded machine answers the three.
		cfg.XAPICredentialRate, cfg.XAPICredentialBurst = 0.05, 2
	})
	// A tenant can have its own limits: globex none (what `learnlens
	// tenant xapi-limits` sets).
	var out bytes.Buffer
	if err := cli.Run(context.Background(), srv.DB, &out, []string{"tenant", "xapi-limits", "--tenant", "globex", "--rate", "-5"}); err == nil {
		t.Error("a negative rate was accepted")
	}
	if err := cli.Run(context.Background(), srv.DB, &out, []string{"tenant", "xapi-limits", "--tenant", "globex", "--rate", "0", "--concurrency", "0"}); err != nil {
		t.Fatal(err)
	}
	get := func(tenant string) testserver.Response {
		c := limited.NewClient(t)
		return c.Do(http.MethodGet, "localhost", "/xapi/statements?limit=1",
			nil, "Authorization", basic(tenant+"-demo-key", tenant+"-demo-secret"), "X-Experience-API-Version", "1.0.3")
	}
	for i := range 2 {
		if r := get("acme"); r.Status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i+1, r.Status, r.Body)
		}
	}
	// Beyond the burst: 429, and Retry-After the whole seconds until the
	// next token (20 s after the burst began, less what has passed).
	r := get("acme")
	if after, err := strconv.Atoi(r.Header.Get("Retry-After")); r.Status != http.StatusTooManyRequests || err != nil || after < 1 || after > 20 || !strings.Contains(r.Body, "limit") {
		t.Errorf("beyond the burst: %d, Retry-After %q, %s; want 429 with Retry-After of 1-20 s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	for i := range 5 {
		if r := get("globex"); r.Status != http.StatusOK {
			t.Errorf("globex's credential, without limits of its own, request %d: %d", i+1, r.Status)
		}
	}
	if !strings.Contains(out.String(), "globex: xAPI rate 0/s, burst deployment default, concurrency 0 per credential") {
		t.Errorf("CLI output %q", out.String())
	}
}

// TestAdminMFA: issue 14, MFA for administrators. TOTP (RFC 6238) with
// recovery codes; platform admins must use it (but under the demo data);
// a tenant can require it of its admins.
func TestAdminMFA(t *testing.T) {
	t.Parallel()
	demo := testserver.Start(t)
	srv := testserver.StartWith(t, demo.DB, func(cfg *config.Config) { cfg.AdminMFAOptional = false })

	// The demo data's platform login needs no second factor...
	demo.NewClient(t).Login(bare, "platform@learnlens.test")
	// ...elsewhere a platform admin must set one up before anything else.
	p := srv.NewClient(t)
	p.Login(bare, "platform@learnlens.test")
	if r := p.Get(bare, "/platform/tenants"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/account/mfa" {
		t.Fatalf("platform admin without MFA: %d to %q, want 303 to /account/mfa", r.Status, r.Header.Get("Location"))
	}
	if r := p.Get(bare, "/account/mfa"); !strings.Contains(r.Body, `data-testid="mfa-required"`) {
		t.Errorf("set-up page does not say it is required: %.300s", r.Body)
	}
	secret, codes := setUpMFA(t, p, bare)
	if r := p.Get(bare, "/platform/tenants"); r.Status != http.StatusOK {
		t.Fatalf("platform admin after setting up MFA: %d", r.Status)
	}
	// The table holds the key sealed, not the key.
	var stored []byte
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT totp_secret FROM users WHERE email = 'platform@learnlens.test'`).Scan(&stored).Error
	})
	if len(stored) == 0 || bytes.Contains(stored, secret) {
		t.Errorf("users.totp_secret is %x for the key %x: not sealed", stored, secret)
	}

	// Signing in now takes the second step; the password alone signs in nobody.
	c := srv.NewClient(t)
	r := c.PostForm(bare, "/login", url.Values{"email": {"platform@learnlens.test"}, "password": {seed.DemoPassword}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login/mfa?next=%2F" {
		t.Fatalf("password of an MFA user: %d to %q, want 303 to /login/mfa", r.Status, r.Header.Get("Location"))
	}
	// The second step's page asks for the code and keeps where to go next;
	// without a password first it sends to sign in.
	mustContain(t, "second step page", c.Get(bare, r.Header.Get("Location")).Body, `data-testid="mfa-form"`, `name="next" value="/"`)
	if r := srv.NewClient(t).Get(bare, "/login/mfa"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("second step without a password first: %d to %q, want 303 to /login", r.Status, r.Header.Get("Location"))
	}
	if r := c.Get(bare, "/platform/tenants"); r.Status == http.StatusOK {
		t.Fatal("signed in with the password alone")
	}
	mfa := func(c *testserver.Client, code string) testserver.Response {
		return c.PostForm(bare, "/login/mfa", url.Values{"code": {code}, "next": {"/platform/tenants"}})
	}
	if r := mfa(c, "000000"); r.Status != http.StatusUnauthorized {
		t.Errorf("wrong code: %d, want 401", r.Status)
	}
	// The next step's code is within the allowed drift; a code works once.
	code := auth.TOTPCode(secret, time.Now().Add(30*time.Second))
	if r := mfa(c, code); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/platform/tenants" {
		t.Fatalf("right code: %d to %q", r.Status, r.Header.Get("Location"))
	}
	if r := c.Get(bare, "/platform/tenants"); r.Status != http.StatusOK {
		t.Errorf("after the code: %d, want 200", r.Status)
	}
	again := srv.NewClient(t)
	again.PostForm(bare, "/login", url.Values{"email": {"platform@learnlens.test"}, "password": {seed.DemoPassword}})
	if r := mfa(again, code); r.Status != http.StatusUnauthorized {
		t.Errorf("the same code again: %d, want 401", r.Status)
	}
	// A recovery code works once.
	if r := mfa(again, strings.ToUpper(codes[0])); r.Status != http.StatusSeeOther {
		t.Errorf("recovery code: %d, want 303", r.Status)
	}
	third := srv.NewClient(t)
	third.PostForm(bare, "/login", url.Values{"email": {"platform@learnlens.test"}, "password": {seed.DemoPassword}})
	if r := mfa(third, codes[0]); r.Status != http.StatusUnauthorized {
		t.Errorf("a used recovery code: %d, want 401", r.Status)
	}
	// Wrong codes end the pending sign-in after a few.
	for i := 1; i < auth.MaxMFAFailures; i++ {
		mfa(third, "111111")
	}
	if r := mfa(third, codes[1]); r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "sign in again") {
		t.Errorf("a right code after %d wrong ones: %d, want 401 asking to sign in again", auth.MaxMFAFailures, r.Status)
	}
	// Wrong codes count against the account from any session or address:
	// seven so far hold its second step back (30 s doubled twice), even
	// for a right code from a fresh address.
	fourth := srv.NewClientFrom(t, "127.0.0.21")
	fourth.PostForm(bare, "/login", url.Values{"email": {"platform@learnlens.test"}, "password": {seed.DemoPassword}})
	if r := mfa(fourth, codes[2]); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("a right code while the account's second step is held back: %d, Retry-After %q; want 429", r.Status, r.Header.Get("Retry-After"))
	}
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Exec(`UPDATE users SET mfa_held_until = now() - interval '1 second' WHERE email = 'platform@learnlens.test'`).Error
	})
	if r := mfa(fourth, codes[2]); r.Status != http.StatusSeeOther {
		t.Errorf("a right code once the hold is over: %d, want 303", r.Status)
	}
	var failures int
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT mfa_failures FROM users WHERE email = 'platform@learnlens.test'`).Scan(&failures).Error
	})
	if failures != 0 {
		t.Errorf("a right code left %d counted failures", failures)
	}

	// A tenant can require it of its admins; others are not affected.
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	if r := admin.PostForm(acme, "/admin/mfa-policy", url.Values{"required": {"maybe"}}); r.Status != http.StatusBadRequest {
		t.Errorf("bad policy value: %d, want 400", r.Status)
	}
	if r := admin.PostForm(acme, "/admin/mfa-policy", url.Values{"required": {"true"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("require MFA: %d", r.Status)
	}
	if r := admin.Get(acme, "/admin/users"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/account/mfa" {
		t.Errorf("acme admin once required: %d to %q, want 303 to /account/mfa", r.Status, r.Header.Get("Location"))
	}
	if r := admin.Get(acme, "/api/v1/dashboards/completion/kpis"); r.Status != http.StatusForbidden {
		t.Errorf("acme admin's JSON once required: %d, want 403", r.Status)
	}
	manager := srv.NewClient(t)
	manager.Login(acme, "manager@acme.test")
	if r := manager.Get(acme, "/"); r.Status != http.StatusOK {
		t.Errorf("acme manager: %d, want 200", r.Status)
	}
	globexAdmin := srv.NewClient(t)
	globexAdmin.Login(globex, "admin@globex.test")
	if r := globexAdmin.Get(globex, "/admin/users"); r.Status != http.StatusOK {
		t.Errorf("globex admin while acme requires MFA: %d, want 200", r.Status)
	}
	setUpMFA(t, admin, acme)
	if r := admin.Get(acme, "/admin/settings"); r.Status != http.StatusOK || !strings.Contains(r.Body, "Stop requiring it") {
		t.Errorf("acme admin after setting up MFA: %d", r.Status)
	}
	// Confirming a key again once it is on changes nothing.
	if r := admin.PostForm(acme, "/account/mfa/confirm", url.Values{"code": {"123456"}}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/account/mfa" {
		t.Errorf("confirm with MFA already on: %d to %q, want 303 to /account/mfa", r.Status, r.Header.Get("Location"))
	}
	// The rule can be lifted again (both changes are audited, below).
	if r := admin.PostForm(acme, "/admin/mfa-policy", url.Values{"required": {"false"}}); r.Status != http.StatusSeeOther {
		t.Errorf("stop requiring MFA: %d", r.Status)
	}
	mustContain(t, "settings once MFA is optional", admin.Get(acme, "/admin/settings").Body, "Admins may sign in with a password alone.")
	// An admin can turn off another user's second factor (a lost phone).
	setUpMFA(t, manager, acme)
	// The users page offers it for those who have it on; their own page says it is on.
	mgr := strconv.FormatInt(userID(t, srv, "acme", "manager@acme.test"), 10)
	users := admin.Get(acme, "/admin/users").Body
	at := strings.Index(users, `id="user-`+mgr+`"`)
	if at < 0 {
		t.Fatal("the users page has no card for the manager")
	}
	card, _, _ := strings.Cut(users[at:], "</li>")
	mustContain(t, "the manager's card with MFA on", card, `data-testid="mfa-reset"`)
	mustContain(t, "the manager's account page", manager.Get(acme, "/account/mfa").Body, `data-testid="mfa-enabled"`, "Two-step sign-in is on")
	if r := admin.PostForm(acme, "/admin/users/"+mgr+"/mfa-reset", url.Values{}, "HX-Request", "true"); r.Status != http.StatusOK || strings.Contains(r.Body, `data-testid="mfa-reset"`) {
		t.Errorf("reset the manager's MFA: %d %.300s", r.Status, r.Body)
	}
	srv.NewClient(t).Login(acme, "manager@acme.test") // the password alone again
	if r := admin.PostForm(acme, "/admin/users/999999/mfa-reset", url.Values{}); r.Status != http.StatusNotFound {
		t.Errorf("reset an unknown user's MFA: %d, want 404", r.Status)
	}

	// Through the bare domain's hand-over too, the second step is asked.
	b := srv.NewClient(t)
	_, ticket := bareDomainSignIn(t, srv, b, "admin@acme.test")
	if r := redeem(b, acme, ticket, srv.URL(bare, "")); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login/mfa?next=%2F" {
		t.Errorf("hand-over of an MFA user: %d to %q, want 303 to /login/mfa", r.Status, r.Header.Get("Location"))
	}
	if r := b.Get(acme, "/"); r.Status == http.StatusOK {
		t.Error("the hand-over signed an MFA user in without the second step")
	}
	acts := auditActions(t, srv, "acme")
	if acts[models.AuditMFAPolicy] != 2 || acts[models.AuditMFAEnabled] != 2 || acts[models.AuditMFAReset] != 1 {
		t.Errorf("audit: %v", acts)
	}
}

var mfaKey = regexp.MustCompile(`data-testid="mfa-key">([A-Z2-7]+)<`)

// setUpMFA turns MFA on for c's user on host and returns the key and the
// recovery codes.
func setUpMFA(t *testing.T, c *testserver.Client, host string) ([]byte, []string) {
	t.Helper()
	if r := c.PostForm(host, "/account/mfa/setup", url.Values{"_csrf": {c.CSRF(host)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("start MFA set-up: %d %.300s", r.Status, r.Body)
	}
	page := c.Get(host, "/account/mfa")
	m := mfaKey.FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatalf("no key on the set-up page: %.500s", page.Body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if r := c.PostForm(host, "/account/mfa/confirm", url.Values{"code": {"000000"}}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("confirm with a wrong code: %d, want 422", r.Status)
	}
	r := c.PostForm(host, "/account/mfa/confirm", url.Values{"code": {auth.TOTPCode(secret, time.Now())}})
	codes := regexp.MustCompile(`<li>([a-z2-7]{5}-[a-z2-7]{5})</li>`).FindAllStringSubmatch(r.Body, -1)
	if r.Status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("confirm: %d, %d recovery codes: %.500s", r.Status, len(codes), r.Body)
	}
	out := make([]string, len(codes))
	for i, m := range codes {
		out[i] = m[1]
	}
	return secret, out
}

// TestClientAddressBehindTrustedProxies: behind a configured proxy the
// sign-in throttles and the audit log see the client's address, taken
// from the right of X-Forwarded-For (the left is the client's to forge),
// so one client's failures do not hold back everyone behind the proxy.
func TestClientAddressBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	direct := testserver.Start(t)
	srv := testserver.StartWith(t, direct.DB, func(cfg *config.Config) { cfg.TrustedProxies = []string{"127.0.0.0/8"} })
	c := srv.NewClient(t)
	fail := func(i int) testserver.Response {
		// The client forges a different left-most address each time.
		return c.PostForm(acme, "/login", url.Values{"email": {"u" + strconv.Itoa(i) + "@acme.test"}, "password": {"x"}},
			"X-Forwarded-For", "198.51.100."+strconv.Itoa(i)+", 203.0.113.5")
	}
	for i := range 10 {
		if r := fail(i); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.Status)
		}
	}
	if r := fail(10); r.Status != http.StatusTooManyRequests {
		t.Errorf("the guessing client behind the proxy: %d, want 429", r.Status)
	}
	// Another client behind the same proxy is not held back.
	r := srv.NewClient(t).PostForm(acme, "/login", url.Values{"email": {"admin@acme.test"}, "password": {seed.DemoPassword}},
		"X-Forwarded-For", "203.0.113.9")
	if r.Status != http.StatusSeeOther {
		t.Errorf("another client behind the proxy: %d, want 303", r.Status)
	}
	ips := func(action string) (out []string) {
		direct.DB.Platform(context.Background(), func(tx *gormDB) error {
			return tx.Raw(`SELECT DISTINCT ip FROM audit_log a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = 'acme' AND action = ? ORDER BY ip`, action).Scan(&out).Error
		})
		return out
	}
	if got := ips(models.AuditLoginFailed); strings.Join(got, ",") != "203.0.113.5" {
		t.Errorf("failed sign-ins audited from %v, want 203.0.113.5", got)
	}
	// Without TRUSTED_PROXIES the header is nobody's word.
	direct.NewClient(t).PostForm(globex, "/login", url.Values{"email": {"x@globex.test"}, "password": {"x"}}, "X-Forwarded-For", "203.0.113.7")
	var direct1 []string
	direct.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT DISTINCT ip FROM audit_log a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = 'globex' AND action = ?`, models.AuditLoginFailed).Scan(&direct1).Error
	})
	if strings.Join(direct1, ",") != "127.0.0.1" {
		t.Errorf("X-Forwarded-For from an untrusted peer was believed: %v", direct1)
	}
}
