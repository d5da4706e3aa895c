package tests

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
)

var pickerOption = regexp.MustCompile(`data-id="(\d+)"\s+data-name="([^"]*)"`)

// pickerNames lists the names a /people/search answer offers.
func pickerNames(body string) []string {
	var out []string
	for _, m := range pickerOption.FindAllStringSubmatch(body, -1) {
		out = append(out, m[2])
	}
	return out
}

// TestPeopleSearchIsScoped checks the manager picker's route: it finds
// people with reports by name or email, tells two people of the same name
// apart, keeps a manager to their own part of the organisation and
// another tenant's users to their own tenant, and answers bad input with
// a 400 that says what was wrong.
func TestPeopleSearchIsScoped(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	ctx := context.Background()
	//	Cleo Chief
	//	├── Max Manager (manager@acme.test)
	//	│   └── Jin Yang (jin.yang@) ── Pat One
	//	└── Jin Yang (jin.yang2@) ── Pat Two
	rep, err := pipeline.New(srv.DB).Import(ctx, pipeline.ImportRequest{TenantID: tenantID(t, srv, "acme"), Kind: imports.KindRoster,
		Filename: "roster.csv", Mode: pipeline.ModeAllOrNothing, UploadedBy: "test", Data: []byte(
			"employee_id,email,name,manager_employee_id,department,job_title\n" +
				"C0,cleo@acme.test,Cleo Chief,,Executive,Chief executive\n" +
				"M1,manager@acme.test,Max Manager,C0,Sales,Sales director\n" +
				"J1,jin.yang@acme.test,Jin Yang,M1,Sales,Team lead\n" +
				"J2,jin.yang2@acme.test,Jin Yang,C0,Support,Support lead\n" +
				"P1,pat.one@acme.test,Pat One,J1,Sales,Rep\n" +
				"P2,pat.two@acme.test,Pat Two,J2,Support,Agent\n")})
	if err != nil || rep.Outcome != "applied" {
		t.Fatalf("roster: %v %+v", err, rep)
	}

	admin := srv.NewClient(t)
	admin.Login(acme, "admin@acme.test")
	r := admin.Get(acme, "/people/search?q=jin")
	if r.Status != http.StatusOK {
		t.Fatalf("admin search: %d %s", r.Status, r.Body)
	}
	if got := pickerNames(r.Body); strings.Join(got, ",") != "Jin Yang,Jin Yang" {
		t.Errorf("admin's search for jin offers %q, want both Jin Yangs", got)
	}
	mustContain(t, "admin's search tells the Jin Yangs apart", r.Body, "Team lead · Sales · jin.yang@acme.test · 1 person",
		"Support lead · Support · jin.yang2@acme.test · 1 person")
	if got := pickerNames(admin.Get(acme, "/people/search?q=PAT").Body); len(got) != 0 {
		t.Errorf("people without reports are offered: %q", got)
	}
	if got := pickerNames(admin.Get(acme, "/people/search?q=50%25").Body); len(got) != 0 {
		t.Errorf("a %% in the search matched %q", got)
	}
	if got := pickerNames(admin.Get(acme, "/people/search?limit=2").Body); len(got) != 2 {
		t.Errorf("limit=2 gave %d options", len(got))
	}

	// A manager finds themselves and the managers below them, nobody else.
	mgr := srv.NewClient(t)
	mgr.Login(acme, "manager@acme.test")
	if got := pickerNames(mgr.Get(acme, "/people/search").Body); strings.Join(got, ",") != "Jin Yang,Max Manager" {
		t.Errorf("the manager's picker offers %q, want Jin Yang (their report) and themselves", got)
	}
	if body := mgr.Get(acme, "/people/search?q=jin.yang2").Body; len(pickerNames(body)) != 0 || strings.Contains(body, "Support lead") {
		t.Errorf("the manager finds the other Jin Yang, outside their part: %.300s", body)
	}

	// A learner has no dashboards and so no picker.
	lrn := srv.NewClient(t)
	lrn.Login(acme, "learner@acme.test")
	if r := lrn.Get(acme, "/people/search?q=jin"); r.Status != http.StatusForbidden {
		t.Errorf("learner: %d, want 403", r.Status)
	}

	// Another tenant sees nobody of acme: on its own host, and with its
	// cookie on acme's.
	globexAdmin := srv.NewClient(t)
	globexAdmin.Login(globex, "admin@globex.test")
	r = globexAdmin.Get(globex, "/people/search?q=jin")
	if r.Status != http.StatusOK || len(pickerNames(r.Body)) != 0 {
		t.Errorf("globex's admin searching jin: %d %.300s", r.Status, r.Body)
	}
	mustNotContain(t, "globex's search", globexAdmin.Get(globex, "/people/search").Body, "Jin Yang", "Max Manager", "Cleo Chief")
	stolen := srv.NewClient(t)
	setCookie(stolen, srv, acme, globexAdmin.SessionCookie(globex))
	if r := stolen.Get(acme, "/people/search?q=jin"); r.Status == http.StatusOK || strings.Contains(r.Body, "Jin Yang") {
		t.Errorf("globex's cookie on acme's host: %d %.300s", r.Status, r.Body)
	}

	// Bad input: 400 with the reason.
	for query, want := range map[string]string{
		"?q=" + strings.Repeat("x", 101): "q: must be at most 100 characters",
		"?limit=0":                       "limit: must be a whole number from 1 to 50",
		"?limit=51":                      "limit: must be a whole number from 1 to 50",
		"?limit=ten":                     "limit: must be a whole number from 1 to 50",
		"?manager=abc":                   "manager: must be a positive whole number",
	} {
		r := admin.Get(acme, "/people/search"+query)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, want) {
			t.Errorf("GET /people/search%s: %d %.200s, want 400 saying %q", query, r.Status, r.Body, want)
		}
	}
}
