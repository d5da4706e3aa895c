package tests

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// TestDirectoryChangesReachScopesAndChoices: two instances on one
// database. Scopes and filter choices are kept across gold versions: while
// statements from known people on known courses arrive on A, B's viewers
// reloading their pages see every new version, and B resolves no scope and
// reads no filter choices again. A change to the directory made elsewhere
// reaches B at once (by its notification): a manager who had no learner
// record gets their people when a roster import gives them one, a learner
// with no record gets their own when their first statement arrives, and
// the admin's filter bar offers the new course and the new department.
func TestDirectoryChangesReachScopesAndChoices(t *testing.T) {
	t.Parallel()
	a := testserver.Start(t)
	b := testserver.StartOn(t, a.DB)
	admin := adminDB(t, a)
	waitListening(t, admin, 2)
	ctx := context.Background()
	acmeID := tenantID(t, a, "acme")
	importFile := func(kind imports.Kind, csv string) {
		t.Helper()
		rep, err := pipeline.New(a.DB).Import(ctx, pipeline.ImportRequest{TenantID: acmeID, Kind: kind,
			Filename: string(kind) + ".csv", UploadedBy: "test", Data: []byte(csv)})
		if err != nil || rep.Outcome != "applied" || len(rep.Errors) > 0 {
			t.Fatalf("%s import: %v %+v", kind, err, rep)
		}
	}
	importFile(imports.KindRoster, "employee_id,email,name,department,manager_employee_id\n"+
		"M1,manager@acme.test,Max Manager,Sales,\nP1,p1@acme.test,Pat One,Sales,M1\n"+
		"P2,p2@acme.test,Pat Two,Sales,M1\nP3,p3@acme.test,Pia Three,Support,M1\n")
	importFile(imports.KindCourses, "code,title\nSEC,Security Basics\n")
	importFile(imports.KindEnrollments, "employee_id,course,enrolled_at\nP1,SEC,2026-01-05\nP2,SEC,2026-01-05\nP3,SEC,2026-01-05\n")
	hash, err := auth.HashPassword(seed.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	for email, role := range map[string]string{"new.manager@acme.test": models.RoleManager, "newbie@acme.test": models.RoleLearner} {
		if _, err := models.NewUserStore(a.DB).Create(ctx, acmeID, models.NewUser{Email: email, Name: email, Role: role, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	// B's viewers: the admin, the demo manager, and the two new users.
	viewers := map[string]*testserver.Client{}
	for _, email := range []string{"admin@acme.test", "manager@acme.test", "new.manager@acme.test", "newbie@acme.test"} {
		viewers[email] = b.NewClient(t)
		viewers[email].Login(acme, email)
	}
	page := func(email, path string) testserver.Response {
		t.Helper()
		r := viewers[email].Get(acme, path)
		if r.Status != http.StatusOK {
			t.Fatalf("%s on B, %s: status %d", email, path, r.Status)
		}
		return r
	}
	enrolled := func(email string) float64 {
		t.Helper()
		var body struct {
			Data kpis `json:"data"`
		}
		if r := getJSON(t, viewers[email], "/api/v1/dashboards/completion/kpis", &body); r.Status != http.StatusOK {
			t.Fatalf("%s's completion KPIs on B: %d", email, r.Status)
		}
		return *body.Data["enrolled"]
	}
	reload := func() (version string) {
		t.Helper()
		for _, email := range []string{"admin@acme.test", "manager@acme.test", "new.manager@acme.test"} {
			version = page(email, "/dashboards/completion").Header.Get("X-LearnLens-Version")
		}
		page("newbie@acme.test", "/me")
		return version
	}
	computations := func(kind string) float64 {
		return value(sample(scrape(t, b), "learnlens_view_cache_kind_computations_total", map[string]string{"kind": kind}))
	}
	if n := enrolled("new.manager@acme.test"); n != 0 {
		t.Fatalf("a manager with no learner record sees %v enrolments, want 0", n)
	}

	// Steady ingest from a known person on a known course, through A.
	const course, known = "urn:learnlens:course:SEC", "p1@acme.test"
	first := reload()
	scopes, options := computations("scope"), computations("options")
	lrs := newLRS(t, a, "acme")
	var last string
	for i := range 4 {
		ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
		if r := lrs.do(http.MethodPost, "/xapi/statements", "["+stmt("", known, "experienced", course, ts, "")+"]"); r.Status != http.StatusOK {
			t.Fatalf("batch %d on A: %d %s", i, r.Status, r.Body)
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if v := reload(); v != last && v != first {
				last = v
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("batch %d on A never showed on B", i)
			}
		}
	}
	if s, o := computations("scope"), computations("options"); s != scopes || o != options {
		t.Errorf("under ingest of known people and courses B resolved %v scopes and read %v filter choices again, want none",
			s-scopes, o-options)
	}

	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: B did not show it within 3 s", what)
			}
		}
	}
	// A roster import elsewhere gives the new manager a learner record in
	// a new department, with two people who have enrolments.
	importFile(imports.KindRoster, "employee_id,email,name,department,manager_employee_id\n"+
		"NM1,new.manager@acme.test,New Manager,Quantum Lab,\nP2,p2@acme.test,Pat Two,Quantum Lab,NM1\nP3,p3@acme.test,Pia Three,Quantum Lab,NM1\n")
	eventually("the new manager's people", func() bool { return enrolled("new.manager@acme.test") > 0 })
	eventually("the new department in the admin's filter bar", func() bool {
		return strings.Contains(page("admin@acme.test", "/dashboards/completion").Body, "Quantum Lab")
	})

	// A first statement from the learner with no record, on a new course.
	ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	quantum := stmt("", "newbie@acme.test", "experienced", "http://acme.test/courses/quantum-physics", ts,
		`,"context":{},"result":{"completion":true}`)
	quantum = strings.Replace(quantum, `"object":{"id":"http://acme.test/courses/quantum-physics"}`,
		`"object":{"id":"http://acme.test/courses/quantum-physics","definition":{"name":{"en-US":"Quantum Physics 101"}}}`, 1)
	if r := lrs.do(http.MethodPost, "/xapi/statements", "["+quantum+"]"); r.Status != http.StatusOK {
		t.Fatalf("newbie's statement on A: %d %s", r.Status, r.Body)
	}
	eventually("the learner's own record on My learning", func() bool {
		return strings.Contains(page("newbie@acme.test", "/me").Body, "Quantum Physics 101")
	})
	eventually("the new course in the admin's filter bar", func() bool {
		return strings.Contains(page("admin@acme.test", "/dashboards/completion").Body, "Quantum Physics 101")
	})
}
