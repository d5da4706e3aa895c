package analytics

import (
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
)

// CompletionKPIs are the completion dashboard's tiles. Enrolment states
// are as of now; completions and their median are within the range.
type CompletionKPIs struct {
	Enrolled          int64   `json:"enrolled"`
	NotStarted        int64   `json:"not_started"`
	InProgress        int64   `json:"in_progress"`
	Completed         int64   `json:"completed"`
	Overdue           int64   `json:"overdue"`
	CompletionRate    float64 `json:"completion_rate"` // %, NaN (null) without enrolments
	CompletedInPeriod int64   `json:"completed_in_period"`
	CompletedPrevious int64   `json:"completed_previous"`
	// MedianDays is the median of whole days from enrolment to completion
	// of the completions in the range (the lower middle one); -1 if none.
	MedianDays         int64 `json:"median_days"`
	MedianDaysPrevious int64 `json:"median_days_previous"`
}

const (
	completionCols = "course_id, manager_id, department, location, enrolled, in_progress, completed"
	dueCols        = "course_id, manager_id, department, location, due_on, incomplete"
	dailyCols      = "course_id, manager_id, department, location, day, days_to_complete, completed"
)

// CompletionKPIs computes the tiles.
func (q *Q) CompletionKPIs() (CompletionKPIs, error) {
	var k CompletionKPIs
	a := q.args()
	err := q.one(`SELECT coalesce(sum(enrolled), 0), coalesce(sum(in_progress), 0), coalesce(sum(completed), 0)
		FROM `+q.gold("gold_course_completion", completionCols, "g")+` WHERE true`+q.F.cond("g", dims{course: true}, a),
		a, &k.Enrolled, &k.InProgress, &k.Completed)
	if err != nil {
		return k, err
	}
	k.NotStarted = k.Enrolled - k.InProgress - k.Completed
	k.CompletionRate = pct(k.Completed, k.Enrolled)
	if err := q.one(`SELECT coalesce(sum(incomplete), 0) FROM `+q.gold("gold_completion_due", dueCols, "g")+
		` WHERE g.due_on < @today`+q.F.cond("g", dims{course: true}, a), a, &k.Overdue); err != nil {
		return k, err
	}
	days, err := q.completionDays()
	if err != nil {
		return k, err
	}
	// Completions in both periods, by days taken, for the counts and medians.
	var cur, prev []weighted
	for _, d := range days {
		ws := &prev
		if d.current {
			ws = &cur
		}
		if n := len(*ws); n > 0 && (*ws)[n-1].value == d.days {
			(*ws)[n-1].n += d.n
		} else {
			*ws = append(*ws, weighted{d.days, d.n})
		}
	}
	k.CompletedInPeriod, k.MedianDays = lowerMedian(cur)
	k.CompletedPrevious, k.MedianDaysPrevious = lowerMedian(prev)
	return k, nil
}

// dayCount is completions in a trend bucket of the range (current) or of
// the previous period that took the same whole days.
type dayCount struct {
	current bool
	bucket  int
	days, n int64
}

// completionDays reads the completions of the range and the previous
// period by trend bucket and days taken, ordered by period and days: the
// tiles' counts and medians and the trend line come from this one read of
// the daily gold, shared by the sections of one view.
func (q *Q) completionDays() ([]dayCount, error) {
	return q.memo.completionDays.get(q.F, q.readCompletionDays)
}

func (q *Q) readCompletionDays() ([]dayCount, error) {
	a := q.bucketArgs(q.args())
	rows, err := q.tx.Query(q.ctx, `SELECT g.day >= @from, `+bucketExpr("g.day")+`, g.days_to_complete, sum(g.completed)::bigint
		FROM `+q.gold("gold_completion_daily", dailyCols, "g")+` WHERE g.day BETWEEN @pfrom AND @to`+
		q.F.cond("g", dims{course: true}, a)+` GROUP BY 1, 2, 3 ORDER BY 1, 3`, a)
	if err != nil {
		return nil, err
	}
	out := []dayCount{}
	var d dayCount
	if _, err := pgx.ForEachRow(rows, []any{&d.current, &d.bucket, &d.days, &d.n}, func() error {
		out = append(out, d)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// weighted is a value seen n times.
type weighted struct{ value, n int64 }

// lowerMedian of values in ascending order: their total count and the
// first value at which half of them are reached (-1 when there are none) —
// SQL's percentile_disc(0.5).
func lowerMedian(ws []weighted) (total, median int64) {
	for _, w := range ws {
		total += w.n
	}
	var cum int64
	for _, w := range ws {
		cum += w.n
		if cum*2 >= total {
			return total, w.value
		}
	}
	return 0, -1
}

func pct(part, whole int64) float64 {
	if whole == 0 {
		return nan
	}
	return float64(part) * 100 / float64(whole)
}

// with adds name/value pairs to a.
func with(a pgx.NamedArgs, kv ...any) pgx.NamedArgs {
	for i := 0; i+1 < len(kv); i += 2 {
		a[kv[i].(string)] = kv[i+1]
	}
	return a
}

// Point is one x position of a trend with its value in both periods.
type Point struct {
	Label    string  `json:"label"`
	Value    float64 `json:"value"`
	Previous float64 `json:"previous"`
}

// Trend is a series over the range with the previous period aligned by
// position.
type Trend struct {
	Unit   string  `json:"unit"` // "day" or "week"
	Points []Point `json:"points"`
}

// buckets splits the range into days (up to 31) or weeks of 7 days
// counted back from the range's end, returning each bucket's start offset
// in days from the range start.
func (f Filters) buckets() (size int, labels []string) {
	size = 1
	if f.Days() > 31 {
		size = 7
	}
	n := (f.Days() + size - 1) / size
	for i := range n {
		start := f.From.AddDate(0, 0, f.Days()-(n-i)*size)
		if start.Before(f.From) {
			start = f.From
		}
		labels = append(labels, start.Format("2 Jan"))
	}
	return size, labels
}

// bucketArgs adds to a what trend queries take: @from, @to, @pfrom and
// @pto, and @size, @n and @days for bucketExpr.
func (q *Q) bucketArgs(a pgx.NamedArgs) pgx.NamedArgs {
	size, labels := q.F.buckets()
	p := q.F.Previous()
	return with(a, "from", q.F.From, "to", q.F.To, "pfrom", p.From, "pto", p.To,
		"size", size, "n", len(labels), "days", q.F.Days())
}

// newTrend is an empty trend over the range's buckets.
func (q *Q) newTrend() Trend {
	size, labels := q.F.buckets()
	t := Trend{Unit: "day", Points: make([]Point, len(labels))}
	if size == 7 {
		t.Unit = "week"
	}
	for i, l := range labels {
		t.Points[i].Label = l
	}
	return t
}

// add counts v in bucket of the range (current) or the previous period.
func (t *Trend) add(current bool, bucket int, v float64) {
	if bucket >= 0 && bucket < len(t.Points) {
		if current {
			t.Points[bucket].Value += v
		} else {
			t.Points[bucket].Previous += v
		}
	}
}

// trend fills a Trend from (period-is-current, bucket, value) rows of sql,
// which takes the arguments of bucketArgs.
func (q *Q) trend(sql string, a pgx.NamedArgs) (Trend, error) {
	t := q.newTrend()
	rows, err := q.tx.Query(q.ctx, sql, q.bucketArgs(a))
	if err != nil {
		return t, fmt.Errorf("trend: %w", err)
	}
	var current bool
	var bucket int
	var v float64
	_, err = pgx.ForEachRow(rows, []any{&current, &bucket, &v}, func() error {
		t.add(current, bucket, v)
		return nil
	})
	return t, err
}

// bucketExpr numbers the trend bucket of a date column: buckets are
// counted back from the end of the range (current) or of the previous one.
func bucketExpr(col string) string {
	return fmt.Sprintf(`(@n::int - 1 - ((CASE WHEN %[1]s >= @from THEN @to::date ELSE @pto::date END) - %[1]s) / @size::int)`, col)
}

// CompletionTrend is completions per day or week in the range and the
// previous period.
func (q *Q) CompletionTrend() (Trend, error) {
	t := q.newTrend()
	days, err := q.completionDays()
	for _, d := range days {
		t.add(d.current, d.bucket, float64(d.n))
	}
	return t, err
}

// medianByDays is SQL computing, per key, the completions and their lower
// median days from rows (key, d, n) named src.
func medianByDays(key, src string) string {
	return fmt.Sprintf(`SELECT %[1]s, sum(n)::bigint AS completions, min(d) FILTER (WHERE cum * 2 >= tot)::bigint AS median
		FROM (SELECT %[1]s, d, n, sum(n) OVER (PARTITION BY %[1]s ORDER BY d) AS cum, sum(n) OVER (PARTITION BY %[1]s) AS tot FROM %[2]s) m
		GROUP BY %[1]s`, key, src)
}

var completionColumns = []Column{
	{Key: "enrolled", Kind: Int},
	{Key: "not_started", Kind: Int},
	{Key: "in_progress", Kind: Int},
	{Key: "completed", Kind: Int},
	{Key: "overdue", Kind: Int},
	{Key: "completion_rate", Kind: Percent},
	{Key: "completed_in_period", Kind: Int},
	{Key: "median_days", Kind: Int},
}

// completionBy is a completion table grouped by key (course_id or
// manager_id), with extra conditions on the gold rows.
func (q *Q) completionBy(key, extra string, a pgx.NamedArgs) string {
	c := q.F.cond("g", dims{course: true}, a) + extra
	gold := q.gold
	if key == "manager_id" { // by team: the grouped rows
		gold = q.Scope.gold
	}
	return fmt.Sprintf(`WITH st AS (
			SELECT g.%[1]s AS k, sum(enrolled) AS enrolled, sum(in_progress) AS in_progress, sum(completed) AS completed
			FROM %[2]s WHERE true%[5]s GROUP BY 1),
		od AS (SELECT g.%[1]s AS k, sum(incomplete) AS overdue FROM %[3]s WHERE g.due_on < @today%[5]s GROUP BY 1),
		pd AS (SELECT g.%[1]s AS k, g.days_to_complete AS d, sum(g.completed) AS n FROM %[4]s
			WHERE g.day BETWEEN @from AND @to%[5]s GROUP BY 1, 2),
		md AS (%[6]s)
		SELECT st.k, st.enrolled::bigint, (st.enrolled - st.in_progress - st.completed)::bigint AS not_started,
			st.in_progress::bigint, st.completed::bigint, coalesce(od.overdue, 0)::bigint AS overdue,
			round(100.0 * st.completed / nullif(st.enrolled, 0), 1)::float8 AS completion_rate,
			coalesce(md.completions, 0)::bigint AS completed_in_period, md.median AS median_days
		FROM st LEFT JOIN od ON od.k = st.k LEFT JOIN md ON md.k = st.k`,
		key, gold("gold_course_completion", completionCols, "g"), gold("gold_completion_due", dueCols, "g"),
		gold("gold_completion_daily", dailyCols, "g"), c, medianByDays("k", "pd"))
}

func init() {
	tables["completion/courses"] = func(q *Q, _ Params) (tableQuery, error) {
		a := with(q.args(), "from", q.F.From, "to", q.F.To)
		return tableQuery{
			id: "completion/courses",
			columns: append([]Column{{Key: "course_id", Kind: ID},
				{Key: "course"},
				{Key: "category"}}, completionColumns...),
			sql: `SELECT c.id AS course_id, coalesce(nullif(c.title, ''), c.activity_iri) AS course, c.category, x.enrolled, x.not_started,
				x.in_progress, x.completed, x.overdue, x.completion_rate, x.completed_in_period, x.median_days
				FROM (` + q.completionBy("course_id", "", a) + `) x JOIN courses c ON c.tenant_id = @tenant AND c.id = x.k`,
			args: a, defaultSort: "enrolled", defaultDesc: true, search: "t.course",
		}, nil
	}
	tables["completion/teams"] = func(q *Q, p Params) (tableQuery, error) {
		if _, err := q.CourseTitle(p.Course); err != nil {
			return tableQuery{}, err
		}
		a := with(q.args(), "from", q.F.From, "to", q.F.To, "course_id", p.Course)
		return tableQuery{
			id: "completion/teams",
			columns: append([]Column{{Key: "course_id", Kind: ID}, {Key: "manager_id", Kind: ID},
				{Key: "team"}},
				completionColumns...),
			sql: `SELECT @course_id::bigint AS course_id, x.k AS manager_id,
				coalesce(nullif(m.name, ''), m.email, 'No manager') AS team, x.enrolled, x.not_started,
				x.in_progress, x.completed, x.overdue, x.completion_rate, x.completed_in_period, x.median_days
				FROM (` + q.completionBy("manager_id", " AND g.course_id = @course_id", a) + `) x
				` + managerNameJoin,
			args: a, defaultSort: "enrolled", defaultDesc: true, search: "t.team",
		}, nil
	}
	tables["completion/learners"] = func(q *Q, p Params) (tableQuery, error) {
		if _, err := q.CourseTitle(p.Course); err != nil {
			return tableQuery{}, err
		}
		a := with(q.args(), "course_id", p.Course, "team", p.Team)
		from := `enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
			WHERE en.tenant_id = @tenant AND en.course_id = @course_id AND coalesce(l.manager_id, 0) = @team AND ` +
			q.Scope.learnerCond("l") + q.F.cond("l", dims{}, a)
		if err := q.exists(`SELECT 1 FROM `+from, a); err != nil {
			return tableQuery{}, err
		}
		return tableQuery{
			id: "completion/learners",
			columns: []Column{{Key: "learner_id", Kind: ID},
				{Key: "learner"},
				{Key: "email"}, {Key: "department"},
				{Key: "status"}, {Key: "enrolled_at", Kind: Time},
				{Key: "completed_at", Kind: Time}, {Key: "due_on", Kind: Date},
				{Key: "overdue", Kind: Bool}, {Key: "best_score", Kind: Percent},
				{Key: "attempts", Kind: Int}},
			sql: `SELECT l.id AS learner_id, coalesce(nullif(l.name, ''), l.email, l.employee_id) AS learner, coalesce(l.email, '') AS email,
				l.department, replace(en.status, '_', ' ') AS status, en.enrolled_at, en.completed_at, en.due_at AS due_on,
				(en.status <> 'completed' AND en.due_at < @today) AS overdue, round((en.best_scaled * 100)::numeric, 1)::float8 AS best_score,
				en.attempts::bigint AS attempts FROM ` + from,
			args: a, defaultSort: "learner", search: "t.learner || ' ' || t.email",
		}, nil
	}
	// Every enrolment in the viewer's scope and filters, one row per
	// person and course: the whole-tenant export of completion (about 1M
	// rows for a 10M-statement tenant, streamed; see docs/PERFORMANCE.md).
	tables["completion/enrolments"] = func(q *Q, _ Params) (tableQuery, error) {
		a := q.args()
		return tableQuery{
			id: "completion/enrolments",
			columns: []Column{{Key: "learner_id", Kind: ID}, {Key: "course_id", Kind: ID},
				{Key: "learner"}, {Key: "email"}, {Key: "department"}, {Key: "course"},
				{Key: "status"}, {Key: "enrolled_at", Kind: Time},
				{Key: "completed_at", Kind: Time}, {Key: "due_on", Kind: Date},
				{Key: "overdue", Kind: Bool}, {Key: "best_score", Kind: Percent},
				{Key: "attempts", Kind: Int}},
			sql: `SELECT l.id AS learner_id, c.id AS course_id, coalesce(nullif(l.name, ''), l.email, l.employee_id) AS learner,
				coalesce(l.email, '') AS email, l.department, coalesce(nullif(c.title, ''), c.activity_iri) AS course,
				replace(en.status, '_', ' ') AS status, en.enrolled_at, en.completed_at, en.due_at AS due_on,
				(en.status <> 'completed' AND en.due_at < @today) AS overdue, round((en.best_scaled * 100)::numeric, 1)::float8 AS best_score,
				en.attempts::bigint AS attempts
				FROM enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
				JOIN courses c ON c.tenant_id = en.tenant_id AND c.id = en.course_id
				WHERE en.tenant_id = @tenant AND ` + q.Scope.learnerCond("l") + q.F.cond("l", dims{}, a) + q.F.courseCond("en", a),
			args: a, defaultSort: "learner", search: "t.learner || ' ' || t.email || ' ' || t.course",
		}, nil
	}
}

var nan = math.NaN()
