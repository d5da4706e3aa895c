package tests

import (
	"cmp"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"gorm.io/gorm"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

var (
	inviteLink = regexp.MustCompile(`value="http://[^/"]+(/invite/[A-Za-z0-9_-]+)"`)
	resetLink  = regexp.MustCompile(`value="http://[^/"]+(/reset/[A-Za-z0-9_-]+)"`)
)

// newTenantForm is a valid new-tenant form, changed by the given pairs.
func newTenantForm(pairs ...string) url.Values {
	f := url.Values{"name": {"Initech"}, "slug": {"initech"}, "email_domains": {"initech.test, initech.example\nmail.initech.test"},
		"time_zone": {"Europe/Berlin"}, "admin_email": {"boss@initech.test"}}
	for i := 0; i+1 < len(pairs); i += 2 {
		f.Set(pairs[i], pairs[i+1])
	}
	return f
}

func TestPlatformCreatesATenantWhoseFirstAdminJoinsByInvitation(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	p := srv.NewClient(t)
	p.Login(bare, "platform@learnlens.test")
	if r := p.Get(bare, "/platform/tenants/new"); r.Status != http.StatusOK {
		t.Fatalf("new-tenant page: %d", r.Status)
	}
	for _, tc := range []struct {
		what   string
		form   url.Values
		status int
		field  string
		says   string
	}{
		{"bad slug", newTenantForm("slug", "Init Tech!"), 422, "slug", "lower-case"},
		{"empty name", newTenantForm("name", " "), 422, "name", "Enter a name"},
		{"bad time zone", newTenantForm("time_zone", "Mars/Olympus"), 422, "time_zone", "Mars/Olympus"},
		{"bad email domain", newTenantForm("email_domains", "initech.test, not a_domain"), 422, "email_domains", "not a domain"},
		{"bad admin email", newTenantForm("admin_email", "boss"), 422, "admin_email", "email address"},
		{"taken slug", newTenantForm("slug", "acme"), 409, "slug", "acme.localhost is taken"},
		{"another tenant's email domain", newTenantForm("email_domains", "initech.test GLOBEX.test"), 409, "email_domains", "globex.test belongs to another organisation"},
	} {
		r := p.PostForm(bare, "/platform/tenants/new", tc.form)
		if r.Status != tc.status || !strings.Contains(r.Body, `data-testid="`+tc.field+`-error"`) || !strings.Contains(r.Body, tc.says) {
			t.Errorf("%s: status %d, want %d with an error at %s saying %q", tc.what, r.Status, tc.status, tc.field, tc.says)
		}
	}
	var n int64
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM tenants WHERE slug = 'initech'`).Scan(&n).Error
	})
	if n != 0 {
		t.Fatal("a refused form created the tenant")
	}

	r := p.PostForm(bare, "/platform/tenants/new", newTenantForm())
	m := inviteLink.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || m == nil {
		t.Fatalf("create: status %d, invitation link %v: %.500s", r.Status, m, r.Body)
	}
	if r.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("page showing the link: Referrer-Policy %q", r.Header.Get("Referrer-Policy"))
	}
	link := m[1]
	const initech = "initech.localhost"
	// The bare domain finds the new tenant by its email domains.
	for _, d := range []string{"initech.test", "initech.example", "mail.initech.test"} {
		var slug string
		srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
			return tx.Raw(`SELECT t.slug FROM tenant_domains d JOIN tenants t ON t.id = d.tenant_id WHERE d.kind = 'email' AND d.domain = ?`, d).Scan(&slug).Error
		})
		if slug != "initech" {
			t.Errorf("email domain %s: tenant %q", d, slug)
		}
	}

	// Another tenant's host knows nothing of the link.
	if r := srv.NewClient(t).Get(acme, link); r.Status != http.StatusNotFound {
		t.Errorf("initech's invitation on acme's host: %d, want 404", r.Status)
	}
	boss := srv.NewClient(t)
	r = boss.Get(initech, link)
	if r.Status != http.StatusOK || r.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("invitation page: %d, Referrer-Policy %q", r.Status, r.Header.Get("Referrer-Policy"))
	}
	mustContain(t, "invitation page", r.Body, "Join Initech", "boss@initech.test")
	if r := boss.PostForm(initech, link, url.Values{"name": {"  "}, "password": {"a long enough passphrase"}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, `data-testid="name-error">Enter a name.<`) {
		t.Errorf("no name: %d %.300s", r.Status, r.Body)
	}
	form := url.Values{"name": {"Bill Lumbergh"}, "password": {"short"}}
	if r := boss.PostForm(initech, link, form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "at least 12") {
		t.Errorf("short password: %d", r.Status)
	}
	form.Set("password", "boss@initech.test")
	if r := boss.PostForm(initech, link, form); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("password = email: %d", r.Status)
	}
	form.Set("password", "a long enough passphrase")
	r = boss.PostForm(initech, link, form)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("accept: %d to %q: %.300s", r.Status, r.Header.Get("Location"), r.Body)
	}
	r = boss.Get(initech, "/admin/users")
	if r.Status != http.StatusOK {
		t.Fatalf("the new tenant admin's users page: %d", r.Status)
	}
	mustContain(t, "users page", r.Body, "Bill Lumbergh", "boss@initech.test")
	// A new tenant's pages say what is not there yet.
	for path, says := range map[string][]string{
		"/admin/credentials":  {"No credentials yet.", "No API clients yet."},
		"/admin/requirements": {"No requirements yet."},
		"/admin/imports":      {`data-testid="import-history-empty"`, "No file has been applied yet."},
		"/me":                 {`data-testid="no-record"`},
	} {
		r := boss.Get(initech, path)
		if r.Status != http.StatusOK {
			t.Errorf("the new tenant's %s: %d", path, r.Status)
		}
		mustContain(t, "the new tenant's "+path, r.Body, says...)
	}
	// Used: 410, never a 500.
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		c := srv.NewClient(t)
		var r testserver.Response
		if m == http.MethodGet {
			r = c.Get(initech, link)
		} else {
			r = c.PostForm(initech, link, url.Values{"name": {"X"}, "password": {"another long passphrase"}})
		}
		if r.Status != http.StatusGone || !strings.Contains(r.Body, "no longer works") {
			t.Errorf("%s of a used link: %d", m, r.Status)
		}
	}
	// Signs in with the password chosen.
	c := srv.NewClient(t)
	if r := c.PostForm(initech, "/login", url.Values{"email": {"boss@initech.test"}, "password": {"a long enough passphrase"}}); r.Status != http.StatusSeeOther {
		t.Errorf("sign in with the chosen password: %d", r.Status)
	}
	// A tenant admin cannot reach the platform's pages.
	for _, path := range []string{"/platform/tenants", "/platform/tenants/new", "/platform/tenants/export.csv"} {
		if r := boss.Get(initech, path); r.Status != http.StatusForbidden {
			t.Errorf("tenant admin GET %s: %d, want 403", path, r.Status)
		}
	}
	if a := auditActions(t, srv, "platform"); a[models.AuditTenantCreated] != 1 {
		t.Errorf("platform audit: %v", a)
	}
	if a := auditActions(t, srv, "initech"); a[models.AuditInvitationCreated] != 1 || a[models.AuditInvitationAccepted] != 1 {
		t.Errorf("initech audit: %v", a)
	}
}

func TestPlatformEditsTenantDomainsAndStatus(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	p := srv.NewClient(t)
	p.Login(bare, "platform@learnlens.test")
	id := strconv.FormatInt(tenantID(t, srv, "globex"), 10)
	path := "/platform/tenants/" + id
	if r := p.Get(bare, path); r.Status != http.StatusOK || !strings.Contains(r.Body, "globex.test") {
		t.Fatalf("edit page: %d", r.Status)
	}
	edit := url.Values{"name": {"Globex Corporation"}, "time_zone": {"Europe/Paris"}, "email_domains": {"globex.test globex.example"},
		"host_domains": {"learning.globex.example"}}
	for _, tc := range []struct {
		field, value, says string
		status             int
	}{
		{"email_domains", "globex.test acme.test", "acme.test belongs to another organisation", 409},
		{"host_domains", "acme.localhost", "is under localhost", 422},
		{"host_domains", "bad_host", "not a domain", 422},
		{"time_zone", "Local", "IANA", 422},
		// Go reads this zone's file, PostgreSQL does not know it.
		{"time_zone", "right/Europe/London", "not a time zone", 422},
		{"name", "", "Enter a name.", 422},
		{"name", strings.Repeat("n", 201), "Use at most", 422},
	} {
		f := url.Values{}
		for k, v := range edit {
			f[k] = v
		}
		f.Set(tc.field, tc.value)
		if r := p.PostForm(bare, path, f); r.Status != tc.status || !strings.Contains(r.Body, tc.says) {
			t.Errorf("%s=%q: %d, want %d saying %q", tc.field, tc.value, r.Status, tc.status, tc.says)
		}
	}
	var name string
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT name FROM tenants WHERE id = ?`, id).Scan(&name).Error
	})
	if name == "Globex Corporation" {
		t.Errorf("a refused edit saved the name")
	}
	r := p.PostForm(bare, path, edit)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %.300s", r.Status, r.Body)
	}
	mustContain(t, "the tenant's page after saving", p.Get(bare, r.Header.Get("Location")).Body, `data-testid="saved">Saved.<`, "Globex Corporation")
	var tz string
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT time_zone FROM tenants WHERE id = ?`, id).Scan(&tz).Error
	})
	if tz != "Europe/Paris" {
		t.Errorf("globex's time zone after the edit: %q, want Europe/Paris", tz)
	}
	if a := auditActions(t, srv, "platform"); a[models.AuditTenantUpdated] != 1 {
		t.Errorf("platform audit after one edit: %v", a)
	}
	// The custom host serves globex at once; the old name is gone.
	c := srv.NewClient(t)
	c.Login("learning.globex.example", "admin@globex.test")
	mustContain(t, "custom host", c.Get("learning.globex.example", "/").Body, "Globex Corporation")
	if r := p.Get(bare, "/platform/tenants/999999"); r.Status != http.StatusNotFound {
		t.Errorf("unknown tenant: %d", r.Status)
	}
	if r := p.Get(bare, "/platform/tenants/0"); r.Status != http.StatusNotFound {
		t.Errorf("the platform realm: %d", r.Status)
	}
	if a := auditActions(t, srv, "platform"); a[models.AuditTenantUpdated] != 1 {
		t.Errorf("platform audit: %v", a)
	}
}

func TestTenantUsageIsSortableAndExportable(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	p := srv.NewClient(t)
	p.Login(bare, "platform@learnlens.test")
	x := srv.NewClient(t)
	for i := range 3 {
		r := x.Do(http.MethodPost, acme, "/xapi/statements", strings.NewReader(`[`+usageStatement(i, "a")+`,`+usageStatement(i, "b")+`]`),
			"Authorization", basic("acme-demo-key", "acme-demo-secret"), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json")
		if r.Status != http.StatusOK {
			t.Fatalf("store acme's statements: %d %s", r.Status, r.Body)
		}
	}
	// Acme's statements, counted the slow way, match the page.
	var statements, people int64
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		tx.Raw(`SELECT count(*) FROM learners l JOIN tenants t ON t.id = l.tenant_id WHERE t.slug = 'acme'`).Scan(&people)
		return tx.Raw(`SELECT count(*) FROM xapi_statements s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = 'acme'`).Scan(&statements).Error
	})
	if statements != 6 {
		t.Fatalf("acme has %d statements, want the 6 just sent", statements)
	}
	r := p.Get(bare, "/platform/tenants?sort=statements&dir=desc")
	if r.Status != http.StatusOK {
		t.Fatalf("tenants: %d", r.Status)
	}
	row := r.Body[strings.Index(r.Body, `data-testid="tenant-acme"`):]
	row = row[:strings.Index(row, "</tr>")]
	mustContain(t, "acme's row", row, ">"+formatInt(statements)+"<", ">"+formatInt(people)+"<", "usage-size")
	if strings.Index(r.Body, "tenant-acme") > strings.Index(r.Body, "tenant-globex") {
		t.Error("sorted by statements, descending: globex before acme")
	}
	r = p.Get(bare, "/platform/tenants?sort=statements&dir=asc")
	if strings.Index(r.Body, "tenant-acme") < strings.Index(r.Body, "tenant-globex") {
		t.Error("sorted by statements, ascending: acme before globex")
	}
	for _, q := range []string{"?sort=password", "?dir=sideways", "?sort=name&dir=1"} {
		for _, path := range []string{"/platform/tenants", "/platform/tenants/export.csv"} {
			if r := p.Get(bare, path+q); r.Status != http.StatusBadRequest {
				t.Errorf("%s%s: %d, want 400", path, q, r.Status)
			}
		}
	}
	r = p.Get(bare, "/platform/tenants/export.csv?sort=name")
	recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if r.Status != http.StatusOK || err != nil || len(recs) != 3 || recs[0][0] != "slug" || recs[1][0] != "acme" ||
		recs[1][4] != strconv.FormatInt(statements, 10) {
		t.Errorf("CSV: %d %v %q", r.Status, err, r.Body)
	}
	if a := auditActions(t, srv, "platform"); a[models.AuditExport] != 1 {
		t.Errorf("the export is not in the platform's audit log: %v", a)
	}
	// Every column sorts, both ways (the CSV is in the list's order).
	before := func(a, b string) int {
		x, errX := strconv.ParseInt(a, 10, 64)
		y, errY := strconv.ParseInt(b, 10, 64)
		if errX == nil && errY == nil {
			return cmp.Compare(x, y)
		}
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	}
	for i, col := range recs[0][1:] {
		for _, dir := range []string{"asc", "desc"} {
			r := p.Get(bare, "/platform/tenants/export.csv?sort="+col+"&dir="+dir)
			rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
			if r.Status != http.StatusOK || err != nil || len(rows) != 3 {
				t.Fatalf("CSV sorted by %s %s: %d %v %q", col, dir, r.Status, err, r.Body)
			}
			c := before(rows[1][i+1], rows[2][i+1])
			if (dir == "asc" && c > 0) || (dir == "desc" && c < 0) {
				t.Errorf("sorted by %s %s: %q before %q", col, dir, rows[1][i+1], rows[2][i+1])
			}
			if col == "last_statement" && (rows[1][0] == "acme") != (dir == "desc") {
				t.Errorf("sorted by last statement %s: %s first; acme has statements, globex none", dir, rows[1][0])
			}
		}
		if !strings.Contains(p.Get(bare, "/platform/tenants?sort="+col).Body, `data-testid="tenant-acme"`) {
			t.Errorf("the list sorted by %s shows no acme", col)
		}
	}
}

func usageStatement(i int, who string) string {
	return `{"actor":{"mbox":"mailto:` + who + strconv.Itoa(i) + `@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/launched"},"object":{"id":"https://lms.acme.test/c/` + strconv.Itoa(i) + `"}}`
}

func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func TestInvitationsAndResetLinksOfATenantAdmin(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	a := srv.NewClient(t)
	a.Login(acme, "admin@acme.test")
	for _, tc := range []struct {
		form   url.Values
		status int
		says   string
	}{
		{url.Values{"email": {"nobody"}, "role": {"learner"}}, 422, "email address"},
		{url.Values{"email": {"new@acme.test"}, "role": {"platform_admin"}}, 422, "Choose a role"},
		{url.Values{"email": {"learner@acme.test"}, "role": {"learner"}}, 409, "already has an account"},
	} {
		if r := a.PostForm(acme, "/admin/invitations", tc.form, "HX-Request", "true"); r.Status != tc.status || !strings.Contains(r.Body, tc.says) {
			t.Errorf("invite %v: %d, want %d saying %q", tc.form, r.Status, tc.status, tc.says)
		}
	}
	r := a.PostForm(acme, "/admin/invitations", url.Values{"email": {"New.Person@acme.test"}, "role": {"manager"}}, "HX-Request", "true")
	m := inviteLink.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || m == nil {
		t.Fatalf("invite: %d %.300s", r.Status, r.Body)
	}
	if r := a.PostForm(acme, "/admin/invitations", url.Values{"email": {"new.person@acme.test"}, "role": {"learner"}}); r.Status != http.StatusConflict {
		t.Errorf("second invitation of the same address: %d, want 409", r.Status)
	}
	// The list shows it pending; globex sees nothing of it and cannot revoke it.
	r = a.Get(acme, "/admin/users")
	mustContain(t, "pending invitations", r.Body, "new.person@acme.test", `data-testid="revoke"`)
	var invID int64
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id FROM one_time_links WHERE email = 'new.person@acme.test'`).Scan(&invID).Error
	})
	g := srv.NewClient(t)
	g.Login(globex, "admin@globex.test")
	mustNotContain(t, "globex's users page", g.Get(globex, "/admin/users").Body, "new.person@acme.test")
	if r := g.PostForm(globex, "/admin/invitations/"+strconv.FormatInt(invID, 10)+"/revoke", url.Values{}); r.Status != http.StatusNotFound {
		t.Errorf("globex revokes acme's invitation: %d, want 404", r.Status)
	}
	if r := g.Get(globex, m[1]); r.Status != http.StatusNotFound {
		t.Errorf("acme's invitation on globex's host: %d, want 404", r.Status)
	}
	if r := a.PostForm(acme, "/admin/invitations/"+strconv.FormatInt(invID, 10)+"/revoke", url.Values{}, "HX-Request", "true"); r.Status != http.StatusOK ||
		strings.Contains(r.Body, "new.person@acme.test") {
		t.Errorf("revoke: %d", r.Status)
	}
	if r := srv.NewClient(t).Get(acme, m[1]); r.Status != http.StatusGone {
		t.Errorf("revoked invitation: %d, want 410", r.Status)
	}
	if r := a.PostForm(acme, "/admin/invitations/"+strconv.FormatInt(invID, 10)+"/revoke", url.Values{}); r.Status != http.StatusNotFound {
		t.Errorf("revoke twice: %d, want 404", r.Status)
	}
	// Expired: 410; unknown: 404.
	r = a.PostForm(acme, "/admin/invitations", url.Values{"email": {"late@acme.test"}, "role": {"learner"}}, "HX-Request", "true")
	late := inviteLink.FindStringSubmatch(r.Body)
	srv.DB.Platform(context.Background(), func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE one_time_links SET expires_at = now() - interval '1 second' WHERE email = 'late@acme.test'`).Error
	})
	if r := srv.NewClient(t).Get(acme, late[1]); r.Status != http.StatusGone {
		t.Errorf("expired invitation: %d, want 410", r.Status)
	}
	if r := srv.NewClient(t).Get(acme, "/invite/not-a-token"); r.Status != http.StatusNotFound {
		t.Errorf("unknown invitation: %d, want 404", r.Status)
	}

	// A reset link: globex cannot make one for acme's learner; using it
	// ends the learner's other sessions.
	learnerID := strconv.FormatInt(userID(t, srv, "acme", "learner@acme.test"), 10)
	if r := g.PostForm(globex, "/admin/users/"+learnerID+"/reset-link", url.Values{}); r.Status != http.StatusNotFound {
		t.Errorf("globex makes a reset link for acme's learner: %d, want 404", r.Status)
	}
	old := srv.NewClient(t)
	old.Login(acme, "learner@acme.test")
	r = a.PostForm(acme, "/admin/users/"+learnerID+"/reset-link", url.Values{}, "HX-Request", "true")
	rm := resetLink.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || rm == nil {
		t.Fatalf("reset link: %d %.300s", r.Status, r.Body)
	}
	if r := g.Get(globex, rm[1]); r.Status != http.StatusNotFound {
		t.Errorf("acme's reset link on globex's host: %d, want 404", r.Status)
	}
	l := srv.NewClient(t)
	if r := l.Get(acme, rm[1]); r.Status != http.StatusOK || r.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("reset page: %d", r.Status)
	}
	if r := l.PostForm(acme, rm[1], url.Values{"password": {"too short"}}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("short password: %d", r.Status)
	}
	if r := l.PostForm(acme, rm[1], url.Values{"password": {"my new long password"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("reset: %d %.300s", r.Status, r.Body)
	}
	if r := l.Get(acme, "/me"); r.Status != http.StatusOK {
		t.Errorf("signed in after the reset: %d", r.Status)
	}
	if r := old.Get(acme, "/me"); r.Status != http.StatusSeeOther {
		t.Errorf("the learner's other session after the reset: %d, want a redirect to sign in", r.Status)
	}
	if r := srv.NewClient(t).PostForm(acme, rm[1], url.Values{"password": {"yet another password"}}); r.Status != http.StatusGone {
		t.Errorf("reset link used twice: %d, want 410", r.Status)
	}
	if r := srv.NewClient(t).PostForm(acme, "/login", url.Values{"email": {"learner@acme.test"}, "password": {seed.DemoPassword}}); r.Status == http.StatusSeeOther {
		t.Error("the old password still works")
	}
	// Without JavaScript the link shows on the users page. A deactivated
	// user's reset sets the password but signs nobody in.
	analystID := strconv.FormatInt(userID(t, srv, "acme", "analyst@acme.test"), 10)
	if r := a.PostForm(acme, "/admin/users/"+analystID+"/deactivate", url.Values{}, "HX-Request", "true"); r.Status != http.StatusOK {
		t.Fatalf("deactivate the analyst: %d", r.Status)
	}
	r = a.PostForm(acme, "/admin/users/"+analystID+"/reset-link", url.Values{})
	rm = resetLink.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || rm == nil || !strings.Contains(r.Body, `data-testid="user-row"`) {
		t.Fatalf("reset link without htmx: %d %.300s", r.Status, r.Body)
	}
	d := srv.NewClient(t)
	d.Get(acme, rm[1])
	if r := d.PostForm(acme, rm[1], url.Values{"password": {"the analyst's new password"}}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("reset of a deactivated user: %d to %q, want 303 to /login", r.Status, r.Header.Get("Location"))
	}
	if r := d.Get(acme, "/"); r.Status == http.StatusOK {
		t.Error("a deactivated user's reset signed them in")
	}
	au := auditActions(t, srv, "acme")
	if au[models.AuditInvitationCreated] != 2 || au[models.AuditInvitationRevoked] != 1 || au[models.AuditResetLinkCreated] != 2 || au[models.AuditPasswordReset] != 2 {
		t.Errorf("acme audit: %v", au)
	}
}

// openSupport opens support access to slug as the platform admin p and
// carries it over to the tenant's host with client c.
func openSupport(t *testing.T, srv *testserver.Server, p, c *testserver.Client, slug, minutes string) testserver.Response {
	t.Helper()
	r := p.PostForm(bare, "/platform/tenants/"+strconv.FormatInt(tenantID(t, srv, slug), 10)+"/support", url.Values{"minutes": {minutes}})
	tk := continueTicket.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || tk == nil {
		return r
	}
	return c.Do(http.MethodPost, slug+".localhost", "/support/ticket", strings.NewReader(url.Values{"t": {tk[1]}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", srv.URL(bare, ""))
}

func TestSupportAccessIsReadOnlyAuditedAndEnds(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	p := srv.NewClient(t)
	p.Login(bare, "platform@learnlens.test")
	id := strconv.FormatInt(tenantID(t, srv, "acme"), 10)
	if r := p.PostForm(bare, "/platform/tenants/"+id+"/support", url.Values{"minutes": {"9999"}}); r.Status != http.StatusBadRequest {
		t.Errorf("unlisted duration: %d, want 400", r.Status)
	}
	s := srv.NewClient(t)
	r := openSupport(t, srv, p, s, "acme", "30")
	if r.Status != http.StatusSeeOther {
		t.Fatalf("open support access: %d %.300s", r.Status, r.Body)
	}
	r = s.Get(acme, "/dashboards/completion")
	if r.Status != http.StatusOK {
		t.Fatalf("dashboard under support access: %d", r.Status)
	}
	mustContain(t, "banner", r.Body, `data-testid="support-banner"`, "platform@learnlens.test", "End support access")
	for _, path := range []string{"/admin/users", "/admin/audit"} {
		if r := s.Get(acme, path); r.Status != http.StatusForbidden {
			t.Errorf("GET %s under support access: %d, want 403", path, r.Status)
		}
	}
	learnerID := strconv.FormatInt(userID(t, srv, "acme", "learner@acme.test"), 10)
	for _, path := range []string{"/admin/invitations", "/admin/users/" + learnerID + "/reset-link", "/admin/mfa-policy", "/account/mfa/setup", "/login"} {
		if r := s.PostForm(acme, path, url.Values{"email": {"x@acme.test"}, "role": {"learner"}}); r.Status != http.StatusForbidden {
			t.Errorf("POST %s under support access: %d, want 403", path, r.Status)
		}
	}
	// A second ticket is useless: it was spent.
	if r := s.Do(http.MethodPost, acme, "/support/ticket", strings.NewReader("t=x"), "Content-Type", "application/x-www-form-urlencoded",
		"Origin", srv.URL(bare, "")); r.Status != http.StatusBadRequest {
		t.Errorf("unknown support ticket: %d", r.Status)
	}
	r = s.PostForm(acme, "/support/end", url.Values{})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, srv.URL(bare, "/platform/tenants/"+id)) {
		t.Errorf("end: %d %.300s", r.Status, r.Body)
	}
	if r := s.Get(acme, "/dashboards/completion"); r.Status != http.StatusSeeOther {
		t.Errorf("after the end: %d, want a redirect to sign in", r.Status)
	}
	au, pa := auditActions(t, srv, "acme"), auditActions(t, srv, "platform")
	if au[models.AuditSupportStarted] != 1 || au[models.AuditSupportEnded] != 1 || pa[models.AuditSupportOpened] != 1 || pa[models.AuditSupportEnded] != 1 {
		t.Errorf("audit: acme %v, platform %v", au, pa)
	}

	// It ends on its deadline, on the next request of an open page.
	s2 := srv.NewClient(t)
	if r := openSupport(t, srv, p, s2, "acme", "15"); r.Status != http.StatusSeeOther {
		t.Fatalf("open again: %d", r.Status)
	}
	expireSupport(t, srv, s2.SessionCookie(acme))
	if r := s2.Get(acme, "/dashboards/completion"); r.Status != http.StatusSeeOther {
		t.Errorf("past its deadline: %d, want a redirect to sign in", r.Status)
	}

	// A suspended tenant refuses it.
	gid := strconv.FormatInt(tenantID(t, srv, "globex"), 10)
	p.PostForm(bare, "/platform/tenants/"+gid+"/status", url.Values{"status": {"suspended"}})
	if r := openSupport(t, srv, p, srv.NewClient(t), "globex", "30"); r.Status != http.StatusConflict {
		t.Errorf("support access to a suspended tenant: %d, want 409", r.Status)
	}
	// A tenant admin cannot open it.
	a := srv.NewClient(t)
	a.Login(acme, "admin@acme.test")
	if r := a.PostForm(acme, "/platform/tenants/"+id+"/support", url.Values{"minutes": {"30"}}); r.Status != http.StatusForbidden {
		t.Errorf("tenant admin opens support access: %d, want 403", r.Status)
	}
}

// expireSupport moves the support deadline of session token into the
// past, as time would.
func expireSupport(t *testing.T, srv *testserver.Server, token string) {
	t.Helper()
	ctx := context.Background()
	store := models.NewSessionStore(srv.DB)
	data, expiry, err := store.Find(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	deadline, values, err := scs.GobCodec{}.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	values["support_until"] = time.Now().Add(-time.Second).Unix()
	if data, err = (scs.GobCodec{}).Encode(deadline, values); err != nil {
		t.Fatal(err)
	}
	if err := store.Commit(ctx, token, data, expiry); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the cache hears of it by notification
}

func TestSupportAccessNeedsASecondFactor(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	if _, err := seed.Demo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	srv := testserver.StartWith(t, db, func(cfg *config.Config) { cfg.AdminMFAOptional = false })
	path := "/platform/tenants/" + strconv.FormatInt(tenantID(t, srv, "acme"), 10) + "/support"
	// Signed in with the password, then set up a second factor: this
	// session was not signed in with it.
	p := srv.NewClient(t)
	p.Login(bare, "platform@learnlens.test")
	secret, _ := setUpMFA(t, p, bare)
	if r := p.PostForm(bare, path, url.Values{"minutes": {"30"}}); r.Status != http.StatusForbidden || continueTicket.MatchString(r.Body) {
		t.Errorf("support access from a session signed in without a second factor: %d, want 403", r.Status)
	}
	// The tenant's page says so instead of offering it.
	page := p.Get(bare, strings.TrimSuffix(path, "/support")).Body
	mustContain(t, "tenant page without a second factor", page, "Support access needs a sign-in with two-step verification")
	mustNotContain(t, "tenant page without a second factor", page, `data-testid="support-form"`)
	// Signed in with it: allowed.
	c := srv.NewClient(t)
	c.PostForm(bare, "/login", url.Values{"email": {"platform@learnlens.test"}, "password": {seed.DemoPassword}})
	if r := c.PostForm(bare, "/login/mfa", url.Values{"code": {auth.TOTPCode(secret, time.Now().Add(30*time.Second))}, "next": {"/"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("second factor: %d", r.Status)
	}
	if r := openSupport(t, srv, c, srv.NewClient(t), "acme", "30"); r.Status != http.StatusSeeOther {
		t.Errorf("support access after a sign-in with a second factor: %d %.300s", r.Status, r.Body)
	}
}
