package pipeline

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// keys are the silver rows a change touched: (learner, course) pairs whose
// enrolment and compliance may have changed and (learner, day) pairs whose
// daily activity may have.
type keys struct {
	learners, courses []int64  // pairs, same length
	dayLearners       []int64  // pairs with days
	days              []string // YYYY-MM-DD
	seenPair          map[[2]int64]bool
	seenDay           map[string]bool
}

func newKeys() *keys { return &keys{seenPair: map[[2]int64]bool{}, seenDay: map[string]bool{}} }

func (k *keys) addPair(learner, course int64) {
	if k.seenPair[[2]int64{learner, course}] {
		return
	}
	k.seenPair[[2]int64{learner, course}] = true
	k.learners = append(k.learners, learner)
	k.courses = append(k.courses, course)
}

func (k *keys) addDay(learner int64, day string) {
	id := fmt.Sprint(learner, "/", day)
	if k.seenDay[id] {
		return
	}
	k.seenDay[id] = true
	k.dayLearners = append(k.dayLearners, learner)
	k.days = append(k.days, day)
}

func (k *keys) empty() bool { return len(k.learners) == 0 && len(k.days) == 0 }

// Enrolments: a learner's state in a course is a function of their
// non-voided learning events, an imported history row and compliance
// assignments, recomputed whole for each touched key, so late, repeated,
// out-of-order and voided statements all give the same answer.
const enrollmentsDelete = `
DELETE FROM enrollments en
USING unnest($2::bigint[], $3::bigint[]) AS k(learner_id, course_id)
WHERE en.tenant_id = $1 AND en.learner_id = k.learner_id AND en.course_id = k.course_id`

const enrollmentsInsert = `
WITH k AS (
    SELECT DISTINCT * FROM unnest($2::bigint[], $3::bigint[]) AS k(learner_id, course_id)
), ev AS (
    SELECT e.learner_id, e.course_id,
        min(e.ts) AS first_ts,
        min(e.ts) FILTER (WHERE e.kind <> 'enroll') AS started,
        min(e.ts) FILTER (WHERE e.kind IN ('complete', 'pass')) AS completed,
        (array_agg(e.kind = 'pass' ORDER BY e.ts DESC, e.statement_id DESC) FILTER (WHERE e.kind IN ('pass', 'fail')))[1] AS passed,
        max(e.scaled) FILTER (WHERE e.kind IN ('pass', 'fail', 'score')) AS best,
        count(*) FILTER (WHERE e.kind IN ('pass', 'fail', 'score')) AS attempts,
        max(e.ts) AS last_ts
    FROM learning_events e JOIN k USING (learner_id, course_id)
    WHERE e.tenant_id = $1 AND NOT e.voided
    GROUP BY 1, 2
), ca AS (
    SELECT a.learner_id, r.course_id, min(a.assigned_on) AS assigned_on, min(a.due_on) AS due_on
    FROM compliance_assignments a
    JOIN compliance_requirements r ON r.tenant_id = a.tenant_id AND r.id = a.requirement_id
    JOIN k ON k.learner_id = a.learner_id AND k.course_id = r.course_id
    WHERE a.tenant_id = $1
    GROUP BY 1, 2
), merged AS (
    SELECT k.learner_id, k.course_id,
        least(ev.first_ts, i.enrolled_at, i.started_at, i.completed_at, ca.assigned_on::timestamptz) AS enrolled_at,
        least(ev.started, i.started_at, i.completed_at) AS started_at,
        least(ev.completed, i.completed_at) AS completed_at,
        coalesce(ev.passed, i.passed) AS passed,
        greatest(ev.best, i.scaled) AS best,
        coalesce(ev.attempts, 0) AS attempts,
        coalesce(i.due_at, ca.due_on) AS due_at,
        greatest(ev.last_ts, i.completed_at, i.started_at, i.enrolled_at, ca.assigned_on::timestamptz) AS last_ts
    FROM k
    LEFT JOIN ev USING (learner_id, course_id)
    LEFT JOIN enrollment_imports i ON i.tenant_id = $1 AND i.learner_id = k.learner_id AND i.course_id = k.course_id
    LEFT JOIN ca ON ca.learner_id = k.learner_id AND ca.course_id = k.course_id
)
INSERT INTO enrollments (tenant_id, course_id, learner_id, status, enrolled_at, started_at, completed_at,
    passed, best_scaled, attempts, due_at, last_activity_at)
SELECT $1, course_id, learner_id,
    CASE WHEN completed_at IS NOT NULL THEN 'completed' WHEN started_at IS NOT NULL THEN 'in_progress' ELSE 'enrolled' END,
    enrolled_at, started_at, completed_at, passed, best, attempts, due_at, last_ts
FROM merged WHERE enrolled_at IS NOT NULL`

// Compliance: each assignment's last completion (events or import) and the
// expiry it gives when the requirement recertifies.
const complianceCompletionUpdate = `
WITH k AS (
    SELECT DISTINCT * FROM unnest($2::bigint[], $3::bigint[]) AS k(learner_id, course_id)
), last AS (
    SELECT a.requirement_id, a.learner_id, r.recertify_months,
        greatest(
            (SELECT max(e.ts) FROM learning_events e
             WHERE e.tenant_id = $1 AND e.learner_id = a.learner_id AND e.course_id = r.course_id
               AND e.kind IN ('complete', 'pass') AND NOT e.voided),
            (SELECT i.completed_at FROM enrollment_imports i
             WHERE i.tenant_id = $1 AND i.learner_id = a.learner_id AND i.course_id = r.course_id)) AS completed_at
    FROM compliance_assignments a
    JOIN compliance_requirements r ON r.tenant_id = a.tenant_id AND r.id = a.requirement_id
    JOIN k ON k.learner_id = a.learner_id AND k.course_id = r.course_id
    WHERE a.tenant_id = $1
), due AS (
    SELECT requirement_id, learner_id, completed_at,
        CASE WHEN recertify_months > 0 AND completed_at IS NOT NULL
            THEN ((completed_at AT TIME ZONE $4)::date + make_interval(months => recertify_months))::date END AS expires_on
    FROM last
)
UPDATE compliance_assignments a SET completed_at = due.completed_at, expires_on = due.expires_on
FROM due
WHERE a.tenant_id = $1 AND a.requirement_id = due.requirement_id AND a.learner_id = due.learner_id
  AND (a.completed_at, a.expires_on) IS DISTINCT FROM (due.completed_at, due.expires_on)`

const dailyActivityDelete = `
DELETE FROM daily_activity d
USING unnest($2::bigint[], $3::text[]) AS k(learner_id, day)
WHERE d.tenant_id = $1 AND d.learner_id = k.learner_id AND d.day = k.day::date`

const dailyActivityInsert = `
INSERT INTO daily_activity (tenant_id, learner_id, day, statements, minutes)
SELECT $1, e.learner_id, e.day, count(*), coalesce(sum(e.duration_secs), 0) / 60.0
FROM learning_events e
JOIN (SELECT DISTINCT learner_id, day::date AS day FROM unnest($2::bigint[], $3::text[]) AS k(learner_id, day)) k
    ON k.learner_id = e.learner_id AND k.day = e.day
WHERE e.tenant_id = $1 AND NOT e.voided
GROUP BY e.learner_id, e.day`

// refreshSilver recomputes the enrolments, compliance completions and daily
// activity of the touched keys.
func refreshSilver(ctx context.Context, tx pgx.Tx, tenantID int64, tz string, k *keys) error {
	if len(k.learners) > 0 {
		if _, err := tx.Exec(ctx, complianceCompletionUpdate, tenantID, k.learners, k.courses, tz); err != nil {
			return fmt.Errorf("refresh compliance completions: %w", err)
		}
		if _, err := tx.Exec(ctx, enrollmentsDelete, tenantID, k.learners, k.courses); err != nil {
			return fmt.Errorf("refresh enrollments: %w", err)
		}
		if _, err := tx.Exec(ctx, enrollmentsInsert, tenantID, k.learners, k.courses); err != nil {
			return fmt.Errorf("refresh enrollments: %w", err)
		}
	}
	if len(k.days) > 0 {
		if _, err := tx.Exec(ctx, dailyActivityDelete, tenantID, k.dayLearners, k.days); err != nil {
			return fmt.Errorf("refresh daily activity: %w", err)
		}
		if _, err := tx.Exec(ctx, dailyActivityInsert, tenantID, k.dayLearners, k.days); err != nil {
			return fmt.Errorf("refresh daily activity: %w", err)
		}
	}
	return nil
}
