package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// sectionKPIs is a KPI section's JSON with the version and date it shows.
type sectionKPIs struct {
	Version int64                      `json:"version"`
	Date    string                     `json:"date"`
	Data    map[string]json.RawMessage `json:"data"`
}

// testSharedViewsKeepScopes: views are shared by viewers of the same
// scope only. A second manager with another part of the organisation,
// asking right after the first for the same page and filters, gets their
// own numbers (equal to silver's for their people), never the first's;
// and an admin filtered to a manager shares that manager's view exactly.
func testSharedViewsKeepScopes(t *testing.T, f *dashFixture) {
	ctx := context.Background()
	// Another manager: the person with the most people under them outside
	// the first manager's part.
	var other int64
	var email string
	f.one(t, `SELECT c.manager_id, l.email FROM org_closure c JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.manager_id
		WHERE c.tenant_id = @t AND c.manager_id <> ALL(@mine::bigint[]) AND c.manager_id <> @me AND l.email IS NOT NULL
		  AND NOT EXISTS (SELECT 1 FROM org_closure o WHERE o.tenant_id = @t AND o.manager_id = c.manager_id
			AND (o.learner_id = @me OR o.learner_id = ANY(@mine::bigint[])))
		GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1`, pgx.NamedArgs{"mine": f.mgrScope, "me": f.manager}, &other, &email)
	hash, err := auth.HashPassword(seed.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.NewUserStore(f.srv.DB).Create(ctx, f.tenant, models.NewUser{Email: email, Name: "Other manager",
		Role: models.RoleManager, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	mgr2 := f.srv.NewClient(t)
	mgr2.Login(acme, email)
	theirs := f.reportsOf(t, other)
	if len(theirs) == 0 || len(without(theirs, f.mgrScope)) != len(theirs) {
		t.Fatalf("manager %d's people overlap the first manager's: the case checks nothing", other)
	}
	fl := f.filters(t, f.mgrScope)[0]
	for _, section := range []string{"completion/kpis", "compliance/kpis"} {
		first := f.kpis(t, f.mgr, section, fl.query)
		second := f.kpis(t, mgr2, section, fl.query)
		want := f.wantCompletion(t, f.want(theirs, fl))
		if section == "compliance/kpis" {
			want = f.wantCompliance(t, f.want(theirs, fl))
		}
		compareKPIs(t, "second manager "+section, second, want)
		if fmt.Sprint(first) == fmt.Sprint(second) {
			t.Errorf("%s: both managers got %v", section, first)
		}
		// The admin filtered to the second manager sees the same view.
		q := merge(fl.query, url.Values{"manager": {strconv.FormatInt(other, 10)}})
		compareKPIs(t, "admin filtered to the second manager "+section, f.kpis(t, f.admin, section, q), want)
	}
}

// testOwnPagesAreNotShared: My learning depends on who asks even where
// the scope does not (two analysts both see the whole tenant): each gets
// their own record, asked one right after the other.
func testOwnPagesAreNotShared(t *testing.T, f *dashFixture) {
	ctx := context.Background()
	hash, err := auth.HashPassword(seed.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, row := range f.all(t, `SELECT email FROM learners WHERE tenant_id = @t AND email IS NOT NULL
		AND email NOT LIKE '%@acme.test' ORDER BY id DESC LIMIT 2`, nil) {
		emails = append(emails, row[0].(string))
	}
	if len(emails) < 2 {
		var more []string
		for _, row := range f.all(t, `SELECT email FROM learners WHERE tenant_id = @t AND email IS NOT NULL
			AND email NOT IN ('admin@acme.test', 'manager@acme.test', 'analyst@acme.test', 'learner@acme.test') ORDER BY id DESC LIMIT 2`, nil) {
			more = append(more, row[0].(string))
		}
		emails = more
	}
	for _, email := range emails {
		if _, err := models.NewUserStore(f.srv.DB).Create(ctx, f.tenant, models.NewUser{Email: email, Name: email,
			Role: models.RoleAnalyst, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 2 {
		for i, email := range emails {
			c := f.srv.NewClient(t)
			c.Login(acme, email)
			r := c.Get(acme, "/me")
			if r.Status != http.StatusOK || !strings.Contains(r.Body, ">"+email+"<") || strings.Contains(r.Body, ">"+emails[1-i]+"<") {
				t.Fatalf("round %d: /me for %s: status %d, own email shown %v, the other's shown %v", round, email, r.Status,
					strings.Contains(r.Body, ">"+email+"<"), strings.Contains(r.Body, ">"+emails[1-i]+"<"))
			}
		}
	}
}

// testCacheExactUnderIngest: while statements arrive, every KPI response
// equals a fresh computation (no cache, one snapshot) of the version and
// date it reports.
func testCacheExactUnderIngest(t *testing.T, f *dashFixture) {
	ctx := context.Background()
	var people []string
	for _, row := range f.all(t, `SELECT email FROM learners WHERE tenant_id = @t AND email IS NOT NULL ORDER BY id LIMIT 50`, nil) {
		people = append(people, row[0].(string))
	}
	var courses []string
	for _, row := range f.all(t, `SELECT activity_iri FROM courses WHERE tenant_id = @t ORDER BY id LIMIT 10`, nil) {
		courses = append(courses, row[0].(string))
	}
	stop := make(chan struct{})
	var sent atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { // the writer: small batches with pauses, as an LMS sends
		l := &lrs{t: t, c: f.srv.NewClient(t), key: "acme-demo-key", secret: "acme-demo-secret"}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
			}
			var b strings.Builder
			b.WriteString("[")
			for j := range 5 {
				if j > 0 {
					b.WriteString(",")
				}
				verb := []string{"launched", "completed", "passed", "experienced", "failed"}[(i+j)%5]
				extra := ""
				if verb == "passed" || verb == "failed" {
					extra = `,"result":{"score":{"scaled":0.8}}`
				}
				b.WriteString(stmt("", people[(i*5+j)%len(people)], verb, courses[(i+j)%len(courses)], time.Now().UTC().Format(time.RFC3339), extra))
			}
			b.WriteString("]")
			if r := l.do(http.MethodPost, "/xapi/statements", b.String()); r.Status != http.StatusOK {
				t.Errorf("POST statements: %d %s", r.Status, r.Body)
				return
			}
			sent.Add(5)
		}
	})
	store := analytics.NewStore(f.srv.DB)
	viewer := analytics.Viewer{Role: models.RoleTenantAdmin, Email: "admin@acme.test"}
	compared, served := 0, 0
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		var got sectionKPIs
		if r := getJSON(t, f.admin, "/api/v1/dashboards/completion/kpis", &got); r.Status != http.StatusOK {
			t.Fatalf("GET completion/kpis: %d", r.Status)
		}
		served++
		today, err := time.Parse(time.DateOnly, got.Date)
		if err != nil {
			t.Fatalf("date %q: %v", got.Date, err)
		}
		filters, err := analytics.ParseFilters(url.Values{}, today)
		if err != nil {
			t.Fatal(err)
		}
		var fresh analytics.CompletionKPIs
		var version int64
		err = store.Run(ctx, analytics.Request{Tenant: f.tenant, Loc: f.loc, Today: today, Viewer: viewer, Filters: filters}, func(q *analytics.Q) error {
			version = q.Version
			var err error
			fresh, err = q.CompletionKPIs()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if version != got.Version {
			continue // the tenant moved on meanwhile: nothing to compare
		}
		compared++
		want := map[string]float64{"enrolled": float64(fresh.Enrolled), "in_progress": float64(fresh.InProgress),
			"completed": float64(fresh.Completed), "overdue": float64(fresh.Overdue), "completed_in_period": float64(fresh.CompletedInPeriod),
			"completion_rate": fresh.CompletionRate}
		for k, w := range want {
			var g float64
			if err := json.Unmarshal(got.Data[k], &g); err != nil && !math.IsNaN(w) {
				t.Fatalf("%s: %s", k, got.Data[k])
			}
			if g != w && !(math.IsNaN(w) && string(got.Data[k]) == "null") {
				t.Errorf("version %d: %s = %v, a fresh computation says %v", got.Version, k, g, w)
			}
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d responses while %d statements arrived; %d compared with a fresh computation of their version", served, sent.Load(), compared)
	if sent.Load() == 0 || compared < 5 {
		t.Fatalf("sent %d statements and compared %d responses: the case checks too little", sent.Load(), compared)
	}
}

// testMidnightRollOver: at the tenant's local midnight a view is computed
// for the new date although gold did not change: the response names the
// new date with the same version, and its numbers (compliance's due soon
// and overdue, which turn on today) equal a fresh computation for it.
func testMidnightRollOver(t *testing.T, f *dashFixture) {
	ctx := context.Background()
	store := analytics.NewStore(f.srv.DB)
	viewer := analytics.Viewer{Role: models.RoleTenantAdmin, Email: "admin@acme.test"}
	fresh := func(day time.Time) analytics.ComplianceKPIs {
		t.Helper()
		filters, err := analytics.ParseFilters(url.Values{}, day)
		if err != nil {
			t.Fatal(err)
		}
		var k analytics.ComplianceKPIs
		err = store.Run(ctx, analytics.Request{Tenant: f.tenant, Loc: f.loc, Today: day, Viewer: viewer, Filters: filters}, func(q *analytics.Q) error {
			var err error
			k, err = q.ComplianceKPIs()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	// The first coming day whose numbers differ from the day before's.
	var day time.Time
	for i := 1; i <= 90 && day.IsZero(); i++ {
		if d := f.today.AddDate(0, 0, i); fresh(d) != fresh(d.AddDate(0, 0, -1)) {
			day = d
		}
	}
	if day.IsZero() {
		t.Fatal("no day in the next 90 changes the compliance numbers: the case checks nothing")
	}
	midnight := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, f.loc)
	var now atomic.Pointer[time.Time]
	set := func(t time.Time) { now.Store(&t) }
	set(midnight.Add(-2 * time.Second))
	srv := testserver.StartWith(t, f.srv.DB, func(c *config.Config) { c.Now = func() time.Time { return *now.Load() } })
	c := srv.NewClient(t)
	c.Login(acme, "admin@acme.test")
	get := func(want time.Time) sectionKPIs {
		t.Helper()
		var got sectionKPIs
		if r := getJSON(t, c, "/api/v1/dashboards/compliance/kpis", &got); r.Status != http.StatusOK {
			t.Fatalf("GET compliance/kpis: %d", r.Status)
		}
		if got.Date != want.Format(time.DateOnly) {
			t.Fatalf("date %s, want %s", got.Date, want.Format(time.DateOnly))
		}
		k := fresh(want)
		for key, w := range map[string]int64{"assigned": k.Assigned, "compliant": k.Compliant, "due_soon": k.DueSoon,
			"overdue": k.Overdue, "expired": k.Expired, "not_due": k.NotDue} {
			var g int64
			if err := json.Unmarshal(got.Data[key], &g); err != nil || g != w {
				t.Errorf("%s on %s: %s, a fresh computation says %d", key, got.Date, got.Data[key], w)
			}
		}
		return got
	}
	before := get(day.AddDate(0, 0, -1))
	get(day.AddDate(0, 0, -1)) // served from the cache, still the old day
	set(midnight.Add(2 * time.Second))
	if after := get(day); after.Version != before.Version {
		t.Fatalf("gold changed during the test (version %d → %d)", before.Version, after.Version)
	}
}

// TestUndatedViewsShareEveryRange: compliance and the team tree show
// everything as of today, whatever the range, so a viewer who picks
// another range gets the view already computed for the first: no new read
// of the gold, counted by pg_stat_statements. A dated view (completion)
// does read again, which shows that the count sees reads at all.
func TestUndatedViewsShareEveryRange(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	admin := statementCounter(t, srv)
	c := srv.NewClient(t)
	c.Login(acme, "admin@acme.test")
	reads := func(table string) int64 {
		t.Helper()
		var n int64
		if err := admin.QueryRow(`SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
			WHERE d.datname = current_database() AND s.query LIKE '%' || $1 || '%' AND s.query NOT LIKE '%pg_stat%'`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	get := func(path string) string {
		t.Helper()
		r := c.Get(acme, path)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %.200s", path, r.Status, r.Body)
		}
		return r.Body
	}
	undated := []string{"/dashboards/compliance", "/dashboards/team", "/api/v1/dashboards/compliance/kpis", "/api/v1/dashboards/team/nodes"}
	first := map[string]string{}
	for _, p := range undated {
		first[p] = get(p)
	}
	before := reads("gold_compliance")
	for _, q := range []string{"?range=7d", "?range=12m", "?range=custom&from=2026-01-01&to=2026-02-01"} {
		for _, p := range undated {
			body := get(p + q)
			if strings.HasPrefix(p, "/api/") {
				var a, b struct{ Data json.RawMessage }
				if json.Unmarshal([]byte(first[p]), &a) != nil || json.Unmarshal([]byte(body), &b) != nil || string(a.Data) != string(b.Data) {
					t.Errorf("%s%s: data differs from the default range's", p, q)
				}
			}
		}
	}
	if after := reads("gold_compliance"); after != before {
		t.Errorf("undated views read gold_compliance %d more times for other ranges; want 0", after-before)
	}
	before = reads("gold_completion_daily")
	get("/dashboards/completion")
	get("/dashboards/completion?range=7d")
	if after := reads("gold_completion_daily"); after == before {
		t.Error("the completion page read no gold for a new range: the count sees nothing")
	}
}
