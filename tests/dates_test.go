package tests

import (
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
)

// These tests hold the compliance date rules of docs/DASHBOARDS.md
// ("Compliance dates", issue 19 part 1) against a plain Go model of them:
// random hire dates, requirements (in force from a random day, due from
// hire or assignment, recertifying or not), completions, later hires and
// corrected hire dates, each checked as the compliance export shows them.

// dateModel is the rules, written out in Go.
type dateModel struct {
	today  time.Time // the tenant's local date
	people map[string]*modelPerson
	reqs   []*modelReq
}

type modelPerson struct {
	emp, dept string
	hire      time.Time // zero: unknown
}

type modelReq struct {
	course, department string // department "": everyone
	dueDays, recertify int
	fromHire           bool
	inForce            time.Time
	assigned           map[string]time.Time // by employee id
	completed          map[string]time.Time // last completion's local date, by employee id
}

func (r *modelReq) appliesTo(p *modelPerson) bool {
	return r.department == "" || r.department == p.dept
}

// assignFirst is the requirement getting its people for the first time:
// everyone on the roster is assigned on its in-force date, or their hire
// date if later.
func (m *dateModel) assignFirst(r *modelReq) {
	for _, p := range m.people {
		if r.appliesTo(p) {
			r.assigned[p.emp] = later(r.inForce, p.hire)
		}
	}
}

// assignLater is someone coming under a requirement in force: assigned
// today.
func (m *dateModel) assignLater(p *modelPerson) {
	for _, r := range m.reqs {
		if _, ok := r.assigned[p.emp]; !ok && r.appliesTo(p) {
			r.assigned[p.emp] = m.today
		}
	}
}

// due is the due date and status of p's assignment of r.
func (m *dateModel) due(r *modelReq, p *modelPerson) (due time.Time, expires time.Time, status string) {
	done, completed := r.completed[p.emp]
	if completed && r.recertify > 0 {
		expires = addMonths(done, r.recertify)
		due = expires
	} else if r.fromHire && !p.hire.IsZero() && !p.hire.Before(r.inForce) {
		due = p.hire.AddDate(0, 0, r.dueDays)
	} else {
		due = r.assigned[p.emp].AddDate(0, 0, r.dueDays)
	}
	switch {
	case completed && !expires.IsZero() && expires.Before(m.today):
		status = "expired"
	case completed:
		status = "compliant"
	case due.Before(m.today):
		status = "overdue"
	case !due.After(m.today.AddDate(0, 0, analytics.DueSoonDays)):
		status = "due soon"
	default:
		status = "not due"
	}
	return due, expires, status
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func TestComplianceDatesFollowTheRules(t *testing.T) {
	srv := testserver.Start(t)
	for i, host := range []string{acme, globex} {
		slug := strings.TrimSuffix(host, ".localhost")
		seed := uint64(time.Now().UnixNano())
		t.Run(slug, func(t *testing.T) {
			t.Logf("seed %d", seed)
			testDateRules(t, srv, host, slug, rand.New(rand.NewPCG(seed, uint64(i))))
		})
	}
}

func testDateRules(t *testing.T, srv *testserver.Server, host, slug string, r *rand.Rand) {
	ctx := context.Background()
	tenant := tenantID(t, srv, slug)
	var tz string
	if err := srv.DB.Platform(ctx, func(tx *gormDB) error {
		return tx.Raw(`SELECT time_zone FROM tenants WHERE id = ?`, tenant).Scan(&tz).Error
	}); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	y, mo, d := time.Now().In(loc).Date()
	m := &dateModel{today: time.Date(y, mo, d, 0, 0, 0, 0, time.UTC), people: map[string]*modelPerson{}}
	day := func(lo, hi int) time.Time { return m.today.AddDate(0, 0, lo+r.IntN(hi-lo+1)) }
	p := pipeline.New(srv.DB)
	load := func(kind imports.Kind, data string) {
		t.Helper()
		rep, err := p.Import(ctx, pipeline.ImportRequest{TenantID: tenant, Kind: kind, Filename: string(kind) + ".csv",
			Data: []byte(data), Mode: pipeline.ModeAllOrNothing, UploadedBy: "test"})
		if err != nil || rep.Outcome != "applied" || len(rep.Errors) > 0 {
			t.Fatalf("import %s: %v %+v\n%s", kind, err, rep, data)
		}
	}
	roster := func() string {
		var b strings.Builder
		b.WriteString("employee_id,email,name,department,hire_date,status\n")
		for _, p := range m.people {
			hire := ""
			if !p.hire.IsZero() {
				hire = p.hire.Format(time.DateOnly)
			}
			fmt.Fprintf(&b, "%s,%s@%s.test,Person %s,%s,%s,active\n", p.emp, strings.ToLower(p.emp), slug, p.emp, p.dept, hire)
		}
		return b.String()
	}
	newPerson := func(emp string, hire time.Time) *modelPerson {
		p := &modelPerson{emp: emp, dept: []string{"Sales", "Support"}[r.IntN(2)], hire: hire}
		m.people[emp] = p
		return p
	}

	// Step 1: a roster hired over four years (a few without a hire date),
	// a catalog, history from a previous LMS, then the requirements.
	for i := range 30 {
		hire := day(-4*365, 10)
		if r.IntN(10) == 0 {
			hire = time.Time{}
		}
		newPerson(fmt.Sprintf("E%02d", i), hire)
	}
	load(imports.KindRoster, roster())
	var courses strings.Builder
	courses.WriteString("code,title\n")
	for i := range 6 {
		fmt.Fprintf(&courses, "REQ%d,Required course %d\n", i, i)
	}
	load(imports.KindCourses, courses.String())
	var reqs strings.Builder
	reqs.WriteString("course,audience,due_within_days,due_from,recertify_months,in_force_from\n")
	for i := range 6 {
		q := &modelReq{course: fmt.Sprintf("REQ%d", i), dueDays: 1 + r.IntN(120), fromHire: r.IntN(3) > 0,
			recertify: []int{0, 12, 24}[r.IntN(3)], assigned: map[string]time.Time{}, completed: map[string]time.Time{}}
		audience := "All employees"
		if i%3 == 2 {
			q.department, audience = "Sales", "department=Sales"
		}
		from, inForce := "Assignment", ""
		if q.fromHire {
			from = "Hire date"
		}
		if i == 0 { // one created today, like one made on the requirements page
			q.inForce = m.today
		} else {
			q.inForce = day(-3*365, 0)
			inForce = q.inForce.Format(time.DateOnly)
		}
		fmt.Fprintf(&reqs, "%s,%s,%d,%s,%d,%s\n", q.course, audience, q.dueDays, from, q.recertify, inForce)
		m.reqs = append(m.reqs, q)
	}
	var history strings.Builder
	history.WriteString("employee_id,course,enrolled_at,completed_at\n")
	complete := func(b *strings.Builder, n, lo int) {
		for range n {
			emp := fmt.Sprintf("E%02d", r.IntN(30))
			q := m.reqs[r.IntN(len(m.reqs))]
			p := m.people[emp]
			done := day(lo, 0)
			if !p.hire.IsZero() && done.Before(p.hire) {
				continue
			}
			if prev, ok := q.completed[emp]; ok && (done.Before(prev) || done.Equal(prev)) {
				continue // the last completion counts; keep one row per person and course a file
			}
			if strings.Contains(b.String(), "\n"+emp+","+q.course+",") {
				continue
			}
			fmt.Fprintf(b, "%s,%s,%s,%s\n", emp, q.course, done.AddDate(0, 0, -3).Format(time.DateOnly), done.Format(time.DateOnly))
			q.completed[emp] = done
		}
	}
	complete(&history, 60, -3*365)
	load(imports.KindEnrollments, history.String())
	load(imports.KindRequirements, reqs.String())
	for _, q := range m.reqs {
		m.assignFirst(q)
	}
	checkDates(t, srv, host, slug, m, "after the requirements were imported")

	// Step 2: new hires arrive on a later roster, and two hire dates are
	// corrected.
	for i := range 5 {
		m.assignLater(newPerson(fmt.Sprintf("N%02d", i), day(-20, 5)))
	}
	for i := 0; i < 2; i++ {
		p := m.people[fmt.Sprintf("E%02d", r.IntN(30))]
		p.hire = day(-2*365, 0)
	}
	load(imports.KindRoster, roster())
	checkDates(t, srv, host, slug, m, "after new hires and corrected hire dates")

	// Step 3: more completions, some of them recertifications.
	var more strings.Builder
	more.WriteString("employee_id,course,enrolled_at,completed_at\n")
	complete(&more, 40, -400)
	load(imports.KindEnrollments, more.String())
	checkDates(t, srv, host, slug, m, "after more completions")
	assertGoldEqualsRebuild(t, srv.DB, slug)
}

// checkDates compares every assignment the compliance export lists with
// the model: assigned and due dates, expiry and status.
func checkDates(t *testing.T, srv *testserver.Server, host, slug string, m *dateModel, step string) {
	t.Helper()
	admin := srv.NewClient(t)
	admin.Login(host, "admin@"+slug+".test")
	res := admin.Get(host, "/tables/compliance/assignments/export.csv")
	if res.Status != http.StatusOK {
		t.Fatalf("%s: export: %d %s", step, res.Status, res.Body)
	}
	cr := csv.NewReader(strings.NewReader(res.Body))
	cr.FieldsPerRecord = -1
	all, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("%s: export does not parse: %v", step, err)
	}
	// A line of notes ("data as of") may come before the header.
	var rows [][]string
	for _, row := range all {
		switch {
		case len(rows) == 0 && len(row) > 1:
			rows = append(rows, row)
		case len(rows) > 0 && len(row) == len(rows[0]):
			rows = append(rows, row)
		case len(rows) > 0:
			t.Fatalf("%s: export line %q among rows of %d fields", step, row, len(rows[0]))
		}
	}
	if len(rows) == 0 {
		t.Fatalf("%s: export has no header:\n%.500s", step, res.Body)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, k := range []string{"email", "requirement", "status", "assigned", "due", "expires"} {
		if _, ok := col[k]; !ok {
			t.Fatalf("%s: export has no %s column: %v", step, k, rows[0])
		}
	}
	want := 0
	for _, q := range m.reqs {
		want += len(q.assigned)
	}
	got := 0
	for _, row := range rows[1:] {
		emp := strings.ToUpper(strings.TrimSuffix(row[col["email"]], "@"+slug+".test"))
		p := m.people[emp]
		var q *modelReq
		for _, c := range m.reqs {
			if strings.Contains(row[col["requirement"]], c.course) || strings.Contains(row[col["requirement"]], "Required course "+c.course[3:]) {
				q = c
			}
		}
		if p == nil || q == nil {
			t.Errorf("%s: unexpected assignment %v", step, row)
			continue
		}
		got++
		assigned, ok := q.assigned[emp]
		if !ok {
			t.Errorf("%s: %s is assigned %s, which does not apply to them", step, emp, q.course)
			continue
		}
		due, expires, status := m.due(q, p)
		wantExp := ""
		if !expires.IsZero() {
			wantExp = expires.Format(time.DateOnly)
		}
		gotRow := [4]string{row[col["assigned"]], row[col["due"]], row[col["expires"]], strings.ToLower(row[col["status"]])}
		wantRow := [4]string{assigned.Format(time.DateOnly), due.Format(time.DateOnly), wantExp, status}
		if gotRow != wantRow {
			t.Errorf("%s: %s %s (hired %s; in force %s, due %d days from hire %v, recertify %d, completed %s):\n got assigned, due, expires, status %v\nwant %v",
				step, emp, q.course, p.hire.Format(time.DateOnly), q.inForce.Format(time.DateOnly), q.dueDays, q.fromHire, q.recertify,
				q.completed[emp].Format(time.DateOnly), gotRow, wantRow)
		}
	}
	if got != want {
		t.Errorf("%s: the export lists %d assignments, the rules give %d", step, got, want)
	}
}

// TestDemoDataTellsABelievableStory loads the demo's generator (at the
// size the dashboard tests use) and checks the story the compliance
// officer would read: most people compliant, the overdue people
// concentrated in a few lagging teams (about one in seven) while most
// teams are on time, no one due from before a requirement existed, days
// to complete in days or weeks (not years), and activity this week.
func TestDemoDataTellsABelievableStory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := testserver.Start(t)
	tenant := tenantID(t, srv, "acme")
	cfg := generator.Acme(time.Now().UTC().Truncate(time.Hour))
	cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements = 300, 4, 16, 4, 25_000
	if _, err := generator.Populate(ctx, pipeline.New(srv.DB), tenant, cfg); err != nil {
		t.Fatal(err)
	}
	var s struct {
		Assigned, Compliant, Overdue, Expired int64
		Teams, OverdueTeams, DueBeforeInForce int64
		OverduePeople                         int64
		// OverdueByTeam is the number of overdue people of each team
		// with any, most first, comma-separated.
		OverdueByTeam                             string
		MedianDaysRequired, MaxMedianDaysRequired float64
		StatementsThisWeek                        int64
	}
	err := srv.DB.Platform(ctx, func(tx *gormDB) error {
		return tx.Raw(`WITH today AS (SELECT (now() AT TIME ZONE 'Europe/London')::date AS d),
			a AS (SELECT ca.*, l.manager_id, r.in_force_from,
					CASE WHEN ca.completed_at IS NOT NULL AND ca.expires_on < d THEN 'expired'
						 WHEN ca.completed_at IS NOT NULL THEN 'compliant'
						 WHEN ca.due_on < d THEN 'overdue' ELSE 'open' END AS status
				FROM compliance_assignments ca
				JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id
				JOIN compliance_requirements r ON r.tenant_id = ca.tenant_id AND r.id = ca.requirement_id
				CROSS JOIN today
				WHERE ca.tenant_id = @t),
			teams AS (SELECT manager_id, count(*) FILTER (WHERE status = 'overdue') AS overdue,
					count(DISTINCT learner_id) FILTER (WHERE status = 'overdue') AS overdue_people FROM a GROUP BY 1),
			days AS (SELECT e.course_id, percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.completed_at - e.enrolled_at) / 86400) AS median
				FROM enrollments e JOIN compliance_requirements r ON r.tenant_id = e.tenant_id AND r.course_id = e.course_id
				WHERE e.tenant_id = @t AND e.completed_at IS NOT NULL GROUP BY 1)
			SELECT (SELECT count(*) FROM a) AS assigned,
				(SELECT count(*) FROM a WHERE status = 'compliant') AS compliant,
				(SELECT count(*) FROM a WHERE status = 'overdue') AS overdue,
				(SELECT count(*) FROM a WHERE status = 'expired') AS expired,
				(SELECT count(*) FROM teams) AS teams,
				(SELECT count(*) FROM teams WHERE overdue > 0) AS overdue_teams,
				(SELECT count(DISTINCT learner_id) FROM a WHERE status = 'overdue') AS overdue_people,
				(SELECT coalesce(string_agg(overdue_people::text, ',' ORDER BY overdue_people DESC), '') FROM teams WHERE overdue_people > 0) AS overdue_by_team,
				(SELECT count(*) FROM a WHERE completed_at IS NULL AND due_on <= in_force_from) AS due_before_in_force,
				(SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY median) FROM days) AS median_days_required,
				(SELECT max(median) FROM days) AS max_median_days_required,
				(SELECT count(*) FROM learning_events WHERE tenant_id = @t AND ts > now() - interval '7 days') AS statements_this_week`,
			map[string]any{"t": tenant}).Scan(&s).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	rate := float64(s.Compliant) / float64(s.Assigned) * 100
	t.Logf("demo story: %d assignments, %.1f%% compliant, %d overdue, %d expired; %d of %d teams with someone overdue; median days to complete a required course %.1f (slowest course %.1f); %d statements in the last 7 days",
		s.Assigned, rate, s.Overdue, s.Expired, s.OverdueTeams, s.Teams, s.MedianDaysRequired, s.MaxMedianDaysRequired, s.StatementsThisWeek)
	if rate < 70 || rate > 95 {
		t.Errorf("compliance %.1f%%, want 70–95%%", rate)
	}
	if s.Overdue == 0 || s.OverdueTeams == 0 || s.OverdueTeams == s.Teams {
		t.Errorf("%d of %d teams have someone overdue (%d people): want some teams, not none or all", s.OverdueTeams, s.Teams, s.Overdue)
	}
	// A few lagging teams hold most of the overdue people: the most
	// overdue seventh of the teams (rounded up) holds at least 60% of
	// them, and most teams (at least 60%) have no one overdue.
	lagging := int((s.Teams + 6) / 7)
	var inLagging int64
	for i, f := range strings.Split(s.OverdueByTeam, ",") {
		if n, err := strconv.ParseInt(f, 10, 64); err == nil && i < lagging {
			inLagging += n
		}
	}
	t.Logf("overdue people: %d; the %d most overdue teams hold %d; overdue people by team: %v", s.OverduePeople, lagging, inLagging, s.OverdueByTeam)
	if s.OverduePeople == 0 || float64(inLagging) < 0.6*float64(s.OverduePeople) {
		t.Errorf("the %d most overdue of %d teams hold %d of %d overdue people: want at least 60%% (overdue concentrated in a few lagging teams)",
			lagging, s.Teams, inLagging, s.OverduePeople)
	}
	if float64(s.OverdueTeams) > 0.4*float64(s.Teams) {
		t.Errorf("%d of %d teams have someone overdue: want most teams on time (at most 40%% with anyone overdue)", s.OverdueTeams, s.Teams)
	}
	if s.DueBeforeInForce > 0 {
		t.Errorf("%d open assignments are due on or before their requirement came into force", s.DueBeforeInForce)
	}
	if s.MaxMedianDaysRequired > 60 {
		t.Errorf("a required course's median days to complete is %.0f: counted from hire, not assignment?", s.MaxMedianDaysRequired)
	}
	if s.StatementsThisWeek == 0 {
		t.Error("no activity in the last 7 days")
	}
}

// addMonths adds n months to a date as PostgreSQL's date + interval does:
// a day past the end of the target month becomes its last day
// (2024-02-29 + 12 months = 2025-02-28), where Go's AddDate would roll
// over into the next month.
func addMonths(d time.Time, n int) time.Time {
	first := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, d.Location()).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d.Day(), last)-1)
}
