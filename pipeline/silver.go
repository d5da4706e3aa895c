package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// keys are what a change touched: the (learner, course) pairs whose
// enrolment and compliance may have changed and the learning events that
// appeared (+1) or were voided (-1). Refreshing silver also collects the
// old and new versions of the rows it changed, which become gold deltas.
type keys struct {
	learners, courses []int64 // pairs, same length
	seenPair          map[[2]int64]bool
	// recompute holds the pairs whose enrolment must be recomputed from
	// all its sources (a void, an import); the others merge the new events.
	recompute map[[2]int64]bool

	events      []signed[eventRow]
	enrollments []signed[enrollmentRow]
	activity    []signed[activityRow]
	assignments []signed[assignmentRow]

	// cached, when set, holds learners' groups read by earlier
	// transactions (groupcache.go).
	cached *cachedGroups
}

// signed is a silver row that enters (+1) or leaves (-1) the numbers.
type signed[T any] struct {
	row  T
	sign int
}

// eventRow is what daily activity and gold_assessment need of a learning
// event.
type eventRow struct {
	learner, course int64
	day, kind       string
	scaled          *float64
	success         *bool
	durationMs      int64
	ts              time.Time
	statementID     string
	// interaction and response are the question answered and the answer
	// given ("" for none), for gold_question_daily.
	interaction, response string
}

// eventCols is what eventRow.dest scans, in its order, of learning_events.
const eventCols = "learner_id, course_id, day::text, kind, scaled, success, duration_ms, ts, coalesce(interaction_id, ''), coalesce(response, '')"

// dest is the scan destinations of eventCols, followed by more.
func (ev *eventRow) dest(more ...any) []any {
	return append([]any{&ev.learner, &ev.course, &ev.day, &ev.kind, &ev.scaled, &ev.success, &ev.durationMs, &ev.ts,
		&ev.interaction, &ev.response}, more...)
}

// enrollmentRow is what gold_course_completion, gold_completion_due and
// gold_attempts_to_pass need of an enrolment.
type enrollmentRow struct {
	learner, course   int64
	status            string
	passed            *bool
	secondsToComplete *int64
	dueOn             *string
	completedAt       *time.Time
	attemptsToPass    *int32
}

// dest is the scan destinations of enrollmentColumns.
func (e *enrollmentRow) dest() []any {
	return []any{&e.learner, &e.course, &e.status, &e.passed, &e.secondsToComplete, &e.dueOn, &e.completedAt, &e.attemptsToPass}
}

// activityRow is a daily_activity row.
type activityRow struct {
	learner    int64
	day        string
	statements int64
	durationMs int64
}

// assignmentRow is what gold_compliance needs of a compliance assignment.
type assignmentRow struct {
	requirement, learner int64
	dueOn, expiresOn     string // expiresOn "infinity" when it never expires
	completed            bool
}

// statusDate is the date the assignment's status turns on: its expiry
// once completed, else its due date (gold_compliance.on_date).
func (a assignmentRow) statusDate() string {
	if a.completed {
		return a.expiresOn
	}
	return a.dueOn
}

func newKeys() *keys { return &keys{seenPair: map[[2]int64]bool{}, recompute: map[[2]int64]bool{}} }

// addRecompute adds a pair whose enrolment must be recomputed.
func (k *keys) addRecompute(learner, course int64) {
	k.addPair(learner, course)
	k.recompute[[2]int64{learner, course}] = true
}

func (k *keys) addPair(learner, course int64) {
	if k.seenPair[[2]int64{learner, course}] {
		return
	}
	k.seenPair[[2]int64{learner, course}] = true
	k.learners = append(k.learners, learner)
	k.courses = append(k.courses, course)
}

func (k *keys) empty() bool { return len(k.learners) == 0 && len(k.events) == 0 }

// touchedPairs is the (learner, course) pairs of $2, $3 as rows.
const touchedPairs = `SELECT DISTINCT * FROM unnest($2::bigint[], $3::bigint[]) AS k(learner_id, course_id)`

// enrollmentColumns are what enrollmentRow reads (from a row named en).
const enrollmentColumns = `en.learner_id, en.course_id, en.status, en.passed,
    round(extract(epoch FROM en.completed_at - en.enrolled_at))::bigint, en.due_at::text, en.completed_at, en.attempts_to_pass`

// Enrolments: a learner's state in a course is a function of their
// non-voided learning events, an imported history row and compliance
// assignments, recomputed whole for each touched key, so late, repeated,
// out-of-order and voided statements all give the same answer.
// enrollmentsBefore reads the touched enrolments before they are
// recomputed (one index lookup per key).
const enrollmentsBefore = `
SELECT ` + enrollmentColumns + `
FROM (` + touchedPairs + `) k
CROSS JOIN LATERAL (SELECT * FROM enrollments e
    WHERE e.tenant_id = $1 AND e.course_id = k.course_id AND e.learner_id = k.learner_id
    OFFSET 0 -- keeps the lookup per key: not flattened into a join the planner may turn around
) en`

// enrollmentsGone deletes touched enrolments that no longer have anything
// behind them (every statement voided).
const enrollmentsGone = `
DELETE FROM enrollments en
WHERE en.tenant_id = $1 AND en.course_id = $2 AND en.learner_id = $3`

var enrollmentsInsert = `
WITH k AS (` + touchedPairs + `), ev AS (
    -- One index lookup per touched key, whatever the table's statistics say.
    SELECT k.learner_id, k.course_id, x.*
    FROM k CROSS JOIN LATERAL (
        SELECT ` + enrollmentEventAggregates + `
        FROM learning_events e
        WHERE e.tenant_id = $1 AND e.learner_id = k.learner_id AND e.course_id = k.course_id AND NOT e.voided
    ) x
), ca AS (
    SELECT a.learner_id, r.course_id, min(a.assigned_on) AS assigned_on, min(a.due_on) AS due_on
    FROM compliance_assignments a
    JOIN compliance_requirements r ON r.tenant_id = a.tenant_id AND r.id = a.requirement_id
    JOIN k ON k.learner_id = a.learner_id AND k.course_id = r.course_id
    WHERE a.tenant_id = $1
    GROUP BY 1, 2
), merged AS (
    SELECT k.learner_id, k.course_id, ` + enrollmentMerged + `
    FROM k
    LEFT JOIN ev USING (learner_id, course_id)
    LEFT JOIN LATERAL (
        SELECT * FROM enrollment_imports i
        WHERE i.tenant_id = $1 AND i.course_id = k.course_id AND i.learner_id = k.learner_id
        OFFSET 0 -- one lookup per key, never a scan of the tenant's imports
    ) i ON true
    LEFT JOIN ca ON ca.learner_id = k.learner_id AND ca.course_id = k.course_id
    LEFT JOIN LATERAL (` + attemptsUpTo("k", "ev.passed_at") + ` AND ev.passed) ap ON true
)
` + enrollmentsFromMerged + `
ON CONFLICT (tenant_id, course_id, learner_id) DO UPDATE SET status = excluded.status, enrolled_at = excluded.enrolled_at,
    started_at = excluded.started_at, completed_at = excluded.completed_at, passed = excluded.passed,
    passed_at = excluded.passed_at, passed_statement = excluded.passed_statement,
    best_scaled = excluded.best_scaled, attempts = excluded.attempts, due_at = excluded.due_at,
    last_activity_at = excluded.last_activity_at, attempts_to_pass = excluded.attempts_to_pass
RETURNING ` + enrollmentColumns

// enrollmentsMerge folds a batch's new learning events, aggregated per key
// ($2–$12, see mergeAggregates), into the enrolments of their keys:
// earliest dates, the latest pass/fail by (time, statement id), best
// score, attempts added. A key without an enrolment starts from its import
// row and compliance assignment, exactly as enrollmentsInsert would compute
// it.
//
// Attempts to pass are counted again (attemptsUpTo, the batch's events
// already stored) only when they may have changed: a newer pass or fail
// decides (counted up to it in the inserted row, excluded), or the batch
// brings attempts at or before the kept pass (its earliest event other
// than an enrolment is, in started_at), or the row has no count yet (the
// previous release wrote it). Attempts after the pass, the usual case,
// keep the count.
var enrollmentsMerge = `
WITH b AS (
    SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[],
        $7::bool[], $8::timestamptz[], $9::text[], $10::float8[], $11::int[], $12::timestamptz[])
        AS b(learner_id, course_id, first_ts, started, completed, passed, passed_at, passed_statement, best, attempts, last_ts)
), n AS (
    SELECT b.*, i.enrolled_at AS i_enrolled, i.started_at AS i_started, i.completed_at AS i_completed,
        i.passed AS i_passed, i.scaled AS i_scaled, i.due_at AS i_due, ca.assigned_on, ca.due_on
    FROM b
    LEFT JOIN LATERAL (
        SELECT * FROM enrollment_imports i
        WHERE i.tenant_id = $1 AND i.course_id = b.course_id AND i.learner_id = b.learner_id
        OFFSET 0 -- one lookup per key, never a scan of the tenant's imports
    ) i ON true
    LEFT JOIN LATERAL (
        SELECT min(a.assigned_on) AS assigned_on, min(a.due_on) AS due_on
        FROM compliance_requirements r
        JOIN compliance_assignments a ON a.tenant_id = r.tenant_id AND a.requirement_id = r.id AND a.learner_id = b.learner_id
        WHERE r.tenant_id = $1 AND r.course_id = b.course_id
    ) ca ON true
)
INSERT INTO enrollments AS en (tenant_id, course_id, learner_id, status, enrolled_at, started_at, completed_at,
    passed, passed_at, passed_statement, best_scaled, attempts, due_at, last_activity_at, attempts_to_pass)
SELECT $1, course_id, learner_id,
    CASE WHEN least(completed, i_completed) IS NOT NULL THEN 'completed'
         WHEN least(started, i_started, i_completed) IS NOT NULL THEN 'in_progress' ELSE 'enrolled' END,
    least(first_ts, i_enrolled, i_started, i_completed, assigned_on::timestamptz),
    least(started, i_started, i_completed),
    least(completed, i_completed),
    coalesce(passed, i_passed), passed_at, passed_statement::uuid,
    greatest(best, i_scaled), attempts, coalesce(i_due, due_on),
    greatest(last_ts, i_completed, i_started, i_enrolled, assigned_on::timestamptz),
    CASE WHEN passed THEN (` + attemptsUpTo("n", "n.passed_at") + `) END
FROM n
ON CONFLICT (tenant_id, course_id, learner_id) DO UPDATE SET
    enrolled_at = least(en.enrolled_at, excluded.enrolled_at),
    started_at = least(en.started_at, excluded.started_at),
    completed_at = least(en.completed_at, excluded.completed_at),
    status = CASE WHEN least(en.completed_at, excluded.completed_at) IS NOT NULL THEN 'completed'
                  WHEN least(en.started_at, excluded.started_at) IS NOT NULL THEN 'in_progress' ELSE 'enrolled' END,
    passed = CASE WHEN excluded.passed_at IS NOT NULL AND (en.passed_at IS NULL
                  OR (excluded.passed_at, excluded.passed_statement) > (en.passed_at, en.passed_statement))
             THEN excluded.passed ELSE en.passed END,
    passed_statement = CASE WHEN excluded.passed_at IS NOT NULL AND (en.passed_at IS NULL
                  OR (excluded.passed_at, excluded.passed_statement) > (en.passed_at, en.passed_statement))
             THEN excluded.passed_statement ELSE en.passed_statement END,
    passed_at = greatest(en.passed_at, excluded.passed_at),
    best_scaled = greatest(en.best_scaled, excluded.best_scaled),
    attempts = en.attempts + excluded.attempts,
    due_at = excluded.due_at, -- a completion rolls a recertifying requirement's due date forward
    last_activity_at = greatest(en.last_activity_at, excluded.last_activity_at),
    attempts_to_pass = CASE
        WHEN excluded.passed_at IS NOT NULL AND (en.passed_at IS NULL
            OR (excluded.passed_at, excluded.passed_statement) > (en.passed_at, en.passed_statement)) THEN excluded.attempts_to_pass
        WHEN en.passed IS NOT TRUE OR en.passed_at IS NULL THEN NULL
        WHEN en.attempts_to_pass IS NOT NULL AND (excluded.attempts = 0 OR excluded.started_at > en.passed_at) THEN en.attempts_to_pass
        ELSE (` + attemptsUpTo("en", "en.passed_at") + `) END
RETURNING ` + enrollmentColumns

// attemptsUpTo is a query counting the attempts (pass, fail and score
// events, not voided) of the learner and course of the row named key up
// to and including the time upTo: an enrolment's attempts to pass, with
// upTo its passed_at. One range of learning_events_attempts.
func attemptsUpTo(key, upTo string) string {
	return `SELECT count(*) AS n FROM learning_events e
        WHERE e.tenant_id = $1 AND e.course_id = ` + key + `.course_id AND e.learner_id = ` + key + `.learner_id
          AND e.kind IN ('pass', 'fail', 'score') AND NOT e.voided AND e.ts <= ` + upTo
}

// mergeAggregates are a batch's new events per (learner, course), as
// enrollmentsMerge takes them: the same aggregates enrollmentsInsert
// computes from all of a key's events.
type mergeAggregates struct {
	learners, courses  []int64
	firstTS            []time.Time
	started, completed []*time.Time
	passed             []*bool
	passedAt           []*time.Time
	passedStatement    []*string
	best               []*float64
	attempts           []int32
	lastTS             []time.Time
	index              map[[2]int64]int
}

func (m *mergeAggregates) add(e eventRow) {
	key := [2]int64{e.learner, e.course}
	j, ok := m.index[key]
	if !ok {
		j = len(m.learners)
		m.index[key] = j
		m.learners, m.courses = append(m.learners, e.learner), append(m.courses, e.course)
		m.firstTS, m.lastTS = append(m.firstTS, e.ts), append(m.lastTS, e.ts)
		m.started, m.completed, m.passed = append(m.started, nil), append(m.completed, nil), append(m.passed, nil)
		m.passedAt, m.passedStatement = append(m.passedAt, nil), append(m.passedStatement, nil)
		m.best, m.attempts = append(m.best, nil), append(m.attempts, 0)
	}
	ts := e.ts
	earliest := func(p **time.Time) {
		if *p == nil || ts.Before(**p) {
			*p = &ts
		}
	}
	if ts.Before(m.firstTS[j]) {
		m.firstTS[j] = ts
	}
	if ts.After(m.lastTS[j]) {
		m.lastTS[j] = ts
	}
	if e.kind != "enroll" {
		earliest(&m.started[j])
	}
	if e.kind == "complete" || e.kind == "pass" {
		earliest(&m.completed[j])
	}
	if e.kind == "pass" || e.kind == "fail" {
		// The latest by (time, statement id); canonical ids sort as uuids do.
		if at := m.passedAt[j]; at == nil || ts.After(*at) || (ts.Equal(*at) && e.statementID > *m.passedStatement[j]) {
			passed, sid := e.kind == "pass", e.statementID
			m.passed[j], m.passedAt[j], m.passedStatement[j] = &passed, &ts, &sid
		}
	}
	if e.kind == "pass" || e.kind == "fail" || e.kind == "score" {
		m.attempts[j]++
		if e.scaled != nil && (m.best[j] == nil || *e.scaled > *m.best[j]) {
			m.best[j] = e.scaled
		}
	}
}

// Compliance: each touched assignment's last completion (events or import),
// the expiry it gives when the requirement recertifies, and the due date
// dueRule makes of them (rolled forward to the expiry). The FROM list
// reads the rows before the update, so RETURNING gives both versions.
const complianceCompletionUpdate = `
WITH k AS (` + touchedPairs + `), last AS (
    SELECT a.requirement_id, a.learner_id, r.recertify_months, a.assigned_on, r.due_from, r.due_days, r.in_force_from, l.hire_date,
        a.due_on AS old_due, a.completed_at AS old_completed, a.expires_on AS old_expires,
        greatest(
            (SELECT max(e.ts) FROM learning_events e
             WHERE e.tenant_id = $1 AND e.learner_id = a.learner_id AND e.course_id = r.course_id
               AND e.kind IN ('complete', 'pass') AND NOT e.voided),
            (SELECT i.completed_at FROM enrollment_imports i
             WHERE i.tenant_id = $1 AND i.learner_id = a.learner_id AND i.course_id = r.course_id)) AS completed_at
    FROM k
    JOIN compliance_requirements r ON r.tenant_id = $1 AND r.course_id = k.course_id
    JOIN compliance_assignments a ON a.tenant_id = $1 AND a.requirement_id = r.id AND a.learner_id = k.learner_id
    JOIN learners l ON l.tenant_id = $1 AND l.id = a.learner_id
), expiry AS (
    SELECT *, CASE WHEN recertify_months > 0 AND completed_at IS NOT NULL
            THEN ((completed_at AT TIME ZONE $4)::date + make_interval(months => recertify_months))::date END AS expires_on
    FROM last
), due AS (
    SELECT *, coalesce(expires_on, ` + firstDue + `) AS due_on
    FROM expiry
)
UPDATE compliance_assignments a SET completed_at = due.completed_at, expires_on = due.expires_on, due_on = due.due_on
FROM due
WHERE a.tenant_id = $1 AND a.requirement_id = due.requirement_id AND a.learner_id = due.learner_id
  AND (a.completed_at, a.expires_on, a.due_on) IS DISTINCT FROM (due.completed_at, due.expires_on, due.due_on)
RETURNING a.requirement_id, a.learner_id, due.old_due::text, a.due_on::text,
    coalesce(due.old_expires, 'infinity')::text, due.old_completed IS NOT NULL,
    coalesce(a.expires_on, 'infinity')::text, a.completed_at IS NOT NULL`

// dailyActivityAdd adds the batch's per-(learner, day) changes and
// returns each touched row as it is now, and whether it is new.
const dailyActivityAdd = `
INSERT INTO daily_activity AS d (tenant_id, learner_id, day, statements, duration_ms)
SELECT $1, * FROM unnest($2::bigint[], $3::date[], $4::bigint[], $5::bigint[])
ON CONFLICT (tenant_id, learner_id, day) DO UPDATE
    SET statements = d.statements + excluded.statements, duration_ms = d.duration_ms + excluded.duration_ms
RETURNING d.learner_id, d.day::text, d.statements, d.duration_ms, d.xmax = 0`

const dailyActivityGone = `
DELETE FROM daily_activity WHERE tenant_id = $1 AND learner_id = $2 AND day = $3::date AND statements = 0`

// refreshSilver recomputes the enrolments, compliance completions and daily
// activity of the touched keys, recording their old and new rows in k. Its
// statements are independent of each other's results (an enrolment's old
// row is read before the statement that changes it), so they go out in one
// round trip; removals of rows left empty follow in a second, when needed.
func refreshSilver(ctx context.Context, tx pgx.Tx, tenantID int64, tz string, k *keys) error {
	var b, gone pgx.Batch
	var queueGoneEnrollments func(*pgx.Batch)
	if len(k.learners) > 0 {
		var old, cur assignmentRow
		for start := 0; start < len(k.learners); start += recomputeChunk { // see recomputeChunk
			end := min(start+recomputeChunk, len(k.learners))
			b.Queue(complianceCompletionUpdate, tenantID, k.learners[start:end], k.courses[start:end], tz).Query(func(rows pgx.Rows) error {
				_, err := pgx.ForEachRow(rows, []any{&cur.requirement, &cur.learner, &old.dueOn, &cur.dueOn, &old.expiresOn, &old.completed,
					&cur.expiresOn, &cur.completed}, func() error {
					old.requirement, old.learner = cur.requirement, cur.learner
					k.assignments = append(k.assignments, signed[assignmentRow]{old, -1}, signed[assignmentRow]{cur, +1})
					return nil
				})
				if err != nil {
					return fmt.Errorf("refresh compliance completions: %w", err)
				}
				return nil
			})
		}
		queueGoneEnrollments = queueEnrollments(&b, tenantID, k)
	}
	queueDailyActivity(&b, &gone, tenantID, k)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return err
	}
	if queueGoneEnrollments != nil {
		queueGoneEnrollments(&gone)
	}
	if gone.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, &gone).Close(); err != nil {
		return fmt.Errorf("remove empty silver rows: %w", err)
	}
	return nil
}

// queueDailyActivity queues the events a batch added (+) or voided (-) to
// daily_activity on b, recording each touched row's old and new version,
// and the removal of rows left without statements on gone.
func queueDailyActivity(b, gone *pgx.Batch, tenantID int64, k *keys) {
	type dayKey struct {
		learner int64
		day     string
	}
	sums := map[dayKey]*activityRow{}
	var order []dayKey
	for _, e := range k.events {
		key := dayKey{e.row.learner, e.row.day}
		a, ok := sums[key]
		if !ok {
			a = &activityRow{learner: e.row.learner, day: e.row.day}
			sums[key] = a
			order = append(order, key)
		}
		a.statements += int64(e.sign)
		a.durationMs += int64(e.sign) * e.row.durationMs
	}
	var learners, statements, durations []int64
	var days []string
	for _, key := range order {
		if a := sums[key]; a.statements != 0 || a.durationMs != 0 {
			learners, days = append(learners, a.learner), append(days, a.day)
			statements, durations = append(statements, a.statements), append(durations, a.durationMs)
		}
	}
	if len(learners) == 0 {
		return
	}
	b.Queue(dailyActivityAdd, tenantID, learners, days, statements, durations).Query(func(rows pgx.Rows) error {
		var now activityRow
		var inserted bool
		_, err := pgx.ForEachRow(rows, []any{&now.learner, &now.day, &now.statements, &now.durationMs, &inserted}, func() error {
			delta := sums[dayKey{now.learner, now.day}]
			if !inserted {
				old := activityRow{learner: now.learner, day: now.day,
					statements: now.statements - delta.statements, durationMs: now.durationMs - delta.durationMs}
				k.activity = append(k.activity, signed[activityRow]{old, -1})
			}
			if now.statements > 0 {
				k.activity = append(k.activity, signed[activityRow]{now, +1})
			} else {
				gone.Queue(dailyActivityGone, tenantID, now.learner, now.day)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("refresh daily activity: %w", err)
		}
		return nil
	})
}

// recomputeChunk is the most keys one statement of a silver refresh
// takes. The planner sizes the keys at a guess, and a join it plans as
// nested loops is quadratic in them — harmless for a batch, hours for a
// tenant-wide refresh of 400,000 keys.
const recomputeChunk = 2000

// queueEnrollments queues on b what brings the touched enrolments up to
// date — merging new events, or recomputing the pairs in k.recompute —
// recording their old and new rows. Once b has run, the function it returns
// queues the removal of recomputed enrolments that no longer have anything
// behind them.
func queueEnrollments(b *pgx.Batch, tenantID int64, k *keys) func(gone *pgx.Batch) {
	var recL, recC []int64
	for i := range k.learners {
		if k.recompute[[2]int64{k.learners[i], k.courses[i]}] {
			recL, recC = append(recL, k.learners[i]), append(recC, k.courses[i])
		}
	}
	merge := mergeAggregates{index: map[[2]int64]int{}}
	for _, e := range k.events {
		if e.sign > 0 && !k.recompute[[2]int64{e.row.learner, e.row.course}] {
			merge.add(e.row)
		}
	}
	// A recomputed key whose old row is followed by no new one is gone.
	wasGone := map[[2]int64]bool{}
	collect := func(sign int, sql string, args ...any) {
		b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
			var e enrollmentRow
			_, err := pgx.ForEachRow(rows, e.dest(), func() error {
				k.enrollments = append(k.enrollments, signed[enrollmentRow]{e, sign})
				if key := [2]int64{e.learner, e.course}; k.recompute[key] {
					wasGone[key] = sign < 0
				}
				e = enrollmentRow{} // the next scan must not write through this row's pointers
				return nil
			})
			if err != nil {
				return fmt.Errorf("refresh enrollments: %w", err)
			}
			return nil
		})
	}
	collect(-1, enrollmentsBefore, tenantID, k.learners, k.courses)
	for start := 0; start < len(recL); start += recomputeChunk {
		end := min(start+recomputeChunk, len(recL))
		collect(+1, enrollmentsInsert, tenantID, recL[start:end], recC[start:end])
	}
	if len(merge.learners) > 0 {
		collect(+1, enrollmentsMerge, tenantID, merge.learners, merge.courses, merge.firstTS, merge.started, merge.completed,
			merge.passed, merge.passedAt, merge.passedStatement, merge.best, merge.attempts, merge.lastTS)
	}
	return func(gone *pgx.Batch) {
		for key, g := range wasGone {
			if g {
				gone.Queue(enrollmentsGone, tenantID, key[1], key[0])
			}
		}
	}
}
