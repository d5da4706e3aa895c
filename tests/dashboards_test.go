package tests

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
)

// The dashboards are checked against acme filled with a few hundred people
// and about 25,000 statements through the real pipeline. Every expected
// number is computed here, from silver (enrollments, daily_activity,
// learning_events, compliance_assignments and the roster), with SQL written
// for the test: never with the production queries or gold.

// dashFixture is the populated server with the demo users signed in.
type dashFixture struct {
	srv    *testserver.Server
	tenant int64
	loc    *time.Location
	today  time.Time // the tenant's local date, at midnight UTC
	// learner ids (silver) of the named people
	manager, learner int64
	everyone         []int64 // every learner of acme
	mgrScope         []int64 // everyone reporting to the manager, computed by the test
	admin, analyst   *testserver.Client
	mgr, lrn         *testserver.Client
}

func TestDashboards(t *testing.T) {
	start := time.Now()
	f := newDashFixture(t)
	t.Logf("fixture ready in %v", time.Since(start).Round(time.Millisecond))
	t.Run("NumbersMatchSilver", func(t *testing.T) { testDashboardNumbers(t, f) })
	t.Run("TeamView", func(t *testing.T) { testDashboardTeamView(t, f) })
	t.Run("TeamAsOfAPI", func(t *testing.T) { testTeamAsOfAPI(t, f) })
	t.Run("Scoping", func(t *testing.T) { testDashboardScoping(t, f) })
	t.Run("Exports", func(t *testing.T) { testDashboardExports(t, f) })
	t.Run("BadInput", func(t *testing.T) { testDashboardBadInput(t, f) })
	t.Run("SharedViewsKeepScopes", func(t *testing.T) { testSharedViewsKeepScopes(t, f) })
	t.Run("OwnPagesAreNotShared", func(t *testing.T) { testOwnPagesAreNotShared(t, f) })
	t.Run("HomePages", func(t *testing.T) { testHomePages(t, f) })
	t.Run("TeamPage", func(t *testing.T) { testTeamPage(t, f) })
	t.Run("RequirementsListOverdue", func(t *testing.T) { testRequirementsListOverdue(t, f) })
	t.Run("FilterChipsAndTablePages", func(t *testing.T) { testFilterChipsAndTablePages(t, f) })
	t.Run("MidnightRollOver", func(t *testing.T) { testMidnightRollOver(t, f) })
	// Last: it changes the data.
	t.Run("CacheExactUnderIngest", func(t *testing.T) { testCacheExactUnderIngest(t, f) })
}

func newDashFixture(t *testing.T) *dashFixture {
	t.Helper()
	ctx := context.Background()
	srv := testserver.Start(t)
	f := &dashFixture{srv: srv, tenant: tenantID(t, srv, "acme")}
	// The organisation depends on the seed alone (so the manager's dotted
	// reports are stable); the activity ends now, like the server's today.
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 300, 4, 16, 4, 25_000
	sum, err := generator.Populate(ctx, pipeline.New(srv.DB), f.tenant, cfg)
	if err != nil {
		t.Fatalf("populate acme: %v", err)
	}
	if sum.ManagerEmail != "manager@acme.test" || sum.LearnerEmail != "learner@acme.test" || sum.ManagerSubtree < 20 {
		t.Fatalf("the generator did not make the named people: %+v", sum)
	}
	var tz string
	f.one(t, `SELECT time_zone FROM tenants WHERE id = @t`, pgx.NamedArgs{"t": f.tenant}, &tz)
	if f.loc, err = time.LoadLocation(tz); err != nil {
		t.Fatal(err)
	}
	y, m, d := time.Now().In(f.loc).Date()
	f.today = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	f.manager = f.learnerID(t, "manager@acme.test")
	f.learner = f.learnerID(t, "learner@acme.test")
	f.everyone = f.ids(t, `SELECT id FROM learners WHERE tenant_id = @t ORDER BY id`, nil)
	f.mgrScope = f.reportsOf(t, f.manager)
	if len(f.mgrScope) < 20 || len(f.mgrScope) > 100 {
		t.Fatalf("the manager has %d people, want 20–100", len(f.mgrScope))
	}
	f.admin, f.analyst, f.mgr, f.lrn = srv.NewClient(t), srv.NewClient(t), srv.NewClient(t), srv.NewClient(t)
	f.admin.Login(acme, "admin@acme.test")
	f.analyst.Login(acme, "analyst@acme.test")
	f.mgr.Login(acme, "manager@acme.test")
	f.lrn.Login(acme, "learner@acme.test")
	return f
}

// ----- silver, read by the test -----

func (f *dashFixture) args(more pgx.NamedArgs) pgx.NamedArgs {
	a := pgx.NamedArgs{"t": f.tenant}
	for k, v := range more {
		a[k] = v
	}
	return a
}

// one reads one row in platform mode (no row-level security).
func (f *dashFixture) one(t *testing.T, sql string, args pgx.NamedArgs, dest ...any) {
	t.Helper()
	err := f.srv.DB.PlatformTx(context.Background(), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), sql, f.args(args)).Scan(dest...)
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
}

// all reads rows in platform mode.
func (f *dashFixture) all(t *testing.T, sql string, args pgx.NamedArgs) [][]any {
	t.Helper()
	var out [][]any
	err := f.srv.DB.PlatformTx(context.Background(), func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), sql, f.args(args))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return out
}

func (f *dashFixture) ids(t *testing.T, sql string, args pgx.NamedArgs) []int64 {
	t.Helper()
	var out []int64
	for _, r := range f.all(t, sql, args) {
		out = append(out, r[0].(int64))
	}
	return out
}

func (f *dashFixture) learnerID(t *testing.T, email string) int64 {
	t.Helper()
	var id int64
	f.one(t, `SELECT coalesce((SELECT id FROM learners WHERE tenant_id = @t AND email = @e), 0)`, pgx.NamedArgs{"e": email}, &id)
	if id == 0 {
		t.Fatalf("no learner record for %s", email)
	}
	return id
}

// reportEdges are today's reporting lines: solid (learners.manager_id)
// and dotted (the current roster row's dotted_manager_ids).
const reportEdges = `edges(m, l) AS (
		SELECT manager_id, id FROM learners WHERE tenant_id = @t AND manager_id IS NOT NULL
		UNION SELECT d, h.learner_id FROM learner_history h, unnest(h.dotted_manager_ids) AS d
		WHERE h.tenant_id = @t AND h.valid_to = 'infinity')`

// reportsOf is everyone under m along solid and dotted lines at any depth,
// not m themself.
func (f *dashFixture) reportsOf(t *testing.T, m int64) []int64 {
	t.Helper()
	return f.ids(t, `WITH RECURSIVE `+reportEdges+`,
		under(id) AS (SELECT l FROM edges WHERE m = @m UNION SELECT e.l FROM edges e JOIN under u ON e.m = u.id)
		SELECT id FROM under WHERE id <> @m ORDER BY id`, pgx.NamedArgs{"m": m})
}

// solidReportsOf is everyone under m along solid lines only.
func (f *dashFixture) solidReportsOf(t *testing.T, m int64) []int64 {
	t.Helper()
	return f.ids(t, `WITH RECURSIVE under(id) AS (
			SELECT id FROM learners WHERE tenant_id = @t AND manager_id = @m
			UNION SELECT l.id FROM learners l JOIN under u ON l.tenant_id = @t AND l.manager_id = u.id)
		SELECT id FROM under WHERE id <> @m ORDER BY id`, pgx.NamedArgs{"m": m})
}

func day(d time.Time) string { return d.Format(time.DateOnly) }

// dashFilter is one set of filters: the query a user sends and what it
// means.
type dashFilter struct {
	name     string
	query    url.Values
	from, to time.Time
	dept     string
}

// want are arguments for the expectation queries of people under filters.
func (f *dashFixture) want(people []int64, fl dashFilter) pgx.NamedArgs {
	days := int(fl.to.Sub(fl.from).Hours()/24) + 1
	pto := fl.from.AddDate(0, 0, -1)
	return pgx.NamedArgs{"people": people, "dept": fl.dept, "tz": f.loc.String(),
		"from": day(fl.from), "to": day(fl.to), "pfrom": day(pto.AddDate(0, 0, 1-days)), "pto": day(pto),
		"d7": day(fl.to.AddDate(0, 0, -6)), "d30": day(fl.to.AddDate(0, 0, -29)),
		"today": day(f.today), "soon": day(f.today.AddDate(0, 0, 30))}
}

// inScope is the condition on learners l of the people and department.
const inScope = `l.tenant_id = @t AND l.id = ANY(@people::bigint[]) AND (@dept::text = '' OR l.department = @dept::text)`

// kpis are a section's figures by Go field name; nil is null (NaN).
type kpis map[string]*float64

func num[N int64 | float64 | int](v N) *float64 { x := float64(v); return &x }

func rate(part, whole int64) *float64 {
	if whole == 0 {
		return nil
	}
	return num(float64(part) * 100 / float64(whole))
}

// enrolmentsCTE is the enrolments of the people, with the local day of
// completion and the whole days it took.
const enrolmentsCTE = `en AS (SELECT en.*, (en.completed_at AT TIME ZONE @tz::text)::date AS done_on,
		floor(round(extract(epoch FROM en.completed_at - en.enrolled_at)) / 86400)::bigint AS days
	FROM enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
	WHERE en.tenant_id = @t AND ` + inScope + `)`

func (f *dashFixture) wantCompletion(t *testing.T, a pgx.NamedArgs) kpis {
	var enrolled, notStarted, inProgress, completed, overdue, cur, prev, med, pmed int64
	f.one(t, `WITH `+enrolmentsCTE+`
		SELECT count(*), count(*) FILTER (WHERE status = 'enrolled'), count(*) FILTER (WHERE status = 'in_progress'),
			count(*) FILTER (WHERE status = 'completed'),
			count(*) FILTER (WHERE status <> 'completed' AND due_at < @today::date),
			count(*) FILTER (WHERE status = 'completed' AND done_on BETWEEN @from::date AND @to::date),
			count(*) FILTER (WHERE status = 'completed' AND done_on BETWEEN @pfrom::date AND @pto::date),
			coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY days) FILTER (WHERE status = 'completed' AND done_on BETWEEN @from::date AND @to::date), -1),
			coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY days) FILTER (WHERE status = 'completed' AND done_on BETWEEN @pfrom::date AND @pto::date), -1)
		FROM en`, a, &enrolled, &notStarted, &inProgress, &completed, &overdue, &cur, &prev, &med, &pmed)
	return kpis{"enrolled": num(enrolled), "not_started": num(notStarted), "in_progress": num(inProgress),
		"completed": num(completed), "overdue": num(overdue), "completion_rate": rate(completed, enrolled),
		"completed_in_period": num(cur), "completed_previous": num(prev), "median_days": num(med), "median_days_previous": num(pmed)}
}

func (f *dashFixture) wantEngagement(t *testing.T, a pgx.NamedArgs) kpis {
	var active, activePrev, dau, wau, mau, st, stPrev, ms, msPrev int64
	f.one(t, `WITH p AS (SELECT l.id FROM learners l WHERE `+inScope+`),
		act AS (SELECT d.learner_id, d.day FROM daily_activity d WHERE d.tenant_id = @t AND d.learner_id IN (SELECT id FROM p)),
		ev AS (SELECT e.day, e.duration_ms FROM learning_events e WHERE e.tenant_id = @t AND NOT e.voided AND e.learner_id IN (SELECT id FROM p))
		SELECT (SELECT count(DISTINCT learner_id) FROM act WHERE day BETWEEN @from::date AND @to::date),
			(SELECT count(DISTINCT learner_id) FROM act WHERE day BETWEEN @pfrom::date AND @pto::date),
			(SELECT count(DISTINCT learner_id) FROM act WHERE day = @to::date),
			(SELECT count(DISTINCT learner_id) FROM act WHERE day BETWEEN @d7::date AND @to::date),
			(SELECT count(DISTINCT learner_id) FROM act WHERE day BETWEEN @d30::date AND @to::date),
			(SELECT count(*) FROM ev WHERE day BETWEEN @from::date AND @to::date),
			(SELECT count(*) FROM ev WHERE day BETWEEN @pfrom::date AND @pto::date),
			(SELECT coalesce(sum(duration_ms), 0)::bigint FROM ev WHERE day BETWEEN @from::date AND @to::date),
			(SELECT coalesce(sum(duration_ms), 0)::bigint FROM ev WHERE day BETWEEN @pfrom::date AND @pto::date)`,
		a, &active, &activePrev, &dau, &wau, &mau, &st, &stPrev, &ms, &msPrev)
	return kpis{"active": num(active), "active_previous": num(activePrev), "dau": num(dau), "wau": num(wau), "mau": num(mau),
		"statements": num(st), "statements_previous": num(stPrev),
		"minutes": num(float64(ms) / 60000), "minutes_previous": num(float64(msPrev) / 60000)}
}

// complianceCounts classifies assignments ca as of @today.
const complianceCounts = `count(*) AS assigned,
	count(*) FILTER (WHERE ca.completed_at IS NOT NULL AND (ca.expires_on IS NULL OR ca.expires_on >= @today::date)) AS compliant,
	count(*) FILTER (WHERE ca.completed_at IS NULL AND ca.due_on >= @today::date AND ca.due_on <= @soon::date) AS due_soon,
	count(*) FILTER (WHERE ca.completed_at IS NULL AND ca.due_on < @today::date) AS overdue,
	count(*) FILTER (WHERE ca.completed_at IS NOT NULL AND ca.expires_on < @today::date) AS expired,
	count(*) FILTER (WHERE ca.completed_at IS NULL AND ca.due_on > @soon::date) AS not_due`

const assignmentsFrom = `compliance_assignments ca JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id
	WHERE ca.tenant_id = @t AND ` + inScope

func (f *dashFixture) wantCompliance(t *testing.T, a pgx.NamedArgs) kpis {
	var assigned, compliant, dueSoon, overdue, expired, notDue int64
	f.one(t, `SELECT `+complianceCounts+` FROM `+assignmentsFrom, a, &assigned, &compliant, &dueSoon, &overdue, &expired, &notDue)
	if assigned != compliant+dueSoon+overdue+expired+notDue {
		t.Fatalf("the test's compliance statuses do not add up: %d assigned, %d+%d+%d+%d+%d", assigned, compliant, dueSoon, overdue, expired, notDue)
	}
	return kpis{"assigned": num(assigned), "compliant": num(compliant), "due_soon": num(dueSoon), "overdue": num(overdue),
		"expired": num(expired), "not_due": num(notDue), "rate": rate(compliant, assigned)}
}

func (f *dashFixture) wantAssessments(t *testing.T, a pgx.NamedArgs) kpis {
	var att, attPrev, passed, failed, pPassed, pFailed int64
	f.one(t, `WITH ev AS (SELECT e.* FROM learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
			WHERE e.tenant_id = @t AND NOT e.voided AND e.kind IN ('pass', 'fail', 'score') AND `+inScope+`),
		c AS (SELECT ev.*, day BETWEEN @from::date AND @to::date AS cur, day BETWEEN @pfrom::date AND @pto::date AS prev,
			(kind = 'pass' OR (kind = 'score' AND success IS TRUE)) AS ok,
			(kind = 'fail' OR (kind = 'score' AND success IS FALSE)) AS ko FROM ev)
		SELECT count(*) FILTER (WHERE cur), count(*) FILTER (WHERE prev), count(*) FILTER (WHERE cur AND ok),
			count(*) FILTER (WHERE cur AND ko), count(*) FILTER (WHERE prev AND ok), count(*) FILTER (WHERE prev AND ko) FROM c`,
		a, &att, &attPrev, &passed, &failed, &pPassed, &pFailed)
	pr := func(p, f int64) *float64 { return rate(p, p+f) }
	return kpis{"attempts": num(att), "attempts_previous": num(attPrev), "passed": num(passed), "failed": num(failed),
		"pass_rate": pr(passed, failed), "pass_rate_previous": pr(pPassed, pFailed)}
}

// wantRows are a table's expected numbers by row id.
type wantRows map[int64]map[string]*float64

func (f *dashFixture) wantCompletionCourses(t *testing.T, a pgx.NamedArgs) wantRows {
	out := wantRows{}
	for _, r := range f.all(t, `WITH `+enrolmentsCTE+`
		SELECT course_id, count(*), count(*) FILTER (WHERE status = 'enrolled'), count(*) FILTER (WHERE status = 'in_progress'),
			count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status <> 'completed' AND due_at < @today::date),
			round(100.0 * count(*) FILTER (WHERE status = 'completed') / count(*), 1)::float8,
			count(*) FILTER (WHERE status = 'completed' AND done_on BETWEEN @from::date AND @to::date),
			percentile_disc(0.5) WITHIN GROUP (ORDER BY days) FILTER (WHERE status = 'completed' AND done_on BETWEEN @from::date AND @to::date)
		FROM en GROUP BY 1`, a) {
		m := map[string]*float64{}
		for i, k := range []string{"enrolled", "not_started", "in_progress", "completed", "overdue", "completion_rate", "completed_in_period", "median_days"} {
			m[k] = toFloat(r[i+1])
		}
		out[r[0].(int64)] = m
	}
	return out
}

func (f *dashFixture) wantRequirements(t *testing.T, a pgx.NamedArgs) wantRows {
	out := wantRows{}
	for _, r := range f.all(t, `SELECT requirement_id, x.assigned, x.compliant, x.due_soon, x.overdue, x.expired, x.not_due,
			round(100.0 * x.compliant / x.assigned, 1)::float8
		FROM (SELECT ca.requirement_id, `+complianceCounts+` FROM `+assignmentsFrom+` GROUP BY 1) x`, a) {
		m := map[string]*float64{}
		for i, k := range []string{"assigned", "compliant", "due_soon", "overdue", "expired", "not_due", "compliance_rate"} {
			m[k] = toFloat(r[i+1])
		}
		out[r[0].(int64)] = m
	}
	return out
}

func toFloat(v any) *float64 {
	switch x := v.(type) {
	case nil:
		return nil
	case int64:
		return num(x)
	case int32:
		return num(int64(x))
	case float64:
		if math.IsNaN(x) {
			return nil
		}
		return num(x)
	case json.Number:
		n, err := x.Float64()
		if err != nil {
			panic(err)
		}
		return num(n)
	}
	panic(fmt.Sprintf("not a number: %T %v", v, v))
}

func sameNumber(got, want *float64) bool {
	switch {
	case got == nil || want == nil:
		return got == nil && want == nil
	}
	return math.Abs(*got-*want) <= 1e-6*math.Max(1, math.Abs(*want))
}

func show(v *float64) string {
	if v == nil {
		return "null"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// ----- the app over HTTP -----

// getJSON fetches path as an API client and decodes the body into v (with
// numbers as json.Number in interfaces) when the status is 200.
func getJSON(t *testing.T, c *testserver.Client, path string, v any) testserver.Response {
	t.Helper()
	r := c.Get(acme, path, "Accept", "application/json")
	if r.Status == http.StatusOK && v != nil {
		dec := json.NewDecoder(strings.NewReader(r.Body))
		dec.UseNumber()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("GET %s: %v in %.300s", path, err, r.Body)
		}
	}
	return r
}

func withQuery(path string, q url.Values) string {
	if e := q.Encode(); e != "" {
		if strings.Contains(path, "?") {
			return path + "&" + e
		}
		return path + "?" + e
	}
	return path
}

func merge(vs ...url.Values) url.Values {
	out := url.Values{}
	for _, v := range vs {
		for k, x := range v {
			out[k] = append([]string(nil), x...)
		}
	}
	return out
}

func (f *dashFixture) kpis(t *testing.T, c *testserver.Client, section string, q url.Values) kpis {
	t.Helper()
	var body struct {
		Data kpis `json:"data"`
	}
	path := withQuery("/api/v1/dashboards/"+section, q)
	if r := getJSON(t, c, path, &body); r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %.300s", path, r.Status, r.Body)
	}
	return body.Data
}

// trendTotals sums a trend section's points (of its field, "" for the
// section itself) in the range ("value") and the previous period
// ("previous").
func trendTotals(t *testing.T, c *testserver.Client, section, field string, q url.Values) kpis {
	t.Helper()
	var body struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	path := withQuery("/api/v1/dashboards/"+section, q)
	if r := getJSON(t, c, path, &body); r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %.300s", path, r.Status, r.Body)
	}
	raw, _ := json.Marshal(body.Data)
	if field != "" {
		raw = body.Data[field]
	}
	var trend struct {
		Points []struct{ Value, Previous float64 }
	}
	if err := json.Unmarshal(raw, &trend); err != nil || len(trend.Points) == 0 {
		t.Fatalf("GET %s: no points in %.300s (%v)", path, raw, err)
	}
	var value, previous float64
	for _, p := range trend.Points {
		value, previous = value+p.Value, previous+p.Previous
	}
	return kpis{"value": &value, "previous": &previous}
}

func compareKPIs(t *testing.T, what string, got, want kpis) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: no %s in the JSON", what, k)
			continue
		}
		if !sameNumber(g, w) {
			t.Errorf("%s: %s = %s, want %s", what, k, show(g), show(w))
		}
	}
}

type jsonTable struct {
	Columns []struct {
		Key   string `json:"key"`
		Label string `json:"label"`
		Kind  string `json:"kind"`
	} `json:"columns"`
	Rows     []map[string]any `json:"rows"`
	Total    int              `json:"total"`
	Page     int              `json:"page"`
	PageSize int              `json:"page_size"`
}

// tableRows reads every page of a table's JSON.
func tableRows(t *testing.T, c *testserver.Client, table string, q url.Values) jsonTable {
	t.Helper()
	var all jsonTable
	for page := 1; ; page++ {
		var body struct {
			Data jsonTable `json:"data"`
		}
		path := withQuery("/api/v1/dashboards/"+table, merge(q, url.Values{"page": {strconv.Itoa(page)}}))
		r := getJSON(t, c, path, &body)
		tb := body.Data
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %.300s", path, r.Status, r.Body)
		}
		if tb.PageSize != 25 || tb.Page != page || len(tb.Rows) > 25 {
			t.Fatalf("GET %s: page %d of size %d with %d rows, want page %d of at most 25", path, tb.Page, tb.PageSize, len(tb.Rows), page)
		}
		if page == 1 {
			all = tb
		} else {
			all.Rows = append(all.Rows, tb.Rows...)
			if tb.Total != all.Total {
				t.Fatalf("GET %s: total changed from %d to %d between pages", path, all.Total, tb.Total)
			}
		}
		if len(tb.Rows) < 25 || len(all.Rows) >= all.Total {
			break
		}
	}
	if len(all.Rows) != all.Total {
		t.Fatalf("%s: %d rows over all pages, total says %d", table, len(all.Rows), all.Total)
	}
	return all
}

func rowID(t *testing.T, row map[string]any, key string) int64 {
	t.Helper()
	n, ok := row[key].(json.Number)
	if !ok {
		t.Fatalf("row without %s: %v", key, row)
	}
	id, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func compareRows(t *testing.T, what string, got jsonTable, idKey string, want wantRows) {
	t.Helper()
	seen := map[int64]bool{}
	for _, row := range got.Rows {
		id := rowID(t, row, idKey)
		if seen[id] {
			t.Errorf("%s: %s %d listed twice", what, idKey, id)
		}
		seen[id] = true
		w, ok := want[id]
		if !ok {
			t.Errorf("%s: row %s=%d (%v) is not expected", what, idKey, id, row)
			continue
		}
		for k, wv := range w {
			if g := toFloat(row[k]); !sameNumber(g, wv) {
				t.Errorf("%s: %s %d: %s = %s, want %s", what, idKey, id, k, show(g), show(wv))
			}
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("%s: row %s=%d is missing", what, idKey, id)
		}
	}
}

var kpiValue = regexp.MustCompile(`data-testid="kpi-([a-z-]+)-value"[^>]*>([^<]*)<`)

// pageKPIs reads the KPI tiles' values from a dashboard page.
func pageKPIs(t *testing.T, c *testserver.Client, path string) map[string]string {
	t.Helper()
	r := c.Get(acme, path)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %.300s", path, r.Status, r.Body)
	}
	out := map[string]string{}
	for _, m := range kpiValue.FindAllStringSubmatch(r.Body, -1) {
		out[m[1]] = strings.TrimSpace(m[2])
	}
	return out
}

// tileText is how a tile shows a value: thousands separated, "%" and
// always one decimal for rates, one decimal at most otherwise, "—" for
// nothing.
func tileText(v *float64, percent bool) string {
	if v == nil {
		return "—"
	}
	r := math.Round(*v*10) / 10
	s := strconv.FormatFloat(math.Abs(r), 'f', 1, 64)
	if !percent {
		s = strings.TrimSuffix(s, ".0")
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	s = b.String()
	if frac != "" {
		s += "." + frac
	}
	if r < 0 {
		s = "-" + s
	}
	if percent {
		s += "%"
	}
	return s
}

// ----- 1. numbers -----

func (f *dashFixture) filters(t *testing.T, people []int64) []dashFilter {
	// The department with most of the manager's people, so that it means
	// something for every viewer.
	var dept string
	f.one(t, `SELECT department FROM learners WHERE tenant_id = @t AND id = ANY(@people::bigint[]) AND department <> ''
		GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, pgx.NamedArgs{"people": people}, &dept)
	from, to := f.today.AddDate(0, 0, -200), f.today.AddDate(0, 0, -40)
	last90 := f.today.AddDate(0, 0, -89)
	return []dashFilter{
		{"default range", url.Values{}, last90, f.today, ""},
		{"custom range", url.Values{"range": {"custom"}, "from": {day(from)}, "to": {day(to)}}, from, to, ""},
		{"department", url.Values{"department": {dept}}, last90, f.today, dept},
		{"12 months in a department", url.Values{"range": {"12m"}, "department": {dept}}, f.today.AddDate(-1, 0, 1), f.today, dept},
	}
}

func testDashboardNumbers(t *testing.T, f *dashFixture) {
	// A manager inside the manager's part with people of their own.
	var sub int64
	f.one(t, `SELECT coalesce((SELECT l.manager_id FROM learners l WHERE l.tenant_id = @t AND l.manager_id = ANY(@people::bigint[])
		GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1), 0)`, pgx.NamedArgs{"people": f.mgrScope}, &sub)
	if sub == 0 {
		t.Fatal("nobody in the manager's part manages anyone")
	}
	if dotted := without(f.mgrScope, f.solidReportsOf(t, f.manager)); len(dotted) == 0 {
		t.Fatal("the manager has no dotted-line reports: the numbers would not cover them")
	}
	// The course with most decided assessments, for attempts to pass.
	var course int64
	f.one(t, `SELECT course_id FROM enrollments WHERE tenant_id = @t AND passed_at IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, nil, &course)
	// The course with most answers to questions, for the questions table.
	var quizCourse int64
	f.one(t, `SELECT course_id FROM learning_events WHERE tenant_id = @t AND kind = 'interaction' AND NOT voided
		GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, nil, &quizCourse)
	fls := f.filters(t, f.mgrScope)
	viewers := []struct {
		name    string
		c       *testserver.Client
		people  []int64
		query   url.Values
		filters []dashFilter
	}{
		{"admin", f.admin, f.everyone, nil, fls},
		{"analyst", f.analyst, f.everyone, nil, fls[:1]},
		{"manager", f.mgr, f.mgrScope, nil, fls},
		{"admin filtered to the manager", f.admin, f.mgrScope, url.Values{"manager": {strconv.FormatInt(f.manager, 10)}}, fls[:2]},
		{"manager filtered to a manager below", f.mgr, f.reportsOf(t, sub), url.Values{"manager": {strconv.FormatInt(sub, 10)}}, fls[:2]},
	}
	for _, v := range viewers {
		for i, fl := range v.filters {
			t.Run(v.name+"/"+fl.name, func(t *testing.T) {
				t.Parallel()
				q := merge(fl.query, v.query)
				a := f.want(v.people, fl)
				what := func(s string) string { return fmt.Sprintf("%s %s?%s", v.name, s, q.Encode()) }
				wc, we, wq, wa := f.wantCompletion(t, a), f.wantEngagement(t, a), f.wantCompliance(t, a), f.wantAssessments(t, a)
				if *wc["enrolled"] == 0 || *wq["assigned"] == 0 {
					t.Fatalf("no enrolments or assignments for %s: the case checks nothing", what(""))
				}
				compareKPIs(t, what("completion/kpis"), f.kpis(t, v.c, "completion/kpis", q), wc)
				compareKPIs(t, what("engagement/kpis"), f.kpis(t, v.c, "engagement/kpis", q), we)
				compareKPIs(t, what("compliance/kpis"), f.kpis(t, v.c, "compliance/kpis", q), wq)
				compareKPIs(t, what("assessments/kpis"), f.kpis(t, v.c, "assessments/kpis", q), wa)
				// The trend lines count what the tiles count, day by day.
				compareKPIs(t, what("completion/trend"), trendTotals(t, v.c, "completion/trend", "", q),
					kpis{"value": wc["completed_in_period"], "previous": wc["completed_previous"]})
				compareKPIs(t, what("engagement/trend"), trendTotals(t, v.c, "engagement/trend", "statements", q),
					kpis{"value": we["statements"], "previous": we["statements_previous"]})
				compareRows(t, what("completion/courses"), tableRows(t, v.c, "completion/courses", q), "course_id", f.wantCompletionCourses(t, a))
				compareRows(t, what("compliance/requirements"), tableRows(t, v.c, "compliance/requirements", q), "requirement_id", f.wantRequirements(t, a))

				// Attempts to pass, by attempts, of one course: passed enrolments
				// only, counting attempts up to the pass.
				if i == 0 {
					var bins struct {
						Data struct {
							Bins    []int64
							Average *float64
						} `json:"data"`
					}
					path := withQuery("/api/v1/dashboards/assessments/attempts-to-pass", merge(q, url.Values{"course_id": {strconv.FormatInt(course, 10)}}))
					if r := getJSON(t, v.c, path, &bins); r.Status != http.StatusOK {
						t.Fatalf("GET %s: %d %.200s", path, r.Status, r.Body)
					}
					want := make([]int64, 5)
					var people, attempts int64
					for _, r := range f.all(t, `SELECT n, count(*) FROM (SELECT (SELECT count(*) FROM learning_events e WHERE e.tenant_id = en.tenant_id
							AND e.learner_id = en.learner_id AND e.course_id = en.course_id AND NOT e.voided AND e.kind IN ('pass', 'fail', 'score')
							AND e.ts <= en.passed_at) AS n
						FROM enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
						WHERE en.tenant_id = @t AND en.course_id = @course AND en.passed IS TRUE AND en.passed_at IS NOT NULL AND `+inScope+`) x
						WHERE n > 0 GROUP BY 1`,
						merge2(a, pgx.NamedArgs{"course": course})) {
						n, c := r[0].(int64), r[1].(int64)
						want[min(5, n)-1] += c
						people, attempts = people+c, attempts+n*c
					}
					if !slices.Equal(bins.Data.Bins, want) {
						t.Errorf("%s: learners who passed by attempts %v, want %v", what("assessments/attempts-to-pass"), bins.Data.Bins, want)
					}
					if people > 0 && (bins.Data.Average == nil || math.Abs(*bins.Data.Average-float64(attempts)/float64(people)) > 1e-9) {
						t.Errorf("%s: average attempts to pass %v, want %v", what("assessments/attempts-to-pass"), bins.Data.Average, float64(attempts)/float64(people))
					}
				}
				// The questions of the course with most answers: answers,
				// correct ones, the correct rate of those judged and the most
				// frequent response, by question (its name), from silver.
				got := map[string]string{}
				for _, row := range tableRows(t, v.c, "assessments/questions", merge(q, url.Values{"course_id": {strconv.FormatInt(quizCourse, 10)}})).Rows {
					got[fmt.Sprint(row["question"])] = fmt.Sprintf("%s %s %s %v", show(toFloat(row["answers"])), show(toFloat(row["correct"])),
						show(toFloat(row["correct_rate"])), row["top_response"])
				}
				want := map[string]string{}
				for _, r := range f.all(t, `SELECT coalesce((SELECT (SELECT min(v) FROM jsonb_each_text(s.statement->'object'->'definition'->'name') x(k, v))
						FROM xapi_statements s WHERE s.tenant_id = @t AND s.activity_id = e.interaction_id
						  AND jsonb_typeof(s.statement->'object'->'definition'->'name') = 'object' ORDER BY s.stored DESC LIMIT 1), e.interaction_id),
						count(*), count(*) FILTER (WHERE e.success),
						round(100.0 * count(*) FILTER (WHERE e.success) / nullif(count(*) FILTER (WHERE e.success IS NOT NULL), 0), 1)::float8,
						coalesce(mode() WITHIN GROUP (ORDER BY e.response), '')
					FROM learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
					WHERE e.tenant_id = @t AND e.course_id = @course AND NOT e.voided AND e.kind = 'interaction' AND e.interaction_id IS NOT NULL
					  AND e.day BETWEEN @from::date AND @to::date AND `+inScope+` GROUP BY e.interaction_id`, merge2(a, pgx.NamedArgs{"course": quizCourse})) {
					want[r[0].(string)] = fmt.Sprintf("%s %s %s %v", show(toFloat(r[1])), show(toFloat(r[2])), show(toFloat(r[3])), r[4])
				}
				if len(want) == 0 && i == 0 && v.name == "admin" {
					t.Fatalf("%s: no answers to check", what("assessments/questions"))
				}
				if !maps.Equal(got, want) {
					t.Errorf("%s: questions\n%v\nwant\n%v", what("assessments/questions"), got, want)
				}
				// The course's attempts: the first page, newest first, and the total.
				var att struct {
					Data jsonTable `json:"data"`
				}
				path := withQuery("/api/v1/dashboards/assessments/attempts", merge(q, url.Values{"course_id": {strconv.FormatInt(course, 10)}}))
				if r := getJSON(t, v.c, path, &att); r.Status != http.StatusOK {
					t.Fatalf("GET %s: %d %.200s", path, r.Status, r.Body)
				}
				var gotAtt []string
				for _, row := range att.Data.Rows {
					at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(row["at"]))
					if err != nil {
						t.Fatalf("%s: at %v: %v", path, row["at"], err)
					}
					gotAtt = append(gotAtt, fmt.Sprintf("%v %s %s %v", row["learner_id"], at.UTC().Format(time.RFC3339Nano), show(toFloat(row["score"])), row["result"]))
				}
				var wantAtt []string
				attempts := f.all(t, `SELECT e.learner_id, e.ts, round((e.scaled * 100)::numeric, 1)::float8,
						CASE WHEN e.kind = 'pass' OR (e.kind = 'score' AND e.success) THEN 'passed'
						     WHEN e.kind = 'fail' OR (e.kind = 'score' AND NOT e.success) THEN 'failed' ELSE 'scored' END, count(*) OVER ()
					FROM learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
					WHERE e.tenant_id = @t AND e.course_id = @course AND NOT e.voided AND e.kind IN ('pass', 'fail', 'score')
					  AND e.day BETWEEN @from::date AND @to::date AND `+inScope+` ORDER BY e.ts DESC, e.learner_id LIMIT 25`,
					merge2(a, pgx.NamedArgs{"course": course}))
				for _, r := range attempts {
					wantAtt = append(wantAtt, fmt.Sprintf("%d %s %s %v", r[0], r[1].(time.Time).UTC().Format(time.RFC3339Nano), show(toFloat(r[2])), r[3]))
				}
				wantTotal := 0
				if len(attempts) > 0 {
					wantTotal = int(attempts[0][4].(int64))
				}
				if !slices.Equal(gotAtt, wantAtt) || att.Data.Total != wantTotal {
					t.Errorf("%s: attempts (total %d)\n%v\nwant (total %d)\n%v", what("assessments/attempts"), att.Data.Total, gotAtt, wantTotal, wantAtt)
				}
				if i%2 == 1 || strings.Contains(v.name, "filtered") {
					return // the pages are read for some of the cases only, to keep the test fast
				}
				// The pages show the same figures on their tiles.
				tiles := []struct {
					page string
					want map[string]*float64
					pct  map[string]bool
				}{
					{"/dashboards/completion", map[string]*float64{"enrolled": wc["enrolled"], "in-progress": wc["in_progress"],
						"completed": wc["completed"], "overdue": wc["overdue"], "completion-rate": wc["completion_rate"],
						"completed-in-period": wc["completed_in_period"]}, map[string]bool{"completion-rate": true}},
					{"/dashboards/engagement", map[string]*float64{"active": we["active"], "statements": we["statements"],
						"mau": we["mau"], "minutes": num(math.Round(*we["minutes"]))}, nil},
					{"/dashboards/compliance", map[string]*float64{"assigned": wq["assigned"], "compliant": wq["compliant"],
						"due-soon": wq["due_soon"], "overdue": wq["overdue"], "expired": wq["expired"], "compliance-rate": wq["rate"]},
						map[string]bool{"compliance-rate": true}},
					{"/dashboards/assessments", map[string]*float64{"attempts": wa["attempts"], "passed": wa["passed"],
						"failed": wa["failed"], "pass-rate": wa["pass_rate"]}, map[string]bool{"pass-rate": true}},
				}
				for _, tl := range tiles {
					path := withQuery(tl.page, q)
					got := pageKPIs(t, v.c, path)
					for id, w := range tl.want {
						if g, ok := got[id]; !ok || g != tileText(w, tl.pct[id]) {
							t.Errorf("%s %s: tile %s shows %q, want %q", v.name, path, id, g, tileText(w, tl.pct[id]))
						}
					}
				}
			})
		}
	}
}

func merge2(a, b pgx.NamedArgs) pgx.NamedArgs {
	out := pgx.NamedArgs{}
	for _, m := range []pgx.NamedArgs{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// without is a minus b.
func without(a, b []int64) []int64 {
	var out []int64
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// ----- team view -----

type teamNode struct {
	ID                                   int64
	Name                                 string
	Dotted                               bool
	Reports                              int64
	People, Enrolled, Completed, Overdue int64
	Assigned, Compliant                  int64
}

func (f *dashFixture) teamNodes(t *testing.T, c *testserver.Client, q string) []teamNode {
	t.Helper()
	var body struct {
		Data []teamNode `json:"data"`
	}
	if r := getJSON(t, c, "/api/v1/dashboards/team/nodes"+q, &body); r.Status != http.StatusOK {
		t.Fatalf("team/nodes%s: %d %.300s", q, r.Status, r.Body)
	}
	return body.Data
}

// wantTeam is the team view's numbers of people (their enrolments and
// assignments as of today).
func (f *dashFixture) wantTeam(t *testing.T, people []int64) teamNode {
	return f.wantTeamIn(t, people, `SELECT id FROM courses WHERE tenant_id = @t`, nil)
}

// wantTeamIn is wantTeam counting the enrolments and assignments of the
// courses listed by courses (a query with the arguments more) alone.
func (f *dashFixture) wantTeamIn(t *testing.T, people []int64, courses string, more pgx.NamedArgs) teamNode {
	t.Helper()
	a := f.want(people, dashFilter{from: f.today, to: f.today})
	for k, v := range more {
		a[k] = v
	}
	var n teamNode
	f.one(t, `WITH cs AS (`+courses+`),
		en AS (SELECT en.* FROM enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
			WHERE en.tenant_id = @t AND `+inScope+` AND en.course_id IN (SELECT * FROM cs)),
		ca AS (SELECT ca.* FROM `+assignmentsFrom+` AND ca.requirement_id IN
			(SELECT r.id FROM compliance_requirements r WHERE r.tenant_id = @t AND r.course_id IN (SELECT * FROM cs)))
		SELECT (SELECT count(*) FROM learners l WHERE `+inScope+`),
			(SELECT count(*) FROM en), (SELECT count(*) FROM en WHERE status = 'completed'),
			(SELECT count(*) FROM en WHERE status <> 'completed' AND due_at < @today::date),
			(SELECT count(*) FROM ca),
			(SELECT count(*) FROM ca WHERE completed_at IS NOT NULL AND (expires_on IS NULL OR expires_on >= @today::date))`,
		a, &n.People, &n.Enrolled, &n.Completed, &n.Overdue, &n.Assigned, &n.Compliant)
	return n
}

// sumNodes adds up the numbers of nodes.
func sumNodes(nodes []teamNode) teamNode {
	var sum teamNode
	for _, n := range nodes {
		sum.People += n.People
		sum.Enrolled += n.Enrolled
		sum.Completed += n.Completed
		sum.Overdue += n.Overdue
		sum.Assigned += n.Assigned
		sum.Compliant += n.Compliant
	}
	return sum
}

func sameTeamNumbers(t *testing.T, what string, got, want teamNode) {
	t.Helper()
	g := []int64{got.People, got.Enrolled, got.Completed, got.Overdue, got.Assigned, got.Compliant}
	w := []int64{want.People, want.Enrolled, want.Completed, want.Overdue, want.Assigned, want.Compliant}
	if !slices.Equal(g, w) {
		t.Errorf("%s: people, enrolled, completed, overdue, assigned, compliant = %v, want %v", what, g, w)
	}
}

func testDashboardTeamView(t *testing.T, f *dashFixture) {
	// The whole tenant: the start nodes together are everyone.
	start := f.teamNodes(t, f.admin, "")
	if len(start) == 0 {
		t.Fatal("the admin's team view starts with nobody")
	}
	sameTeamNumbers(t, "admin's start nodes summed", sumNodes(start), f.wantTeam(t, f.everyone))

	// A manager starts at their own node: themself and everyone under them.
	mine := f.teamNodes(t, f.mgr, "")
	if len(mine) != 1 || mine[0].ID != f.manager {
		t.Fatalf("the manager's team view starts with %+v, want their own node %d", mine, f.manager)
	}
	sameTeamNumbers(t, "manager's node", mine[0], f.wantTeam(t, append([]int64{f.manager}, f.mgrScope...)))

	// Their children are their direct reports, solid and dotted, each with
	// their own part.
	direct := f.ids(t, `WITH `+reportEdges+` SELECT DISTINCT l FROM edges WHERE m = @m ORDER BY 1`, pgx.NamedArgs{"m": f.manager})
	children := f.teamNodes(t, f.mgr, "?learner_id="+strconv.FormatInt(f.manager, 10))
	var got []int64
	for _, c := range children {
		got = append(got, c.ID)
		sameTeamNumbers(t, fmt.Sprintf("manager's child %d (%s)", c.ID, c.Name), c, f.wantTeam(t, append([]int64{c.ID}, f.reportsOf(t, c.ID)...)))
	}
	slices.Sort(got)
	if !slices.Equal(got, direct) {
		t.Errorf("the manager's children are %v, want their direct reports %v", got, direct)
	}

	// Filtered by a course, or by its category: every part keeps all its
	// people, and counts the enrolments and assignments of that course
	// (of the category's courses) alone. The admin's start and the
	// manager's children, read from the grouped gold and silver.
	var course int64
	var category string
	f.one(t, `SELECT c.id, c.category FROM courses c WHERE c.tenant_id = @t AND c.category <> ''
		AND EXISTS (SELECT FROM compliance_requirements r WHERE r.tenant_id = c.tenant_id AND r.course_id = c.id)
		ORDER BY (SELECT count(*) FROM enrollments en WHERE en.tenant_id = c.tenant_id AND en.course_id = c.id) DESC LIMIT 1`, nil, &course, &category)
	for _, fl := range []struct {
		query, courses string
	}{
		{"course=" + strconv.FormatInt(course, 10), `SELECT @course::bigint`},
		{"category=" + url.QueryEscape(category), `SELECT id FROM courses WHERE tenant_id = @t AND category = @category`},
	} {
		want := func(people []int64) teamNode {
			return f.wantTeamIn(t, people, fl.courses, pgx.NamedArgs{"course": course, "category": category})
		}
		sum := sumNodes(f.teamNodes(t, f.admin, "?"+fl.query))
		sameTeamNumbers(t, "admin's start nodes summed, "+fl.query, sum, want(f.everyone))
		if sum.Enrolled == 0 || sum.Assigned == 0 {
			t.Errorf("%s: %d enrolments and %d assignments in the tenant: the case checks nothing", fl.query, sum.Enrolled, sum.Assigned)
		}
		for _, c := range f.teamNodes(t, f.mgr, "?learner_id="+strconv.FormatInt(f.manager, 10)+"&"+fl.query) {
			sameTeamNumbers(t, fmt.Sprintf("manager's child %d, %s", c.ID, fl.query), c, want(append([]int64{c.ID}, f.reportsOf(t, c.ID)...)))
		}
	}
}

// ----- 2. scoping -----

func testDashboardScoping(t *testing.T, f *dashFixture) {
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	scope := append([]int64{f.manager}, f.mgrScope...)

	// Someone outside the manager's part with enrolments and assignments,
	// and a team (their manager) nobody of which is in it.
	var outsider, team, course, req int64
	var outsiderName string
	f.one(t, `SELECT l.id, l.name, l.manager_id,
			(SELECT en.course_id FROM enrollments en WHERE en.tenant_id = @t AND en.learner_id = l.id ORDER BY 1 LIMIT 1),
			(SELECT ca.requirement_id FROM compliance_assignments ca WHERE ca.tenant_id = @t AND ca.learner_id = l.id ORDER BY 1 LIMIT 1)
		FROM learners l WHERE l.tenant_id = @t AND l.manager_id IS NOT NULL AND NOT l.id = ANY(@scope::bigint[])
		  AND NOT EXISTS (SELECT 1 FROM learners x WHERE x.tenant_id = @t AND x.manager_id = l.manager_id AND x.id = ANY(@scope::bigint[]))
		  AND NOT l.manager_id = ANY(@scope::bigint[])
		  AND EXISTS (SELECT 1 FROM enrollments en WHERE en.tenant_id = @t AND en.learner_id = l.id)
		  AND EXISTS (SELECT 1 FROM compliance_assignments ca WHERE ca.tenant_id = @t AND ca.learner_id = l.id)
		ORDER BY l.id LIMIT 1`, pgx.NamedArgs{"scope": scope}, &outsider, &outsiderName, &team, &course, &req)

	type probe struct{ path, what string }
	outside := []probe{
		{"/dashboards/completion?manager=" + id(team), "page filtered to a manager outside"},
		{"/api/v1/dashboards/completion/kpis?manager=" + id(team), "JSON filtered to a manager outside"},
		{"/api/v1/dashboards/compliance/at-risk?manager=" + id(team), "JSON table filtered to a manager outside"},
		{"/tables/compliance/at-risk?manager=" + id(team), "table fragment filtered to a manager outside"},
		{"/tables/compliance/at-risk/export.csv?manager=" + id(team), "export filtered to a manager outside"},
		{fmt.Sprintf("/dashboards/completion/courses/%d/teams/%d", course, team), "course's team page"},
		{fmt.Sprintf("/tables/completion/learners?course_id=%d&team_id=%d", course, team), "course's team table"},
		{fmt.Sprintf("/api/v1/dashboards/completion/learners?course_id=%d&team_id=%d", course, team), "course's team JSON"},
		{fmt.Sprintf("/tables/completion/learners/export.csv?course_id=%d&team_id=%d", course, team), "course's team CSV"},
		{fmt.Sprintf("/tables/completion/learners/export.xlsx?course_id=%d&team_id=%d", course, team), "course's team XLSX"},
		{fmt.Sprintf("/dashboards/compliance/requirements/%d/teams/%d", req, team), "requirement's team page"},
		{fmt.Sprintf("/tables/compliance/people?requirement_id=%d&team_id=%d", req, team), "requirement's team table"},
		{fmt.Sprintf("/api/v1/dashboards/compliance/people?requirement_id=%d&team_id=%d", req, team), "requirement's team JSON"},
		{fmt.Sprintf("/tables/compliance/people/export.xlsx?requirement_id=%d&team_id=%d", req, team), "requirement's team XLSX"},
		{"/learners/" + id(outsider), "learner page"},
		{"/tables/learner/enrollments?learner_id=" + id(outsider), "learner's courses table"},
		{"/api/v1/dashboards/learner/profile?learner_id=" + id(outsider), "learner profile JSON"},
		{"/api/v1/dashboards/learner/attempts?learner_id=" + id(outsider), "learner attempts JSON"},
		{"/tables/learner/certificates/export.csv?learner_id=" + id(outsider), "learner certificates CSV"},
		{"/dashboards/team/nodes/" + id(team), "team node"},
		{"/api/v1/dashboards/team/nodes?learner_id=" + id(team), "team node JSON"},
	}
	exportsBefore := auditCount(t, f, "manager@acme.test")
	for _, p := range outside {
		// The admin sees it: the id is real, not merely missing.
		if r := f.admin.Get(acme, p.path); r.Status != http.StatusOK {
			t.Errorf("admin %s %s: %d, want 200", p.what, p.path, r.Status)
		}
		r := f.mgr.Get(acme, p.path)
		if r.Status != http.StatusNotFound {
			t.Errorf("manager %s %s: %d, want 404", p.what, p.path, r.Status)
		}
		if r.Header.Get("Content-Disposition") != "" {
			t.Errorf("manager %s %s: sent a file", p.what, p.path)
		}
		mustNotContain(t, "manager "+p.path, r.Body, outsiderName)
	}
	// Nobody without a manager (the top of the organisation) is the
	// manager's either.
	for _, p := range []string{fmt.Sprintf("/dashboards/completion/courses/%d/teams/0", course),
		fmt.Sprintf("/api/v1/dashboards/completion/learners?course_id=%d&team_id=0", course)} {
		if r := f.mgr.Get(acme, p); r.Status != http.StatusNotFound {
			t.Errorf("manager %s: %d, want 404", p, r.Status)
		}
	}
	if n := auditCount(t, f, "manager@acme.test"); n != exportsBefore {
		t.Errorf("refused exports were audited as exports: %d entries, had %d", n, exportsBefore)
	}

	// The manager's lists of people hold only their people, and all of them.
	for _, tb := range []string{"compliance/assignments", "compliance/at-risk", "engagement/inactive"} {
		rows := tableRows(t, f.mgr, tb, nil)
		for _, r := range rows.Rows {
			if lid := rowID(t, r, "learner_id"); !slices.Contains(f.mgrScope, lid) {
				t.Errorf("manager's %s lists learner %d (%v), who is not theirs", tb, lid, r["learner"])
			}
		}
		if tb == "compliance/assignments" {
			var n int
			f.one(t, `SELECT count(*) FROM `+assignmentsFrom, f.want(f.mgrScope, dashFilter{from: f.today, to: f.today}), &n)
			if rows.Total != n {
				t.Errorf("manager's compliance/assignments: %d rows, want the %d assignments of their people", rows.Total, n)
			}
		}
	}

	// A dotted-line report (reached only through a dotted line) is theirs:
	// their page, profile and courses, and a child in the team view.
	dotted := without(f.mgrScope, f.solidReportsOf(t, f.manager))
	var d int64
	var dName, dEmail string
	f.one(t, `SELECT l.id, l.name, l.email FROM learners l WHERE l.tenant_id = @t AND l.id = ANY(@d::bigint[])
		ORDER BY (SELECT count(*) FROM enrollments en WHERE en.tenant_id = @t AND en.learner_id = l.id) DESC, l.id LIMIT 1`,
		pgx.NamedArgs{"d": dotted}, &d, &dName, &dEmail)
	if r := f.mgr.Get(acme, "/learners/"+id(d)); r.Status != http.StatusOK || !strings.Contains(r.Body, dName) {
		t.Errorf("manager /learners/%d (dotted-line report %s): %d", d, dName, r.Status)
	}
	var prof struct {
		Data struct {
			ID       int64
			Email    string
			Enrolled int64
		} `json:"data"`
	}
	var enrolled int64
	f.one(t, `SELECT count(*) FROM enrollments WHERE tenant_id = @t AND learner_id = @d`, pgx.NamedArgs{"d": d}, &enrolled)
	if r := getJSON(t, f.mgr, "/api/v1/dashboards/learner/profile?learner_id="+id(d), &prof); r.Status != http.StatusOK ||
		prof.Data.Email != dEmail || prof.Data.Enrolled != enrolled {
		t.Errorf("manager's profile of dotted-line report %d: %d %+v, want %s with %d enrolments", d, r.Status, prof.Data, dEmail, enrolled)
	}
	if enrolled > 0 {
		if tb := tableRows(t, f.mgr, "learner/enrollments", url.Values{"learner_id": {id(d)}}); tb.Total != int(enrolled) {
			t.Errorf("manager's learner/enrollments of dotted-line report %d: %d rows, want %d", d, tb.Total, enrolled)
		}
	}
	var directDotted []int64
	for _, c := range f.teamNodes(t, f.mgr, "?learner_id="+id(f.manager)) {
		if c.Dotted {
			directDotted = append(directDotted, c.ID)
		}
	}
	wantDotted := f.ids(t, `SELECT h.learner_id FROM learner_history h WHERE h.tenant_id = @t AND h.valid_to = 'infinity'
		AND @m = ANY(h.dotted_manager_ids) ORDER BY 1`, pgx.NamedArgs{"m": f.manager})
	slices.Sort(directDotted)
	if !slices.Equal(directDotted, wantDotted) {
		t.Errorf("the manager's dotted children in the team view are %v, want %v", directDotted, wantDotted)
	}

	// A manager filter naming nobody is a 404 for the whole-tenant viewers too.
	for _, c := range []*testserver.Client{f.admin, f.analyst, f.mgr} {
		if r := getJSON(t, c, "/api/v1/dashboards/completion/kpis?manager=999999999", nil); r.Status != http.StatusNotFound {
			t.Errorf("manager=999999999: %d, want 404", r.Status)
		}
	}
	// The manager may narrow to themself, and to someone below them.
	for _, p := range []string{"/dashboards/completion?manager=" + id(f.manager), "/api/v1/dashboards/completion/kpis?manager=" + id(f.mgrScope[0])} {
		if r := f.mgr.Get(acme, p); r.Status != http.StatusOK {
			t.Errorf("manager %s: %d, want 200", p, r.Status)
		}
	}

	// A learner has My learning and their own page, and no dashboards.
	for _, p := range []string{"/dashboards/completion", "/dashboards/engagement", "/dashboards/compliance", "/dashboards/assessments",
		"/dashboards/team", fmt.Sprintf("/dashboards/completion/courses/%d", course), "/dashboards/team/nodes/" + id(f.learner)} {
		if r := f.lrn.Get(acme, p); r.Status != http.StatusForbidden {
			t.Errorf("learner %s: %d, want 403", p, r.Status)
		}
	}
	for _, p := range []string{"/api/v1/dashboards/completion/kpis", "/api/v1/dashboards/completion/courses", "/tables/completion/courses",
		"/tables/completion/courses/export.csv", "/api/v1/dashboards/team/nodes"} {
		if r := f.lrn.Get(acme, p); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
			t.Errorf("learner %s: %d, want 403 or 404", p, r.Status)
		}
	}
	var self struct {
		Data struct {
			ID                                       int64
			Email                                    string
			Enrolled, InProgress, Completed, Overdue int64
			Assigned, Compliant                      int64
		} `json:"data"`
	}
	me := f.wantTeam(t, []int64{f.learner})
	if r := getJSON(t, f.lrn, "/api/v1/dashboards/learner/profile", &self); r.Status != http.StatusOK {
		t.Errorf("learner's own profile JSON: %d %.200s", r.Status, r.Body)
	} else if d := self.Data; d.ID != f.learner || d.Email != "learner@acme.test" || d.Enrolled != me.Enrolled || d.Completed != me.Completed ||
		d.Overdue != me.Overdue || d.Assigned != me.Assigned || d.Compliant != me.Compliant {
		t.Errorf("learner's own profile: %+v, want id %d with %+v", d, f.learner, me)
	}
	if r := f.lrn.Get(acme, "/me"); r.Status != http.StatusOK || !strings.Contains(r.Body, "Lee Learner") {
		t.Errorf("learner /me: %d", r.Status)
	}
	if r := f.lrn.Get(acme, "/learners/"+id(f.learner)); r.Status != http.StatusOK {
		t.Errorf("learner's own /learners/%d: %d", f.learner, r.Status)
	}
	if tb := tableRows(t, f.lrn, "learner/enrollments", url.Values{"learner_id": {id(f.learner)}}); tb.Total != int(me.Enrolled) {
		t.Errorf("learner's own courses: %d rows, want %d", tb.Total, me.Enrolled)
	}
	for _, other := range []int64{f.manager, d, outsider} {
		for _, p := range []string{"/learners/" + id(other), "/api/v1/dashboards/learner/profile?learner_id=" + id(other),
			"/tables/learner/enrollments?learner_id=" + id(other), "/tables/learner/attempts/export.csv?learner_id=" + id(other)} {
			if r := f.lrn.Get(acme, p); r.Status != http.StatusNotFound {
				t.Errorf("learner %s: %d, want 404", p, r.Status)
			}
		}
	}
}

// auditCount counts the export entries of a user in acme's audit log.
func auditCount(t *testing.T, f *dashFixture, email string) int {
	t.Helper()
	var n int
	f.one(t, `SELECT count(*) FROM audit_log WHERE tenant_id = @t AND action = 'export' AND actor_email = @e`, pgx.NamedArgs{"e": email}, &n)
	return n
}

// ----- 3. exports -----

// floatColumns are the columns with one decimal (percentages, minutes).
var floatColumns = map[string]bool{"completion_rate": true, "compliance_rate": true, "best_score": true, "score": true,
	"minutes": true, "correct_rate": true}

// cellText is how a CSV shows a JSON value of column key.
func cellText(key string, v any, loc *time.Location) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case json.Number:
		if floatColumns[key] {
			n, _ := x.Float64()
			return strconv.FormatFloat(n, 'f', 1, 64)
		}
		return x.String()
	case string:
		if ts, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return ts.In(loc).Format("2006-01-02 15:04")
		}
		return x
	}
	return fmt.Sprint(v)
}

// exportWant is the header and rows an export of tb must have.
func exportWant(tb jsonTable, loc *time.Location) (header []string, keys []string, rows [][]string) {
	for _, c := range tb.Columns {
		if c.Kind != "id" {
			header = append(header, c.Label)
			keys = append(keys, c.Key)
		}
	}
	for _, r := range tb.Rows {
		var rec []string
		for _, k := range keys {
			rec = append(rec, cellText(k, r[k], loc))
		}
		rows = append(rows, rec)
	}
	return header, keys, rows
}

func checkFileName(t *testing.T, f *dashFixture, r testserver.Response, table, ext string) {
	t.Helper()
	dash, name, _ := strings.Cut(table, "/")
	cd := r.Header.Get("Content-Disposition")
	want := fmt.Sprintf(`attachment; filename="acme-%s-%s-%s.%s"`, dash, name, day(f.today), ext)
	if cd != want {
		t.Errorf("%s.%s: Content-Disposition %q, want %q", table, ext, cd, want)
	}
}

func checkCSV(t *testing.T, f *dashFixture, c *testserver.Client, table string, q url.Values, wantFilters string) {
	t.Helper()
	tb := tableRows(t, c, table, q)
	header, _, want := exportWant(tb, f.loc)
	path := withQuery("/tables/"+table+"/export.csv", q)
	r := c.Get(acme, path)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %.300s", path, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	checkFileName(t, f, r, table, "csv")
	lines := strings.SplitN(r.Body, "\n", 6)
	if len(lines) < 6 {
		t.Fatalf("%s: %d lines: %.500s", path, len(lines), r.Body)
	}
	for i, prefix := range []string{"LearnLens export: ", "Data as of: ", "Filters: ", "Exported: "} {
		if !strings.HasPrefix(strings.Trim(lines[i], `"`), prefix) {
			t.Errorf("%s: line %d is %q, want %q…", path, i+1, lines[i], prefix)
		}
	}
	if !strings.Contains(lines[0], "Acme Corp") || !strings.Contains(lines[0], table) {
		t.Errorf("%s: first line %q does not name the tenant and table", path, lines[0])
	}
	if !strings.Contains(lines[2], wantFilters) {
		t.Errorf("%s: filters line %q does not hold %q", path, lines[2], wantFilters)
	}
	if strings.TrimRight(lines[4], "\r") != "" {
		t.Errorf("%s: line 5 is %q, want it empty", path, lines[4])
	}
	recs, err := csv.NewReader(strings.NewReader(lines[5])).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], header) {
		t.Fatalf("%s: header %v, want %v", path, recs[:min(1, len(recs))], header)
	}
	compareCells(t, path, recs[1:], want, nil)
	t.Logf("%s: %d rows match the JSON's %d pages", path, len(recs)-1, (len(want)+24)/25)
}

// compareCells compares an export's rows with the JSON's; numeric columns
// of an XLSX compare as numbers.
func compareCells(t *testing.T, what string, got, want [][]string, numeric []bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, the JSON table has %d", what, len(got), len(want))
	}
	bad := 0
	for i := range min(len(got), len(want)) {
		g := slices.Clone(got[i])
		for len(g) < len(want[i]) {
			g = append(g, "") // a spreadsheet row ends at its last cell
		}
		same := len(g) == len(want[i])
		for j := 0; same && j < len(g); j++ {
			if numeric != nil && numeric[j] && g[j] != "" && want[i][j] != "" {
				a, err1 := strconv.ParseFloat(g[j], 64)
				b, err2 := strconv.ParseFloat(want[i][j], 64)
				same = err1 == nil && err2 == nil && math.Abs(a-b) < 1e-9
			} else {
				same = g[j] == want[i][j]
			}
		}
		if !same {
			if bad++; bad <= 5 {
				t.Errorf("%s: row %d is %q, want %q", what, i+1, g, want[i])
			}
		}
	}
}

func checkXLSX(t *testing.T, f *dashFixture, c *testserver.Client, table string, q url.Values) {
	t.Helper()
	tb := tableRows(t, c, table, q)
	header, keys, want := exportWant(tb, f.loc)
	path := withQuery("/tables/"+table+"/export.xlsx", q)
	r := c.Get(acme, path)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %.300s", path, r.Status, r.Body)
	}
	checkFileName(t, f, r, table, "xlsx")
	wb, err := excelize.OpenReader(bytes.NewReader([]byte(r.Body)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer wb.Close()
	// The file's properties say when its data is from, too.
	if props, err := wb.GetDocProps(); err != nil || !strings.HasPrefix(props.Description, "Data as of: ") || !strings.HasPrefix(props.Title, "Acme") {
		t.Errorf("%s: document properties %+v, %v; want the title and a description starting with the data's as-of", path, props, err)
	}
	rows, err := wb.GetRows("Export", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatalf("%s: sheet Export: %v", path, err)
	}
	if len(rows) < 6 {
		t.Fatalf("%s: %d rows", path, len(rows))
	}
	for i, prefix := range []string{"LearnLens export: ", "Data as of: ", "Filters: ", "Exported: "} {
		if len(rows[i]) != 1 || !strings.HasPrefix(rows[i][0], prefix) {
			t.Errorf("%s: row %d is %q, want %q…", path, i+1, rows[i], prefix)
		}
	}
	if len(rows[4]) != 0 {
		t.Errorf("%s: row 5 is %q, want it empty", path, rows[4])
	}
	if !slices.Equal(rows[5], header) {
		t.Fatalf("%s: header %q, want %q", path, rows[5], header)
	}
	numeric := make([]bool, len(keys))
	for i, k := range keys {
		numeric[i] = floatColumns[k]
	}
	compareCells(t, path, rows[6:], want, numeric)
	t.Logf("%s: %d rows match the JSON's %d pages", path, len(rows)-6, (len(want)+24)/25)
}

func testDashboardExports(t *testing.T, f *dashFixture) {
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	fl := f.filters(t, f.mgrScope)
	custom, dept := fl[1], fl[2]

	before := auditCount(t, f, "admin@acme.test")
	mgrBefore := auditCount(t, f, "manager@acme.test")
	var lastAudit int64
	f.one(t, `SELECT coalesce(max(id), 0) FROM audit_log WHERE tenant_id = @t`, nil, &lastAudit)

	// completion/courses under a custom range and a department, and sorted.
	q := merge(custom.query, dept.query)
	checkCSV(t, f, f.admin, "completion/courses", q, "department="+url.QueryEscape(dept.dept))
	checkXLSX(t, f, f.admin, "completion/courses", q)
	checkCSV(t, f, f.admin, "completion/courses", merge(q, url.Values{"sort": {"completion_rate"}, "dir": {"asc"}}), "sort=completion_rate")

	// compliance/at-risk: the admin's runs over several pages.
	if tb := tableRows(t, f.admin, "compliance/at-risk", nil); tb.Total <= 25 {
		t.Errorf("only %d people at risk in the whole tenant: the export is not checked across pages", tb.Total)
	}
	checkCSV(t, f, f.admin, "compliance/at-risk", nil, "Filters: ")
	checkXLSX(t, f, f.admin, "compliance/at-risk", nil)
	checkCSV(t, f, f.mgr, "compliance/at-risk", nil, "Filters: ")
	checkXLSX(t, f, f.mgr, "compliance/at-risk", nil)

	// Drill-downs: the biggest team of the biggest course, and the
	// manager's own team's people of a requirement.
	var course, team, req int64
	f.one(t, `SELECT en.course_id, l.manager_id FROM enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
		WHERE en.tenant_id = @t AND l.manager_id IS NOT NULL GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2 LIMIT 1`, nil, &course, &team)
	f.one(t, `SELECT ca.requirement_id FROM compliance_assignments ca JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id
		WHERE ca.tenant_id = @t AND l.manager_id = @m GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, pgx.NamedArgs{"m": f.manager}, &req)
	drill := url.Values{"course_id": {id(course)}, "team_id": {id(team)}}
	checkCSV(t, f, f.admin, "completion/learners", drill, "Filters: ")
	checkXLSX(t, f, f.admin, "completion/learners", drill)
	people := url.Values{"requirement_id": {id(req)}, "team_id": {id(f.manager)}}
	checkCSV(t, f, f.mgr, "compliance/people", people, "Filters: ")
	checkXLSX(t, f, f.mgr, "compliance/people", people)

	// Every enrolment (the whole-tenant export): the manager's are their
	// people's, all of them, as silver holds them.
	checkCSV(t, f, f.mgr, "completion/enrolments", nil, "Filters: ")
	checkXLSX(t, f, f.mgr, "completion/enrolments", nil)
	mine := tableRows(t, f.mgr, "completion/enrolments", nil)
	var n int
	f.one(t, `SELECT count(*) FROM enrollments WHERE tenant_id = @t AND learner_id = ANY(@s::bigint[])`, pgx.NamedArgs{"s": f.mgrScope}, &n)
	if mine.Total != n || n == 0 {
		t.Errorf("manager's completion/enrolments: %d rows, want the %d enrolments of their people", mine.Total, n)
	}
	for _, r := range mine.Rows {
		if lid := rowID(t, r, "learner_id"); !slices.Contains(f.mgrScope, lid) {
			t.Errorf("manager's completion/enrolments lists learner %d (%v), who is not theirs", lid, r["learner"])
		}
	}

	// Each export is in the audit log, with its table and filters.
	if n := auditCount(t, f, "admin@acme.test"); n != before+7 {
		t.Errorf("%d export entries in the audit log after 7 exports by the admin, want %d", n, before+7)
	}
	if n := auditCount(t, f, "manager@acme.test"); n != mgrBefore+6 {
		t.Errorf("%d export entries in the audit log after 6 exports by the manager, want %d", n, mgrBefore+6)
	}
	var target, details string
	f.one(t, `SELECT target, details::text FROM audit_log WHERE tenant_id = @t AND action = 'export' AND actor_email = 'admin@acme.test'
		AND id > @last ORDER BY id LIMIT 1`, pgx.NamedArgs{"last": lastAudit}, &target, &details)
	if target != "table:completion/courses" || !strings.Contains(details, "department=") {
		t.Errorf("first export's audit entry: target %q details %s, want table:completion/courses with its filters", target, details)
	}

	// A bad request is refused before any file is sent, and not audited.
	before = auditCount(t, f, "admin@acme.test")
	for _, tc := range []struct{ path, param string }{
		{"/tables/completion/courses/export.csv?range=fortnight", "range"},
		{"/tables/completion/courses/export.xlsx?range=fortnight", "range"},
		{"/tables/completion/courses/export.csv?range=custom&from=2026-03-10&to=2026-03-01", "to"},
		{"/tables/completion/courses/export.xlsx?sort=nope", "sort"},
		{"/tables/completion/courses/export.csv?sort=course_id", "sort"},
		{"/tables/completion/courses/export.csv?manager=boss", "manager"},
		{"/tables/completion/learners/export.csv?course_id=x&team_id=1", "course_id"},
	} {
		r := f.admin.Get(acme, tc.path)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.path, r.Status)
		}
		if cd := r.Header.Get("Content-Disposition"); cd != "" {
			t.Errorf("%s: sent a file (%s)", tc.path, cd)
		}
		if !strings.Contains(r.Body, tc.param+":") {
			t.Errorf("%s: the error does not name %s: %.300s", tc.path, tc.param, r.Body)
		}
	}
	if n := auditCount(t, f, "admin@acme.test"); n != before {
		t.Errorf("refused exports were audited: %d entries, had %d", n, before)
	}
}

// ----- 4. bad input -----

func testDashboardBadInput(t *testing.T, f *dashFixture) {
	cases := []struct{ name, query, param string }{
		{"unknown range", "range=fortnight", "range"},
		{"custom range without dates", "range=custom", "from"},
		{"malformed from", "range=custom&from=2026-02-30&to=2026-03-01", "from"},
		{"malformed to", "range=custom&from=2026-02-01&to=03/01/2026", "to"},
		{"to before from", "range=custom&from=2026-03-10&to=2026-03-01", "to"},
		{"page zero", "page=0", "page"},
		{"page not a number", "page=two", "page"},
		{"manager not a number", "manager=boss", "manager"},
		{"manager negative", "manager=-4", "manager"},
		{"course not a number", "course=abc", "course"},
		{"direction", "dir=sideways", "dir"},
	}
	for _, tc := range cases {
		for _, path := range []string{"/api/v1/dashboards/completion/kpis", "/api/v1/dashboards/compliance/requirements"} {
			var body struct {
				Error string `json:"error"`
			}
			r := f.admin.Get(acme, path+"?"+tc.query, "Accept", "application/json")
			json.Unmarshal([]byte(r.Body), &body)
			if r.Status != http.StatusBadRequest || !strings.HasPrefix(body.Error, tc.param+":") {
				t.Errorf("%s: %s?%s: %d %q, want 400 with an error naming %s", tc.name, path, tc.query, r.Status, body.Error, tc.param)
			}
		}
		for _, c := range []*testserver.Client{f.admin, f.mgr} {
			for _, path := range []string{"/dashboards/completion", "/dashboards/engagement", "/dashboards/compliance/requirements/1", "/tables/completion/courses"} {
				r := c.Get(acme, path+"?"+tc.query)
				if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, tc.param+":") {
					t.Errorf("%s: page %s?%s: %d, want 400 naming %s: %.200s", tc.name, path, tc.query, r.Status, tc.param, r.Body)
				}
			}
		}
	}
	// Sorting is table state: a column the table does not have (or an id
	// column) is refused by the table's JSON, fragment and page.
	for _, q := range []string{"sort=nope", "sort=course_id", "sort=enrolled%20desc"} {
		var body struct {
			Error string `json:"error"`
		}
		r := f.admin.Get(acme, "/api/v1/dashboards/completion/courses?"+q, "Accept", "application/json")
		json.Unmarshal([]byte(r.Body), &body)
		if r.Status != http.StatusBadRequest || !strings.HasPrefix(body.Error, "sort:") {
			t.Errorf("JSON completion/courses?%s: %d %q, want 400 naming sort", q, r.Status, body.Error)
		}
		for _, hx := range [][]string{nil, {"HX-Request", "true"}} {
			r := f.admin.Get(acme, "/tables/completion/courses?"+q, hx...)
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "sort:") {
				t.Errorf("/tables/completion/courses?%s (%v): %d, want 400 naming sort", q, hx, r.Status)
			}
		}
	}
	// A drill id that is not a number is refused as such.
	r := f.admin.Get(acme, "/api/v1/dashboards/completion/learners?course_id=x&team_id=1", "Accept", "application/json")
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "course_id:") {
		t.Errorf("course_id=x: %d %.200s, want 400 naming course_id", r.Status, r.Body)
	}
	// And good input is fine: every range preset works.
	for _, rg := range []string{"7d", "30d", "90d", "12m"} {
		if r := f.admin.Get(acme, "/api/v1/dashboards/completion/kpis?range="+rg, "Accept", "application/json"); r.Status != http.StatusOK {
			t.Errorf("range=%s: %d", rg, r.Status)
		}
	}
}

// testFilterChipsAndTablePages runs on the dashboards' fixture: a
// dashboard opened with filters (a shared link) shows each as the chosen
// option and as a chip, the engagement page says which of its parts the
// course filter leaves alone, and a table's second page says which rows it
// shows, with a way back to the first.
func testFilterChipsAndTablePages(t *testing.T, f *dashFixture) {
	var location, category, title string
	var course int64
	f.one(t, `SELECT location FROM learners WHERE tenant_id = @t AND location <> '' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, nil, &location)
	f.one(t, `SELECT c.id, c.title, c.category FROM courses c WHERE c.tenant_id = @t AND c.category <> '' AND c.title <> ''
		AND EXISTS (SELECT 1 FROM enrollments e WHERE e.tenant_id = c.tenant_id AND e.course_id = c.id) ORDER BY c.id LIMIT 1`, nil, &course, &title, &category)
	chip := func(param, label string) string {
		return `data-testid="filter-chip" data-param="` + param + `"><span class="truncate">` + html.EscapeString(label) + `</span>`
	}
	selected := func(value string) string { return `<option value="` + html.EscapeString(value) + `" selected>` }

	r := f.admin.Get(acme, "/dashboards/completion?"+url.Values{"location": {location}, "category": {category}, "range": {"12m"}}.Encode())
	if r.Status != http.StatusOK {
		t.Fatalf("filtered completion page: %d", r.Status)
	}
	mustContain(t, "filtered completion page", r.Body, selected(location), selected(category),
		chip("location", location), chip("category", category), chip("range", "Last 12 months"))
	mustNotContain(t, "filtered completion page", r.Body, `data-testid="dash-note"`, `data-param="course"`)

	r = f.admin.Get(acme, "/dashboards/engagement?course="+strconv.FormatInt(course, 10))
	if r.Status != http.StatusOK {
		t.Fatalf("engagement of a course: %d", r.Status)
	}
	mustContain(t, "engagement of a course", r.Body, selected(strconv.FormatInt(course, 10)), `data-param="course"`, html.EscapeString(title),
		`data-testid="dash-note"`, "the weekday × hour heatmap and the inactive list cover all courses")
	mustNotContain(t, "engagement for all courses", f.admin.Get(acme, "/dashboards/engagement").Body, `data-testid="dash-note"`)

	// The second page of a long table, as its Next link fetches it.
	var page struct {
		Data jsonTable `json:"data"`
	}
	if r := getJSON(t, f.admin, "/api/v1/tables/compliance/assignments?page=2", &page); r.Status != http.StatusOK {
		t.Fatalf("assignments JSON: %d", r.Status)
	}
	if page.Data.Total <= 50 {
		t.Fatalf("%d assignments: the fixture has no third page to check", page.Data.Total)
	}
	r = f.admin.Get(acme, "/tables/compliance/assignments?page=2", "HX-Request", "true")
	if r.Status != http.StatusOK {
		t.Fatalf("second page: %d", r.Status)
	}
	rows := strings.Count(r.Body, `data-testid="row"`)
	mustContain(t, "second page", r.Body, `data-testid="table-range">26–50 of `+strconv.Itoa(page.Data.Total)+`<`,
		`data-testid="page-prev"`, `href="/tables/compliance/assignments?page=1&amp;sort=due_on"`, `href="/tables/compliance/assignments?page=3&amp;sort=due_on"`)
	if rows != 25 || len(page.Data.Rows) != 25 {
		t.Errorf("second page: %d rows, JSON %d; want 25", rows, len(page.Data.Rows))
	}
	first := f.admin.Get(acme, "/tables/compliance/assignments", "HX-Request", "true")
	mustContain(t, "first page", first.Body, `data-testid="table-range">1–25 of `, `data-testid="page-next"`)
	mustNotContain(t, "first page", first.Body, `data-testid="page-prev"`)
}

// testTeamPage: the team view's page shows the same people and numbers as
// its JSON, links a person with reports to the tree started at them (and
// anyone else to their learner page), and keeps the page's filters and
// the as-of day in those links; a past day's tree says which day it is.
func testTeamPage(t *testing.T, f *dashFixture) {
	var dept string
	f.one(t, `SELECT department FROM learners WHERE tenant_id = @t AND id = ANY(@people::bigint[]) AND department <> ''
		GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, pgx.NamedArgs{"people": f.mgrScope}, &dept)
	asOf := day(f.today.AddDate(0, 0, -30))
	for _, tc := range []struct {
		name string
		q    url.Values
	}{
		{"today", url.Values{}},
		{"a department", url.Values{"department": {dept}}},
		{"30 days ago", url.Values{"as_of": {asOf}}},
	} {
		nodes := f.teamNodes(t, f.mgr, withQuery("", tc.q))
		if len(nodes) == 0 {
			t.Fatalf("%s: the manager's tree is empty", tc.name)
		}
		r := f.mgr.Get(acme, withQuery("/dashboards/team", tc.q))
		if r.Status != http.StatusOK {
			t.Fatalf("%s: team page %d", tc.name, r.Status)
		}
		for _, n := range nodes {
			id := strconv.FormatInt(n.ID, 10)
			keep := url.Values{}
			for k, v := range tc.q {
				keep[k] = v
			}
			href := "/learners/" + id
			if n.Reports > 0 {
				keep.Set("manager", id)
				href = "/dashboards/team?" + keep.Encode()
			}
			mustContain(t, tc.name+" node "+id, r.Body, `id="node-name-`+id+`" class="break-words font-medium text-brand underline" href="`+html.EscapeString(href)+`"`)
			people := regexp.MustCompile(`id="node-sum-` + id + `"[^>]*>.*?data-testid="node-people">([^<]*)<`).FindStringSubmatch(r.Body)
			if people == nil || people[1] != formatInt(n.People) {
				t.Errorf("%s: node %d shows %v people, the JSON %d", tc.name, n.ID, people, n.People)
			}
		}
		if d := tc.q.Get("department"); d != "" {
			mustContain(t, tc.name, r.Body, `<input type="hidden" name="department" value="`+html.EscapeString(d)+`">`)
		}
		if tc.q.Get("as_of") != "" {
			mustContain(t, tc.name, r.Body, `data-testid="tree-asof-note"`, `value="`+asOf+`"`, `data-testid="tree-today"`)
		} else {
			mustNotContain(t, tc.name, r.Body, `data-testid="tree-asof-note"`)
		}
	}
}

// testRequirementsListOverdue: the admin's requirements list badges each
// requirement in force with its people overdue now, and those add up to
// the compliance dashboard's overdue tile.
func testRequirementsListOverdue(t *testing.T, f *dashFixture) {
	list := f.admin.Get(acme, "/admin/requirements").Body
	badges := regexp.MustCompile(`data-testid="requirement-overdue-badge">([0-9,]+) overdue<`).FindAllStringSubmatch(list, -1)
	cells := regexp.MustCompile(`data-testid="requirement-overdue">([0-9,]+)<`).FindAllStringSubmatch(list, -1)
	var sum int64
	var shown []string
	for _, c := range cells {
		n, _ := strconv.ParseInt(strings.ReplaceAll(c[1], ",", ""), 10, 64)
		sum += n
		if n > 0 {
			shown = append(shown, c[1])
		}
	}
	var got []string
	for _, b := range badges {
		got = append(got, b[1])
	}
	if len(badges) == 0 || strings.Join(got, " ") != strings.Join(shown, " ") {
		t.Errorf("overdue badges %v, want one per requirement with people overdue %v", got, shown)
	}
	if tile := pageKPIs(t, f.admin, "/dashboards/compliance")["overdue"]; tile != formatInt(sum) {
		t.Errorf("the requirements list has %d people overdue, the compliance dashboard %s", sum, tile)
	}
}
