package analytics

import (
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// "Activity now" on the engagement dashboard: who is learning at the
// moment and who just finished something. Both read learning events by
// the statement's own timestamp (when the learning happened), not by when
// it was stored: a statement that arrives late counts as long as its time
// is still inside the window, and a backfill of last month's history does
// not make anyone look active now. Both walk an index on (tenant, ts)
// (migrations/00013_activity_now.sql) over the window only, never the
// tenant's history; the indexes are partial on ts > 2000-01-01, which the
// windows' lower bounds imply (dashboard transactions plan with their
// values, see Store.run).

const (
	// ActiveWindow is how far back "active now" looks.
	ActiveWindow = 15 * time.Minute
	// CompletionsWindow is how far back the latest completions look.
	CompletionsWindow = 24 * time.Hour
	// activityListSize is the length of each list.
	activityListSize = 10
)

// Activity is what is happening now in the scope: the people active in
// the window ending at Until, newest first, and the latest completions.
type Activity struct {
	// Until ends the windows; ActiveSince and CompletedSince start them.
	Until time.Time `json:"until"`
	// AsOf is when the newest statement it includes was stored (zero:
	// none yet): "Activity now" may lag the tenant's newest commit by a
	// few seconds under steady ingest, and says so.
	AsOf           time.Time          `json:"as_of"`
	ActiveSince    time.Time          `json:"active_since"`
	CompletedSince time.Time          `json:"completed_since"`
	Active         int64              `json:"active"` // people active in the window (People lists the newest)
	People         []ActivePerson     `json:"people"`
	Completions    []RecentCompletion `json:"completions"`
}

// ActivePerson is someone active in the window, with their latest
// statement's course and time.
type ActivePerson struct {
	LearnerID int64     `json:"learner_id"`
	Learner   string    `json:"learner"`
	CourseID  int64     `json:"course_id"`
	Course    string    `json:"course"`
	At        time.Time `json:"at"`
}

// RecentCompletion is a completed or passed statement.
type RecentCompletion struct {
	LearnerID int64     `json:"learner_id"`
	Learner   string    `json:"learner"`
	CourseID  int64     `json:"course_id"`
	Course    string    `json:"course"`
	Passed    bool      `json:"passed"` // a passed assessment rather than a completion
	At        time.Time `json:"at"`
}

// The tenant's part of "Activity now" reads learning events once for
// every viewer (RecentActivity): it depends on none of the filters, not
// even the course and category, because it keeps each person's latest
// statement per course, from which the latest of any set of courses
// follows. Each scope narrows it by its people, and each view by its
// department, location, course or category (ActivityIn), a join of a few
// thousand ids with the learners. Read per scope, the events of the
// window were the mix's top item under ingest (docs/PERFORMANCE.md,
// sixth pass); read per course or category filter, they were still the
// top statement under ingest (tenth pass).

// recentActiveSQL lists the tenant's people with a statement in the
// window, with their latest statement's time in each course.
const recentActiveSQL = `SELECT DISTINCT ON (e.learner_id, e.course_id) e.learner_id, e.course_id, e.ts
	FROM learning_events e
	WHERE e.tenant_id = @tenant AND NOT e.voided AND e.ts > @since AND e.ts <= @until
	ORDER BY e.learner_id, e.course_id, e.ts DESC`

// recentCompletionsSQL lists the tenant's completions of the window,
// newest first.
const recentCompletionsSQL = `SELECT e.learner_id, e.course_id, e.kind = 'pass', e.ts
	FROM learning_events e
	WHERE e.tenant_id = @tenant AND e.kind IN ('complete', 'pass') AND NOT e.voided AND e.ts > @csince AND e.ts <= @until
	ORDER BY e.ts DESC, e.statement_id`

// activePeopleSQL narrows the active people (arrays @al, @ac, @at, one
// row per person: their latest statement) to the scope: the latest
// first, each with how many there are in all.
const activePeopleSQL = `SELECT l.id, coalesce(nullif(l.name, ''), l.email, l.employee_id), c.id, coalesce(nullif(c.title, ''), c.activity_iri), r.ts,
		count(*) OVER ()
	FROM unnest(@al::bigint[], @ac::bigint[], @at::timestamptz[]) r(learner_id, course_id, ts)
	JOIN learners l ON l.tenant_id = @tenant AND l.id = r.learner_id
	JOIN courses c ON c.tenant_id = @tenant AND c.id = r.course_id
	WHERE /*scope*/
	ORDER BY r.ts DESC, l.id
	LIMIT @limit`

// completionsInSQL narrows the completions (arrays @cl, @cc, @cp, @ct,
// newest first) to the scope, keeping their order.
const completionsInSQL = `SELECT l.id, coalesce(nullif(l.name, ''), l.email, l.employee_id), c.id, coalesce(nullif(c.title, ''), c.activity_iri),
		r.passed, r.ts
	FROM unnest(@cl::bigint[], @cc::bigint[], @cp::boolean[], @ct::timestamptz[]) WITH ORDINALITY r(learner_id, course_id, passed, ts, n)
	JOIN learners l ON l.tenant_id = @tenant AND l.id = r.learner_id
	JOIN courses c ON c.tenant_id = @tenant AND c.id = r.course_id
	WHERE /*scope*/
	ORDER BY r.n
	LIMIT @limit`

// RecentActivity is "Activity now" of the whole tenant before it is
// narrowed to a scope and filters: everyone active in the ActiveWindow
// before Until with their latest statement, and with their latest in each
// course, and the completions of the CompletionsWindow, newest first.
type RecentActivity struct {
	Until   time.Time
	AsOf    time.Time // as Activity.AsOf
	Version int64     // the gold version of the snapshot it was read in
	// Active has each person's latest statement (of the greatest time,
	// and of those the lowest course id); InCourses each person's latest
	// in each course.
	Active, InCourses recentEvents
	Completions       recentEvents
}

// recentEvents are statements as parallel columns, ready to be sent as
// arrays.
type recentEvents struct {
	Learners, Courses []int64
	Passed            []bool // completions: a passed assessment rather than a completion
	At                []time.Time
}

// RecentActivity reads the tenant's recent activity at until (see the
// RecentActivity type); no filter changes it.
func (q *Q) RecentActivity(until time.Time) (RecentActivity, error) {
	out := RecentActivity{Until: until, AsOf: q.AsOf, Version: q.Version}
	a := with(q.args(), "since", until.Add(-ActiveWindow), "csince", until.Add(-CompletionsWindow), "until", until)
	rows, err := q.tx.Query(q.ctx, recentActiveSQL, a)
	if err != nil {
		return out, err
	}
	var learner, c int64
	var at time.Time
	var passed bool
	in := &out.InCourses
	_, err = pgx.ForEachRow(rows, []any{&learner, &c, &at}, func() error {
		in.Learners, in.Courses, in.At = append(in.Learners, learner), append(in.Courses, c), append(in.At, at)
		return nil
	})
	if err != nil {
		return out, err
	}
	out.Active = in.latestIn(nil)
	rows, err = q.tx.Query(q.ctx, recentCompletionsSQL, a)
	if err != nil {
		return out, err
	}
	_, err = pgx.ForEachRow(rows, []any{&learner, &c, &passed, &at}, func() error {
		r := &out.Completions
		r.Learners, r.Courses, r.Passed, r.At = append(r.Learners, learner), append(r.Courses, c), append(r.Passed, passed), append(r.At, at)
		return nil
	})
	return out, err
}

// ActivityIn narrows the tenant's recent activity to the scope and the
// department, location, course and category filters: the people active
// (in those courses) in the ActiveWindow before its Until and the
// completions of the CompletionsWindow, each list the newest
// activityListSize. Statements stamped later than Until
// (clocks ahead) wait until their time comes. Its AsOf is the recent
// activity's, which may be older than this snapshot's.
func (q *Q) ActivityIn(r RecentActivity) (Activity, error) {
	out := Activity{Until: r.Until, AsOf: r.AsOf, ActiveSince: r.Until.Add(-ActiveWindow), CompletedSince: r.Until.Add(-CompletionsWindow),
		People: []ActivePerson{}, Completions: []RecentCompletion{}}
	active, completions := r.Active, r.Completions
	keep, err := q.keptCourses()
	if err != nil {
		return out, err
	}
	if keep != nil {
		active, completions = r.InCourses.latestIn(keep), r.Completions.in(keep)
	}
	a := with(q.args(), "limit", activityListSize, "al", active.Learners, "ac", active.Courses, "at", active.At,
		"cl", completions.Learners, "cc", completions.Courses, "cp", completions.Passed, "ct", completions.At)
	scope := q.Scope.learnerCond("l") + q.F.orgCond("l", a)

	if len(active.Learners) > 0 {
		rows, err := q.tx.Query(q.ctx, inScope(activePeopleSQL, scope), a)
		if err != nil {
			return out, err
		}
		var p ActivePerson
		_, err = pgx.ForEachRow(rows, []any{&p.LearnerID, &p.Learner, &p.CourseID, &p.Course, &p.At, &out.Active}, func() error {
			p.At = p.At.In(q.Loc)
			out.People = append(out.People, p)
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	if len(completions.Learners) == 0 {
		return out, nil
	}
	rows, err := q.tx.Query(q.ctx, inScope(completionsInSQL, scope), a)
	if err != nil {
		return out, err
	}
	var c RecentCompletion
	_, err = pgx.ForEachRow(rows, []any{&c.LearnerID, &c.Learner, &c.CourseID, &c.Course, &c.Passed, &c.At}, func() error {
		c.At = c.At.In(q.Loc)
		out.Completions = append(out.Completions, c)
		return nil
	})
	return out, err
}

// latestIn is each person's latest statement of e (each person's latest
// per course, their rows together) in the courses kept (nil: all): of the
// greatest time, and of those the first course.
func (e recentEvents) latestIn(keep map[int64]bool) recentEvents {
	var out recentEvents
	for i, l := range e.Learners {
		if keep != nil && !keep[e.Courses[i]] {
			continue
		}
		last := len(out.Learners) - 1
		switch {
		case last < 0 || out.Learners[last] != l:
			out.Learners, out.Courses, out.At = append(out.Learners, l), append(out.Courses, e.Courses[i]), append(out.At, e.At[i])
		case e.At[i].After(out.At[last]):
			out.Courses[last], out.At[last] = e.Courses[i], e.At[i]
		}
	}
	return out
}

// in is the completions of e in the courses kept, in order.
func (e recentEvents) in(keep map[int64]bool) recentEvents {
	var out recentEvents
	for i, c := range e.Courses {
		if keep[c] {
			out.Learners, out.Courses, out.Passed, out.At = append(out.Learners, e.Learners[i]), append(out.Courses, c),
				append(out.Passed, e.Passed[i]), append(out.At, e.At[i])
		}
	}
	return out
}

// keptCourses are the courses the course and category filters keep (nil:
// every course).
func (q *Q) keptCourses() (map[int64]bool, error) {
	switch {
	case q.F.Course == 0 && q.F.Category == "":
		return nil, nil
	case q.F.Category == "":
		return map[int64]bool{q.F.Course: true}, nil
	}
	a := with(q.args(), "course", q.F.Course, "category", q.F.Category)
	rows, err := q.tx.Query(q.ctx, `SELECT c.id FROM courses c WHERE c.tenant_id = @tenant
		AND (@course = 0 OR c.id = @course) AND (@category = '' OR c.category = @category)`, a)
	if err != nil {
		return nil, err
	}
	keep := map[int64]bool{}
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
		keep[id] = true
		return nil
	})
	return keep, err
}

// inScope puts the scope condition into one of the queries above.
func inScope(sql, scope string) string { return strings.Replace(sql, "/*scope*/", scope, 1) }
