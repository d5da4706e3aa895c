package tests

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/tests/testserver"
)

// teamEnvelope is a team/nodes answer with its envelope.
type teamEnvelope struct {
	Date    string     `json:"date"`
	Filters url.Values `json:"filters"`
	Data    []teamNode `json:"data"`
}

// testTeamAsOfAPI reads the team tree through the JSON API as it stood 90
// days ago: the numbers are the dated roster's (not today's), the three
// addresses of the tree agree, a manager sees only their part as it stood,
// and bad days are refused with a message.
func testTeamAsOfAPI(t *testing.T, f *dashFixture) {
	day := f.today.AddDate(0, 0, -90)
	asOf := "as_of=" + day.Format(time.DateOnly)
	get := func(c *testserver.Client, path string) teamEnvelope {
		t.Helper()
		var out teamEnvelope
		if r := getJSON(t, c, path, &out); r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %.300s", path, r.Status, r.Body)
		}
		return out
	}
	// The whole tenant then, for the admin: the envelope names the day.
	then := get(f.admin, "/api/v1/dashboards/team/nodes?"+asOf)
	if then.Date != day.Format(time.DateOnly) || then.Filters.Get("as_of") != then.Date {
		t.Errorf("as of %s: the answer says date %q, filters %v", day.Format(time.DateOnly), then.Date, then.Filters)
	}
	if len(then.Data) == 0 {
		t.Fatal("no tree 90 days ago")
	}
	// Each top node holds the people reporting to it that day (solid or
	// dotted, once each), from the roster's history.
	for _, n := range then.Data {
		if want := f.peopleUnderOn(t, n.ID, day); n.People != want {
			t.Errorf("%s (%d) as of %s: %d people, the roster then says %d", n.Name, n.ID, then.Date, n.People, want)
		}
	}
	// Today's tree is another view (the as-of day is part of the cache
	// key): read after the past day, it has today's numbers, with the
	// completions of the last 90 days.
	now := get(f.admin, "/api/v1/dashboards/team/nodes")
	if now.Date != f.today.Format(time.DateOnly) || now.Filters.Has("as_of") {
		t.Errorf("today: the answer says date %q, filters %v", now.Date, now.Filters)
	}
	if sum(now.Data, completed) <= sum(then.Data, completed) {
		t.Errorf("the tree has %d completions today and %d 90 days ago: want more today (the past day's view answered for today, or the reverse?)",
			sum(now.Data, completed), sum(then.Data, completed))
	}
	for _, n := range now.Data {
		if want := f.peopleUnderOn(t, n.ID, f.today); n.People != want {
			t.Errorf("%s (%d) today: %d people, the roster says %d", n.Name, n.ID, n.People, want)
		}
	}
	if today := get(f.admin, "/api/v1/dashboards/team/nodes?as_of="+f.today.Format(time.DateOnly)); !sameNodes(today.Data, now.Data) || today.Filters.Has("as_of") {
		t.Errorf("as_of today is not today's tree: filters %v", today.Filters)
	}

	// GET /api/v1/team/nodes and the children of a node agree with the
	// dashboard section.
	if other := get(f.admin, "/api/v1/team/nodes?"+asOf); !sameNodes(other.Data, then.Data) || other.Date != then.Date {
		t.Errorf("/api/v1/team/nodes as of the day differs from the section: %+v / %+v", other.Data, then.Data)
	}
	top := then.Data[0]
	kids := get(f.admin, "/api/v1/dashboards/team/nodes?learner_id="+strconv.FormatInt(top.ID, 10)+"&"+asOf)
	if int64(len(kids.Data)) != top.Reports || len(kids.Data) == 0 {
		t.Errorf("%s had %d reports 90 days ago; their children are %d nodes", top.Name, top.Reports, len(kids.Data))
	}
	if other := get(f.admin, "/api/v1/team/nodes/"+strconv.FormatInt(top.ID, 10)+"?"+asOf); !sameNodes(other.Data, kids.Data) {
		t.Errorf("/api/v1/team/nodes/%d as of the day differs from the section", top.ID)
	}

	// The manager sees their own part as it stood, and nothing above it.
	// (The tree's first node is the tenant's top person.)
	mine := get(f.mgr, "/api/v1/dashboards/team/nodes?"+asOf)
	if len(mine.Data) != 1 {
		t.Errorf("the manager's tree 90 days ago starts with %d nodes, want them alone", len(mine.Data))
	}
	for _, n := range mine.Data {
		if n.ID != f.manager {
			t.Errorf("the manager's tree 90 days ago starts at %s (%d), not at them", n.Name, n.ID)
		} else if want := f.peopleUnderOn(t, n.ID, day); n.People != want {
			t.Errorf("the manager's tree 90 days ago has %d people, the roster then says %d", n.People, want)
		}
	}
	if top.ID != f.manager {
		for _, path := range []string{"/api/v1/dashboards/team/nodes?learner_id=" + strconv.FormatInt(top.ID, 10) + "&" + asOf,
			"/api/v1/team/nodes/" + strconv.FormatInt(top.ID, 10) + "?" + asOf} {
			if r := getJSON(t, f.mgr, path, nil); r.Status != http.StatusNotFound {
				t.Errorf("the manager reads %s: %d, want 404", path, r.Status)
			}
		}
	}

	// Bad days: a 400 that says what is wrong.
	tomorrow := f.today.AddDate(0, 0, 1).Format(time.DateOnly)
	for _, tt := range []struct{ path, says string }{
		{"/api/v1/dashboards/team/nodes?as_of=2026-02-30", "YYYY-MM-DD"},
		{"/api/v1/dashboards/team/nodes?as_of=yesterday", "YYYY-MM-DD"},
		{"/api/v1/dashboards/team/nodes?as_of=" + tomorrow, "must not be after today"},
		{"/api/v1/team/nodes?as_of=" + tomorrow, "must not be after today"},
		{"/api/v1/team/nodes/" + strconv.FormatInt(top.ID, 10) + "?as_of=1990-01-01", "within the last"},
		{"/api/v1/dashboards/compliance/kpis?" + asOf, "only the team tree"},
		{"/api/v1/tables/completion/courses?" + asOf, "only the team tree"},
	} {
		r := getJSON(t, f.admin, tt.path, nil)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "as_of") || !strings.Contains(r.Body, tt.says) {
			t.Errorf("GET %s: %d %.200s; want 400 saying as_of %s", tt.path, r.Status, r.Body, tt.says)
		}
	}
}

// peopleUnderOn counts root and everyone reporting to them, solid or
// dotted line, on day, from the roster's history.
func (f *dashFixture) peopleUnderOn(t *testing.T, root int64, day time.Time) int64 {
	t.Helper()
	var n int64
	f.one(t, `WITH RECURSIVE r AS (
			SELECT learner_id, manager_id, dotted_manager_ids FROM learner_history
			WHERE tenant_id = @t AND valid_from <= @day AND valid_to > @day),
		sub(id) AS (SELECT learner_id FROM r WHERE learner_id = @root
			UNION SELECT r.learner_id FROM r JOIN sub ON r.manager_id = sub.id OR sub.id = ANY (r.dotted_manager_ids))
		SELECT count(*) FROM sub`, pgx.NamedArgs{"root": root, "day": day}, &n)
	return n
}

func completed(n teamNode) int64 { return n.Completed }

func sum(nodes []teamNode, of func(teamNode) int64) int64 {
	var n int64
	for _, x := range nodes {
		n += of(x)
	}
	return n
}

func sameNodes(a, b []teamNode) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
