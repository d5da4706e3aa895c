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

// activePeopleSQL lists the people in scope with a statement in the
// window, their latest first, each with how many there are in all.
const activePeopleSQL = `WITH recent AS (
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

// recentCompletionsSQL lists the latest completions in scope.
const recentCompletionsSQL = `SELECT l.id, coalesce(nullif(l.name, ''), l.email, l.employee_id), c.id, coalesce(nullif(c.title, ''), c.activity_iri),
		e.kind = 'pass', e.ts
	FROM learning_events e
	JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
	JOIN courses c ON c.tenant_id = e.tenant_id AND c.id = e.course_id
	WHERE e.tenant_id = @tenant AND e.kind IN ('complete', 'pass') AND NOT e.voided AND e.ts > @csince AND e.ts <= @until
		/*course*/ AND /*scope*/
	ORDER BY e.ts DESC, e.statement_id
	LIMIT @limit`

// ActivityNow reads the people active in the ActiveWindow before until
// and the completions of the CompletionsWindow before it, in the scope,
// with the department, location, course and category filters (not the
// range). Statements stamped later than until (clocks ahead) wait until
// their time comes.
func (q *Q) ActivityNow(until time.Time) (Activity, error) {
	out := Activity{Until: until, AsOf: q.AsOf, ActiveSince: until.Add(-ActiveWindow), CompletedSince: until.Add(-CompletionsWindow),
		People: []ActivePerson{}, Completions: []RecentCompletion{}}
	a := with(q.args(), "since", out.ActiveSince, "csince", out.CompletedSince, "until", until, "limit", activityListSize)
	course := q.F.courseCond("e", a)
	scope := q.Scope.learnerCond("l") + q.F.orgCond("l", a)

	rows, err := q.tx.Query(q.ctx, fill(activePeopleSQL, course, scope), a)
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

	rows, err = q.tx.Query(q.ctx, fill(recentCompletionsSQL, course, scope), a)
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

// fill puts the course condition ("AND …", or "") and the scope
// condition into one of the queries above.
func fill(sql, course, scope string) string {
	return strings.NewReplacer("/*course*/", course, "/*scope*/", scope).Replace(sql)
}
