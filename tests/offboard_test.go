package tests

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
)

// tenantRows counts, for every table of the public schema with a tenant_id
// column (found in information_schema, so a table added later is counted
// too), the rows of tenant id.
func tenantRows(t *testing.T, srv *testserver.Server, id int64) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := srv.DB.PlatformTx(context.Background(), func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT c.table_name FROM information_schema.columns c
			JOIN information_schema.tables t USING (table_schema, table_name)
			WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE' ORDER BY 1`)
		if err != nil {
			return err
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, table := range tables {
			var n int64
			q := `SELECT count(*) FROM ` + pgx.Identifier{table}.Sanitize() + ` WHERE tenant_id = $1`
			if err := tx.QueryRow(context.Background(), q, id).Scan(&n); err != nil {
				return err
			}
			out[table] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 40 {
		t.Fatalf("only %d tables with a tenant_id column: %v", len(out), out)
	}
	return out
}

// TestTenantArchiveAndDeletion offboards acme: the archive holds the whole
// tenant (and no password or second factor), the deletion is refused while
// acme is active or without the typed address, and afterwards no table
// holds a row of acme, its hosts are unknown, its sessions are gone, the
// platform log has one entry about it and globex is untouched.
func TestTenantArchiveAndDeletion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := testserver.Start(t)
	acmeID, globexID := tenantID(t, srv, "acme"), tenantID(t, srv, "globex")
	now := time.Now().UTC().Truncate(time.Hour)
	cfg := generator.Acme(now)
	cfg.Seed, cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 5, 200, 3, 10, 3, 20_000
	if _, err := generator.Populate(ctx, pipeline.New(srv.DB), acmeID, cfg); err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	gcfg := generator.Globex(now)
	gcfg.Seed, gcfg.Learners, gcfg.Depth, gcfg.Courses, gcfg.Required, gcfg.Statements = 6, 60, 3, 5, 2, 1500
	if _, err := generator.Populate(ctx, pipeline.New(srv.DB), globexID, gcfg); err != nil {
		t.Fatalf("populate globex: %v", err)
	}
	// An xAPI document, a logo and a pending invitation of acme's.
	err := srv.DB.PlatformTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO xapi_documents (tenant_id, resource, activity_id, agent_key, registration, document_id,
			content_type, content, etag, updated) VALUES ($1, 'state', 'https://lms.acme.test/c/1', 'mbox:mailto:a@acme.test', '',
			'bookmark', 'application/json', '{"page":3}', 'e', now())`, acmeID)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO xapi_attachments (tenant_id, sha2, content_type, length, content)
			VALUES ($1, encode(sha256('certificate'), 'hex'), 'application/pdf', 11, 'certificate')`, acmeID)
		if err != nil {
			return err
		}
		// An import job naming an import file: a foreign key between two
		// tenant tables without ON DELETE, which the deletion must order.
		_, err = tx.Exec(ctx, `INSERT INTO import_jobs (tenant_id, kind, filename, mode, created_by, rows_total, import_file_id)
			SELECT tenant_id, 'roster', 'roster.csv', 'valid-rows', 'admin@acme.test', 1, id FROM import_files
			WHERE tenant_id = $1 ORDER BY id LIMIT 1`, acmeID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	if r := admin.PostForm(acme, "/admin/invitations", url.Values{"email": {"new@acme.test"}, "role": {"learner"}}); r.Status >= 400 {
		t.Fatalf("invite: %d %.300s", r.Status, r.Body)
	}
	acmeSession := admin.SessionCookie(acme)
	globexBefore := tenantRows(t, srv, globexID)
	acmeBefore := tenantRows(t, srv, acmeID)
	for _, table := range []string{"xapi_statements", "learners", "users", "courses", "enrollments", "gold_engagement_daily",
		"audit_log", "one_time_links", "xapi_documents", "tenant_statement_counts", "xapi_credentials", "tenant_domains",
		"import_files", "import_jobs", "xapi_attachments"} {
		if acmeBefore[table] == 0 {
			t.Errorf("acme has no rows in %s before offboarding: the test would prove nothing there", table)
		}
	}

	// A tenant admin reaches none of the offboarding routes, on its own
	// host or on the bare domain.
	path := "/platform/tenants/" + strconv.FormatInt(acmeID, 10)
	if r := admin.Get(acme, path+"/archive.zip"); r.Status != http.StatusForbidden {
		t.Errorf("a tenant admin's archive: %d, want 403", r.Status)
	}
	if r := admin.PostForm(acme, path+"/delete", url.Values{"confirm": {"acme"}}); r.Status != http.StatusForbidden {
		t.Errorf("a tenant admin's deletion: %d, want 403", r.Status)
	}
	if r := admin.Get(bare, path+"/archive.zip"); r.Status < 300 || r.Status >= 400 {
		t.Errorf("the archive for someone not signed in on the bare domain: %d, want a redirect to sign in", r.Status)
	}

	p := srv.NewClient(t)
	p.Login(bare, "platform@learnlens.test")
	page := p.Get(bare, path)
	mustContain(t, "the tenant page of an active tenant", page.Body, `data-testid="offboard-card"`, "offboard-export", "offboard-suspend-first")

	// The archive, streamed and read back.
	start := time.Now()
	resp, err := p.Client.Get(srv.URL(bare, path+"/archive.zip"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	secs := time.Since(start).Seconds()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("archive: %d %s %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("the archive is no ZIP: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	t.Logf("archive: %d statements, %d bytes in %.2f s: %.0f statements/s", acmeBefore["xapi_statements"], len(body), secs,
		float64(acmeBefore["xapi_statements"])/secs)
	var m models.ArchiveManifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil || !m.Complete {
		t.Fatalf("manifest: %v %s", err, files["manifest.json"])
	}
	var info models.ArchiveInfo
	if err := json.Unmarshal(files["tenant.json"], &info); err != nil || info.Slug != "acme" || len(info.EmailDomains) == 0 {
		t.Errorf("tenant.json: %v %s", err, files["tenant.json"])
	}
	lines := func(name string) int64 {
		var n int64
		s := bufio.NewScanner(bytes.NewReader(files[name]))
		s.Buffer(make([]byte, 1<<20), 16<<20)
		for s.Scan() {
			if name == "statements.ndjson" && n == 0 && !json.Valid(s.Bytes()) {
				t.Errorf("statements.ndjson: a line is not JSON: %.200s", s.Text())
			}
			n++
		}
		return n
	}
	csvRows := func(name string) [][]string {
		recs, err := csv.NewReader(bytes.NewReader(files[name])).ReadAll()
		if err != nil || len(recs) == 0 {
			t.Fatalf("%s: %v", name, err)
		}
		return recs
	}
	for name, want := range map[string]int64{"statements.ndjson": acmeBefore["xapi_statements"], "xapi_documents.ndjson": 1,
		"xapi_attachments.ndjson": 1} {
		if got := lines(name); got != want || m.Rows[name] != want {
			t.Errorf("%s: %d lines (manifest %d), want %d", name, got, m.Rows[name], want)
		}
	}
	for name, table := range map[string]string{"people.csv": "learners", "users.csv": "users", "courses.csv": "courses",
		"enrolments.csv": "enrollments", "compliance_requirements.csv": "compliance_requirements",
		"compliance_assignments.csv": "compliance_assignments", "voided_statements.csv": "xapi_voided",
		"import_files.csv": "import_files", "import_jobs.csv": "import_jobs"} {
		if got := int64(len(csvRows(name)) - 1); got != acmeBefore[table] {
			t.Errorf("%s: %d rows, want acme's %d of %s", name, got, acmeBefore[table], table)
		}
	}
	if got := int64(len(csvRows("audit_log.csv")) - 1); got < acmeBefore["audit_log"] {
		t.Errorf("audit_log.csv: %d rows, want at least %d", got, acmeBefore["audit_log"])
	}
	mustContain(t, "people.csv's header", string(files["people.csv"]), "manager_employee_id", "manager_email")
	for name, b := range files {
		for _, secret := range []string{"$argon2id$", "password_hash", "totp_secret", "globex"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %q", name, secret)
			}
		}
	}
	if a := auditActions(t, srv, "platform"); a[models.AuditTenantArchived] != 1 {
		t.Errorf("the archive is not in the platform's log: %v", a)
	}

	// Refused: while acme is active, then with a wrong or no address.
	if r := p.PostForm(bare, path+"/delete", url.Values{"confirm": {"acme"}}); r.Status != http.StatusConflict ||
		!strings.Contains(r.Body, "Suspend the organisation") {
		t.Errorf("deleting an active tenant: %d, want 409", r.Status)
	}
	// An open live page of acme's ends as soon as acme is suspended (the
	// heartbeat, 25 s, would take longer).
	lc, version := liveSignedIn(t, srv, acme, "admin@acme.test")
	live, status := dialLive(t, srv, lc, acme, "http://"+acme+":"+strconv.Itoa(srv.Port))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("open a live page: %d", status)
	}
	live.subscribe("/dashboards/completion", version)
	if r := p.PostForm(bare, path+"/status", url.Values{"status": {"suspended"}}); r.Status >= 400 {
		t.Fatalf("suspend: %d", r.Status)
	}
	for deadline := time.Now().Add(3 * time.Second); ; {
		if _, err := live.next(time.Until(deadline)); err != nil {
			break // closed
		}
		if time.Now().After(deadline) {
			t.Fatal("acme's live page is still open 3 s after its suspension")
		}
	}
	mustContain(t, "the page of a suspended tenant", p.Get(bare, path).Body, "offboard-delete-form")
	for _, typed := range []string{"", "globex", "Acme Corp", "acme.example"} {
		// The page shown again keeps the saved form (a Save from it must
		// not clear the email domains).
		if r := p.PostForm(bare, path+"/delete", url.Values{"confirm": {typed}}); r.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(r.Body, "offboard-error") || !strings.Contains(r.Body, ">acme.test</textarea>") {
			t.Errorf("confirm %q: %d, want 422 with the error and the saved form", typed, r.Status)
		}
	}
	if got := tenantRows(t, srv, acmeID); got["xapi_statements"] != acmeBefore["xapi_statements"] || got["learners"] != acmeBefore["learners"] {
		t.Fatalf("a refused deletion deleted something: %v", got)
	}

	start = time.Now()
	r := p.PostForm(bare, path+"/delete", url.Values{"confirm": {" acme.localhost "}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `data-testid="tenant-deleted"`) {
		t.Fatalf("delete: %d %.500s", r.Status, r.Body)
	}
	var total int64
	for _, n := range acmeBefore {
		total += n
	}
	t.Logf("deletion: %d rows (%d statements) in %.2f s", total, acmeBefore["xapi_statements"], time.Since(start).Seconds())

	// Nothing of acme remains, in any table with a tenant_id.
	for table, n := range tenantRows(t, srv, acmeID) {
		if n != 0 {
			t.Errorf("%s still holds %d rows of the deleted tenant", table, n)
		}
	}
	var tenants, sessions int64
	srv.DB.PlatformTx(ctx, func(tx pgx.Tx) error {
		tx.QueryRow(ctx, `SELECT count(*) FROM tenants WHERE id = $1 OR slug = 'acme'`, acmeID).Scan(&tenants)
		return tx.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE token IN ($1, $2)`, acmeSession, lc.SessionCookie(acme)).Scan(&sessions)
	})
	if tenants != 0 || sessions != 0 {
		t.Errorf("after deletion: %d tenants rows, %d of its sessions", tenants, sessions)
	}
	// Its host is unknown, to its former admin and to anyone.
	if r := admin.Get(acme, "/"); r.Status != http.StatusNotFound {
		t.Errorf("acme's host after deletion, with its old session: %d, want 404", r.Status)
	}
	if r := srv.NewClient(t).Get(acme, "/login"); r.Status != http.StatusNotFound {
		t.Errorf("acme's host after deletion: %d, want 404", r.Status)
	}
	if r := p.Get(bare, path); r.Status != http.StatusNotFound {
		t.Errorf("the deleted tenant's page: %d, want 404", r.Status)
	}
	// The platform log keeps one entry about acme: its deletion.
	type entry struct {
		Action, Actor string
		Details       map[string]any
	}
	var entries []entry
	srv.DB.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT action, actor_email, details FROM audit_log WHERE tenant_id = 0 AND target = $1`,
			"tenant:"+strconv.FormatInt(acmeID, 10))
		if err != nil {
			return err
		}
		entries, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (entry, error) {
			var e entry
			return e, r.Scan(&e.Action, &e.Actor, &e.Details)
		})
		return err
	})
	if len(entries) != 1 || entries[0].Action != models.AuditTenantDeleted || entries[0].Actor != "platform@learnlens.test" ||
		entries[0].Details["name"] != "Acme Corp" {
		t.Errorf("the platform log's entries about acme: %+v", entries)
	}
	// Globex is untouched.
	if after := tenantRows(t, srv, globexID); len(after) != len(globexBefore) {
		t.Errorf("globex's tables: %d before, %d after", len(globexBefore), len(after))
	} else {
		for table, n := range globexBefore {
			if after[table] != n {
				t.Errorf("globex's %s: %d rows before, %d after", table, n, after[table])
			}
		}
	}
	g := srv.NewClient(t)
	g.Login(globex, "admin@globex.test")
	if r := g.Get(globex, "/"); r.Status != http.StatusOK {
		t.Errorf("globex after acme's deletion: %d", r.Status)
	}
}
