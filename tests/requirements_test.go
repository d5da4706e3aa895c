package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
)

// These tests cover the compliance requirements pages and resources of
// issue 12 (item 2).

// requirementWorld gives acme a roster, a catalog and some completions:
//
//	R1 Sales, London, hired 2020: no completion (existing staff: due after assignment)
//	R2 Sales, Leeds, hired 2020: completed SAFE in January 2021
//	R3 Sales, London, hired 10 days ago: not due yet
//	R4 Support, London, hired 2019: completed SAFE 5 days ago
//	R5 Support, Leeds: inactive (never assigned)
//	R6 Sales, London, no hire date
type requirementWorld struct {
	tenant      int64
	safe, gdpr  int64 // course ids
	safeCode    string
	recentHire  string
	recentCompl string
}

func newRequirementWorld(t *testing.T, srv *testserver.Server) requirementWorld {
	t.Helper()
	ctx := context.Background()
	w := requirementWorld{tenant: tenantID(t, srv, "acme"), safeCode: "SAFE"}
	loc, _ := time.LoadLocation("Europe/London")
	today := time.Now().In(loc)
	w.recentHire = today.AddDate(0, 0, -10).Format(time.DateOnly)
	w.recentCompl = today.AddDate(0, 0, -5).Format(time.DateOnly)
	p := pipeline.New(srv.DB)
	for _, f := range []struct {
		kind imports.Kind
		data string
	}{
		{imports.KindCourses, "code,title\nSAFE,Fire safety\nGDPR,Data protection\n"},
		{imports.KindRoster, "employee_id,email,name,department,location,job_title,hire_date,status\n" +
			"R1,r1@acme.test,Rita One,Sales,London,Rep,2020-01-06,active\n" +
			"R2,r2@acme.test,Rob Two,Sales,Leeds,Rep,2020-01-06,active\n" +
			"R3,r3@acme.test,Ria Three,Sales,London,Lead," + w.recentHire + ",active\n" +
			"R4,r4@acme.test,Ron Four,Support,London,Agent,2019-05-01,active\n" +
			"R5,r5@acme.test,Rae Five,Support,Leeds,Agent,2019-05-01,inactive\n" +
			"R6,r6@acme.test,Rex Six,Sales,London,Rep,,active\n"},
		{imports.KindEnrollments, "employee_id,course,enrolled_at,completed_at\n" +
			"R2,SAFE,2020-12-01,2021-01-15\n" +
			"R4,SAFE," + w.recentCompl + "," + w.recentCompl + "\n"},
	} {
		rep, err := p.Import(ctx, pipeline.ImportRequest{TenantID: w.tenant, Kind: f.kind, Filename: string(f.kind) + ".csv",
			Data: []byte(f.data), Mode: pipeline.ModeAllOrNothing, UploadedBy: "test"})
		if err != nil || rep.Outcome != "applied" || len(rep.Errors) > 0 {
			t.Fatalf("import %s: %v %+v", f.kind, err, rep)
		}
	}
	err := srv.DB.Platform(ctx, func(tx *gormDB) error {
		if err := tx.Raw(`SELECT id FROM courses WHERE tenant_id = ? AND code = 'SAFE'`, w.tenant).Scan(&w.safe).Error; err != nil {
			return err
		}
		return tx.Raw(`SELECT id FROM courses WHERE tenant_id = ? AND code = 'GDPR'`, w.tenant).Scan(&w.gdpr).Error
	})
	if err != nil || w.safe == 0 || w.gdpr == 0 {
		t.Fatalf("courses: %v", err)
	}
	return w
}

// requirementForm is a requirement form as the page posts it.
func requirementForm(course int64, department, dueDays, dueFrom, months string) url.Values {
	return url.Values{"course_id": {strconv.FormatInt(course, 10)}, "department": {department}, "location": {""},
		"job_title": {""}, "due_days": {dueDays}, "due_from": {dueFrom}, "recertify_months": {months}}
}

var previewNumber = regexp.MustCompile(`data-testid="preview-(people|overdue|compliant|expired)"[^>]*>(\d+)<`)

// preview asks the page's preview for form and returns its numbers.
func preview(t *testing.T, c *testserver.Client, form url.Values) map[string]int {
	t.Helper()
	r := c.Get(acme, "/admin/requirements/preview?"+form.Encode(), "HX-Request", "true")
	if r.Status != http.StatusOK {
		t.Fatalf("preview %v: %d %s", form, r.Status, r.Body)
	}
	out := map[string]int{}
	for _, m := range previewNumber.FindAllStringSubmatch(r.Body, -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(out) != 4 {
		t.Fatalf("preview numbers missing: %s", r.Body)
	}
	return out
}

// requirementState counts requirement id's assignments by status today,
// straight from silver, and its people in gold's compliance table.
func requirementState(t *testing.T, srv *testserver.Server, w requirementWorld, id int64) (assignments map[string]int, goldPeople int) {
	t.Helper()
	assignments = map[string]int{}
	err := srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		var rows []struct {
			Status string
			N      int
		}
		if err := tx.Raw(`SELECT CASE WHEN a.completed_at IS NOT NULL AND coalesce(a.expires_on, 'infinity') < d.today THEN 'expired'
				WHEN a.completed_at IS NOT NULL THEN 'compliant' WHEN a.due_on < d.today THEN 'overdue' ELSE 'other' END AS status,
				count(*) AS n
			FROM compliance_assignments a, (SELECT (now() AT TIME ZONE 'Europe/London')::date AS today) d
			WHERE a.tenant_id = ? AND a.requirement_id = ? GROUP BY 1`, w.tenant, id).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			assignments[r.Status] = r.N
			assignments["people"] += r.N
		}
		return tx.Raw(`SELECT coalesce(sum(people), 0) FROM gold_compliance WHERE tenant_id = ? AND requirement_id = ?`,
			w.tenant, id).Scan(&goldPeople).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	return assignments, goldPeople
}

// goldVersion is acme's gold version.
func goldVersion(t *testing.T, srv *testserver.Server, tenant int64) int64 {
	t.Helper()
	var v int64
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT coalesce((SELECT version FROM gold_freshness WHERE tenant_id = ?), 0)`, tenant).Scan(&v).Error
	})
	return v
}

// savedID is the requirement id a save redirected to.
func savedID(t *testing.T, r testserver.Response) int64 {
	t.Helper()
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/requirements?saved=") {
		t.Fatalf("save: %d to %q, want 303 to the list: %.600s", r.Status, loc, r.Body)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/admin/requirements?saved="), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// checkPreviewMatches says whether what the preview promised is what the
// save did, in silver and in gold.
func checkPreviewMatches(t *testing.T, step string, pv map[string]int, state map[string]int, gold int) {
	t.Helper()
	for _, k := range []string{"people", "overdue", "compliant", "expired"} {
		if pv[k] != state[k] {
			t.Errorf("%s: preview said %s %d, the saved requirement has %d (%v)", step, k, pv[k], state[k], state)
		}
	}
	if gold != state["people"] {
		t.Errorf("%s: gold counts %d people, silver %d", step, gold, state["people"])
	}
}

func TestRequirementsCreateEditRetireKeepGoldExact(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	w := newRequirementWorld(t, srv)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")

	// The preview, against a count written here from the rule: Sales'
	// active people (R1, R2, R3, R6); due 30 days from hire for people
	// hired on or after the day the requirement is created, else 30 days
	// from assignment (today). Everyone was hired before today, so no one
	// is overdue (R1, hired in 2020, is not overdue since 2020); R2
	// completed.
	form := requirementForm(w.safe, "Sales", "30", "hire", "0")
	var direct struct{ People, Overdue int }
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT count(*) AS people,
				count(*) FILTER (WHERE CASE WHEN l.hire_date >= (now() AT TIME ZONE 'Europe/London')::date THEN l.hire_date
						ELSE (now() AT TIME ZONE 'Europe/London')::date END + 30 < (now() AT TIME ZONE 'Europe/London')::date
					AND NOT EXISTS (SELECT FROM enrollment_imports i WHERE i.tenant_id = l.tenant_id AND i.learner_id = l.id
						AND i.course_id = ? AND i.completed_at IS NOT NULL)) AS overdue
			FROM learners l WHERE l.tenant_id = ? AND l.rostered AND l.status = 'active' AND l.department = 'Sales'`,
			w.safe, w.tenant).Scan(&direct).Error
	})
	pv := preview(t, admin, form)
	if pv["people"] != direct.People || pv["overdue"] != direct.Overdue || direct.People != 4 || direct.Overdue != 0 {
		t.Fatalf("preview %v, direct count %+v (want 4 people, 0 overdue)", pv, direct)
	}
	if pv["compliant"] != 1 || pv["expired"] != 0 {
		t.Errorf("preview %v: R2 completed, nothing recertifies", pv)
	}
	if n, _ := requirementState(t, srv, w, 0); len(n) != 0 {
		t.Fatal("the preview wrote assignments")
	}

	// Create: assigned as promised, gold updated in the same save.
	v0 := goldVersion(t, srv, w.tenant)
	id := savedID(t, admin.PostForm(acme, "/admin/requirements", form))
	state, gold := requirementState(t, srv, w, id)
	checkPreviewMatches(t, "create", pv, state, gold)
	if v := goldVersion(t, srv, w.tenant); v <= v0 {
		t.Errorf("gold version %d after the create, was %d: dashboards are not told", v, v0)
	}
	assertGoldEqualsRebuild(t, srv.DB, "acme")
	list := admin.Get(acme, "/admin/requirements")
	mustContain(t, "list", list.Body, "Fire safety", "Department: Sales", "Within 30 days of hire",
		`data-testid="requirement-people">4<`, `data-testid="requirement-overdue">0<`)
	// The admin's home, read at sign-in, computed these KPIs before the
	// create; under a burst of commits a view may lag by up to the view
	// cache's one second (viewcache.Cache.Lag); then it is current.
	kpis := freshKPIs(admin, `"assigned":4`)
	mustContain(t, "compliance KPIs after the create", kpis.Body, `"assigned":4`, `"overdue":0`)

	// Edit: recertify every 12 months, so R2's 2021 completion has expired.
	form.Set("recertify_months", "12")
	form.Set("id", strconv.FormatInt(id, 10))
	pv = preview(t, admin, form)
	if pv["expired"] != 1 || pv["compliant"] != 0 || pv["people"] != 4 {
		t.Errorf("preview with recertification: %v", pv)
	}
	if r := admin.PostForm(acme, "/admin/requirements/"+strconv.FormatInt(id, 10), form); savedID(t, r) != id {
		t.Fatal("the edit saved another requirement")
	}
	state, gold = requirementState(t, srv, w, id)
	checkPreviewMatches(t, "edit recertification", pv, state, gold)
	assertGoldEqualsRebuild(t, srv.DB, "acme")

	// Edit: the audience becomes Support (R4 only: R5 is inactive), due 30
	// days from assignment; R4 completed 5 days ago.
	form.Set("department", "Support")
	form.Set("due_from", "assignment")
	pv = preview(t, admin, form)
	if pv["people"] != 1 || pv["compliant"] != 1 {
		t.Errorf("preview for Support: %v", pv)
	}
	savedID(t, admin.PostForm(acme, "/admin/requirements/"+strconv.FormatInt(id, 10), form))
	state, gold = requirementState(t, srv, w, id)
	checkPreviewMatches(t, "edit audience", pv, state, gold)
	assertGoldEqualsRebuild(t, srv.DB, "acme")

	// Retire: kept, listed apart, assigned to no one, gone from gold.
	v1 := goldVersion(t, srv, w.tenant)
	if r := admin.PostForm(acme, "/admin/requirements/"+strconv.FormatInt(id, 10)+"/retire", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("retire: %d %s", r.Status, r.Body)
	}
	state, gold = requirementState(t, srv, w, id)
	if state["people"] != 0 || gold != 0 {
		t.Errorf("a retired requirement still counts: %v, gold %d", state, gold)
	}
	if v := goldVersion(t, srv, w.tenant); v <= v1 {
		t.Error("retiring gave gold no new version")
	}
	assertGoldEqualsRebuild(t, srv.DB, "acme")
	list = admin.Get(acme, "/admin/requirements")
	mustContain(t, "list after retiring", list.Body, `data-testid="requirement-retired-list"`, "No requirements yet.", `data-testid="requirement-restore"`)
	mustContain(t, "list after retiring", list.Body, ">retired ")
	// Its page says it applies to no one until restored.
	if r := admin.Get(acme, "/admin/requirements/"+strconv.FormatInt(id, 10)); r.Status != http.StatusOK || !strings.Contains(r.Body, "applies to no one until it is restored") {
		t.Errorf("a retired requirement's page: %d %.300s", r.Status, r.Body)
	}
	kpis = freshKPIs(admin, `"assigned":0`)
	mustContain(t, "compliance KPIs after retiring", kpis.Body, `"assigned":0`)
	if r := admin.PostForm(acme, "/admin/requirements/"+strconv.FormatInt(id, 10)+"/retire", url.Values{}); r.Status != http.StatusConflict {
		t.Errorf("retire twice: %d, want 409", r.Status)
	}

	// Restore: assigned afresh.
	if r := admin.PostForm(acme, "/admin/requirements/"+strconv.FormatInt(id, 10)+"/restore", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("restore: %d %s", r.Status, r.Body)
	}
	state, gold = requirementState(t, srv, w, id)
	checkPreviewMatches(t, "restore", pv, state, gold)
	assertGoldEqualsRebuild(t, srv.DB, "acme")

	actions := auditActions(t, srv, "acme")
	for action, want := range map[string]int{models.AuditRequirementCreated: 1, models.AuditRequirementUpdated: 2,
		models.AuditRequirementRetired: 1, models.AuditRequirementRestored: 1} {
		if actions[action] != want {
			t.Errorf("%d %s entries, want %d", actions[action], action, want)
		}
	}
}

func TestRequirementValidationAndClash(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	w := newRequirementWorld(t, srv)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	count := func() (n int) {
		srv.DB.Platform(context.Background(), func(tx *gormDB) error {
			return tx.Raw(`SELECT count(*) FROM compliance_requirements WHERE tenant_id = ?`, w.tenant).Scan(&n).Error
		})
		return
	}

	for _, c := range []struct {
		name   string
		change func(url.Values)
		status int
		want   string
	}{
		{"no days", func(f url.Values) { f.Set("due_days", "0") }, 400, "Days to complete must be a whole number from 1 to 3650"},
		{"too many days", func(f url.Values) { f.Set("due_days", "3651") }, 400, "from 1 to 3650"},
		{"days not a number", func(f url.Values) { f.Set("due_days", "soon") }, 400, "from 1 to 3650"},
		{"too many months", func(f url.Values) { f.Set("recertify_months", "121") }, 400, "from 0 to 120"},
		{"negative months", func(f url.Values) { f.Set("recertify_months", "-1") }, 400, "from 0 to 120"},
		{"bad due_from", func(f url.Values) { f.Set("due_from", "birth") }, 400, "counts from"},
		{"no course", func(f url.Values) { f.Set("course_id", "") }, 400, "Choose the course"},
		{"unknown course", func(f url.Values) { f.Set("course_id", "999999999") }, 422, "no such course"},
		{"unknown department", func(f url.Values) { f.Set("department", "Marketing") }, 422, "No one in your roster has the department &#34;Marketing&#34;"},
		{"unknown location", func(f url.Values) { f.Set("location", "Paris") }, 422, "location"},
	} {
		f := requirementForm(w.safe, "Sales", "30", "hire", "0")
		c.change(f)
		r := admin.PostForm(acme, "/admin/requirements", f)
		if r.Status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, r.Status, c.status)
		}
		mustContain(t, c.name, r.Body, c.want, `data-testid="requirement-form"`)
		// The preview refuses the same input, with the same message; a
		// form without a course yet is only unfinished.
		p := admin.Get(acme, "/admin/requirements/preview?"+f.Encode(), "HX-Request", "true")
		if f.Get("course_id") == "" {
			if p.Status != http.StatusOK || !strings.Contains(p.Body, "Choose a course to see") {
				t.Errorf("preview without a course: %d %s", p.Status, p.Body)
			}
			continue
		}
		if p.Status != c.status {
			t.Errorf("%s preview: status %d, want %d", c.name, p.Status, c.status)
		}
		mustContain(t, c.name+" preview", p.Body, `data-testid="requirement-preview-problem"`, c.want)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d requirements after refused forms", n)
	}

	// The unique (course, audience): a clear 409, naming the other one.
	first := savedID(t, admin.PostForm(acme, "/admin/requirements", requirementForm(w.safe, "Sales", "30", "hire", "0")))
	r := admin.PostForm(acme, "/admin/requirements", requirementForm(w.safe, "Sales", "60", "assignment", "12"))
	if r.Status != http.StatusConflict {
		t.Errorf("same course and audience: %d, want 409", r.Status)
	}
	mustContain(t, "clash", r.Body, fmt.Sprintf("Requirement %d already covers this course and audience", first))
	// An edit that would make a second one clash, too.
	second := savedID(t, admin.PostForm(acme, "/admin/requirements", requirementForm(w.gdpr, "Sales", "30", "hire", "0")))
	r = admin.PostForm(acme, "/admin/requirements/"+strconv.FormatInt(second, 10), requirementForm(w.safe, "Sales", "30", "hire", "0"))
	if r.Status != http.StatusConflict {
		t.Errorf("edit into a clash: %d, want 409", r.Status)
	}
	// A retired one still holds its course and audience.
	admin.PostForm(acme, "/admin/requirements/"+strconv.FormatInt(first, 10)+"/retire", url.Values{})
	r = admin.PostForm(acme, "/admin/requirements", requirementForm(w.safe, "Sales", "30", "hire", "0"))
	if r.Status != http.StatusConflict {
		t.Errorf("clash with a retired requirement: %d, want 409", r.Status)
	}
	mustContain(t, "clash with retired", r.Body, fmt.Sprintf("Retired requirement %d", first), "restore")
	if n := count(); n != 2 {
		t.Errorf("%d requirements, want 2", n)
	}
	if r := admin.Get(acme, "/admin/requirements/999999999"); r.Status != http.StatusNotFound {
		t.Errorf("unknown requirement: %d", r.Status)
	}

	// Only tenant admins.
	for _, email := range []string{"manager@acme.test", "analyst@acme.test", "learner@acme.test"} {
		c := srv.NewClient(t)
		c.Login(acme, email)
		for _, p := range []string{"/admin/requirements", "/admin/requirements/new", "/admin/requirements/" + strconv.FormatInt(first, 10),
			"/admin/requirements/preview?" + requirementForm(w.safe, "", "30", "hire", "0").Encode(), "/api/v1/requirements"} {
			if r := c.Get(acme, p); r.Status != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", email, p, r.Status)
			}
		}
		if r := c.PostForm(acme, "/admin/requirements", requirementForm(w.gdpr, "", "30", "hire", "0")); r.Status != http.StatusForbidden {
			t.Errorf("%s creates a requirement: %d, want 403", email, r.Status)
		}
		if r := c.PostForm(acme, "/admin/requirements/"+strconv.FormatInt(second, 10)+"/retire", url.Values{}); r.Status != http.StatusForbidden {
			t.Errorf("%s retires a requirement: %d, want 403", email, r.Status)
		}
	}
	if n := count(); n != 2 {
		t.Errorf("%d requirements after others tried, want 2", n)
	}

	// For everyone, within a day, every month: the list says so in words,
	// and marks the one just saved.
	third := savedID(t, admin.PostForm(acme, "/admin/requirements", requirementForm(w.gdpr, "", "1", "assignment", "1")))
	list := admin.Get(acme, "/admin/requirements?saved="+strconv.FormatInt(third, 10)).Body
	marked := `class="card min-w-0 border-brand" id="requirement-` + strconv.FormatInt(third, 10) + `"`
	at := strings.Index(list, marked)
	if at < 0 || strings.Count(list, "border-brand") != 1 {
		t.Fatalf("the list marks not (only) the requirement just saved: %.500s", list)
	}
	card, _, _ := strings.Cut(list[at:], "</li>")
	mustContain(t, "the everyone requirement", card, `data-testid="requirement-audience">Everyone<`,
		`data-testid="requirement-due">Within 1 day of assignment<`, ">Every month<")
}

func TestRequirementsJSON(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	w := newRequirementWorld(t, srv)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	csrf := admin.CSRF(acme)
	// Every answer is checked against the OpenAPI document, the request too
	// when the document says it is right.
	d := loadOpenAPI(t, srv)
	post := func(body string) testserver.Response {
		call := apiCall{method: http.MethodPost, path: "/api/v1/requirements", body: body, contentType: "application/json",
			header: []string{"X-CSRF-Token", csrf}}
		if strings.HasPrefix(body, "{") && !strings.Contains(body, "colour") {
			return d.check(t, admin, call)
		}
		return d.checkError(t, admin, call)
	}

	r := post(fmt.Sprintf(`{"course_id":%d,"audience":{"location":"London"},"due_days":14,"due_from":"assignment","recertify_months":24}`, w.safe))
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var created struct {
		ID       int64             `json:"id"`
		CourseID int64             `json:"course_id"`
		Course   string            `json:"course"`
		Audience map[string]string `json:"audience"`
		DueDays  int               `json:"due_days"`
		People   int               `json:"people"`
		Retired  *string           `json:"retired_at"`
	}
	if err := json.Unmarshal([]byte(r.Body), &created); err != nil {
		t.Fatal(err)
	}
	// London's active people: R1, R3, R4, R6.
	if created.Course != "Fire safety" || created.Audience["location"] != "London" || created.DueDays != 14 || created.People != 4 || created.Retired != nil {
		t.Errorf("created %+v from %s", created, r.Body)
	}
	if loc := r.Header.Get("Location"); loc != "/api/v1/requirements/"+strconv.FormatInt(created.ID, 10) {
		t.Errorf("Location %q", loc)
	}
	assertGoldEqualsRebuild(t, srv.DB, "acme")

	one := d.check(t, admin, apiCall{method: http.MethodGet, path: "/api/v1/requirements/" + strconv.FormatInt(created.ID, 10)})
	mustContain(t, "one", one.Body, `"due_from":"assignment"`, `"recertify_months":24`, `"course_code":"SAFE"`)
	all := d.check(t, admin, apiCall{method: http.MethodGet, path: "/api/v1/requirements"})
	mustContain(t, "list", all.Body, `"requirements":[`, fmt.Sprintf(`"id":%d`, created.ID))
	if r := d.checkError(t, admin, apiCall{method: http.MethodGet, path: "/api/v1/requirements/999999999"}); r.Status != http.StatusNotFound {
		t.Errorf("unknown requirement: %d", r.Status)
	}

	for _, c := range []struct {
		body   string
		status int
		want   string
	}{
		{`not json`, 400, "JSON object"},
		{fmt.Sprintf(`{"course_id":%d,"due_days":14,"due_from":"hire","recertify_months":0,"colour":"red"}`, w.safe), 400, "colour"},
		{fmt.Sprintf(`{"course_id":%d,"due_days":0,"due_from":"hire","recertify_months":0}`, w.safe), 400, "from 1 to 3650"},
		{fmt.Sprintf(`{"course_id":%d,"due_days":5,"due_from":"hire","recertify_months":500}`, w.safe), 400, "from 0 to 120"},
		{`{"course_id":999999,"due_days":5,"due_from":"hire","recertify_months":0}`, 422, "no such course"},
		{fmt.Sprintf(`{"course_id":%d,"audience":{"department":"Nowhere"},"due_days":5,"due_from":"hire","recertify_months":0}`, w.safe), 422, "Nowhere"},
		{fmt.Sprintf(`{"course_id":%d,"audience":{"all":true,"department":"Sales"},"due_days":5,"due_from":"hire","recertify_months":0}`, w.safe), 400, "not both"},
		{fmt.Sprintf(`{"course_id":%d,"audience":{"location":"London"},"due_days":30,"due_from":"hire","recertify_months":0}`, w.safe), 409, "already covers"},
	} {
		r := post(c.body)
		if r.Status != c.status {
			t.Errorf("%s: %d, want %d (%s)", c.body, r.Status, c.status, r.Body)
		}
		mustContain(t, c.body, r.Body, c.want, `"error"`)
	}
	analyst := srv.NewClient(t)
	analyst.Login(acme, "analyst@acme.test")
	if r := analyst.Do(http.MethodPost, acme, "/api/v1/requirements", strings.NewReader(`{}`),
		"Content-Type", "application/json", "X-CSRF-Token", analyst.CSRF(acme)); r.Status != http.StatusForbidden {
		t.Errorf("analyst creates through the API: %d", r.Status)
	}
}

// An import naming a retired requirement puts it back in force, through
// the same pipeline path.
func TestImportRestoresARetiredRequirement(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	w := newRequirementWorld(t, srv)
	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	id := savedID(t, admin.PostForm(acme, "/admin/requirements", requirementForm(w.safe, "Sales", "30", "hire", "0")))
	admin.PostForm(acme, "/admin/requirements/"+strconv.FormatInt(id, 10)+"/retire", url.Values{})
	rep, err := pipeline.New(srv.DB).Import(context.Background(), pipeline.ImportRequest{TenantID: w.tenant, Kind: imports.KindRequirements,
		Filename: "req.csv", Data: []byte("course,audience,due_within_days,due_from\nSAFE,department=Sales,30,hire\n")})
	if err != nil || rep.Changed != 1 {
		t.Fatalf("import: %v %+v", err, rep)
	}
	state, gold := requirementState(t, srv, w, id)
	if state["people"] != 4 || gold != 4 {
		t.Errorf("after the import: %v, gold %d; want the 4 Sales people", state, gold)
	}
	assertGoldEqualsRebuild(t, srv.DB, "acme")
}

// freshKPIs reads the compliance KPIs until they contain want, for up to
// 5 s: under a burst of commits the dashboards may lag by up to the view
// cache's one second (viewcache.Cache.Lag); then they are current.
func freshKPIs(c *testserver.Client, want string) testserver.Response {
	deadline := time.Now().Add(5 * time.Second)
	kpis := c.Get(acme, "/api/v1/dashboards/compliance/kpis")
	for !strings.Contains(kpis.Body, want) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		kpis = c.Get(acme, "/api/v1/dashboards/compliance/kpis")
	}
	return kpis
}
