package analytics

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// EngagementKPIs are the engagement dashboard's tiles over the range and
// the previous period. Daily, weekly and monthly active learners end on
// the range's last day.
type EngagementKPIs struct {
	Active             int64   `json:"active"`
	ActivePrevious     int64   `json:"active_previous"`
	DAU                int64   `json:"dau"`
	WAU                int64   `json:"wau"`
	MAU                int64   `json:"mau"`
	Statements         int64   `json:"statements"`
	StatementsPrevious int64   `json:"statements_previous"`
	Minutes            float64 `json:"minutes"`
	MinutesPrevious    float64 `json:"minutes_previous"`
}

const (
	courseActivityCols = "course_id, manager_id, department, location, day, statements, duration_ms"
	engagementCols     = "day, manager_id, department, location, active_learners, statements, duration_ms"
	hourlyCols         = "day, hour, manager_id, department, location, statements"
)

// activeOnCourses is the people in scope active on days pfrom..to on the
// courses the course or category filter names (only learning_events knows
// that).
func (q *Q) activeOnCourses(a pgx.NamedArgs) string {
	return `SELECT e.learner_id, e.day FROM learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
		WHERE e.tenant_id = @tenant AND NOT e.voided AND e.day BETWEEN @pfrom AND @to AND ` + q.Scope.learnerCond("l") +
		q.F.orgCond("l", a) + q.F.courseCond("e", a)
}

// monthMask is the bitmap of the days of month (a first of the month)
// from..to (dates), as gold_active_months.days holds them: 0 when they do
// not meet.
func monthMask(month, from, to string) string {
	lo := fmt.Sprintf("greatest(%s::date, %s)", from, month)
	hi := fmt.Sprintf("least(%s::date, (%s + interval '1 month')::date - 1)", to, month)
	return fmt.Sprintf(`CASE WHEN %[2]s < %[1]s THEN 0 ELSE ((1::bigint << (%[2]s - %[1]s + 1)) - 1) << (extract(day FROM %[1]s)::int - 1) END`, lo, hi)
}

// activeIn is true when a gold_active_months row m has an active day
// from..to.
func activeIn(from, to string) string {
	return fmt.Sprintf("m.days::bigint & (%s) <> 0", monthMask("m.month", from, to))
}

// activeOver is the number of people active on days from..to (dates)
// from gold_active_gaps g: each is counted on their first day there, the
// one whose gap since their previous active day reaches before from (or
// that has none: gap 0).
func activeOver(from, to string) string {
	return fmt.Sprintf(`coalesce(sum(g.people) FILTER (WHERE g.day BETWEEN %[1]s AND %[2]s AND (g.gap = 0 OR g.day - g.gap < %[1]s::date)), 0)`,
		from, to)
}

// wholeTenant is true when the view is the whole tenant's: no manager's
// scope, no department, location or manager filter.
func (q *Q) wholeTenant() bool {
	return !q.Scope.None && q.Scope.Root == 0 && q.F.Manager == 0 && q.F.Department == "" && q.F.Location == ""
}

// activeFlags are the KPIs' flags per person (columns cur, prev, d1, d7,
// d30), one row per person: from the active months without a course
// filter, else from the active days. Each month's masks are computed once
// (mk), not per row.
func (q *Q) activeFlags(a pgx.NamedArgs) string {
	if q.F.Course != 0 || q.F.Category != "" {
		return `SELECT bool_or(day >= @from) AS cur, bool_or(day BETWEEN @p0 AND @pto) AS prev, bool_or(day = @to) AS d1,
				bool_or(day >= @d7) AS d7, bool_or(day >= @d30) AS d30
			FROM (` + q.activeOnCourses(a) + `) x GROUP BY learner_id`
	}
	people := ""
	if q.Scope.Root != 0 || q.Scope.None || q.F.Department != "" || q.F.Location != "" {
		people = ` JOIN learners l ON l.tenant_id = m.tenant_id AND l.id = m.learner_id AND ` + q.Scope.learnerCond("l") + q.F.cond("l", dims{}, a)
	}
	const mo = "s.m::date"
	return `WITH mk AS MATERIALIZED (SELECT ` + mo + ` AS month, ` + monthMask(mo, "@from", "@to") + `::int AS cur,
			` + monthMask(mo, "@p0", "@pto") + `::int AS prev, ` + monthMask(mo, "@to", "@to") + `::int AS d1,
			` + monthMask(mo, "@d7", "@to") + `::int AS d7, ` + monthMask(mo, "@d30", "@to") + `::int AS d30
			FROM generate_series(date_trunc('month', @pfrom::date), @to::date, interval '1 month') s(m))
		SELECT bool_or(m.days & mk.cur <> 0) AS cur, bool_or(m.days & mk.prev <> 0) AS prev, bool_or(m.days & mk.d1 <> 0) AS d1,
			bool_or(m.days & mk.d7 <> 0) AS d7, bool_or(m.days & mk.d30 <> 0) AS d30
		FROM mk JOIN gold_active_months m ON m.tenant_id = @tenant AND m.month = mk.month` + people + `
		GROUP BY m.learner_id`
}

// kpiArgs are the tiles' dates: the range (from, to), the previous period
// (p0, pto), the first days of the last 7 and 30 (d7, d30) and the first
// day any of them reads (pfrom).
func (q *Q) kpiArgs() pgx.NamedArgs {
	p := q.F.Previous()
	d30 := q.F.To.AddDate(0, 0, -29)
	first := p.From
	if d30.Before(first) {
		first = d30
	}
	return with(q.args(), "from", q.F.From, "to", q.F.To, "pfrom", first, "pto", p.To, "p0", p.From,
		"d7", q.F.To.AddDate(0, 0, -6), "d30", d30)
}

// EngagementKPIs computes the tiles.
func (q *Q) EngagementKPIs() (EngagementKPIs, error) {
	var k EngagementKPIs
	a := q.kpiArgs()
	// The whole tenant's from the active days' gaps; a filter's or a
	// manager's in one pass over the people's active days, one row per
	// person.
	sql := `SELECT count(*) FILTER (WHERE cur), count(*) FILTER (WHERE prev), count(*) FILTER (WHERE d1),
			count(*) FILTER (WHERE d7), count(*) FILTER (WHERE d30)
		FROM (` + q.activeFlags(a) + `) p`
	if q.wholeTenant() && q.F.Course == 0 && q.F.Category == "" {
		sql = `SELECT ` + activeOver("@from", "@to") + `, ` + activeOver("@p0", "@pto") + `, ` + activeOver("@to", "@to") + `,
				` + activeOver("@d7", "@to") + `, ` + activeOver("@d30", "@to") + `
			FROM gold_active_gaps g WHERE g.tenant_id = @tenant AND g.day BETWEEN @pfrom AND @to`
	}
	err := q.one(sql, a, &k.Active, &k.ActivePrevious, &k.DAU, &k.WAU, &k.MAU)
	if err != nil {
		return k, err
	}
	var ms, msPrev int64
	buckets, err := q.activity()
	for _, b := range buckets {
		if b.current {
			k.Statements, ms = k.Statements+b.statements, ms+b.ms
		} else {
			k.StatementsPrevious, msPrev = k.StatementsPrevious+b.statements, msPrev+b.ms
		}
	}
	k.Minutes, k.MinutesPrevious = float64(ms)/60000, float64(msPrev)/60000
	return k, err
}

// activityBucket is the statements, time spent and active learners (a
// person active on two days of it counts twice) in a trend bucket of the
// range (current) or of the previous period.
type activityBucket struct {
	current        bool
	bucket         int
	statements, ms int64
	active         int64 // unknown (0) with a course or category filter
}

// activity reads statements, time and active learners by trend bucket over
// the range and the previous period: the tiles, the statements line and
// the active learners line come from this one read of the daily gold,
// shared by the sections of one view. Without a course or category filter
// the day's statements and time of each group are in
// gold_engagement_daily beside its active learners (both count the
// group's events of the day that are not voided), so one read of it
// serves all three; with one, only the per-course gold knows them.
func (q *Q) activity() ([]activityBucket, error) {
	return q.memo.activity.get(q.F, func() ([]activityBucket, error) {
		a := q.bucketArgs(q.args())
		sql := `SELECT g.day >= @from, ` + bucketExpr("g.day") + `, sum(g.statements)::bigint, sum(g.duration_ms)::bigint, sum(g.active_learners)::bigint
			FROM ` + q.gold("gold_engagement_daily", engagementCols, "g") + ` WHERE g.day BETWEEN @pfrom AND @to` +
			q.F.cond("g", dims{}, a) + ` GROUP BY 1, 2`
		if q.F.Course != 0 || q.F.Category != "" {
			sql = `SELECT g.day >= @from, ` + bucketExpr("g.day") + `, sum(g.statements)::bigint, sum(g.duration_ms)::bigint, 0::bigint
			FROM ` + q.gold("gold_course_activity_daily", courseActivityCols, "g") + ` WHERE g.day BETWEEN @pfrom AND @to` +
				q.F.cond("g", dims{course: true}, a) + ` GROUP BY 1, 2`
		}
		rows, err := q.tx.Query(q.ctx, sql, a)
		if err != nil {
			return nil, err
		}
		out := []activityBucket{}
		var b activityBucket
		_, err = pgx.ForEachRow(rows, []any{&b.current, &b.bucket, &b.statements, &b.ms, &b.active}, func() error {
			out = append(out, b)
			return nil
		})
		return out, err
	})
}

// ActivityTrend is statements and active learners per day or week. Active
// learners per week is the average of the days (a person active on two
// days counts on both); with a course filter only statements are known.
type ActivityTrend struct {
	Statements Trend  `json:"statements"`
	Active     *Trend `json:"active"` // null with a course filter
}

// EngagementTrend computes the activity lines.
func (q *Q) EngagementTrend() (ActivityTrend, error) {
	var t ActivityTrend
	t.Statements = q.newTrend()
	buckets, err := q.activity()
	if err != nil || q.F.Course != 0 || q.F.Category != "" {
		for _, b := range buckets {
			t.Statements.add(b.current, b.bucket, float64(b.statements))
		}
		return t, err
	}
	size, _ := q.F.buckets()
	days := float64(min(size, q.F.Days()))
	active := q.newTrend()
	for _, b := range buckets {
		t.Statements.add(b.current, b.bucket, float64(b.statements))
		active.add(b.current, b.bucket, float64(b.active)/days)
	}
	t.Active = &active
	return t, nil
}

// Heatmap is statements by local weekday (0 = Monday) and hour.
type Heatmap struct {
	Values [7][24]float64 `json:"values"`
}

// EngagementHeatmap counts the range's statements by weekday and hour (of
// every course: the hourly gold has no course).
func (q *Q) EngagementHeatmap() (Heatmap, error) {
	var h Heatmap
	a := with(q.args(), "from", q.F.From, "to", q.F.To)
	rows, err := q.tx.Query(q.ctx, `SELECT extract(isodow FROM g.day)::int - 1, g.hour, sum(g.statements)::float8
		FROM `+q.gold("gold_activity_hourly", hourlyCols, "g")+` WHERE true`+q.F.cond("g", dims{day: "day"}, a)+
		` GROUP BY 1, 2`, a)
	if err != nil {
		return h, err
	}
	var d, hour int
	var v float64
	_, err = pgx.ForEachRow(rows, []any{&d, &hour, &v}, func() error {
		h.Values[d][hour] = v
		return nil
	})
	return h, err
}

func init() {
	tables["engagement/courses"] = func(q *Q, _ Params) (tableQuery, error) {
		a := with(q.args(), "from", q.F.From, "to", q.F.To)
		c := q.F.cond("g", dims{course: true, day: "day"}, a)
		cc := q.F.courseCond("c", a)
		return tableQuery{
			id: "engagement/courses",
			columns: []Column{{Key: "course_id", Kind: ID},
				{Key: "course"},
				{Key: "category"},
				{Key: "statements", Kind: Int},
				{Key: "minutes", Kind: Number},
				{Key: "active_days", Kind: Int}},
			sql: `SELECT c.id AS course_id, coalesce(nullif(c.title, ''), c.activity_iri) AS course, c.category,
				coalesce(x.statements, 0)::bigint AS statements, round(coalesce(x.ms, 0) / 60000.0, 1)::float8 AS minutes,
				coalesce(x.days, 0)::bigint AS active_days
				FROM courses c LEFT JOIN (SELECT g.course_id, sum(g.statements) AS statements, sum(g.duration_ms) AS ms,
					count(DISTINCT g.day) AS days
					FROM ` + q.gold("gold_course_activity_daily", courseActivityCols, "g") + ` WHERE true` + c + ` GROUP BY 1) x
				ON x.course_id = c.id WHERE c.tenant_id = @tenant` + strings.ReplaceAll(cc, "c.course_id", "c.id"),
			args: a, defaultSort: "statements", defaultDesc: true, search: "t.course",
		}, nil
	}
	// The people in scope not active over the range. For a range that
	// ends today or later (hardly anyone's days straddle it): those never
	// active (a row of gold_active_people without days), whose last active
	// day is before it or whose first is after it, and the few whose first
	// and last days are either side of it and whose last day up to its end
	// is before it (their days: a correlated scalar, which the planner
	// cannot turn into a hash of the range's every active day). For the
	// whole organisation those rows are read along gold_active_people_last
	// (migration 00035: only the rows whose last day is outside the range,
	// or none), and their people looked up by key (OFFSET 0 keeps the
	// lookup: the planner hashed every person of the tenant against them,
	// 87 ms on the 10M-statement tenant); a manager's view starts from
	// their people. For a range in the past, where most people's days
	// straddle it, those without an active month whose days meet it
	// (gold_active_months).
	tables["engagement/inactive"] = func(q *Q, _ Params) (tableQuery, error) {
		a := with(q.args(), "from", q.F.From, "to", q.F.To)
		lastActive := `(SELECT max(d.day) FROM daily_activity d WHERE d.tenant_id = @tenant AND d.learner_id = l.id AND d.day <= @to)`
		people, inactive := `learners l`, `NOT EXISTS (SELECT 1 FROM gold_active_months m WHERE m.tenant_id = @tenant AND m.learner_id = l.id
			AND m.month BETWEEN date_trunc('month', @from::date)::date AND @to AND `+activeIn("@from", "@to")+`)`
		if !q.F.To.Before(q.Today) {
			people = `learners l LEFT JOIN gold_active_people p ON p.tenant_id = @tenant AND p.learner_id = l.id`
			inactive = `(p.last_day IS NULL OR p.last_day < @from OR p.first_day > @to
				OR (p.first_day < @from AND p.last_day > @to AND ` + lastActive + ` < @from))`
			if q.Scope.Root == 0 {
				people = `gold_active_people p CROSS JOIN LATERAL (SELECT * FROM learners l WHERE l.tenant_id = @tenant AND l.id = p.learner_id
					OFFSET 0) l`
				inactive = `p.tenant_id = @tenant AND (p.last_day IS NULL OR p.last_day < @from OR p.last_day > @to) AND ` + inactive
			}
			lastActive = `CASE WHEN p.last_day IS NULL OR p.first_day > @to THEN NULL WHEN p.last_day <= @to THEN p.last_day ELSE ` +
				lastActive + ` END`
		}
		return tableQuery{
			id: "engagement/inactive",
			columns: []Column{{Key: "learner_id", Kind: ID},
				{Key: "learner"},
				{Key: "email"}, {Key: "department"},
				{Key: "location"}, {Key: "last_active", Kind: Date}},
			sql: `SELECT l.id AS learner_id, coalesce(nullif(l.name, ''), l.email, l.employee_id) AS learner, coalesce(l.email, '') AS email,
				l.department, l.location, ` + lastActive + ` AS last_active
				FROM ` + people + `
				WHERE l.tenant_id = @tenant AND l.status = 'active' AND l.rostered AND ` + q.Scope.learnerCond("l") +
				q.F.cond("l", dims{}, a) + ` AND ` + inactive,
			args: a, defaultSort: "last_active", search: "t.learner || ' ' || t.email",
		}, nil
	}
}
