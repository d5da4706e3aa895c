package tests

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/realtime"
	"github.com/learnlens/learnlens/tests/testserver"
)

// learnerID is the roster id of acme's learner with email.
func learnerID(t *testing.T, srv *testserver.Server, email string) int64 {
	t.Helper()
	var id int64
	err := srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT l.id FROM learners l JOIN tenants t ON t.id = l.tenant_id AND t.slug = 'acme' WHERE l.email = ?`, email).Scan(&id).Error
	})
	if err != nil || id == 0 {
		t.Fatalf("learner %s: %d, %v", email, id, err)
	}
	return id
}

// activitySections fetches the engagement dashboard as c sees it on host
// and returns its "Activity now" sections by key.
func activitySections(t *testing.T, c *testserver.Client, host string) map[string]string {
	t.Helper()
	r := c.Get(host, "/dashboards/engagement", "HX-Request", "true")
	if r.Status != http.StatusOK {
		t.Fatalf("engagement dashboard on %s: %d %.300s", host, r.Status, r.Body)
	}
	sections, err := realtime.Split([]byte(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range sections {
		if strings.HasPrefix(s.Key, "activity-") {
			out[s.Key] = string(s.HTML)
		}
	}
	if out["activity-active"] == "" || out["activity-completions"] == "" {
		t.Fatalf("engagement dashboard on %s without Activity now: %v", host, out)
	}
	return out
}

// shows says whether an Activity now section lists learner id.
func shows(section string, id int64) bool {
	return strings.Contains(section, `href="/learners/`+strconv.FormatInt(id, 10)+`"`)
}

// TestActivityNowIsScoped: a completion appears in "Activity now" (active
// people and latest completions) of the admin, and of the manager only
// when it is one of their people; never on another tenant's page.
func TestActivityNowIsScoped(t *testing.T) {
	t.Parallel()
	lt := startLive(t)
	srv := lt.srv
	in, out := learnerID(t, srv, lt.inTeam), learnerID(t, srv, lt.outOfTeam)
	admin := srv.NewClient(t)
	admin.Login("acme.localhost", "admin@acme.test")
	manager := srv.NewClient(t)
	manager.Login("acme.localhost", "manager@acme.test")
	globex := srv.NewClient(t)
	globex.Login("globex.localhost", "admin@globex.test")

	complete(t, srv, lt.inTeam)
	complete(t, srv, lt.outOfTeam)

	a := activitySections(t, admin, "acme.localhost")
	for _, id := range []int64{in, out} {
		if !shows(a["activity-active"], id) || !shows(a["activity-completions"], id) {
			t.Errorf("admin: learner %d is not among the active people and latest completions: %s\n%s", id, a["activity-active"], a["activity-completions"])
		}
	}
	if !strings.Contains(a["activity-completions"], "completed") {
		t.Errorf("admin: the completions do not say what was done: %s", a["activity-completions"])
	}
	m := activitySections(t, manager, "acme.localhost")
	if !shows(m["activity-active"], in) || !shows(m["activity-completions"], in) {
		t.Errorf("manager: their report %d is missing: %s\n%s", in, m["activity-active"], m["activity-completions"])
	}
	if shows(m["activity-active"], out) || shows(m["activity-completions"], out) {
		t.Errorf("manager: learner %d from outside their people is shown", out)
	}
	g := activitySections(t, globex, "globex.localhost")
	for _, id := range []int64{in, out} {
		if shows(g["activity-active"], id) || shows(g["activity-completions"], id) {
			t.Errorf("globex shows acme's learner %d", id)
		}
	}
	// The JSON section gives the same people, and no one to globex.
	r := admin.Get("acme.localhost", "/api/v1/dashboards/engagement/activity")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"learner_id":`+strconv.FormatInt(in, 10)) {
		t.Errorf("admin's JSON: %d %.400s", r.Status, r.Body)
	}
	r = globex.Get("globex.localhost", "/api/v1/dashboards/engagement/activity")
	if r.Status != http.StatusOK || strings.Contains(r.Body, `"learner_id":`+strconv.FormatInt(in, 10)) {
		t.Errorf("globex's JSON: %d %.400s", r.Status, r.Body)
	}
}

// TestActivityNowIsNotServedFromAnOldMinute: nothing changes in the data
// for twenty minutes; "Activity now" must empty all the same, though the
// page at this gold version was cached when the learner was active.
func TestActivityNowIsNotServedFromAnOldMinute(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64 // added to the server's clock
	lt := startLiveWith(t, func(c *config.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	srv := lt.srv
	id := learnerID(t, srv, lt.inTeam)
	admin := srv.NewClient(t)
	admin.Login("acme.localhost", "admin@acme.test")
	complete(t, srv, lt.inTeam)
	before := activitySections(t, admin, "acme.localhost")
	if !shows(before["activity-active"], id) {
		t.Fatalf("learner %d is not active right after a statement: %s", id, before["activity-active"])
	}
	// Within the minute the page is shared, and still shows them.
	if again := activitySections(t, admin, "acme.localhost"); !shows(again["activity-active"], id) {
		t.Fatalf("a second look within the minute lost learner %d", id)
	}
	offset.Store(int64(20 * time.Minute))
	after := activitySections(t, admin, "acme.localhost")
	if shows(after["activity-active"], id) {
		t.Errorf("20 minutes later (no new data) learner %d is still shown as active: %s", id, after["activity-active"])
	}
	if !shows(after["activity-completions"], id) {
		t.Errorf("20 minutes later the completion has left the latest completions (it covers 24 hours): %s", after["activity-completions"])
	}
}
