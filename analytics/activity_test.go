package analytics

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
)

// The reference: "Activity now" read for one scope from the learning
// events directly, as it was before the tenant's events were shared by
// every scope (RecentActivity narrowed by ActivityIn).
const (
	refActivePeopleSQL = `WITH recent AS (
			SELECT DISTINCT ON (e.learner_id) e.learner_id, e.course_id, e.ts
			FROM learning_events e
			WHERE e.tenant_id = @tenant AND NOT e.voided AND e.ts > @since AND e.ts <= @until /*course*/
			ORDER BY e.learner_id, e.ts DESC)
		SELECT l.id, coalesce(nullif(l.name, ''), l.email, l.employee_id), c.id, coalesce(nullif(c.title, ''), c.activity_iri), r.ts,
			count(*) OVER ()
		FROM recent r
		JOIN learners l ON l.tenant_id = @tenant AND l.id = r.learner_id
		JOIN courses c ON c.tenant_id = @tenant AND c.id = r.course_id
		WHERE /*scope*/
		ORDER BY r.ts DESC, l.id
		LIMIT @limit`
	refCompletionsSQL = `SELECT l.id, coalesce(nullif(l.name, ''), l.email, l.employee_id), c.id, coalesce(nullif(c.title, ''), c.activity_iri),
			e.kind = 'pass', e.ts
		FROM learning_events e
		JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
		JOIN courses c ON c.tenant_id = e.tenant_id AND c.id = e.course_id
		WHERE e.tenant_id = @tenant AND e.kind IN ('complete', 'pass') AND NOT e.voided AND e.ts > @csince AND e.ts <= @until
			/*course*/ AND /*scope*/
		ORDER BY e.ts DESC, e.statement_id
		LIMIT @limit`
)

// refActivity reads "Activity now" at until for q's scope and filters
// with the reference queries.
func refActivity(q *Q, until time.Time) (Activity, error) {
	out := Activity{People: []ActivePerson{}, Completions: []RecentCompletion{}}
	a := with(q.args(), "since", until.Add(-ActiveWindow), "csince", until.Add(-CompletionsWindow), "until", until, "limit", activityListSize)
	course := q.F.courseCond("e", a)
	scope := q.Scope.learnerCond("l") + q.F.orgCond("l", a)
	rows, err := q.tx.Query(q.ctx, fill(refActivePeopleSQL, course, scope), a)
	if err != nil {
		return out, err
	}
	var p ActivePerson
	if _, err := pgx.ForEachRow(rows, []any{&p.LearnerID, &p.Learner, &p.CourseID, &p.Course, &p.At, &out.Active}, func() error {
		out.People = append(out.People, p)
		return nil
	}); err != nil {
		return out, err
	}
	rows, err = q.tx.Query(q.ctx, fill(refCompletionsSQL, course, scope), a)
	if err != nil {
		return out, err
	}
	var c RecentCompletion
	_, err = pgx.ForEachRow(rows, []any{&c.LearnerID, &c.Learner, &c.CourseID, &c.Course, &c.Passed, &c.At}, func() error {
		out.Completions = append(out.Completions, c)
		return nil
	})
	return out, err
}

// lists prints an Activity's counts and lists, times in UTC, for
// comparing.
func lists(a Activity) string {
	s := fmt.Sprintf("active %d:", a.Active)
	for _, p := range a.People {
		s += fmt.Sprintf(" %d/%d/%s/%d@%s", p.LearnerID, p.CourseID, p.Learner, len(p.Course), p.At.UTC().Format(time.RFC3339Nano))
	}
	s += "; completions:"
	for _, c := range a.Completions {
		s += fmt.Sprintf(" %d/%d/%s/%v@%s", c.LearnerID, c.CourseID, c.Learner, c.Passed, c.At.UTC().Format(time.RFC3339Nano))
	}
	return s
}

// TestActivityInEqualsTheScopesOwnRead: "Activity now" narrowed from the
// tenant's recent activity, read once for every scope, equals the scope's
// own read of the learning events, for the whole tenant and managers'
// scopes, with and without department, location, course and category
// filters, at the busiest moments of the generated history.
func TestActivityInEqualsTheScopesOwnRead(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	ten := populatedTenant(t, db, "recent", func(cfg *generator.Config) {
		cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements, cfg.Months = 200, 3, 8, 3, 6_000, 1
	})
	// The ends of the three 15-minute windows with the most people active,
	// and the moment of the last statement.
	var untils []time.Time
	readAll(t, db, ten.ID, `(SELECT date_bin('15 minutes', ts, '2000-01-01') + interval '15 minutes' FROM learning_events
			WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(DISTINCT learner_id) DESC, 1 LIMIT 3)
		UNION ALL (SELECT max(ts) FROM learning_events WHERE tenant_id = @tenant)`, nil,
		func(r pgx.Rows) error {
			var u time.Time
			err := r.Scan(&u)
			untils = append(untils, u)
			return err
		})
	// Managers: the two with the most people, one with a few; and the
	// biggest department, location, course and category.
	var managers []string
	readAll(t, db, ten.ID, `(SELECT l.email FROM org_closure c JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.manager_id
			WHERE c.tenant_id = @tenant AND l.email IS NOT NULL GROUP BY l.email ORDER BY count(*) DESC, 1 LIMIT 2)
		UNION ALL (SELECT l.email FROM org_closure c JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.manager_id
			WHERE c.tenant_id = @tenant AND l.email IS NOT NULL GROUP BY l.email HAVING count(*) BETWEEN 3 AND 10 ORDER BY 1 LIMIT 1)`, nil,
		func(r pgx.Rows) error {
			var e string
			err := r.Scan(&e)
			managers = append(managers, e)
			return err
		})
	var department, location, category string
	var course int64
	readAll(t, db, ten.ID, `SELECT (SELECT department FROM learners WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
		(SELECT location FROM learners WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
		(SELECT course_id FROM learning_events WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
		(SELECT c.category FROM learning_events e JOIN courses c ON c.tenant_id = e.tenant_id AND c.id = e.course_id
			WHERE e.tenant_id = @tenant AND c.category <> '' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)`, nil,
		func(r pgx.Rows) error { return r.Scan(&department, &location, &course, &category) })

	viewers := []Viewer{{Role: models.RoleTenantAdmin, Email: "nobody@example.test"}}
	for _, m := range managers {
		viewers = append(viewers, Viewer{Role: models.RoleManager, Email: m})
	}
	filters := []url.Values{{}, {"department": {department}}, {"location": {location}}, {"course": {strconv.FormatInt(course, 10)}},
		{"category": {category}}, {"department": {department}, "course": {strconv.FormatInt(course, 10)}}}
	store := NewStore(db)
	loc, _ := time.LoadLocation("Europe/London")
	shown, narrowed := 0, 0
	for _, until := range untils {
		for _, fv := range filters {
			f, err := ParseFilters(fv, Today(loc))
			if err != nil {
				t.Fatal(err)
			}
			// The tenant's recent activity, read once (as the admin) for
			// every viewer below: it must not depend on the scope.
			var recent RecentActivity
			err = store.Run(ctx, Request{Tenant: ten.ID, Loc: loc, Viewer: viewers[0], Filters: f}, func(q *Q) error {
				recent, err = q.RecentActivity(until)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var whole int64
			for i, v := range viewers {
				what := fmt.Sprintf("until %s, %s, filters %s", until.Format(time.RFC3339), v.Email, fv.Encode())
				err := store.Run(ctx, Request{Tenant: ten.ID, Loc: loc, Viewer: v, Filters: f}, func(q *Q) error {
					got, err := q.ActivityIn(recent)
					if err != nil {
						return err
					}
					want, err := refActivity(q, until)
					if err != nil {
						return err
					}
					if lists(got) != lists(want) {
						t.Errorf("%s:\nnarrowed %s\nown read %s", what, lists(got), lists(want))
					}
					if got.Until != until || got.AsOf != recent.AsOf {
						t.Errorf("%s: until %v, as of %v; want %v, %v", what, got.Until, got.AsOf, until, recent.AsOf)
					}
					shown += len(got.People) + len(got.Completions)
					if i == 0 {
						whole = got.Active
					} else if got.Active < whole {
						narrowed++
					}
					return nil
				})
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
		}
	}
	if shown == 0 || narrowed == 0 {
		t.Fatalf("%d people and completions shown, %d views narrower than the whole tenant's: the case checks too little", shown, narrowed)
	}
}

// TestEngagementLinesFromOneRead: the engagement tiles' statements and
// minutes and both trend lines, read in one pass over gold_engagement_daily
// when no course or category filter is set, equal what the per-course
// gold (statements, time) and a read of gold_engagement_daily of their
// own (active learners per day, averaged over a week's days) give, for the
// whole tenant, managers' scopes, departments, locations and ranges of
// days and of weeks; with a course filter there is no active line.
func TestEngagementLinesFromOneRead(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	ten := populatedTenant(t, db, "lines", func(cfg *generator.Config) {
		cfg.Learners, cfg.Depth, cfg.Courses, cfg.Required, cfg.Statements, cfg.Months = 150, 3, 6, 2, 4_000, 12
	})
	var manager, department, location string
	var course int64
	readAll(t, db, ten.ID, `SELECT (SELECT l.email FROM org_closure c JOIN learners l ON l.tenant_id = c.tenant_id AND l.id = c.manager_id
			WHERE c.tenant_id = @tenant AND l.email IS NOT NULL AND l.manager_id IS NOT NULL GROUP BY l.email ORDER BY count(*) DESC, 1 LIMIT 1),
		(SELECT department FROM learners WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
		(SELECT location FROM learners WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
		(SELECT course_id FROM learning_events WHERE tenant_id = @tenant GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)`, nil,
		func(r pgx.Rows) error { return r.Scan(&manager, &department, &location, &course) })
	viewers := []Viewer{{Role: models.RoleTenantAdmin, Email: "nobody@example.test"}, {Role: models.RoleManager, Email: manager}}
	loc, _ := time.LoadLocation("Europe/London")
	today := Today(loc)
	custom := url.Values{"range": {"custom"}, "from": {today.AddDate(0, 0, -150).Format(time.DateOnly)}, "to": {today.AddDate(0, 0, -40).Format(time.DateOnly)}}
	filters := []url.Values{{}, {"range": {"7d"}}, {"range": {"12m"}}, custom, {"range": {"12m"}, "department": {department}},
		{"location": {location}, "range": {"30d"}}, {"course": {strconv.FormatInt(course, 10)}, "range": {"12m"}}}
	store := NewStore(db)
	active := 0.0
	for _, v := range viewers {
		for _, fv := range filters {
			f, err := ParseFilters(fv, today)
			if err != nil {
				t.Fatal(err)
			}
			what := fmt.Sprintf("%s, filters %s", v.Email, fv.Encode())
			err = store.Run(ctx, Request{Tenant: ten.ID, Loc: loc, Viewer: v, Filters: f}, func(q *Q) error {
				got, err := q.EngagementTrend()
				if err != nil {
					return err
				}
				k, err := q.EngagementKPIs()
				if err != nil {
					return err
				}
				// The references: each line from its own gold, as before.
				a := q.bucketArgs(q.args())
				statements, err := q.trend(`SELECT g.day >= @from, `+bucketExpr("g.day")+`, sum(g.statements)::float8
					FROM `+q.gold("gold_course_activity_daily", courseActivityCols, "g")+` WHERE g.day BETWEEN @pfrom AND @to`+
					q.F.cond("g", dims{course: true}, a)+` GROUP BY 1, 2`, a)
				if err != nil {
					return err
				}
				var ms, msPrev float64
				if err := q.one(`SELECT coalesce(sum(g.duration_ms) FILTER (WHERE g.day >= @from), 0)::float8,
						coalesce(sum(g.duration_ms) FILTER (WHERE g.day < @from), 0)::float8
					FROM `+q.gold("gold_course_activity_daily", courseActivityCols, "g")+` WHERE g.day BETWEEN @pfrom AND @to`+
					q.F.cond("g", dims{course: true}, a), a, &ms, &msPrev); err != nil {
					return err
				}
				if fmt.Sprint(got.Statements) != fmt.Sprint(statements) {
					t.Errorf("%s: statements %v, the per-course gold gives %v", what, got.Statements, statements)
				}
				var sum, prev float64
				for _, p := range statements.Points {
					sum, prev = sum+p.Value, prev+p.Previous
				}
				if float64(k.Statements) != sum || float64(k.StatementsPrevious) != prev || k.Minutes != ms/60000 || k.MinutesPrevious != msPrev/60000 {
					t.Errorf("%s: tiles %d/%d statements, %v/%v minutes; the per-course gold gives %v/%v, %v/%v", what,
						k.Statements, k.StatementsPrevious, k.Minutes, k.MinutesPrevious, sum, prev, ms/60000, msPrev/60000)
				}
				if q.F.Course != 0 {
					if got.Active != nil {
						t.Errorf("%s: an active learners line with a course filter", what)
					}
					return nil
				}
				b := q.args()
				want, err := q.trend(`SELECT g.day >= @from, `+bucketExpr("g.day")+`, sum(g.active_learners)::float8 / least(@size::int, @days::int)
					FROM `+q.gold("gold_engagement_daily", engagementCols, "g")+` WHERE g.day BETWEEN @pfrom AND @to`+
					q.F.cond("g", dims{}, b)+` GROUP BY 1, 2`, b)
				if err != nil {
					return err
				}
				if got.Active == nil || fmt.Sprint(*got.Active) != fmt.Sprint(want) {
					t.Errorf("%s: active learners %v, want %v", what, got.Active, want)
				}
				for _, p := range want.Points {
					active += p.Value
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	if active == 0 {
		t.Fatal("no active learners in any line: the case checks too little")
	}
}

// fill puts the course condition ("AND …", or "") and the scope
// condition into one of the reference queries above.
func fill(sql, course, scope string) string {
	return strings.NewReplacer("/*course*/", course, "/*scope*/", scope).Replace(sql)
}
