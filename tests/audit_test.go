package tests

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/tests/testserver"
)

// These tests cover the audit log's filters and CSV export (issue 12,
// item 3).

// seedAuditLog writes entries with known times to acme's log. Acme's time
// zone is Europe/London (UTC+1 in July): A is late on 1 July there, B just
// after midnight on 2 July, though both fall on 1 July in UTC.
func seedAuditLog(t *testing.T, srv *testserver.Server) {
	t.Helper()
	err := srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		if err := tx.Exec(`INSERT INTO audit_log (tenant_id, at, actor_email, action, target, ip, details)
			SELECT t.id, e.at::timestamptz, e.actor, e.action, e.target, e.ip, e.details::jsonb FROM tenants t, (VALUES
				('2026-07-01 23:30:00+01', 'alice@acme.test', 'user.role_changed', 'user:1', '10.0.0.1', '{"role":"manager"}'),
				('2026-07-02 00:30:00+01', 'bob@acme.test', 'credential.created', 'credential:7', '10.0.0.2', '{"name":"Moodle LMS"}'),
				('2026-07-05 12:00:00+01', 'alice@acme.test', 'credential.revoked', 'credential:7', '192.168.1.5', '{}')
			) AS e(at, actor, action, target, ip, details) WHERE t.slug = 'acme'`).Error; err != nil {
			return err
		}
		// 60 failed sign-ins, for paging; one typed a formula.
		return tx.Exec(`INSERT INTO audit_log (tenant_id, at, actor_email, action, target, ip)
			SELECT t.id, '2026-06-10 09:00:00+01'::timestamptz + n * interval '1 minute',
				CASE WHEN n = 1 THEN '=HYPERLINK("x")' ELSE 'mallory@evil.test' END, 'login.failed', '', '10.6.6.6'
			FROM tenants t, generate_series(1, 60) n WHERE t.slug = 'acme'`).Error
	})
	if err != nil {
		t.Fatal(err)
	}
}

// auditRows returns the actions of the audit page's rows.
func auditRows(t *testing.T, c *testserver.Client, query string) ([]string, testserver.Response) {
	t.Helper()
	r := c.Get(acme, "/admin/audit"+query)
	if r.Status != http.StatusOK {
		t.Fatalf("audit %s: %d %.300s", query, r.Status, r.Body)
	}
	var out []string
	for _, part := range strings.Split(r.Body, `data-testid="audit-row-action">`)[1:] {
		out = append(out, part[:strings.Index(part, "<")])
	}
	return out, r
}

func TestAuditLogFiltersNarrowAndPage(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	seedAuditLog(t, srv)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")

	for _, c := range []struct {
		name, query string
		want        []string
	}{
		{"actor", "?actor=alice@acme.test", []string{"credential.revoked", "user.role_changed"}},
		{"actor in other case", "?actor=ALICE@acme.test", []string{"credential.revoked", "user.role_changed"}},
		{"action", "?action=credential.created", []string{"credential.created"}},
		// The tenant's days: B is on 2 July in London, A on 1 July.
		{"one local day", "?from=2026-07-02&to=2026-07-02", []string{"credential.created"}},
		{"the day before", "?from=2026-07-01&to=2026-07-01", []string{"user.role_changed"}},
		{"open-ended from", "?from=2026-07-02&action=credential.revoked", []string{"credential.revoked"}},
		{"search details", "?q=moodle", []string{"credential.created"}},
		{"search address", "?q=192.168", []string{"credential.revoked"}},
		{"search target", "?q=credential:7", []string{"credential.revoked", "credential.created"}},
		{"search actor", "?q=bob@", []string{"credential.created"}},
		{"combined", "?actor=alice@acme.test&q=credential&from=2026-07-01&to=2026-07-31", []string{"credential.revoked"}},
		{"nothing", "?actor=nobody@acme.test", nil},
	} {
		got, r := auditRows(t, admin, c.query)
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s (%s): rows %v, want %v", c.name, c.query, got, c.want)
		}
		if c.want == nil {
			mustContain(t, c.name, r.Body, "Nothing matches this filter.")
		}
	}

	// The action select offers the actions present, and keeps the choice.
	_, r := auditRows(t, admin, "?action=credential.created")
	mustContain(t, "action select", r.Body, `<option value="credential.revoked">`, `<option value="login.failed">`,
		`<option value="credential.created" selected>`, `value="`+models.AuditLoginSucceeded+`"`)
	mustNotContain(t, "action select", r.Body, `<option value="tenant.created">`)

	// Paging keeps the filter.
	got, r := auditRows(t, admin, "?action=login.failed&from=2026-06-10")
	if len(got) != 50 {
		t.Fatalf("first page: %d rows, want 50", len(got))
	}
	older := "/admin/audit?action=login.failed&amp;from=2026-06-10&amp;page=2"
	mustContain(t, "older link", r.Body, older)
	got, r = auditRows(t, admin, "?action=login.failed&from=2026-06-10&page=2")
	if len(got) != 10 {
		t.Errorf("second page: %d rows, want 10", len(got))
	}
	mustContain(t, "newer link", r.Body, `href="/admin/audit?action=login.failed&amp;from=2026-06-10"`)
	mustNotContain(t, "second page", r.Body, `data-testid="audit-older"`)

	for _, q := range []string{"?from=2026-13-01", "?to=yesterday", "?from=2026-07-05&to=2026-07-01", "?page=0",
		"?q=" + strings.Repeat("x", 201), "?actor=" + strings.Repeat("a", 201)} {
		if r := admin.Get(acme, "/admin/audit"+q); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q[:min(len(q), 40)], r.Status)
		}
		if r := admin.Get(acme, "/admin/audit/export.csv"+q); r.Status != http.StatusBadRequest && !strings.Contains(q, "page") {
			t.Errorf("export %s: %d, want 400", q[:min(len(q), 40)], r.Status)
		}
	}
	r = admin.Get(acme, "/admin/audit?from=2026-13-01")
	mustContain(t, "bad date", r.Body, `data-testid="audit-error"`, "From must be a date written YYYY-MM-DD", `value="2026-13-01"`)
	mustNotContain(t, "bad date", r.Body, `data-testid="audit-row"`)
}

func TestAuditLogCSVMatchesTheFilter(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	seedAuditLog(t, srv)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	export := func(query string) [][]string {
		t.Helper()
		r := admin.Get(acme, "/admin/audit/export.csv"+query)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export %s: %d %v", query, r.Status, r.Header)
		}
		recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatalf("export %s: %v", query, err)
		}
		if strings.Join(recs[0], ",") != "at,actor,action,target,ip,request_id,details" {
			t.Fatalf("header %v", recs[0])
		}
		return recs[1:]
	}

	// The same rows as the page, newest first, in the tenant's time.
	recs := export("?actor=alice@acme.test")
	if len(recs) != 2 || recs[0][2] != "credential.revoked" || recs[1][2] != "user.role_changed" {
		t.Fatalf("alice's entries: %v", recs)
	}
	if recs[1][0] != "2026-07-01T23:30:00+01:00" || recs[1][4] != "10.0.0.1" || recs[1][6] != `{"role": "manager"}` {
		t.Errorf("an entry as exported: %v", recs[1])
	}
	// Every page of a filter, not just the first, against a direct count.
	recs = export("?action=login.failed")
	var direct int
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
			WHERE t.slug = 'acme' AND a.action = 'login.failed'`).Scan(&direct).Error
	})
	if len(recs) != direct || direct != 60 {
		t.Errorf("failed sign-ins exported: %d, in the log: %d", len(recs), direct)
	}
	for _, rec := range recs {
		if strings.HasPrefix(rec[1], "=") {
			t.Errorf("a formula reached the CSV as a formula: %q", rec[1])
		}
	}
	if recs = export("?from=2026-07-02&to=2026-07-02"); len(recs) != 1 || recs[0][1] != "bob@acme.test" {
		t.Errorf("one local day: %v", recs)
	}

	// Each export is itself in the log, with its filter.
	var details []string
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT a.details->>'filters' FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
			WHERE t.slug = 'acme' AND a.action = ? AND a.target = 'audit_log' ORDER BY a.id`, models.AuditExport).Scan(&details).Error
	})
	want := []string{url.Values{"actor": {"alice@acme.test"}}.Encode(), "action=login.failed", "from=2026-07-02&to=2026-07-02"}
	if strings.Join(details, "|") != strings.Join(want, "|") {
		t.Errorf("audited exports %q, want %q", details, want)
	}
	recs = export("?action=" + models.AuditExport)
	if len(recs) != 4 {
		t.Errorf("%d export entries listed by the export of exports, want 4 (itself included)", len(recs))
	}

	analyst := srv.NewClient(t)
	analyst.Login(acme, "analyst@acme.test")
	if r := analyst.Get(acme, "/admin/audit/export.csv"); r.Status != http.StatusForbidden {
		t.Errorf("analyst exports the audit log: %d", r.Status)
	}
}
