package tests

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

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
	mgr := srv.NewClient(t)
	mgr.Login("acme.localhost", "manager@acme.test")
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
	m := activitySections(t, mgr, "acme.localhost")
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
	manager := learnerID(t, srv, "manager@acme.test")
	if r := globex.Get("globex.localhost", "/api/v1/dashboards/engagement/activity?manager="+strconv.FormatInt(manager, 10)); r.Status != http.StatusNotFound {
		t.Errorf("globex's JSON narrowed to an acme manager: %d, want 404", r.Status)
	}
	if r := mgr.Get("acme.localhost", "/api/v1/dashboards/engagement/activity?manager=x"); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "manager") {
		t.Errorf("a malformed manager filter: %d %.200s, want 400 naming it", r.Status, r.Body)
	}

	// Live pages of acme's people and tree, asked for on globex's own
	// host, are refused like ids that do not exist.
	origin := "http://globex.localhost:" + strconv.Itoa(srv.Port)
	for _, sub := range []string{
		fmt.Sprintf(`{"page":"/learners/%d"}`, in),
		fmt.Sprintf(`{"page":"/dashboards/team","nodes":["/dashboards/team/nodes/%d"]}`, manager),
	} {
		l, status := dialLive(t, srv, globex, "globex.localhost", origin)
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("globex upgrade: %d", status)
		}
		l.conn.WriteMessage(websocket.TextMessage, []byte(sub))
		_, err := l.next(5 * time.Second)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 1003 {
			t.Errorf("globex subscribing %s: %v, want close 1003", sub, err)
		}
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

// sectionKeys lists the live sections of an HTML page or fragment.
func sectionKeys(t *testing.T, html string) map[string]bool {
	t.Helper()
	sections, err := realtime.Split([]byte(html))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, s := range sections {
		out[s.Key] = true
	}
	return out
}

// TestLiveTeamNodesStayOpen: the team tree is live node by node. A
// manager's page comes with their own node open (its reports' numbers on
// the page) and subscribes the node's fragment; a completion by one of
// their people pushes the numbers of the nodes it changed, the report's
// among them, as sections of their own (never the lists of reports,
// which would close what the viewer opened).
func TestLiveTeamNodesStayOpen(t *testing.T) {
	t.Parallel()
	lt := startLive(t)
	srv := lt.srv
	port := strconv.Itoa(srv.Port)
	c := srv.NewClient(t)
	c.Login("acme.localhost", "manager@acme.test")
	page := c.Get("acme.localhost", "/dashboards/team")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `ws-connect="/ws"`) {
		t.Fatalf("team page: %d, live: %v", page.Status, strings.Contains(page.Body, `ws-connect="/ws"`))
	}
	version, _ := strconv.ParseInt(page.Header.Get("X-LearnLens-Version"), 10, 64)
	root := learnerID(t, srv, "manager@acme.test")
	nodeURL := "/dashboards/team/nodes/" + strconv.FormatInt(root, 10)
	children := c.Get("acme.localhost", nodeURL, "HX-Request", "true")
	if children.Status != http.StatusOK {
		t.Fatalf("the manager's reports: %d", children.Status)
	}
	onStart, opened := sectionKeys(t, page.Body), sectionKeys(t, children.Body)
	if !onStart["node-"+strconv.FormatInt(root, 10)] || len(opened) == 0 {
		t.Fatalf("node sections: start %v, opened %v", onStart, opened)
	}

	l, status := dialLive(t, srv, c, "acme.localhost", "http://acme.localhost:"+port)
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", status)
	}
	l.conn.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"page":"/dashboards/team","nodes":[%q],"version":%d}`, nodeURL, version))
	if msg, err := l.next(500 * time.Millisecond); msg != "" || err != nil {
		t.Fatalf("at the current version the page got %.200q, %v", msg, err)
	}
	// A direct report with a course to finish: their node's completion
	// rate moves (a report at 100% would stay there).
	var report string
	err := srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT l.email FROM org_closure c JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.learner_id
			WHERE c.manager_id = ? AND c.depth = 1 AND EXISTS (SELECT 1 FROM enrollments e
				WHERE e.tenant_id = l.tenant_id AND e.learner_id = l.id AND e.status <> 'completed')
			ORDER BY l.id LIMIT 1`, root).Scan(&report).Error
	})
	if err != nil || report == "" {
		t.Fatalf("a report with a course to finish: %q, %v", report, err)
	}
	complete(t, srv, report)
	msg, err := l.next(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var fromOpened bool
	for _, k := range changedKeys(msg) {
		fromOpened = fromOpened || opened[k]
	}
	if !fromOpened {
		t.Errorf("the push changes %v, none of them an opened report's numbers %v", changedKeys(msg), opened)
	}
	if strings.Contains(msg, `id="children-`) || strings.Contains(msg, "tree-nodes") {
		t.Errorf("the push replaces lists of reports (closing opened nodes): %.600s", msg)
	}
}

// TestLiveLearnerPages: My learning and a learner's page are live. The
// learner's own statement updates their page and their manager's view of
// it; another person's statement sends neither anything.
func TestLiveLearnerPages(t *testing.T) {
	t.Parallel()
	lt := startLive(t)
	srv := lt.srv
	origin := "http://acme.localhost:" + strconv.Itoa(srv.Port)
	const self = "learner@acme.test"
	open := func(email, page string) *liveConn {
		c := srv.NewClient(t)
		c.Login("acme.localhost", email)
		r := c.Get("acme.localhost", page)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `ws-connect="/ws"`) || !strings.Contains(r.Body, `data-live="kpi-completed"`) {
			t.Fatalf("%s: %s: %d, not live: %.300s", email, page, r.Status, r.Body)
		}
		v, _ := strconv.ParseInt(r.Header.Get("X-LearnLens-Version"), 10, 64)
		l, status := dialLive(t, srv, c, "acme.localhost", origin)
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("%s: upgrade %d", email, status)
		}
		l.subscribe(page, v)
		if msg, err := l.next(500 * time.Millisecond); msg != "" || err != nil {
			t.Fatalf("%s: %s at the current version got %.200q, %v", email, page, msg, err)
		}
		return l
	}
	me := open(self, "/me")
	// One of the manager's people who is not the learner above.
	var report string
	err := srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT l.email FROM org_closure c JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.learner_id
			JOIN learners m ON m.tenant_id = c.tenant_id AND m.id = c.manager_id AND m.email = 'manager@acme.test'
			WHERE l.id <> m.id AND l.email <> ? ORDER BY l.id LIMIT 1`, self).Scan(&report).Error
	})
	if err != nil || report == "" || report == lt.outOfTeam {
		t.Fatalf("a report of the manager: %q, %v", report, err)
	}
	theirs := open("manager@acme.test", "/learners/"+strconv.FormatInt(learnerID(t, srv, report), 10))
	watchers := open("admin@acme.test", "/learners/"+strconv.FormatInt(learnerID(t, srv, self), 10))

	complete(t, srv, lt.outOfTeam)
	for name, l := range map[string]*liveConn{"/me": me, "the manager's learner page": theirs, "the admin's learner page": watchers} {
		if msg, err := l.next(2500 * time.Millisecond); msg != "" || err != nil {
			t.Errorf("%s got %v, %v for somebody else's statement", name, changedKeys(msg), err)
		}
	}
	complete(t, srv, self)
	for name, l := range map[string]*liveConn{"/me": me, "the admin's learner page": watchers} {
		if msg, err := l.next(5 * time.Second); err != nil || !slices.Contains(changedKeys(msg), "kpi-completed") {
			t.Errorf("%s after the learner's own completion: %v, %v", name, changedKeys(msg), err)
		}
	}
	complete(t, srv, report)
	if msg, err := theirs.next(5 * time.Second); err != nil || !slices.Contains(changedKeys(msg), "kpi-completed") {
		t.Errorf("the manager's page of their report after the report's completion: %v, %v", changedKeys(msg), err)
	}
	if msg, err := me.next(2 * time.Second); msg != "" || err != nil {
		t.Errorf("/me got %v, %v for somebody else's statement", changedKeys(msg), err)
	}
}

// TestActivityNowCatchesUpWithoutNewData: under a burst of statements
// "Activity now" may lag the page's numbers by a few seconds (it is not
// recomputed for every version), and says how old it is. A statement that
// came just after the one before it must still reach the open page, and a
// new load of it, within seconds, though nothing else happens afterwards.
func TestActivityNowCatchesUpWithoutNewData(t *testing.T) {
	t.Parallel()
	lt := startLive(t)
	srv := lt.srv
	in, out := learnerID(t, srv, lt.inTeam), learnerID(t, srv, lt.outOfTeam)
	admin := srv.NewClient(t)
	admin.Login("acme.localhost", "admin@acme.test")
	page := admin.Get("acme.localhost", "/dashboards/engagement")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `data-live="activity-as-of"`) {
		t.Fatalf("engagement page: %d, without Activity now's \"as of\": %.300s", page.Status, page.Body)
	}
	version, _ := strconv.ParseInt(page.Header.Get("X-LearnLens-Version"), 10, 64)
	l, status := dialLive(t, srv, admin, "acme.localhost", "http://acme.localhost:"+strconv.Itoa(srv.Port))
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", status)
	}
	l.subscribe("/dashboards/engagement", version)
	// waitFor reads pushes until one lists learner id in the active people.
	waitFor := func(id int64, within time.Duration) {
		t.Helper()
		for deadline := time.Now().Add(within); time.Now().Before(deadline); {
			msg, err := l.next(time.Until(deadline))
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(changedKeys(msg), "activity-active") && strings.Contains(msg, "/learners/"+strconv.FormatInt(id, 10)) {
				return
			}
		}
		t.Fatalf("no push listed learner %d among the active people within %v", id, within)
	}

	// The tenant's last batch was seconds ago, so neither statement comes
	// after a quiet spell: each may at first be pushed without its
	// activity, which follows by itself.
	complete(t, srv, lt.inTeam)
	waitFor(in, activityRefreshForTests+5*time.Second)
	complete(t, srv, lt.outOfTeam)
	waitFor(out, activityRefreshForTests+5*time.Second)

	a := activitySections(t, admin, "acme.localhost")
	if !shows(a["activity-active"], in) || !shows(a["activity-active"], out) {
		t.Errorf("a new load after the pushes lacks learner %d or %d: %s", in, out, a["activity-active"])
	}
	if !strings.Contains(a["activity-as-of"], "Data as of <time") {
		t.Errorf("Activity now does not say how old it is: %s", a["activity-as-of"])
	}
	r := admin.Get("acme.localhost", "/api/v1/dashboards/engagement/activity")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"as_of":"`) {
		t.Errorf("the JSON section does not say how old it is: %d %.300s", r.Status, r.Body)
	}
	// Once caught up (the tenant is quiet now), it shows the version the
	// rest of the dashboard shows.
	var activity, kpis struct {
		Version int64 `json:"version"`
	}
	getJSON(t, admin, "/api/v1/dashboards/engagement/activity", &activity)
	getJSON(t, admin, "/api/v1/dashboards/engagement/kpis", &kpis)
	if activity.Version != kpis.Version || activity.Version == 0 {
		t.Errorf("quiet, Activity now shows version %d, the engagement tiles %d", activity.Version, kpis.Version)
	}
}

// activityRefreshForTests is how far "Activity now" may lag the newest
// commit (handlers.activityRefresh).
const activityRefreshForTests = 5 * time.Second
