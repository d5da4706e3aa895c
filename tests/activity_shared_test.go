package tests

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/learnlens/learnlens/database/testdb"
)

// TestActivityNowReadsEventsOncePerTenant: "Activity now" reads the
// window's learning events once for the tenant and narrows them to each
// scope and filter. The admin, a manager, the manager with a department
// filter, and the admin with a course and with a category filter cost one
// read of the events between them; each still sees only their people
// (TestActivityNowIsScoped checks the lists, and analytics'
// TestActivityInEqualsTheScopesOwnRead every filter).
func TestActivityNowReadsEventsOncePerTenant(t *testing.T) {
	t.Parallel()
	lt := startLive(t)
	srv := lt.srv
	admin := srv.NewClient(t)
	admin.Login("acme.localhost", "admin@acme.test")
	mgr := srv.NewClient(t)
	mgr.Login("acme.localhost", "manager@acme.test")
	complete(t, srv, lt.inTeam)
	complete(t, srv, lt.outOfTeam)
	in := learnerID(t, srv, lt.inTeam)

	su := testdb.Superuser(t, srv.DB)
	if _, err := su.Exec(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		t.Fatal(err)
	}
	// reads counts the reads of the window's events in this database (the
	// active people's; the completions are read with them).
	reads := func() int64 {
		var n int64
		if err := su.QueryRow(`SELECT coalesce(sum(s.calls), 0)::bigint FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
			WHERE d.datname = current_database() AND s.query LIKE 'SELECT DISTINCT ON (e.learner_id, e.course_id)%FROM learning_events%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var department, category string
	var course int64
	if err := su.QueryRow(`SELECT l.department, c.id, c.category FROM learners l
		JOIN learning_events e ON e.tenant_id = l.tenant_id AND e.learner_id = l.id
		JOIN courses c ON c.tenant_id = e.tenant_id AND c.id = e.course_id
		WHERE l.id = $1 ORDER BY e.ts DESC LIMIT 1`, in).Scan(&department, &course, &category); err != nil {
		t.Fatal(err)
	}
	type activity struct {
		Version int64 `json:"version"`
		Data    struct {
			Until  string `json:"until"`
			Active int64  `json:"active"`
		} `json:"data"`
	}
	// The three views within one minute (the windows end at the minute;
	// a new minute is a new read), at one version.
	for attempt := 0; ; attempt++ {
		before := reads()
		var until string
		var actives []int64
		same := true
		for _, get := range []func() (int, string){
			func() (int, string) {
				r := admin.Get("acme.localhost", "/api/v1/dashboards/engagement/activity")
				return r.Status, r.Body
			},
			func() (int, string) {
				r := mgr.Get("acme.localhost", "/api/v1/dashboards/engagement/activity")
				return r.Status, r.Body
			},
			func() (int, string) {
				r := mgr.Get("acme.localhost", "/api/v1/dashboards/engagement/activity?department="+url.QueryEscape(department))
				return r.Status, r.Body
			},
			func() (int, string) {
				r := admin.Get("acme.localhost", "/api/v1/dashboards/engagement/activity?course="+strconv.FormatInt(course, 10))
				return r.Status, r.Body
			},
			func() (int, string) {
				r := admin.Get("acme.localhost", "/api/v1/dashboards/engagement/activity?category="+url.QueryEscape(category))
				return r.Status, r.Body
			},
		} {
			status, body := get()
			var a activity
			if status != http.StatusOK || json.Unmarshal([]byte(body), &a) != nil {
				t.Fatalf("activity: %d %.300s", status, body)
			}
			if until != "" && a.Data.Until != until {
				same = false
			}
			until = a.Data.Until
			actives = append(actives, a.Data.Active)
		}
		if !same && attempt < 3 {
			continue // the minute turned between the views
		}
		if n := reads() - before; n != 1 {
			t.Errorf("five scopes' and filters' Activity now read the window's events %d times, want once", n)
		}
		if actives[0] < 2 || actives[1] < 1 || actives[1] >= actives[0] || actives[2] > actives[1] {
			t.Errorf("active people: admin %d, manager %d, manager in %s %d; want the admin's the most and each narrower view within the last",
				actives[0], actives[1], department, actives[2])
		}
		if actives[3] < 1 || actives[3] > actives[4] || actives[4] > actives[0] {
			t.Errorf("active people: admin %d, in course %d %d, in category %q %d; want the course's within the category's within all",
				actives[0], course, actives[3], category, actives[4])
		}
		t.Logf("admin %d, manager %d, manager in %s %d, admin in course %d %d, in category %q %d active people at %s",
			actives[0], actives[1], department, actives[2], course, actives[3], category, actives[4], until)
		return
	}
}
