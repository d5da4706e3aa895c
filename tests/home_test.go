package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// The home page of each role: the headline numbers it shows are those of
// the viewer's own dashboards, a learner sees the required training due
// next as their learner record lists it, and a tenant without data (or a
// user without a learner record) gets a page that says so instead of
// numbers.

var homeDueItem = regexp.MustCompile(`(?s)data-testid="home-due-item"><span class="font-medium">([^<]*)</span>.*?<span class="(badge [a-z-]+ ?[a-z-]*)">([^<]*)</span>\s*(?:due ([^<]*))?</span>`)

// testHomePages runs on the dashboards' fixture (acme with a few hundred
// people and their learning).
func testHomePages(t *testing.T, f *dashFixture) {
	for _, v := range []struct {
		name, scope string
		c           *testserver.Client
		cards       []string
		notCards    []string
	}{
		{"admin", "Your whole organisation", f.admin, []string{"card-completion", "card-team", "card-users", "card-usage"}, []string{"card-me"}},
		{"analyst", "Your whole organisation", f.analyst, []string{"card-completion", "card-team"}, []string{"card-users", "card-me"}},
		{"manager", "Everyone who reports to you, solid or dotted line", f.mgr, []string{"card-completion", "card-team"}, []string{"card-users", "card-me"}},
	} {
		r := v.c.Get(acme, "/")
		if r.Status != http.StatusOK {
			t.Fatalf("%s home: %d", v.name, r.Status)
		}
		mustContain(t, v.name+" home", r.Body, `id="home-numbers-title"`, v.scope, `data-testid="home-as-of">Data as of `)
		for _, c := range v.cards {
			mustContain(t, v.name+" home", r.Body, `data-testid="`+c+`"`)
		}
		mustNotContain(t, v.name+" home", r.Body, append(v.notCards, `data-testid="home-due`)...)
		home := pageKPIs(t, v.c, "/")
		completion := pageKPIs(t, v.c, "/dashboards/completion")
		compliance := pageKPIs(t, v.c, "/dashboards/compliance")
		engagement := pageKPIs(t, v.c, "/dashboards/engagement")
		for tile, want := range map[string]string{"home-completion": completion["completion-rate"], "home-overdue": completion["overdue"],
			"home-compliance": compliance["compliance-rate"], "home-active": engagement["active"]} {
			if got, ok := home[tile]; !ok || want == "" || got != want {
				t.Errorf("%s home: tile %s shows %q, the dashboard %q", v.name, tile, got, want)
			}
		}
		if len(home) != 4 {
			t.Errorf("%s home: tiles %v, want 4", v.name, home)
		}
	}

	// A learner: their own numbers and the training due next, soonest
	// first, as their learner record lists it. The one with the most
	// required training open (the demo learner may have none) signs in.
	var learner int64
	var email string
	f.one(t, `SELECT l.id, l.email FROM compliance_assignments ca JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id
		WHERE ca.tenant_id = @t AND ca.completed_at IS NULL AND l.email IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = l.tenant_id AND u.email = l.email)
		GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1`, nil, &learner, &email)
	lrn := signInAsLearner(t, f, email)
	var rec struct {
		Data struct {
			Profile struct {
				Completed, Overdue, Assigned, Compliant json.Number
			} `json:"profile"`
			Certificates jsonTable `json:"certificates"`
		} `json:"data"`
	}
	if r := getJSON(t, lrn, "/api/v1/learners/"+strconv.FormatInt(learner, 10), &rec); r.Status != http.StatusOK {
		t.Fatalf("the learner's record: %d %.300s", r.Status, r.Body)
	}
	r := lrn.Get(acme, "/")
	if r.Status != http.StatusOK {
		t.Fatalf("learner home: %d", r.Status)
	}
	mustContain(t, "learner home", r.Body, "Your learning", `data-testid="card-me"`, `data-testid="home-as-of"`)
	mustNotContain(t, "learner home", r.Body, `data-testid="card-completion"`, "Your whole organisation")
	p := rec.Data.Profile
	tiles := pageKPIs(t, lrn, "/")
	for tile, want := range map[string]string{"home-my-overdue": p.Overdue.String(), "home-my-completed": p.Completed.String(),
		"home-my-compliant": p.Compliant.String()} {
		if tiles[tile] != want {
			t.Errorf("learner home: tile %s shows %q, their record %s", tile, tiles[tile], want)
		}
	}
	mustContain(t, "learner home", r.Body, "of "+p.Assigned.String())
	var want []string
	for _, row := range rec.Data.Certificates.Rows {
		if s := fmt.Sprint(row["status"]); s != "compliant" && len(want) < 3 {
			due, err := time.Parse(time.DateOnly, fmt.Sprint(row["due_on"]))
			if err != nil {
				t.Fatalf("the record's due date %v: %v", row["due_on"], err)
			}
			want = append(want, fmt.Sprint(row["requirement"])+" | "+s+" | due "+due.Format("2 Jan 2006"))
		}
	}
	var got []string
	for _, m := range homeDueItem.FindAllStringSubmatch(r.Body, -1) {
		got = append(got, html.UnescapeString(m[1])+" | "+m[3]+" | due "+strings.TrimSpace(m[4]))
		if class := map[string]string{"overdue": "badge badge-red", "expired": "badge badge-violet", "due soon": "badge badge-yellow"}[m[3]]; class != "" && m[2] != class {
			t.Errorf("learner home: %q is badged %q, want %q", m[3], m[2], class)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("learner home: due next\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(want) == 0 {
		t.Fatal("the fixture has nobody with training due: the case checks nothing")
	}

	// A learner whose required training is all done and in date.
	f.one(t, `SELECT l.email FROM compliance_assignments ca JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id
		WHERE ca.tenant_id = @t AND l.email IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = l.tenant_id AND u.email = l.email)
		GROUP BY 1 HAVING bool_and(ca.completed_at IS NOT NULL AND coalesce(ca.expires_on, 'infinity') > current_date + 60)
		ORDER BY count(*) DESC, 1 LIMIT 1`, nil, &email)
	r = signInAsLearner(t, f, email).Get(acme, "/")
	mustContain(t, "learner with all done", r.Body, `data-testid="home-due-none"`, "Nothing required is due")
	mustNotContain(t, "learner with all done", r.Body, `data-testid="home-due-item"`)
}

// TestATenantWithoutDataSaysSo: the demo tenants before any learning data
// arrives. Admins, analysts and managers see their headline tiles with
// nothing to count, dashboards that say there is no data yet and an empty
// team tree; a learner whose email no learner record has yet sees no
// numbers, only where their learning will be, and My learning says why it
// is empty.
func TestATenantWithoutDataSaysSo(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	for _, email := range []string{"admin@acme.test", "analyst@acme.test", "manager@acme.test"} {
		c := srv.NewClient(t)
		c.Login(acme, email)
		tiles := pageKPIs(t, c, "/")
		for _, tile := range []string{"home-completion", "home-compliance"} {
			if tiles[tile] != "—" {
				t.Errorf("%s: tile %s shows %q on a tenant without data, want —", email, tile, tiles[tile])
			}
		}
		for _, tile := range []string{"home-overdue", "home-active"} {
			if tiles[tile] != "0" {
				t.Errorf("%s: tile %s shows %q on a tenant without data, want 0", email, tile, tiles[tile])
			}
		}
		for _, path := range []string{"/dashboards/completion", "/dashboards/engagement", "/dashboards/compliance", "/dashboards/assessments"} {
			r := c.Get(acme, path)
			if r.Status != http.StatusOK {
				t.Fatalf("%s %s: %d", email, path, r.Status)
			}
			mustContain(t, email+" "+path, r.Body, "No learning data yet", "No data for these filters")
		}
		r := c.Get(acme, "/dashboards/team")
		if r.Status != http.StatusOK {
			t.Fatalf("%s team view: %d", email, r.Status)
		}
		mustContain(t, email+" team view", r.Body, `data-testid="tree-empty"`, "Nobody reports to you in the roster yet.")
	}
	c := srv.NewClient(t)
	c.Login(acme, "learner@acme.test")
	r := c.Get(acme, "/")
	if r.Status != http.StatusOK {
		t.Fatalf("learner home: %d", r.Status)
	}
	mustContain(t, "learner without a record", r.Body, "Welcome, Lee Learner", "Your own learning", `data-testid="card-me"`, `href="/me"`)
	mustNotContain(t, "learner without a record", r.Body, `data-testid="home-numbers"`, `data-testid="kpi-`, `data-testid="home-due`)
	mustContain(t, "learner without a record", c.Get(acme, "/me").Body, `data-testid="no-record"`, "has no learning record with your email address")
}

// signInAsLearner gives the fixture's learner with email a learner's
// account and signs them in.
func signInAsLearner(t *testing.T, f *dashFixture, email string) *testserver.Client {
	t.Helper()
	hash, err := auth.HashPassword(seed.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.NewUserStore(f.srv.DB).Create(context.Background(), f.tenant, models.NewUser{Email: email, Name: email,
		Role: models.RoleLearner, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	c := f.srv.NewClient(t)
	c.Login(acme, email)
	return c
}
