package tests

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
	"github.com/learnlens/learnlens/views/format"
)

// drFixture is acme with generated learning data, for the data-rights
// tests.
type drFixture struct {
	srv    *testserver.Server
	tenant int64
	admin  *testserver.Client
}

// newDataRightsFixture starts a server on a fresh database with acme's
// generated data as of now (the same data for the same now).
func newDataRightsFixture(t *testing.T, now time.Time) *drFixture {
	t.Helper()
	srv := testserver.Start(t)
	f := &drFixture{srv: srv, tenant: tenantID(t, srv, "acme")}
	cfg := generator.Acme(now)
	cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 300, 4, 12, 3, 8_000
	if _, err := generator.Populate(context.Background(), pipeline.New(srv.DB), f.tenant, cfg); err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	f.admin = srv.NewClient(t)
	f.admin.Login(acme, "admin@acme.test")
	return f
}

// query runs fn in a snapshot of acme's data.
func (f *drFixture) query(t *testing.T, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := f.srv.DB.TenantSnapshot(context.Background(), f.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

func (f *drFixture) int(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	f.query(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), sql, append([]any{f.tenant}, args...)...).Scan(&n)
	})
	return n
}

// xapi sends a request to acme's LRS with the demo credential.
func (f *drFixture) xapi(t *testing.T, method, path, body string) testserver.Response {
	t.Helper()
	return f.srv.NewClient(t).Do(method, acme, path, strings.NewReader(body),
		"Authorization", basic("acme-demo-key", "acme-demo-secret"), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json")
}

func (f *drFixture) send(t *testing.T, stmts ...string) {
	t.Helper()
	if r := f.xapi(t, http.MethodPost, "/xapi/statements", "["+strings.Join(stmts, ",")+"]"); r.Status != http.StatusOK {
		t.Fatalf("store statements: %d %s", r.Status, r.Body)
	}
}

// putState stores a State document for the agent.
func (f *drFixture) putState(t *testing.T, agent, content string) {
	t.Helper()
	q := url.Values{"activityId": {"https://lms.acme.test/courses/state"}, "agent": {agent}, "stateId": {"bookmark"}}
	if r := f.xapi(t, http.MethodPut, "/xapi/activities/state?"+q.Encode(), content); r.Status != http.StatusNoContent {
		t.Fatalf("store a state document: %d %s", r.Status, r.Body)
	}
}

// post posts a form with the client's CSRF token.
func post(c *testserver.Client, path string, form url.Values) testserver.Response {
	form.Set("_csrf", c.CSRF(acme))
	return c.PostForm(acme, path, form)
}

// postJSON posts a JSON body as an API client.
func postJSON(c *testserver.Client, path, body string) testserver.Response {
	return c.Do(http.MethodPost, acme, path, strings.NewReader(body), "Content-Type", "application/json",
		"Accept", "application/json", "X-CSRF-Token", c.CSRF(acme))
}

// dashboardSections are the JSON sections compared before and after an
// action: every KPI, trend and chart, and every table (all its pages),
// for the last 12 months and the last 30 days.
var dashboardSections = []string{"completion/kpis", "completion/trend", "engagement/kpis", "engagement/trend", "engagement/heatmap",
	"compliance/kpis", "assessments/kpis", "assessments/scores", "team/nodes",
	"completion/courses", "compliance/requirements", "compliance/at-risk", "compliance/assignments",
	"engagement/courses", "engagement/inactive", "assessments/courses"}

// dashboards fetches every section as the admin sees it, keyed by section
// and range, without the version and "data as of" (which a change moves).
// A table's pages are joined into one list of rows.
func (f *drFixture) dashboards(t *testing.T) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, rng := range []string{"12m", "30d"} {
		for _, s := range dashboardSections {
			var rows []any
			var first map[string]any
			for page := 1; ; page++ {
				path := fmt.Sprintf("/api/v1/dashboards/%s?range=%s&page=%d", s, rng, page)
				var body map[string]any
				if r := getJSON(t, f.admin, path, &body); r.Status != http.StatusOK {
					t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
				}
				delete(body, "version")
				delete(body, "as_of")
				data, _ := body["data"].(map[string]any)
				pageRows, isTable := data["rows"].([]any)
				if !isTable {
					first = body
					break
				}
				if first == nil {
					first = body
				}
				rows = append(rows, pageRows...)
				total, _ := data["total"].(json.Number).Int64()
				if len(pageRows) == 0 || int64(len(rows)) >= total {
					data["rows"] = rows
					delete(data, "page")
					break
				}
			}
			out[s+"?"+rng] = first
		}
	}
	return out
}

func canonical(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// compareDashboards reports every section that differs.
func compareDashboards(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k := range want {
		if g, w := canonical(got[k]), canonical(want[k]); g != w {
			t.Errorf("%s: %s differs:\n got %.1500s\nwant %.1500s", what, k, g, w)
		}
	}
}

// withoutPerson drops, from every list in v, the entries that mention any
// of the strings, and sorts what is left, so that a change of one
// person's name (and so of the order by name) compares equal.
func withoutPerson(v any, mentions ...string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, c := range x {
			out[k] = withoutPerson(c, mentions...)
		}
		return out
	case []any:
		var out []any
		for _, c := range x {
			s := canonical(c)
			if slices.ContainsFunc(mentions, func(m string) bool { return strings.Contains(s, m) }) {
				continue
			}
			out = append(out, withoutPerson(c, mentions...))
		}
		sort.Slice(out, func(i, j int) bool { return canonical(out[i]) < canonical(out[j]) })
		return out
	}
	return v
}

// goldRows reads every gold table of acme, row by row.
func (f *drFixture) goldRows(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	f.query(t, func(tx pgx.Tx) error {
		for _, g := range pipeline.GoldTables() {
			rows, err := tx.Query(context.Background(), `SELECT x::text FROM `+g+` x WHERE tenant_id = $1 ORDER BY 1`, f.tenant)
			if err != nil {
				return err
			}
			if out[g], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
		}
		return nil
	})
	return out
}

// assertGoldEqualsRebuild compares acme's gold with a rebuild from silver.
func (f *drFixture) assertGoldEqualsRebuild(t *testing.T, step string) {
	t.Helper()
	before := f.goldRows(t)
	if err := pipeline.New(f.srv.DB).RebuildGold(context.Background(), f.tenant); err != nil {
		t.Fatal(err)
	}
	after := f.goldRows(t)
	for table, rows := range after {
		if !slices.Equal(before[table], rows) {
			t.Errorf("%s: %s differs from a rebuild: %d rows, rebuild %d", step, table, len(before[table]), len(rows))
		}
	}
}

// assertCountersRight checks the statement counter against the statements.
func (f *drFixture) assertCountersRight(t *testing.T, step string) {
	t.Helper()
	counted := f.int(t, `SELECT statements FROM tenant_statement_counts WHERE tenant_id = $1`)
	stored := f.int(t, `SELECT count(*) FROM xapi_statements WHERE tenant_id = $1`)
	if counted != stored {
		t.Errorf("%s: the statement counter says %d, %d are stored", step, counted, stored)
	}
	if n := f.int(t, `SELECT count(*) FROM xapi_voided v WHERE tenant_id = $1
		AND NOT EXISTS (SELECT FROM xapi_statements s WHERE s.tenant_id = v.tenant_id AND s.id = v.voided_by)`); n != 0 {
		t.Errorf("%s: %d voids whose voiding statement is gone", step, n)
	}
	if n := f.int(t, `SELECT count(*) FROM learning_events e WHERE tenant_id = $1
		AND NOT EXISTS (SELECT FROM xapi_statements s WHERE s.tenant_id = e.tenant_id AND s.id = e.statement_id)`); n != 0 {
		t.Errorf("%s: %d learning events without their statement", step, n)
	}
}

func readZip(t *testing.T, body string) map[string]string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader([]byte(body)), int64(len(body)))
	if err != nil {
		t.Fatalf("not a ZIP: %v", err)
	}
	out := map[string]string{}
	for _, zf := range z.File {
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[zf.Name] = string(b)
	}
	return out
}

// statement is a statement by actor (JSON) on a course at ts, with extra
// properties (`,"result":…`).
func drStatement(id, actor, verb, course string, ts time.Time, extra string) string {
	idField := ""
	if id != "" {
		idField = `"id":"` + id + `",`
	}
	return `{` + idField + `"actor":` + actor + `,"verb":{"id":"http://adlnet.gov/expapi/verbs/` + verb + `"},"object":{"id":"` + course +
		`"},"timestamp":"` + ts.UTC().Format(time.RFC3339) + `"` + extra + `}`
}

// TestLearnerDataDownload: a learner downloads their own data from /me, an
// admin the same person's from the admin pages; a manager, an analyst and
// the learner may not use the admin's download.
func TestLearnerDataDownload(t *testing.T) {
	t.Parallel()
	f := newDataRightsFixture(t, time.Now().UTC().Truncate(time.Hour))
	f.putState(t, `{"mbox":"mailto:learner@acme.test"}`, `{"page":12}`)
	person := f.int(t, `SELECT id FROM learners WHERE tenant_id = $1 AND email = 'learner@acme.test'`)
	wantStatements := f.int(t, `SELECT count(*) FROM xapi_statements WHERE tenant_id = $1 AND (actor_key IN
		(SELECT actor_key FROM learner_identities WHERE tenant_id = $1 AND learner_id = $2) OR id IN
		(SELECT statement_id FROM learning_events WHERE tenant_id = $1 AND learner_id = $2))`, person)
	wantEnrolments := f.int(t, `SELECT count(*) FROM enrollments WHERE tenant_id = $1 AND learner_id = $2`, person)
	wantAssignments := f.int(t, `SELECT count(*) FROM compliance_assignments WHERE tenant_id = $1 AND learner_id = $2`, person)
	if wantStatements < 20 || wantEnrolments == 0 || wantAssignments == 0 {
		t.Fatalf("the named learner has %d statements, %d enrolments, %d assignments", wantStatements, wantEnrolments, wantAssignments)
	}

	lrn := f.srv.NewClient(t)
	lrn.Login(acme, "learner@acme.test")
	if r := lrn.Get(acme, "/me"); !strings.Contains(r.Body, `href="/me/data.zip"`) {
		t.Error("/me has no link to the learner's data")
	}
	own := lrn.Get(acme, "/me/data.zip")
	if own.Status != http.StatusOK || own.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("GET /me/data.zip: %d %s", own.Status, own.Header.Get("Content-Type"))
	}
	files := readZip(t, own.Body)
	var profile struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
	}
	if err := json.Unmarshal([]byte(files["profile.json"]), &profile); err != nil || profile.ID != person || profile.Email != "learner@acme.test" {
		t.Errorf("profile.json: %v %+v", err, profile)
	}
	var enrolments, assignments []map[string]any
	json.Unmarshal([]byte(files["enrolments.json"]), &enrolments)
	json.Unmarshal([]byte(files["compliance.json"]), &assignments)
	if int64(len(enrolments)) != wantEnrolments || int64(len(assignments)) != wantAssignments {
		t.Errorf("%d enrolments and %d assignments in the archive, want %d and %d", len(enrolments), len(assignments), wantEnrolments, wantAssignments)
	}
	lines := strings.Split(strings.TrimSuffix(files["statements.ndjson"], "\n"), "\n")
	if int64(len(lines)) != wantStatements {
		t.Errorf("statements.ndjson has %d lines, want %d", len(lines), wantStatements)
	}
	for i, l := range lines {
		var s struct {
			ID     string `json:"id"`
			Stored string `json:"stored"`
		}
		if err := json.Unmarshal([]byte(l), &s); err != nil || s.ID == "" || s.Stored == "" {
			t.Fatalf("statement line %d is not a stored statement: %v %.200s", i+1, err, l)
		}
	}
	if !strings.Contains(files["documents/index.json"], `"bookmark"`) || !slices.Contains(mapsKeys(files), "documents/1-bookmark") ||
		files["documents/1-bookmark"] != `{"page":12}` {
		t.Errorf("the state document is not in the archive: %v %s", mapsKeys(files), files["documents/index.json"])
	}

	if r := f.admin.Get(acme, "/"); !strings.Contains(r.Body, `data-testid="card-data"`) {
		t.Error("the admin's home has no Data rights card")
	}
	adminCopy := f.admin.Get(acme, fmt.Sprintf("/admin/people/%d/data.zip", person))
	if adminCopy.Status != http.StatusOK {
		t.Fatalf("admin download: %d", adminCopy.Status)
	}
	if got := readZip(t, adminCopy.Body); got["statements.ndjson"] != files["statements.ndjson"] || got["profile.json"] != files["profile.json"] {
		t.Error("the admin's archive differs from the learner's")
	}
	if r := f.admin.Get(acme, fmt.Sprintf("/learners/%d", person)); !strings.Contains(r.Body, fmt.Sprintf(`href="/admin/people/%d/data.zip"`, person)) ||
		!strings.Contains(r.Body, fmt.Sprintf(`href="/admin/data?person=%d"`, person)) {
		t.Error("the learner page shows an admin no data-rights actions")
	}
	for _, who := range []string{"manager@acme.test", "analyst@acme.test", "learner@acme.test"} {
		c := f.srv.NewClient(t)
		c.Login(acme, who)
		if r := c.Get(acme, fmt.Sprintf("/admin/people/%d/data.zip", person)); r.Status != http.StatusForbidden {
			t.Errorf("%s downloads a person's data: %d", who, r.Status)
		}
		if r := c.Get(acme, fmt.Sprintf("/learners/%d", person)); strings.Contains(r.Body, "/data.zip") {
			t.Errorf("%s sees a download link on the learner page", who)
		}
		if r := c.Get(acme, "/admin/data"); r.Status != http.StatusForbidden {
			t.Errorf("%s opens the data-rights page: %d", who, r.Status)
		}
		for _, path := range []string{fmt.Sprintf("/admin/people/%d/erase", person), fmt.Sprintf("/admin/people/%d/pseudonymise", person),
			"/admin/data/purge"} {
			if r := post(c, path, url.Values{"confirm": {"Lee Learner"}, "before": {"2020-01-01"}}); r.Status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", who, path, r.Status)
			}
		}
		if r := postJSON(c, "/api/v1/data/purge", `{"before":"2020-01-01"}`); r.Status != http.StatusForbidden {
			t.Errorf("%s purges through the API: %d", who, r.Status)
		}
	}
	if r := f.admin.Get(acme, "/admin/people/999999999/data.zip"); r.Status != http.StatusNotFound {
		t.Errorf("a missing person's data: %d", r.Status)
	}
	if n := f.int(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'person.data_downloaded' AND target = $2`,
		fmt.Sprintf("learner:%d", person)); n != 2 {
		t.Errorf("%d downloads audited, want 2", n)
	}
}

func mapsKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestPseudonymiseKeepsEveryNumber pseudonymises a person who has
// statements, a State document, appears as another statement's instructor
// and is in the uploaded roster: afterwards nothing of their name, email
// or mbox is left in acme's bronze or silver, every dashboard number is the
// same, and a statement sent for the old identity becomes a new person.
func TestPseudonymiseKeepsEveryNumber(t *testing.T) {
	t.Parallel()
	f := newDataRightsFixture(t, time.Now().UTC().Truncate(time.Hour))
	ctx := context.Background()
	// A rostered person who manages nobody, whose name and email appear in
	// no one else's record.
	var person int64
	var name, email, employee string
	f.query(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT l.id, l.name, l.email, l.employee_id FROM learners l
			WHERE l.tenant_id = $1 AND l.rostered AND l.email NOT IN ('learner@acme.test', 'manager@acme.test')
			  AND NOT EXISTS (SELECT FROM learners r WHERE r.tenant_id = l.tenant_id AND r.manager_id = l.id)
			  AND (SELECT count(*) FROM learning_events e WHERE e.tenant_id = l.tenant_id AND e.learner_id = l.id) > 10
			  AND NOT EXISTS (SELECT FROM learners o WHERE o.tenant_id = l.tenant_id AND o.id <> l.id
			      AND (o.name ILIKE '%' || l.name || '%' OR o.email ILIKE '%' || split_part(l.email, '@', 1) || '%'))
			ORDER BY l.id LIMIT 1`, f.tenant).Scan(&person, &name, &email, &employee)
	})
	mbox := `{"mbox":"mailto:` + email + `","name":"` + name + `"}`
	f.putState(t, mbox, `{"note":"`+name+`"}`)
	course := "https://lms.acme.test/courses/coaching"
	instructed := "6b1f0a4e-3c2d-4e5f-8a9b-0c1d2e3f4a5b"
	f.send(t, drStatement(instructed, `{"mbox":"mailto:learner@acme.test"}`, "experienced", course, time.Now().Add(-time.Hour),
		`,"context":{"instructor":`+mbox+`}`))
	before := f.dashboards(t)
	var profileBefore map[string]any
	getJSON(t, f.admin, fmt.Sprintf("/api/v1/dashboards/learner/profile?learner_id=%d", person), &profileBefore)

	if r := post(f.admin, fmt.Sprintf("/admin/people/%d/pseudonymise", person), url.Values{}); r.Status != http.StatusOK ||
		!strings.Contains(r.Body, `data-testid="data-done"`) {
		t.Fatalf("pseudonymise: %d %.500s", r.Status, r.Body)
	}
	var pseudonym string
	f.query(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT coalesce(pseudonym, '') FROM learners WHERE tenant_id = $1 AND id = $2`, f.tenant, person).Scan(&pseudonym)
	})
	if !strings.HasPrefix(pseudonym, "p-") {
		t.Fatalf("pseudonym %q", pseudonym)
	}

	// No trace in bronze or silver.
	for _, table := range []string{"xapi_statements", "xapi_voided", "import_files", "learners", "learner_identities", "learner_history",
		"learning_events", "enrollments", "enrollment_imports", "daily_activity", "compliance_assignments", "xapi_documents", "courses"} {
		for _, s := range []string{name, email} {
			if n := f.int(t, `SELECT count(*) FROM `+table+` x WHERE tenant_id = $1 AND strpos(lower(x::text), lower($2)) > 0`, s); n != 0 {
				t.Errorf("%s: %d rows still hold %q", table, n, s)
			}
		}
	}
	for _, s := range []string{name, email, employee} {
		if n := f.int(t, `SELECT count(*) FROM import_files WHERE tenant_id = $1 AND position(convert_to($2, 'UTF8') in content) > 0`, s); n != 0 {
			t.Errorf("%d import files still hold %q", n, s)
		}
		if n := f.int(t, `SELECT count(*) FROM xapi_documents WHERE tenant_id = $1 AND position(convert_to($2, 'UTF8') in content) > 0`, s); n != 0 {
			t.Errorf("%d documents still hold %q", n, s)
		}
	}
	if n := f.int(t, `SELECT count(*) FROM learners WHERE tenant_id = $1 AND employee_id = $2`, employee); n != 0 {
		t.Errorf("the employee id is still in the roster")
	}
	r := f.xapi(t, http.MethodGet, "/xapi/statements?statementId="+instructed, "")
	if r.Status != http.StatusOK || strings.Contains(r.Body, email) || !strings.Contains(r.Body, pseudonym) {
		t.Errorf("the instructor of another's statement: %d %s", r.Status, r.Body)
	}

	// The dashboards show the pseudonym (views may lag the commit by up to
	// the view cache's 1 s under a burst of commits; docs/DASHBOARDS.md).
	var profileAfter map[string]any
	eventually(t, "the learner profile shows the pseudonym", func() bool {
		getJSON(t, f.admin, fmt.Sprintf("/api/v1/dashboards/learner/profile?learner_id=%d", person), &profileAfter)
		return profileAfter["data"].(map[string]any)["name"] == pseudonym
	})
	pb, pa := profileBefore["data"].(map[string]any), profileAfter["data"].(map[string]any)
	for k, v := range pb {
		if k == "name" || k == "email" || k == "employee_id" {
			continue
		}
		if canonical(pa[k]) != canonical(v) {
			t.Errorf("the person's %s changed: %v → %v", k, v, pa[k])
		}
	}

	// Every number is the same; only the person's identity changed (read
	// again for up to 3 s while a view still lags).
	var diffs []string
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		after := f.dashboards(t)
		diffs = nil
		for k := range before {
			if g, w := canonical(withoutPerson(after[k], pseudonym)), canonical(withoutPerson(before[k], name, email)); g != w {
				diffs = append(diffs, fmt.Sprintf("%s differs after pseudonymising:\n got %.1500s\nwant %.1500s", k, g, w))
			}
		}
		if len(diffs) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, d := range diffs {
		t.Error(d)
	}
	f.assertGoldEqualsRebuild(t, "after pseudonymising")

	// A statement for the old identity finds no one: a new person.
	f.send(t, drStatement("", mbox, "experienced", course, time.Now().Add(-time.Minute), ""))
	var newPerson int64
	f.query(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM learners WHERE tenant_id = $1 AND email = $2`, f.tenant, email).Scan(&newPerson)
	})
	if newPerson == person || newPerson == 0 {
		t.Errorf("the old identity re-linked to the pseudonymised person (%d)", newPerson)
	}
	if n := f.int(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'person.pseudonymised' AND target = $2
		AND strpos(details::text, $3) = 0`, fmt.Sprintf("learner:%d", person), email); n != 1 {
		t.Errorf("%d pseudonymisations audited (without the email), want 1", n)
	}
	mgr := f.srv.NewClient(t)
	mgr.Login(acme, "manager@acme.test")
	if r := post(mgr, fmt.Sprintf("/admin/people/%d/pseudonymise", newPerson), url.Values{}); r.Status != http.StatusForbidden {
		t.Errorf("a manager pseudonymises: %d", r.Status)
	}
}

// TestEraseEqualsNeverSent erases, in one database, a person whose
// statements a second, identical database never received: every gold row
// equals a rebuild, and every dashboard section equals the second
// database's. Then it erases a manager with reports and a user account.
func TestEraseEqualsNeverSent(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Hour)
	a := newDataRightsFixture(t, now)
	b := newDataRightsFixture(t, now)
	ctx := context.Background()

	var course string
	a.query(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT activity_iri FROM courses WHERE tenant_id = $1 AND catalogued ORDER BY id LIMIT 1`, a.tenant).Scan(&course)
	})
	ghost := `{"mbox":"mailto:ghost.walker@acme.test","name":"Ghost Walker"}`
	day := now.Add(-5 * 24 * time.Hour)
	voided := "0d6c3b9a-1f2e-4a5b-8c7d-9e0f1a2b3c4d"
	a.send(t,
		drStatement("", ghost, "registered", course, day, ""),
		drStatement("", ghost, "launched", course, day.Add(time.Minute), ""),
		drStatement("", ghost, "progressed", course, day.Add(2*time.Minute), `,"result":{"duration":"PT25M"}`),
		drStatement("", ghost, "scored", course, day.Add(30*time.Minute), `,"result":{"score":{"scaled":0.85},"success":true}`),
		drStatement(voided, ghost, "completed", course, day.Add(31*time.Minute), ""),
	)
	a.send(t, `{"actor":{"mbox":"mailto:lms@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/voided"},"object":{"objectType":"StatementRef","id":"`+voided+`"}}`)
	a.send(t, drStatement("", ghost, "completed", course, day.Add(40*time.Minute), ""))
	a.putState(t, ghost, `{"page":3}`)
	var ghostID int64
	a.query(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM learners WHERE tenant_id = $1 AND email = 'ghost.walker@acme.test'`, a.tenant).Scan(&ghostID)
	})
	if canonical(a.dashboards(t)["completion/kpis?12m"]) == canonical(b.dashboards(t)["completion/kpis?12m"]) {
		t.Fatal("the person's statements changed no number: the test would prove nothing")
	}

	// The typed confirmation must match.
	if r := post(a.admin, fmt.Sprintf("/admin/people/%d/erase", ghostID), url.Values{"confirm": {"Ghost"}}); r.Status != http.StatusBadRequest ||
		!strings.Contains(r.Body, "Type Ghost Walker exactly") {
		t.Fatalf("erase with a wrong confirmation: %d", r.Status)
	}
	if a.int(t, `SELECT count(*) FROM learners WHERE tenant_id = $1 AND id = $2`, ghostID) != 1 {
		t.Fatal("a refused erasure erased")
	}
	versionBefore := a.int(t, `SELECT version FROM gold_freshness WHERE tenant_id = $1`)
	start := time.Now()
	if r := post(a.admin, fmt.Sprintf("/admin/people/%d/erase", ghostID), url.Values{"confirm": {"ghost walker"}}); r.Status != http.StatusOK ||
		!strings.Contains(r.Body, "was erased") {
		t.Fatalf("erase: %d %.500s", r.Status, r.Body)
	}
	t.Logf("erased a person with 7 statements in %v", time.Since(start).Round(time.Millisecond))
	if v := a.int(t, `SELECT version FROM gold_freshness WHERE tenant_id = $1`); v != versionBefore+1 {
		t.Errorf("gold version %d after erasing, want %d (dashboards would not hear of it)", v, versionBefore+1)
	}
	a.assertGoldEqualsRebuild(t, "after erasing")
	a.assertCountersRight(t, "after erasing")
	want := b.dashboards(t)
	got := a.dashboards(t)
	// A view may lag the erasure's commit by up to the view cache's 1 s
	// under a burst of commits (docs/DASHBOARDS.md): read again meanwhile.
	for deadline := time.Now().Add(3 * time.Second); canonical(got) != canonical(want) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		got = a.dashboards(t)
	}
	compareDashboards(t, "erased vs never sent", got, want)
	if ga, gb := a.goldRows(t), b.goldRows(t); canonical(ga) != canonical(gb) {
		t.Error("gold differs from the database that never had the person")
	}
	if sa, sb := a.int(t, `SELECT count(*) FROM xapi_statements WHERE tenant_id = $1`), b.int(t, `SELECT count(*) FROM xapi_statements WHERE tenant_id = $1`); sa != sb {
		t.Errorf("%d statements stored, the other database %d", sa, sb)
	}
	for _, table := range []string{"xapi_statements", "learners", "learner_identities", "xapi_documents", "xapi_voided"} {
		if n := a.int(t, `SELECT count(*) FROM `+table+` x WHERE tenant_id = $1 AND strpos(x::text, 'ghost.walker') > 0 OR strpos(x::text, $2) > 0`, voided); n != 0 {
			t.Errorf("%s: %d rows of the erased person remain", table, n)
		}
	}
	if r := a.admin.Get(acme, fmt.Sprintf("/admin/people/%d/data.zip", ghostID)); r.Status != http.StatusNotFound {
		t.Errorf("the erased person's data: %d", r.Status)
	}

	// A manager with reports, a manager of their own, a linked user account
	// and an appearance as another's instructor.
	var mgr, mgrsMgr int64
	var mgrName, mgrEmail string
	a.query(t, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT l.id, l.manager_id, l.name, l.email FROM learners l
			WHERE l.tenant_id = $1 AND l.manager_id IS NOT NULL AND l.email <> 'manager@acme.test'
			  AND EXISTS (SELECT FROM learners r WHERE r.tenant_id = l.tenant_id AND r.manager_id = l.id)
			ORDER BY l.id LIMIT 1`, a.tenant).Scan(&mgr, &mgrsMgr, &mgrName, &mgrEmail)
	})
	reports := a.int(t, `SELECT count(*) FROM learners WHERE tenant_id = $1 AND manager_id = $2`, mgr)
	if err := a.srv.DB.TenantTx(ctx, a.tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET learner_id = $2 WHERE tenant_id = $1 AND email = 'analyst@acme.test'`, a.tenant, mgr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	instructed := "2c9e7d1a-5b4f-4e3a-9d8c-7b6a5f4e3d2c"
	a.send(t, drStatement(instructed, `{"mbox":"mailto:learner@acme.test"}`, "experienced", course, now.Add(-time.Hour),
		`,"context":{"instructor":{"mbox":"mailto:`+mgrEmail+`","name":"`+mgrName+`"}}`))
	start = time.Now()
	if r := post(a.admin, fmt.Sprintf("/admin/people/%d/erase", mgr), url.Values{"confirm": {mgrName}}); r.Status != http.StatusOK {
		t.Fatalf("erase a manager: %d %.500s", r.Status, r.Body)
	}
	t.Logf("erased a manager in %v", time.Since(start).Round(time.Millisecond))
	a.assertGoldEqualsRebuild(t, "after erasing a manager")
	a.assertCountersRight(t, "after erasing a manager")
	if n := a.int(t, `SELECT count(*) FROM learners WHERE tenant_id = $1 AND manager_id = $2`, mgrsMgr); n < reports {
		t.Errorf("%d people report to the erased manager's manager, want at least the %d reports", n, reports)
	}
	for _, q := range []string{
		`SELECT count(*) FROM learners WHERE tenant_id = $1 AND (id = $2 OR manager_id = $2)`,
		`SELECT count(*) FROM learner_history WHERE tenant_id = $1 AND (learner_id = $2 OR manager_id = $2 OR $2 = ANY(dotted_manager_ids))`,
		`SELECT count(*) FROM learning_events WHERE tenant_id = $1 AND (learner_id = $2 OR manager_at = $2)`,
		`SELECT count(*) FROM org_closure WHERE tenant_id = $1 AND (learner_id = $2 OR manager_id = $2)`,
		`SELECT count(*) FROM enrollments WHERE tenant_id = $1 AND learner_id = $2`,
		`SELECT count(*) FROM compliance_assignments WHERE tenant_id = $1 AND learner_id = $2`,
		`SELECT count(*) FROM daily_activity WHERE tenant_id = $1 AND learner_id = $2`,
		`SELECT count(*) FROM users WHERE tenant_id = $1 AND learner_id = $2`,
	} {
		if n := a.int(t, q, mgr); n != 0 {
			t.Errorf("%d rows left: %s", n, q)
		}
	}
	if n := a.int(t, `SELECT count(*) FROM xapi_statements WHERE tenant_id = $1 AND strpos(lower(statement::text), lower($2)) > 0`, mgrEmail); n != 0 {
		t.Errorf("%d statements still name the erased manager", n)
	}
	if r := a.xapi(t, http.MethodGet, "/xapi/statements?statementId="+instructed, ""); r.Status != http.StatusOK || !strings.Contains(r.Body, "erased-") {
		t.Errorf("another's statement naming the manager: %d %s", r.Status, r.Body)
	}
	if n := a.int(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'person.erased'`); n != 2 {
		t.Errorf("%d erasures audited, want 2", n)
	}
}

// TestPurgeBeforeADate: a dry run reports exactly what the purge then
// does, refused dates get a 400, and gold, counters and voids stay right.
func TestPurgeBeforeADate(t *testing.T) {
	t.Parallel()
	f := newDataRightsFixture(t, time.Now().UTC().Truncate(time.Hour))
	loc, _ := time.LoadLocation("Europe/London")
	today := time.Now().In(loc)
	before := today.AddDate(0, 0, -180).Format(time.DateOnly)

	for _, bad := range []string{`{"before":""}`, `{"before":"2026-02-30"}`, `{"before":"yesterday"}`, `not json`,
		`{"before":"2020-01-01","dry_run":true,"force":true}`,
		`{"before":"` + today.AddDate(0, 0, 3).Format(time.DateOnly) + `"}`,
		`{"before":"` + today.AddDate(0, 0, -10).Format(time.DateOnly) + `","dry_run":true}`} {
		r := postJSON(f.admin, "/api/v1/data/purge", bad)
		var body struct{ Error string }
		json.Unmarshal([]byte(r.Body), &body)
		if r.Status != http.StatusBadRequest || body.Error == "" {
			t.Errorf("purge %s: %d %s, want 400 with a message", bad, r.Status, r.Body)
		}
	}
	if r := post(f.admin, "/admin/data/purge", url.Values{"before": {"31/12/2020"}, "dry_run": {"1"}}); r.Status != http.StatusBadRequest ||
		!strings.Contains(r.Body, "YYYY-MM-DD") {
		t.Errorf("the page's purge with a bad date: %d", r.Status)
	}
	mgr := f.srv.NewClient(t)
	mgr.Login(acme, "manager@acme.test")
	if r := postJSON(mgr, "/api/v1/data/purge", `{"before":"2020-01-01","dry_run":true}`); r.Status != http.StatusForbidden {
		t.Errorf("a manager's purge: %d", r.Status)
	}

	statementsBefore := f.int(t, `SELECT count(*) FROM xapi_statements WHERE tenant_id = $1`)
	purge := func(dryRun bool) pipeline.PurgeReport {
		t.Helper()
		r := postJSON(f.admin, "/api/v1/data/purge", fmt.Sprintf(`{"before":%q,"dry_run":%v}`, before, dryRun))
		var rep pipeline.PurgeReport
		if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &rep) != nil {
			t.Fatalf("purge (dry run %v): %d %s", dryRun, r.Status, r.Body)
		}
		return rep
	}
	dry := purge(true)
	if dry.Statements < 100 || dry.Courses == 0 || dry.Now.Statements != dry.Then.Statements-int64(dry.Statements) ||
		dry.Now.Completions >= dry.Then.Completions {
		t.Fatalf("the dry run would purge little: %+v", dry)
	}
	if again := purge(true); canonical(again) != canonical(dry) {
		t.Errorf("a dry run changed something:\n%+v\n%+v", dry, again)
	}
	if n := f.int(t, `SELECT count(*) FROM xapi_statements WHERE tenant_id = $1`); n != statementsBefore {
		t.Errorf("dry runs deleted statements: %d → %d", statementsBefore, n)
	}
	// The page shows the same dry run, and a purge needs the date typed.
	page := post(f.admin, "/admin/data/purge", url.Values{"before": {before}, "dry_run": {"1"}})
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `data-testid="purge-statements">`+format.Int(int64(dry.Statements))+`<`) {
		t.Errorf("the page's dry run: %d", page.Status)
	}
	if r := post(f.admin, "/admin/data/purge", url.Values{"before": {before}, "confirm": {"2000-01-01"}}); r.Status != http.StatusBadRequest {
		t.Errorf("a purge with a wrong confirmation: %d", r.Status)
	}

	start := time.Now()
	real := purge(false)
	t.Logf("purged %d statements in %v", real.Statements, time.Since(start).Round(time.Millisecond))
	real.DryRun = true
	if canonical(real) != canonical(dry) {
		t.Errorf("the purge did not do what its dry run said:\n got %+v\nwant %+v", real, dry)
	}
	now := purge(true)
	if now.Statements != 0 || canonical(now.Then) != canonical(dry.Now) {
		t.Errorf("after the purge the numbers are %+v, the dry run said %+v", now.Then, dry.Now)
	}
	f.assertGoldEqualsRebuild(t, "after the purge")
	f.assertCountersRight(t, "after the purge")
	if n := f.int(t, `SELECT count(*) FROM xapi_statements s WHERE tenant_id = $1 AND ts < $2::date
		AND (voids IS NULL OR NOT EXISTS (SELECT FROM xapi_statements t WHERE t.tenant_id = s.tenant_id AND t.id = s.voids))`, before); n != 0 {
		t.Errorf("%d statements before the date remain", n)
	}
	if n := f.int(t, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'data.purged'`); n != 1 {
		t.Errorf("%d purges audited, want 1", n)
	}
}

// TestDataRightsPageFindsAPerson: the data-rights page finds people by
// name or email and shows one person's panel: what LearnLens holds of
// them, their download, and what to type to erase them (their name, else
// their email). Bad input is a 400 that says what is wrong.
func TestDataRightsPageFindsAPerson(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	sendStatement(t, srv, "quinn.quartermaine@acme.test", "Quinn Quartermaine", "2026-11-10T03:00:00Z")
	// Someone known by an LMS account alone: no name, no email.
	r := srv.NewClient(t).Do(http.MethodPost, acme, "/xapi/statements", strings.NewReader(`{"actor":{"account":{"homePage":"https://lms.acme.test","name":"u-4711"}},
		"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://lms.acme.test/courses/c1"},"timestamp":"2026-11-10T04:00:00Z"}`),
		"Authorization", basic("acme-demo-key", "acme-demo-secret"), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json")
	if r.Status != http.StatusOK {
		t.Fatalf("store the account's statement: %d %s", r.Status, r.Body)
	}
	quinn := learnerID(t, srv, "quinn.quartermaine@acme.test")
	var nameless int64
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT id FROM learners WHERE tenant_id = ? AND email IS NULL`, tenantID(t, srv, "acme")).Scan(&nameless).Error
	})
	if nameless == 0 {
		t.Fatal("the account's learner was not found")
	}
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")

	r = admin.Get(acme, "/admin/data?q=quarterm")
	if r.Status != http.StatusOK {
		t.Fatalf("search: %d", r.Status)
	}
	mustContain(t, "search by part of a name", r.Body, `data-testid="data-results"`,
		fmt.Sprintf(`href="/admin/data?person=%d" data-testid="data-result">Quinn Quartermaine<`, quinn), "quinn.quartermaine@acme.test")
	mustNotContain(t, "search by part of a name", r.Body, "Nobody matches.", fmt.Sprintf(`person=%d"`, nameless))
	mustContain(t, "search by email", admin.Get(acme, "/admin/data?q=quinn.quartermaine%40acme.test").Body,
		fmt.Sprintf(`href="/admin/data?person=%d" data-testid="data-result">Quinn Quartermaine<`, quinn))
	mustContain(t, "search without a match", admin.Get(acme, "/admin/data?q=zzzqqq").Body, `data-testid="data-results"`, "Nobody matches.")

	r = admin.Get(acme, fmt.Sprintf("/admin/data?person=%d", quinn))
	mustContain(t, "Quinn's panel", r.Body, `data-testid="data-person"`, "Quinn Quartermaine", `data-testid="data-statements">1<`,
		fmt.Sprintf(`href="/admin/people/%d/data.zip"`, quinn), fmt.Sprintf(`href="/learners/%d"`, quinn),
		"Type <strong class=\"break-all\">Quinn Quartermaine</strong> to confirm")
	r = admin.Get(acme, fmt.Sprintf("/admin/data?person=%d", nameless))
	mustContain(t, "a nameless person's panel", r.Body, fmt.Sprintf(">Person %d</h2>", nameless),
		fmt.Sprintf("Type <strong class=\"break-all\">%d</strong> to confirm", nameless))

	for q, says := range map[string]string{
		"q=" + strings.Repeat("x", 201): "longer than 200 characters",
		"person=someone":                "person must be a learner id",
	} {
		if r := admin.Get(acme, "/admin/data?"+q); r.Status != http.StatusBadRequest || !strings.Contains(strings.ToLower(r.Body), says) {
			t.Errorf("/admin/data?%.20s…: %d, want 400 saying %q", q, r.Status, says)
		}
	}
	if r := admin.Get(acme, "/admin/data?person=999999999"); r.Status != http.StatusNotFound {
		t.Errorf("an unknown person: %d, want 404", r.Status)
	}
}
