package analytics

import (
	"github.com/jackc/pgx/v5"
)

// AssessmentKPIs count assessment attempts (pass, fail and scored
// statements) in the range and the previous period.
type AssessmentKPIs struct {
	Attempts         int64   `json:"attempts"`
	AttemptsPrevious int64   `json:"attempts_previous"`
	Passed           int64   `json:"passed"`
	Failed           int64   `json:"failed"`
	PassRate         float64 `json:"pass_rate"` // passed of passed + failed, %
	PassRatePrevious float64 `json:"pass_rate_previous"`
}

const assessmentCols = "course_id, manager_id, department, location, bucket, day, attempts, passed, failed"

const questionCols = "course_id, manager_id, department, location, interaction_id, response, day, answers, correct, judged"

// AssessmentKPIs computes the tiles.
func (q *Q) AssessmentKPIs() (AssessmentKPIs, error) {
	var k AssessmentKPIs
	p := q.F.Previous()
	a := with(q.args(), "from", q.F.From, "to", q.F.To, "pfrom", p.From)
	var pp, pf int64
	err := q.one(`SELECT coalesce(sum(attempts) FILTER (WHERE g.day >= @from), 0), coalesce(sum(attempts) FILTER (WHERE g.day < @from), 0),
			coalesce(sum(passed) FILTER (WHERE g.day >= @from), 0), coalesce(sum(failed) FILTER (WHERE g.day >= @from), 0),
			coalesce(sum(passed) FILTER (WHERE g.day < @from), 0), coalesce(sum(failed) FILTER (WHERE g.day < @from), 0)
		FROM `+q.gold("gold_assessment", assessmentCols, "g")+` WHERE g.day BETWEEN @pfrom AND @to`+
		q.F.cond("g", dims{course: true}, a), a, &k.Attempts, &k.AttemptsPrevious, &k.Passed, &k.Failed, &pp, &pf)
	if err != nil {
		return k, err
	}
	k.PassRate, k.PassRatePrevious = pct(k.Passed, k.Passed+k.Failed), pct(pp, pp+pf)
	return k, err
}

const attemptsToPassCols = "course_id, manager_id, department, location, attempts, people"

// ScoreBins are attempts by tenth of the scaled score (0–9), plus those
// without a score.
type ScoreBins struct {
	Bins     [10]int64 `json:"bins"`
	Unscored int64     `json:"unscored"`
}

// AssessmentScores computes the score distribution in the range.
func (q *Q) AssessmentScores() (ScoreBins, error) {
	var s ScoreBins
	a := q.args()
	rows, err := q.tx.Query(q.ctx, `SELECT g.bucket, sum(g.attempts)::bigint FROM `+q.gold("gold_assessment", assessmentCols, "g")+
		` WHERE true`+q.F.cond("g", dims{course: true, day: "day"}, a)+` GROUP BY 1`, a)
	if err != nil {
		return s, err
	}
	var b int
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&b, &n}, func() error {
		if b >= 0 && b < 10 {
			s.Bins[b] = n
		} else {
			s.Unscored = n
		}
		return nil
	})
	return s, err
}

// AttemptsToPass is a course's passed enrolments (all time, in scope) by
// the attempts they took, counted up to and including the pass.
type AttemptsToPass struct {
	Bins    [5]int64 `json:"bins"`    // 1, 2, 3, 4, 5 or more
	Average float64  `json:"average"` // NaN (null) when nobody passed
}

// CourseAttemptsToPass computes a course's attempts to pass from
// gold_attempts_to_pass (migration 00035: passed enrolments by their
// attempts up to the pass, which silver keeps per enrolment). The whole
// organisation reads the course's few rows of its roll-up; a filter or a
// manager's scope its rows per learner group. Joining each passed
// enrolment to its attempts took 252 ms for a course of the
// 10M-statement tenant (docs/PERFORMANCE.md, "10M statements: the
// assessment course page").
func (q *Q) CourseAttemptsToPass(course int64) (AttemptsToPass, error) {
	out := AttemptsToPass{Average: nan}
	a := with(q.args(), "course_id", course)
	rows, err := q.tx.Query(q.ctx, `SELECT least(5, greatest(1, g.attempts)), sum(g.people)::bigint, sum(g.people * g.attempts::bigint)::bigint
		FROM `+q.gold("gold_attempts_to_pass", attemptsToPassCols, "g")+` WHERE g.course_id = @course_id`+
		q.F.cond("g", dims{course: true}, a)+` GROUP BY 1`, a)
	if err != nil {
		return out, err
	}
	var b int
	var n, sum, people, attempts int64
	_, err = pgx.ForEachRow(rows, []any{&b, &n, &sum}, func() error {
		out.Bins[b-1] = n
		people, attempts = people+n, attempts+sum
		return nil
	})
	if people > 0 {
		out.Average = float64(attempts) / float64(people)
	}
	return out, err
}

// indexedAttempts serves the attempts table's default order (newest
// first, then by learner) along learning_events_recent_attempts (migration
// 00033): the page is the first entries of the course's range that are in
// the range of days and filters, the total the attempts gold_assessment
// counts for the same course, days and filters (the same events: not
// voided, of a learner). Only for the whole organisation: a manager's few
// people would be looked for along every attempt of the course.
func (q *Q) indexedAttempts(t *tableQuery) {
	a := t.args
	t.indexed = &indexedPage{
		sql: `SELECT l.id AS learner_id, coalesce(nullif(l.name, ''), l.email, l.employee_id) AS learner, l.department, e.ts AS at,
				round((e.scaled * 100)::numeric, 1)::float8 AS score,
				CASE WHEN ` + attemptPassed + ` THEN 'passed' WHEN ` + attemptFailed + ` THEN 'failed' ELSE 'scored' END AS result
			FROM ` + q.courseEvents("'pass', 'fail', 'score'", a) + `
			ORDER BY e.ts DESC, e.learner_id LIMIT @limit OFFSET @offset`,
		total: func() (int, error) {
			var n int64
			err := q.one(`SELECT coalesce(sum(g.attempts), 0)::bigint FROM `+q.gold("gold_assessment", assessmentCols, "g")+
				` WHERE g.course_id = @course_id`+q.F.cond("g", dims{day: "day"}, a), a, &n)
			return int(n), err
		},
	}
}

// The result of an attempt e, as gold_assessment counts it.
const (
	attemptPassed = "e.kind = 'pass' OR (e.kind = 'score' AND e.success)"
	attemptFailed = "e.kind = 'fail' OR (e.kind = 'score' AND NOT e.success)"
)

// courseEvents is the learning events of the given kinds of @course_id in
// scope and range (alias e, learner l).
func (q *Q) courseEvents(kinds string, a pgx.NamedArgs) string {
	return `learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
		WHERE e.tenant_id = @tenant AND e.course_id = @course_id AND NOT e.voided AND e.kind IN (` + kinds + `)
		  AND e.day BETWEEN @from AND @to AND ` + q.Scope.learnerCond("l") + q.F.orgCond("l", a)
}

func init() {
	tables["assessments/courses"] = func(q *Q, _ Params) (tableQuery, error) {
		a := q.args()
		return tableQuery{
			id: "assessments/courses",
			columns: []Column{{Key: "course_id", Kind: ID},
				{Key: "course"},
				{Key: "category"},
				{Key: "attempts", Kind: Int}, {Key: "passed", Kind: Int},
				{Key: "failed", Kind: Int}, {Key: "pass_rate", Kind: Percent},
				{Key: "scored", Kind: Int}, {Key: "median_score", Kind: Text}},
			sql: `SELECT c.id AS course_id, coalesce(nullif(c.title, ''), c.activity_iri) AS course, c.category,
				x.attempts, x.passed, x.failed, round(100.0 * x.passed / nullif(x.passed + x.failed, 0), 1)::float8 AS pass_rate,
				x.scored, CASE WHEN x.median IS NULL THEN '' ELSE (x.median * 10) || '–' || (x.median * 10 + 10) || '%' END AS median_score
				FROM (SELECT course_id, sum(attempts)::bigint AS attempts, sum(passed)::bigint AS passed, sum(failed)::bigint AS failed,
					sum(attempts) FILTER (WHERE bucket < 10)::bigint AS scored,
					min(bucket) FILTER (WHERE bucket < 10 AND cum * 2 >= tot) AS median
					FROM (SELECT b.*, sum(attempts) FILTER (WHERE bucket < 10) OVER (PARTITION BY course_id ORDER BY bucket) AS cum,
						sum(attempts) FILTER (WHERE bucket < 10) OVER (PARTITION BY course_id) AS tot
						FROM (SELECT g.course_id, g.bucket, sum(g.attempts) AS attempts, sum(g.passed) AS passed, sum(g.failed) AS failed
							FROM ` + q.gold("gold_assessment", assessmentCols, "g") + ` WHERE true` +
				q.F.cond("g", dims{course: true, day: "day"}, a) + ` GROUP BY 1, 2) b) w GROUP BY 1) x
				JOIN courses c ON c.tenant_id = @tenant AND c.id = x.course_id`,
			args: a, defaultSort: "attempts", defaultDesc: true, search: "t.course",
		}, nil
	}
	tables["assessments/attempts"] = func(q *Q, p Params) (tableQuery, error) {
		if _, err := q.CourseTitle(p.Course); err != nil {
			return tableQuery{}, err
		}
		a := with(q.args(), "course_id", p.Course, "from", q.F.From, "to", q.F.To)
		t := tableQuery{
			id: "assessments/attempts",
			columns: []Column{{Key: "learner_id", Kind: ID},
				{Key: "learner"},
				{Key: "department"}, {Key: "at", Kind: Time},
				{Key: "score", Kind: Percent}, {Key: "result"}},
			sql: `SELECT l.id AS learner_id, coalesce(nullif(l.name, ''), l.email, l.employee_id) AS learner, l.department, e.ts AS at,
				round((e.scaled * 100)::numeric, 1)::float8 AS score,
				CASE WHEN e.kind = 'pass' OR (e.kind = 'score' AND e.success) THEN 'passed'
				     WHEN e.kind = 'fail' OR (e.kind = 'score' AND NOT e.success) THEN 'failed' ELSE 'scored' END AS result
				FROM ` + q.courseEvents("'pass', 'fail', 'score'", a),
			args: a, defaultSort: "at", defaultDesc: true, search: "t.learner",
		}
		if q.Scope.Root == 0 {
			q.indexedAttempts(&t)
		}
		return t, nil
	}
	tables["assessments/questions"] = func(q *Q, p Params) (tableQuery, error) {
		if _, err := q.CourseTitle(p.Course); err != nil {
			return tableQuery{}, err
		}
		a := with(q.args(), "course_id", p.Course, "from", q.F.From, "to", q.F.To)
		return tableQuery{
			id: "assessments/questions",
			columns: []Column{{Key: "question"},
				{Key: "answers", Kind: Int}, {Key: "correct", Kind: Int},
				{Key: "correct_rate", Kind: Percent},
				{Key: "top_response"}},
			// The question is shown by the name its statements define
			// (object.definition.name, the newest statement that has one,
			// in English when it is there); its IRI when none does. The
			// counts are gold (gold_question_daily): the top response is
			// the response with the most answers, the first in order among
			// equals, as mode() picks it; '' is none.
			sql: `SELECT coalesce((SELECT coalesce(d->>'en-US', d->>'en', d->>'en-GB', (SELECT min(v) FROM jsonb_each_text(d) x(k, v)))
					FROM xapi_statements s, LATERAL (SELECT s.statement->'object'->'definition'->'name' AS d) n
					WHERE s.tenant_id = @tenant AND s.activity_id = g.question_iri AND jsonb_typeof(d) = 'object'
					ORDER BY s.stored DESC LIMIT 1), g.question_iri) AS question,
				g.answers, g.correct, g.correct_rate, g.top_response
				FROM (SELECT r.interaction_id AS question_iri, sum(r.answers)::bigint AS answers, sum(r.correct)::bigint AS correct,
					round(100.0 * sum(r.correct) / nullif(sum(r.judged), 0), 1)::float8 AS correct_rate,
					coalesce((array_agg(r.response ORDER BY r.answers DESC, r.response) FILTER (WHERE r.response <> ''))[1], '') AS top_response
					FROM (SELECT g.interaction_id, g.response, sum(g.answers) AS answers, sum(g.correct) AS correct, sum(g.judged) AS judged
						FROM ` + q.gold("gold_question_daily", questionCols, "g") + ` WHERE g.course_id = @course_id` +
				q.F.cond("g", dims{day: "day"}, a) + ` GROUP BY 1, 2) r GROUP BY 1) g`,
			args: a, defaultSort: "correct_rate", search: "t.question",
		}, nil
	}
}
