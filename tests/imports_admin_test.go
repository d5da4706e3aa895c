package tests

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/tests/testserver"
)

// stageImport posts a file to the imports page's upload form, as the
// browser does, and returns the response (303 to the staged import's page
// when the file can be imported).
func stageImport(t *testing.T, c *testserver.Client, host, kind, mode, name, content string) testserver.Response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("_csrf", c.CSRF(host))
	w.WriteField("kind", kind)
	w.WriteField("mode", mode)
	fw, _ := w.CreateFormFile("file", name)
	fw.Write([]byte(content))
	w.Close()
	return c.Do(http.MethodPost, host, "/admin/imports/upload", &body, "Content-Type", w.FormDataContentType())
}

var importPathRE = regexp.MustCompile(`^/admin/imports/(\d+)$`)

// stagedPath is the staged import's page a successful upload redirects to.
func stagedPath(t *testing.T, r testserver.Response) string {
	t.Helper()
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !importPathRE.MatchString(loc) {
		t.Fatalf("upload: %d Location %q, want 303 to the import's page; body %.500s", r.Status, loc, r.Body)
	}
	return loc
}

// importStatus is GET /api/v1/imports/:id.
type importStatus struct {
	ID       int64  `json:"id"`
	State    string `json:"state"`
	Outcome  string `json:"outcome"`
	Rows     int    `json:"rows"`
	RowsDone int    `json:"rows_done"`
	Applied  int    `json:"applied"`
	Errors   int    `json:"errors"`
	Error    string `json:"error"`
	Report   []struct {
		Line                  int
		Column, Value, Reason string
	} `json:"report"`
}

func getImportStatus(t *testing.T, c *testserver.Client, path string) importStatus {
	t.Helper()
	r := c.Get(acme, "/api/v1"+strings.TrimPrefix(path, "/admin"))
	var s importStatus
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &s) != nil {
		t.Fatalf("GET %s: %d %.300s", path, r.Status, r.Body)
	}
	return s
}

func TestImportsPagePreviewAndDryRun(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")

	r := admin.Get(acme, "/admin/imports")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `type="file"`) || !strings.Contains(r.Body, `data-testid="nav-imports"`) {
		t.Fatalf("imports page: %d %.300s", r.Status, r.Body)
	}
	if home := admin.Get(acme, "/"); !strings.Contains(home.Body, `data-testid="card-imports"`) {
		t.Error("the admin's home has no imports card")
	}

	// The preview: how each header cell is read, and the first rows.
	roster := "Acme roster\nEmployee ID,Work Email,Full Name,Shoe size,Manager,Manager ID\n" +
		"A1,ceo@acme.test,Cara Chief,42,,\n" +
		"A2,sam@acme.test,Sam Sales,41,A1,A1\n" +
		"A3,not-an-email,Bo Bad,40,A1,A1\n" +
		"A4,ann@acme.test,Ann Alone,39,A99,A99\n"
	path := stagedPath(t, stageImport(t, admin, acme, "roster", "valid-rows", "roster.csv", roster))
	page := admin.Get(acme, path)
	if page.Status != http.StatusOK {
		t.Fatalf("staged import page: %d", page.Status)
	}
	for _, want := range []string{
		`data-column="employee_id"`, `data-column="email"`, `data-column="name"`, `data-column="manager_employee_id"`,
		"ignored: not a roster column", "ignored: manager_employee_id is taken from column F", "The header is line 2",
		"Cara Chief", "Ann Alone", `data-testid="import-apply"`, `data-testid="import-dry-run"`,
	} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if n := strings.Count(page.Body, `data-testid="import-mapping-row" data-column=""`); n != 2 {
		t.Errorf("%d ignored header cells, want 2 (Shoe size, Manager)", n)
	}

	// A required column missing: the mapping and a clear message, nothing kept.
	r = stageImport(t, admin, acme, "roster", "valid-rows", "no-email.csv", "Employee ID,Name\nA1,Cara\n")
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `data-testid="import-missing"`) ||
		!strings.Contains(r.Body, "email (accepted names:") || !strings.Contains(r.Body, `data-column="employee_id"`) {
		t.Errorf("missing email column: %d %.2000s", r.Status, r.Body)
	}
	// A bad kind, a bad mode, no file, an unreadable file: 4xx saying why.
	for name, tc := range map[string]struct {
		kind, mode, file string
		status           int
		want             string
	}{
		"bad kind":   {"payroll", "valid-rows", "a,b\n", http.StatusBadRequest, "Kind must be roster, courses, enrollments or requirements"},
		"bad mode":   {"roster", "sometimes", "a,b\n", http.StatusBadRequest, "Mode must be"},
		"empty file": {"courses", "valid-rows", "", http.StatusBadRequest, "file is empty"},
		"no header":  {"courses", "valid-rows", "x,y\n1,2\n", http.StatusBadRequest, "names none of the courses columns"},
		// The form shown again keeps the mode chosen.
		"empty file, all or nothing": {"courses", "all-or-nothing", "", http.StatusBadRequest, `<option value="all-or-nothing" selected>`},
	} {
		r := stageImport(t, admin, acme, tc.kind, tc.mode, "f.csv", tc.file)
		if r.Status != tc.status || !strings.Contains(r.Body, tc.want) || !strings.Contains(r.Body, `data-testid="import-error"`) {
			t.Errorf("%s: %d, want %d saying %q; %.300s", name, r.Status, tc.status, tc.want, r.Body)
		}
	}
	var staged int64
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT count(*) FROM import_jobs`).Scan(&staged).Error
	})
	if staged != 1 {
		t.Errorf("%d staged imports, want only the readable one", staged)
	}

	// The dry run: a report by line and column, nothing changed.
	r = admin.PostForm(acme, path+"/dry-run", url.Values{})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("dry run: %d %.300s", r.Status, r.Body)
	}
	page = admin.Get(acme, path)
	for _, want := range []string{`data-testid="import-dry-run-report"`, "would apply 2 of 4 rows",
		"<td>5</td><td><code>email</code></td><td class=\"break-all\">not-an-email</td>",
		"<td>6</td><td><code>manager_employee_id</code></td><td class=\"break-all\">A99</td>"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("dry-run report lacks %q", want)
		}
	}
	r = admin.Get(acme, path+"/errors.csv")
	rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil || r.Status != http.StatusOK || len(rows) != 3 {
		t.Fatalf("dry run's error file: %d %v %q", r.Status, err, r.Body)
	}
	if want := []string{"line", "column", "value", "reason"}; strings.Join(rows[0], ",") != strings.Join(want, ",") {
		t.Errorf("error file header %q", rows[0])
	}
	if rows[1][0] != "5" || rows[1][1] != "email" || rows[1][2] != "not-an-email" || rows[2][0] != "6" || rows[2][1] != "manager_employee_id" {
		t.Errorf("error file rows %q", rows[1:])
	}
	var learners int64
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT count(*) FROM learners l JOIN tenants t ON t.id = l.tenant_id WHERE t.slug = 'acme' AND l.employee_id LIKE 'A%'`).Scan(&learners).Error
	})
	if learners != 0 {
		t.Errorf("the dry run added %d learners", learners)
	}
	s := getImportStatus(t, admin, path)
	if s.State != "staged" || len(s.Report) != 2 || s.Report[0].Line != 5 || s.Report[0].Column != "email" {
		t.Errorf("API status of the staged import: %+v", s)
	}
	// Not in the history until applied.
	if h := admin.Get(acme, "/api/v1/imports"); !strings.Contains(h.Body, `"imports":[]`) {
		t.Errorf("history before applying: %s", h.Body)
	}

	// The audit log has the upload and the dry run.
	var actions []string
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT action || ' ' || (details->>'file') || ' ' || (details->>'rows') FROM audit_log
			WHERE action LIKE 'import.%' ORDER BY id`).Scan(&actions).Error
	})
	if strings.Join(actions, "|") != "import.uploaded roster.csv 4|import.dry_run roster.csv 4" {
		t.Errorf("audit entries %q", actions)
	}
}

// bigRoster is a roster of n people: a CEO and everyone else reporting to
// one of 100 managers.
func bigRoster(n int) string {
	var b strings.Builder
	b.WriteString("employee_id,email,name,department,location,manager_employee_id,hire_date\n")
	for i := 1; i <= n; i++ {
		mgr := ""
		switch {
		case i > 1 && i <= 101:
			mgr = "E00001"
		case i > 101:
			mgr = fmt.Sprintf("E%05d", 2+i%100)
		}
		fmt.Fprintf(&b, "E%05d,person%d@acme.test,Person %d,Dept %d,Site %d,%s,2020-01-%02d\n", i, i, i, i%20, i%5, mgr, 1+i%28)
	}
	return b.String()
}

func TestImportsApplyLargeRosterWithProgress(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")

	const people = 20_000
	roster := bigRoster(people) + "E99999,broken,Broken Row,X,Y,,2020-01-01\n"
	path := stagedPath(t, stageImport(t, admin, acme, "roster", "valid-rows", "big-roster.csv", roster))
	start := time.Now()
	r := admin.PostForm(acme, path+"/apply", url.Values{})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != path {
		t.Fatalf("apply: %d %q", r.Status, r.Header.Get("Location"))
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("the apply request took %v: it must not wait for the import", time.Since(start))
	}
	// Poll as the page does, faster, and keep every progress seen; another
	// instance answers, as behind a load balancer.
	other := testserver.StartOn(t, srv.DB).NewClient(t)
	other.Login(acme, "admin@acme.test")
	var seen []int
	var changes []time.Duration // when each new count was first seen
	var fragmentSeen bool
	var s importStatus
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the import did not finish: %+v", s)
		}
		s = getImportStatus(t, other, path)
		if s.State != "running" {
			break
		}
		if len(seen) == 0 || seen[len(seen)-1] != s.RowsDone {
			seen = append(seen, s.RowsDone)
			changes = append(changes, time.Since(start))
		}
		if !fragmentSeen {
			f := other.Get(acme, path+"/progress")
			fragmentSeen = strings.Contains(f.Body, `data-testid="import-progress-bar"`) && strings.Contains(f.Body, `hx-trigger="load delay:1s"`) &&
				strings.Contains(f.Body, "of 20,001 rows applied")
		}
	}
	took := time.Since(start)
	t.Logf("applied %d people in %v; progress seen: %v at %v", people, took, seen, changes)
	if s.State != "done" || s.Outcome != "applied" || s.Applied != people || s.RowsDone != people || s.Errors != 1 || s.Rows != people+1 {
		t.Fatalf("finished import: %+v", s)
	}
	if !fragmentSeen {
		t.Error("the progress fragment never showed a running progress bar")
	}
	rising := 0
	for i, n := range seen {
		if i > 0 && n < seen[i-1] {
			t.Errorf("progress went down: %v", seen)
		}
		if n > 0 && n < people {
			rising++
		}
	}
	if rising < 2 {
		t.Errorf("progress seen %v: want at least two counts between 0 and %d", seen, people)
	}
	var learners int64
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT count(*) FROM learners l JOIN tenants t ON t.id = l.tenant_id WHERE t.slug = 'acme' AND l.employee_id LIKE 'E%'`).Scan(&learners).Error
	})
	if learners != people {
		t.Errorf("%d learners after the import, want %d", learners, people)
	}

	// The finished page, the progress fragment (no more polling), the history.
	if f := admin.Get(acme, path+"/progress"); !strings.Contains(f.Body, `data-testid="import-result"`) || strings.Contains(f.Body, "hx-trigger") ||
		!strings.Contains(f.Body, "Applied 20,000 of 20,001 rows; 1 with errors") {
		t.Errorf("finished progress fragment: %.1000s", f.Body)
	}
	h := admin.Get(acme, "/admin/imports")
	if !strings.Contains(h.Body, "big-roster.csv") || !strings.Contains(h.Body, `data-testid="import-applied">20,000<`) {
		t.Errorf("history lacks the import: %.3000s", h.Body)
	}
	// Its error file and its original file.
	r = admin.Get(acme, path+"/errors.csv")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "line,column,value,reason\n20002,email,broken,not an email address") ||
		strings.Count(r.Body, "\n") != 2 {
		t.Errorf("error file: %d %q", r.Status, r.Body)
	}
	if r.Header.Get("Content-Disposition") == "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("error file headers %v", r.Header)
	}
	r = admin.Get(acme, path+"/file")
	if r.Status != http.StatusOK || r.Body != roster || r.Header.Get("Content-Disposition") != `attachment; filename=big-roster.csv` {
		t.Errorf("original file: %d %q, %d bytes", r.Status, r.Header.Get("Content-Disposition"), len(r.Body))
	}
	// Applying twice is refused.
	if r := admin.PostForm(acme, path+"/apply", url.Values{}); r.Status != http.StatusConflict {
		t.Errorf("second apply: %d", r.Status)
	}
	var audit string
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT concat_ws(' ', actor_email, details->>'outcome', details->>'rows', details->>'applied', details->>'errors')
			FROM audit_log WHERE action = 'import.applied'`).Scan(&audit).Error
	})
	if audit != "admin@acme.test applied 20001 20000 1" {
		t.Errorf("audit of the apply: %q", audit)
	}
}

func TestImportsHistoryJSONAndStaleJobs(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")

	// The scripts' JSON upload is an import like the page's.
	r := upload(t, admin, acme, "courses", "valid-rows", "courses.csv", "code,title\nC1,Safety\nC2,\n")
	var rep struct {
		ID      int64  `json:"id"`
		Outcome string `json:"outcome"`
		Applied int    `json:"applied"`
	}
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &rep) != nil || rep.ID == 0 || rep.Applied != 1 {
		t.Fatalf("JSON upload: %d %s", r.Status, r.Body)
	}
	s := getImportStatus(t, admin, fmt.Sprintf("/admin/imports/%d", rep.ID))
	if s.State != "done" || s.Outcome != "applied" || s.Applied != 1 || len(s.Report) != 1 || s.Report[0].Line != 3 || s.Report[0].Column != "title" {
		t.Errorf("the JSON upload's import: %+v", s)
	}
	var list struct {
		Imports []importStatus `json:"imports"`
	}
	h := admin.Get(acme, "/api/v1/imports")
	if json.Unmarshal([]byte(h.Body), &list) != nil || len(list.Imports) != 1 || list.Imports[0].ID != rep.ID {
		t.Errorf("history: %s", h.Body)
	}

	// A running import whose instance died shows as failed, never running.
	var tenant, stale int64
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		tx.Raw(`SELECT id FROM tenants WHERE slug = 'acme'`).Scan(&tenant)
		return tx.Raw(`INSERT INTO import_jobs (tenant_id, kind, filename, mode, created_by, rows_total, content, state,
				started_at, heartbeat_at, rows_done)
			VALUES (?, 'roster', 'lost.csv', 'valid-rows', 'admin@acme.test', 100, '\x00', 'running',
				now() - interval '2 minutes', now() - interval '1 minute', 40) RETURNING id`, tenant).Scan(&stale).Error
	})
	s = getImportStatus(t, admin, fmt.Sprintf("/admin/imports/%d", stale))
	if s.State != "failed" || !strings.Contains(s.Error, "stopped before it finished") {
		t.Errorf("an import with a stale heartbeat: %+v", s)
	}
	if p := admin.Get(acme, fmt.Sprintf("/admin/imports/%d", stale)); !strings.Contains(p.Body, `data-testid="import-result"`) || strings.Contains(p.Body, "hx-trigger") {
		t.Errorf("the stale import's page still polls: %.500s", p.Body)
	}

	// Staged uploads older than a day are cleaned up by the next upload.
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Exec(`INSERT INTO import_jobs (tenant_id, kind, filename, mode, created_by, rows_total, content, created_at)
			VALUES (?, 'roster', 'old.csv', 'valid-rows', 'admin@acme.test', 1, '\x00', now() - interval '25 hours')`, tenant).Error
	})
	stagedPath(t, stageImport(t, admin, acme, "courses", "valid-rows", "c.csv", "code,title\nC9,Nine\n"))
	var old int64
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT count(*) FROM import_jobs WHERE filename = 'old.csv'`).Scan(&old).Error
	})
	if old != 0 {
		t.Error("a staged upload older than a day was not cleaned up")
	}

	// An all-or-nothing file with more bad rows than the page lists: its
	// dry run shows the first 100 and offers all 101 as CSV; applied, it
	// is refused, and its page and the history say so. A running import
	// shows how far it has got; the failed one above, why.
	var bad strings.Builder
	bad.WriteString("code,title\n")
	for i := range 101 {
		fmt.Fprintf(&bad, "R%d,\n", i)
	}
	bad.WriteString("R999,Fine\n")
	refused := stagedPath(t, stageImport(t, admin, acme, "courses", "all-or-nothing", "refuse.csv", bad.String()))
	if r := admin.PostForm(acme, refused+"/dry-run", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("dry run of 101 bad rows: %d", r.Status)
	}
	mustContain(t, "dry run of 101 bad rows", admin.Get(acme, refused).Body, "Showing the first 100 of 101 problems.", "Download all 101 as CSV")
	if r := admin.PostForm(acme, refused+"/apply", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("apply the all-or-nothing file: %d", r.Status)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if s = getImportStatus(t, admin, refused); s.State == "done" || s.State == "failed" || time.Now().After(deadline) {
			break
		}
	}
	if s.State != "done" || s.Outcome != "refused" || s.Errors != 101 || s.Applied != 0 {
		t.Errorf("the applied all-or-nothing file: %+v", s)
	}
	mustContain(t, "the refused import's page", admin.Get(acme, refused).Body,
		`data-testid="import-result-text">Refused: 101 rows have errors, so nothing was applied (all or nothing).</p>`)
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Exec(`INSERT INTO import_jobs (tenant_id, kind, filename, mode, created_by, rows_total, content, state,
				started_at, heartbeat_at, rows_done)
			VALUES (?, 'enrollments', 'busy.csv', 'valid-rows', 'admin@acme.test', 5000, '\x00', 'running', now(), now(), 1234)`, tenant).Error
	})
	history := regexp.MustCompile(`(?s)<li class="card min-w-0" data-testid="import-row">.*?</li>`).FindAllString(admin.Get(acme, "/admin/imports").Body, -1)
	cards := map[string]string{}
	for _, c := range history {
		for _, f := range []string{"refuse.csv", "lost.csv", "busy.csv"} {
			if strings.Contains(c, ">"+f+"</a>") {
				cards[f] = c
			}
		}
	}
	mustContain(t, "the refused import's card", cards["refuse.csv"], `data-testid="import-state">refused<`, "<dd>all or nothing</dd>",
		`data-testid="import-applied">0<`, `data-testid="import-errors">101<`, `data-testid="import-errors-csv"`)
	mustContain(t, "the failed import's card", cards["lost.csv"], `data-testid="import-state">failed<`, "stopped before it finished")
	mustContain(t, "the running import's card", cards["busy.csv"], `data-testid="import-state">running<`,
		"<dd>Enrolments and completions</dd>", `data-testid="import-rows">5,000<`, "Applied so far</dt><dd>1,234</dd>")
	mustNotContain(t, "the running import's card", cards["busy.csv"], `data-testid="import-errors-csv"`)

	// Only tenant admins.
	m := srv.NewClient(t)
	m.Login(acme, "manager@acme.test")
	for _, p := range []string{"/admin/imports", "/api/v1/imports", fmt.Sprintf("/api/v1/imports/%d", rep.ID), fmt.Sprintf("/admin/imports/%d/file", rep.ID)} {
		if r := m.Get(acme, p); r.Status != http.StatusForbidden {
			t.Errorf("manager GET %s: %d, want 403", p, r.Status)
		}
	}
	if r := stageImport(t, m, acme, "roster", "valid-rows", "r.csv", "employee_id,email,name\nX,x@acme.test,X\n"); r.Status != http.StatusForbidden {
		t.Errorf("manager upload: %d, want 403", r.Status)
	}
	if r := m.Get(acme, "/"); strings.Contains(r.Body, "nav-imports") {
		t.Error("a manager's navigation shows Imports")
	}
}
