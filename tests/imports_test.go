package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/tests/testserver"
)

// upload posts a file to /admin/imports as a browser form would.
func upload(t *testing.T, c *testserver.Client, host, kind, mode, name, content string, fields ...string) testserver.Response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("_csrf", c.CSRF(host))
	w.WriteField("kind", kind)
	w.WriteField("mode", mode)
	for i := 0; i+1 < len(fields); i += 2 {
		w.WriteField(fields[i], fields[i+1])
	}
	fw, _ := w.CreateFormFile("file", name)
	fw.Write([]byte(content))
	w.Close()
	return c.Do(http.MethodPost, host, "/admin/imports", &body, "Content-Type", w.FormDataContentType(), "Accept", "application/json")
}

type importReport struct {
	Outcome string `json:"outcome"`
	Rows    int    `json:"rows"`
	Applied int    `json:"applied"`
	Changed int    `json:"changed"`
	Errors  []struct {
		File, Column, Reason string
		Line                 int
	} `json:"errors"`
}

func TestImportUpload(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")

	roster := "Employee ID,Email,Name,Department,Manager ID\nA1,ceo@acme.test,Cara Chief,Board,\nA2,sam@acme.test,Sam Sales,Sales,A1\nA3,bad-email,Bo Bad,Sales,A1\nA4,ann@acme.test,Ann Alone,Sales,A99\n"
	r := upload(t, admin, acme, "roster", "all-or-nothing", "roster.csv", roster)
	var rep importReport
	json.Unmarshal([]byte(r.Body), &rep)
	if r.Status != http.StatusUnprocessableEntity || rep.Outcome != "refused" || len(rep.Errors) != 2 {
		t.Fatalf("all-or-nothing with bad rows: %d %s", r.Status, r.Body)
	}
	if e := rep.Errors[0]; e.Line != 4 || e.Column != "email" || e.File != "roster.csv" {
		t.Errorf("first error %+v, want roster.csv line 4 column email", e)
	}
	if e := rep.Errors[1]; e.Line != 5 || e.Column != "manager_employee_id" || !strings.Contains(e.Reason, "no one with this employee id") {
		t.Errorf("second error %+v, want line 5 manager_employee_id", e)
	}
	count := func() (n int64) {
		srv.DB.Platform(context.Background(), func(tx *gormDB) error {
			return tx.Raw(`SELECT count(*) FROM learners l JOIN tenants t ON t.id = l.tenant_id WHERE t.slug = 'acme' AND l.rostered`).Scan(&n).Error
		})
		return
	}
	if n := count(); n != 0 {
		t.Fatalf("a refused import left %d learners", n)
	}

	// A dry run says what the file would do and does none of it.
	var dry struct {
		importReport
		DryRun bool `json:"dry_run"`
	}
	r = upload(t, admin, acme, "roster", "valid-rows", "roster.csv", roster, "dry_run", "true")
	json.Unmarshal([]byte(r.Body), &dry)
	if r.Status != http.StatusOK || !dry.DryRun || dry.Applied != 2 || len(dry.Errors) != 2 || dry.Rows != 4 {
		t.Errorf("dry run: %d %s, want 2 rows that would apply and 2 errors", r.Status, r.Body)
	}
	if n := count(); n != 0 {
		t.Fatalf("a dry run left %d learners", n)
	}
	if a := auditActions(t, srv, "acme"); a[models.AuditImportDryRun] != 1 {
		t.Errorf("the dry run is not audited: %v", a)
	}

	r = upload(t, admin, acme, "roster", "valid-rows", "roster.csv", roster)
	json.Unmarshal([]byte(r.Body), &rep)
	if r.Status != http.StatusOK || rep.Outcome != "applied" || rep.Applied != 2 || len(rep.Errors) != 2 {
		t.Fatalf("valid-rows import: %d %s", r.Status, r.Body)
	}
	if n := count(); n != 2 {
		t.Errorf("%d learners after applying the valid rows, want 2", n)
	}
	// The same file again changes nothing.
	r = upload(t, admin, acme, "roster", "valid-rows", "roster.csv", roster)
	json.Unmarshal([]byte(r.Body), &rep)
	if rep.Changed != 0 {
		t.Errorf("re-import changed %d rows", rep.Changed)
	}
	// Files that cannot be read at all get a 400 that says why; a file
	// over the 15 MB limit, a 413 that says to split it.
	for name, tc := range map[string]struct {
		kind, file, want string
		status           int
	}{
		"no required column": {"roster", "Name,Department\nX,Y\n", "employee_id", http.StatusBadRequest},
		"empty":              {"courses", "", "empty", http.StatusBadRequest},
		"unknown kind":       {"payroll", "a,b\n", "must be roster, courses", http.StatusBadRequest},
		"over 15 MB":         {"courses", "code,title\n" + strings.Repeat("C1,Safety\n", 15<<20/10), "The file is larger than 15 MB; split it.", http.StatusRequestEntityTooLarge},
	} {
		r := upload(t, admin, acme, tc.kind, "valid-rows", "f.csv", tc.file)
		if r.Status != tc.status || !strings.Contains(r.Body, tc.want) {
			t.Errorf("%s: %d %.300s", name, r.Status, r.Body)
		}
	}
	// Import ids that are no number or name no import are not found; a
	// staged file has no error report until a dry run or an apply.
	for _, p := range []string{"/admin/imports/abc", "/admin/imports/0", "/admin/imports/999999", "/api/v1/imports/-3"} {
		if r := admin.Get(acme, p); r.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.Status)
		}
	}
	staged := stagedPath(t, stageImport(t, admin, acme, "courses", "valid-rows", "later.csv", "code,title\nC7,Seven\n"))
	if r := admin.Get(acme, staged+"/errors.csv"); r.Status != http.StatusNotFound || !strings.Contains(r.Body, "Page not found") {
		t.Errorf("the error file of a staged import: %d %.300s", r.Status, r.Body)
	}
	// Only tenant admins may import.
	m := srv.NewClient(t)
	m.Login(acme, "manager@acme.test")
	if r := upload(t, m, acme, "roster", "valid-rows", "roster.csv", roster); r.Status != http.StatusForbidden {
		t.Errorf("manager import: %d, want 403", r.Status)
	}
	// Globex's admin imports into globex only.
	g := srv.NewClient(t)
	g.Login(globex, "admin@globex.test")
	upload(t, g, globex, "roster", "valid-rows", "roster.csv", "employee_id,email,name\nG1,gina@globex.test,Gina\n")
	if n := count(); n != 2 {
		t.Errorf("globex's import changed acme: %d learners", n)
	}
}
