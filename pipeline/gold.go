package pipeline

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// A learner's gold group: current solid-line manager (0 = none),
// department and location.
var learnerGroup = []string{"coalesce(l.manager_id, 0)", "l.department", "l.location"}

// keyList is a gold key: a first column, the learner's group, then extras.
func keyList(first string, extra ...string) []string {
	return append(append([]string{first}, learnerGroup...), extra...)
}

// goldTable is one gold aggregate, defined by how a rebuild computes it:
//
//	SELECT $1, <keys>, <aggregates> FROM <from> WHERE <where> GROUP BY <keys>
//
// Statement batches instead apply exact integer deltas (applyGoldDeltas)
// from the silver rows they changed; the property test checks that both
// give the same rows.
type goldTable struct {
	name       string
	columns    string // after tenant_id: the key columns, then the values
	keys       []string
	aggregates string
	from       string
	where      string
	// rollupOf, for a tenant-wide roll-up, is the grouped table it sums.
	rollupOf string
	// fromEvents, for a table of learning events, is the same definition
	// over rebuildEvents (alias e), which the rebuild reads instead: the
	// tenant's events are then scanned once for all such tables.
	fromEvents *eventsSource
}

// eventsSource is a gold table's keys, aggregates and filter over
// rebuildEvents.
type eventsSource struct {
	keys       []string
	aggregates string
	where      string
}

var goldTables = append(withRollups([]goldTable{
	{
		name:    "gold_course_completion",
		columns: "course_id, manager_id, department, location, enrolled, in_progress, completed, passed, failed, seconds_to_complete",
		keys:    keyList("en.course_id"),
		aggregates: `count(*), count(*) FILTER (WHERE en.status = 'in_progress'), count(*) FILTER (WHERE en.status = 'completed'),
			count(*) FILTER (WHERE en.passed), count(*) FILTER (WHERE NOT en.passed),
			coalesce(sum(round(extract(epoch FROM en.completed_at - en.enrolled_at)))::bigint, 0)`,
		from:  "enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id",
		where: "en.tenant_id = $1",
	},
	{
		name:       "gold_completion_due",
		columns:    "course_id, manager_id, department, location, due_on, incomplete",
		keys:       keyList("en.course_id", "en.due_at"),
		aggregates: "count(*)",
		from:       "enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id",
		where:      "en.tenant_id = $1 AND en.status <> 'completed' AND en.due_at IS NOT NULL",
	},
	{
		// A course's passed enrolments by their attempts to pass (silver
		// keeps each enrolment's count).
		name:       "gold_attempts_to_pass",
		columns:    "course_id, manager_id, department, location, attempts, people",
		keys:       keyList("en.course_id", "en.attempts_to_pass"),
		aggregates: "count(*)",
		from:       "enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id",
		where:      "en.tenant_id = $1 AND en.attempts_to_pass IS NOT NULL",
	},
	{
		name:       "gold_assessment",
		columns:    "course_id, manager_id, department, location, bucket, day, attempts, passed, failed",
		keys:       keyList("e.course_id", scoreBucketSQL, "e.day"),
		aggregates: "count(*), count(*) FILTER (WHERE " + attemptPassed + "), count(*) FILTER (WHERE " + attemptFailed + ")",
		from:       "learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id",
		where:      "e.tenant_id = $1 AND NOT e.voided AND e.kind IN ('pass', 'fail', 'score')",
		fromEvents: &eventsSource{keys: keyList("e.course_id", "e.bucket", "e.day"),
			aggregates: "sum(e.statements), sum(e.passed), sum(e.failed)", where: "e.bucket IS NOT NULL"},
	},
	{
		// A course's question results: answers, correct ones and judged
		// ones (a success either way) per question, response ('' for none)
		// and day; the top response is the one with the most answers.
		name:       "gold_question_daily",
		columns:    "course_id, manager_id, department, location, interaction_id, response, day, answers, correct, judged",
		keys:       keyList("e.course_id", "e.interaction_id", "coalesce(e.response, '')", "e.day"),
		aggregates: "count(*), count(*) FILTER (WHERE e.success), count(*) FILTER (WHERE e.success IS NOT NULL)",
		from:       "learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id",
		where:      "e.tenant_id = $1 AND NOT e.voided AND e.kind = 'interaction' AND e.interaction_id IS NOT NULL",
	},
	{
		name:    "gold_compliance",
		columns: "requirement_id, manager_id, department, location, completed, on_date, people",
		keys: keyList("ca.requirement_id", "ca.completed_at IS NOT NULL",
			"CASE WHEN ca.completed_at IS NOT NULL THEN coalesce(ca.expires_on, 'infinity') ELSE ca.due_on END"),
		aggregates: "count(*)",
		from:       "compliance_assignments ca JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id",
		where:      "ca.tenant_id = $1",
	},
	{
		name:       "gold_completion_daily",
		columns:    "course_id, manager_id, department, location, day, days_to_complete, completed",
		keys:       keyList("en.course_id", "(en.completed_at AT TIME ZONE t.time_zone)::date", completionDays),
		aggregates: "count(*)",
		from: `enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
			JOIN tenants t ON t.id = en.tenant_id`,
		where: "en.tenant_id = $1 AND en.status = 'completed'",
	},
	{
		name:       "gold_course_activity_daily",
		columns:    "course_id, manager_id, department, location, day, statements, duration_ms",
		keys:       keyList("e.course_id", "e.day"),
		aggregates: "count(*), sum(e.duration_ms)",
		from:       "learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id",
		where:      "e.tenant_id = $1 AND NOT e.voided",
		fromEvents: &eventsSource{keys: keyList("e.course_id", "e.day"), aggregates: "sum(e.statements), sum(e.duration_ms)", where: "true"},
	},
	{
		name:       "gold_activity_hourly",
		columns:    "day, manager_id, department, location, hour, statements",
		keys:       keyList("e.day", localHour),
		aggregates: "count(*)",
		from: `learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
			JOIN tenants t ON t.id = e.tenant_id`,
		where:      "e.tenant_id = $1 AND NOT e.voided",
		fromEvents: &eventsSource{keys: keyList("e.day", "e.hour"), aggregates: "sum(e.statements)", where: "true"},
	},
	{
		name:    "gold_engagement_daily",
		columns: "day, manager_id, department, location, active_learners, statements, duration_ms",
		keys:    keyList("d.day"),
		// A learner has one daily_activity row per day and one group, so
		// count(*) is the day's distinct learners, without a sort per group.
		aggregates: "count(*), sum(d.statements), sum(d.duration_ms)",
		from:       "daily_activity d JOIN learners l ON l.tenant_id = d.tenant_id AND l.id = d.learner_id",
		where:      "d.tenant_id = $1",
	},
}), append(teamTables, activeMonths, activeGaps, activePeople, complianceGroups, complianceNodes)...)

// rollups are the gold tables that also have a tenant-wide roll-up,
// <name>_tenant: the same rows summed over the learner's group, for the
// unfiltered organisation-wide views of large tenants. (Active learners
// per day add up too: each learner is in exactly one group.)
var rollups = map[string]bool{"gold_course_completion": true, "gold_completion_due": true, "gold_completion_daily": true,
	"gold_assessment": true, "gold_compliance": true, "gold_course_activity_daily": true, "gold_activity_hourly": true,
	"gold_engagement_daily": true, "gold_question_daily": true, "gold_attempts_to_pass": true}

// orgRollups are the gold tables that also have an organisation roll-up,
// <name>_org: the same rows summed over the learner's manager only, keyed
// by department and location, for the views of the whole organisation
// filtered by a department, a location or both. A department's rows of
// the grouped table are on every heap page, so without it such a view
// read all the tenant's rows of its range to keep a tenth of them.
var orgRollups = map[string]bool{"gold_course_completion": true, "gold_completion_daily": true, "gold_assessment": true,
	"gold_course_activity_daily": true, "gold_activity_hourly": true, "gold_engagement_daily": true}

// RollupOf is the tenant-wide roll-up of a gold table, or "" if it has none.
func RollupOf(table string) string {
	if rollups[table] {
		return table + "_tenant"
	}
	return ""
}

// OrgRollupOf is the organisation roll-up of a gold table (by department
// and location), or "" if it has none.
func OrgRollupOf(table string) string {
	if orgRollups[table] {
		return table + "_org"
	}
	return ""
}

// A rollup sums a grouped table's rows over the group's columns it drops:
// its key is the grouped key's first column, then the group's columns
// from index keep on (keyList: 1 manager, 2 department, 3 location), then
// the rest.
type rollup struct {
	name string
	keep int // 4: none of the group (tenant-wide), 2: department and location
}

// rollupsOf are the roll-ups of a gold table.
func rollupsOf(table string) []rollup {
	var out []rollup
	if r := RollupOf(table); r != "" {
		out = append(out, rollup{r, 4})
	}
	if r := OrgRollupOf(table); r != "" {
		out = append(out, rollup{r, 2})
	}
	return out
}

// columns drops from a column list the group's columns the roll-up sums
// over.
func (r rollup) columns(cols string) string {
	dropped := []string{"manager_id", "department", "location"}[:r.keep-1]
	var out []string
	for _, c := range strings.Split(cols, ", ") {
		if !slices.Contains(dropped, c) {
			out = append(out, c)
		}
	}
	return strings.Join(out, ", ")
}

// rollupKey is a grouped key's values (or types, or expressions) as the
// roll-up's key.
func rollupKey[T any](r rollup, key []T) []T {
	return append(append(make([]T, 0, len(key)-r.keep+1), key[0]), key[r.keep:]...)
}

// withRollups appends to ts the roll-ups of each table that has them.
func withRollups(ts []goldTable) []goldTable {
	out := append([]goldTable(nil), ts...)
	for _, g := range ts {
		for _, ru := range rollupsOf(g.name) {
			r := g
			r.name, r.rollupOf = ru.name, g.name
			r.columns = ru.columns(g.columns)
			r.keys = rollupKey(ru, g.keys)
			out = append(out, r)
		}
	}
	return out
}

// Expressions over a learning event e (and its tenant t) that gold keys
// and counts: the tenth of the scaled score an attempt falls in (10: no
// score; scoreBucket in Go), the hour of the tenant's local time, and
// whether an attempt passed or failed.
const (
	scoreBucketSQL = "CASE WHEN e.scaled IS NULL THEN 10 ELSE least(9, greatest(0, floor(e.scaled * 10)))::int END"
	localHour      = "extract(hour FROM e.ts AT TIME ZONE t.time_zone)::int"
	attemptPassed  = "e.kind = 'pass' OR (e.kind = 'score' AND e.success)"
	attemptFailed  = "e.kind = 'fail' OR (e.kind = 'score' AND NOT e.success)"
)

// completionDays is whole days from enrolment to completion, from the same
// rounded seconds as gold_course_completion.seconds_to_complete.
const completionDays = "floor(round(extract(epoch FROM en.completed_at - en.enrolled_at)) / 86400)::int"

// rowsSQL is a query of the table's rows of tenant $1, a relation with the
// table's columns after tenant_id: computed from silver, from
// rebuild_events for a table of events, or, for a roll-up, from its
// grouped table, whose rows it sums by definition (and which is rebuilt
// before it) at a fraction of the cost.
func (g goldTable) rowsSQL() string {
	keys, aggregates, from, where := g.keys, g.aggregates, g.from, g.where
	switch {
	case g.rollupOf != "":
		cols := strings.Split(g.columns, ", ")
		sums := make([]string, 0, len(cols)-len(g.keys))
		for _, v := range cols[len(g.keys):] {
			sums = append(sums, "sum("+v+")")
		}
		keys, aggregates, from, where = cols[:len(g.keys)], strings.Join(sums, ", "), g.rollupOf, "tenant_id = $1"
	case g.fromEvents != nil:
		keys, aggregates, where = g.fromEvents.keys, g.fromEvents.aggregates, g.fromEvents.where
		from = "rebuild_events e JOIN learners l ON l.tenant_id = $1 AND l.id = e.learner_id"
	}
	nums := make([]string, len(keys))
	for i := range keys {
		nums[i] = strconv.Itoa(i + 1)
	}
	return fmt.Sprintf(`SELECT * FROM (SELECT %s, %s FROM %s WHERE %s GROUP BY %s) AS v(%s)`,
		strings.Join(keys, ", "), aggregates, from, where, strings.Join(nums, ", "), g.columns)
}

// rebuildSQL makes the tenant's rows of the table those of rowsSQL
// (replaceRowsSQL).
func (g goldTable) rebuildSQL() string {
	return replaceRowsSQL(g.name, strings.Split(g.columns, ", "), len(g.keys), g.rowsSQL())
}

// diffSQL is the query of the differences between the table's stored rows
// and rowsSQL's (diffRowsSQL).
func (g goldTable) diffSQL() string {
	return diffRowsSQL(g.name, strings.Split(g.columns, ", "), len(g.keys), g.rowsSQL())
}

// replaceRowsSQL is a statement that makes the rows of tenant $1 in table
// those of rows (a relation with the columns cols after tenant_id, the
// first keys of them its key), writing only the differences. One hash
// join of the fresh rows with the stored ones (by key) finds them
// (diffRowsSQL): the stored rows no longer there are deleted, those whose
// values changed are updated (both by row address) and the new ones
// inserted (applyDiffSQL). Rows that were right (what the incremental path
// keeps) are then read, not rewritten: deleting and inserting every row
// cost more than computing them, as each insert checked the unique index
// past the deleted versions of its key, and left as many dead rows behind
// for vacuum.
func replaceRowsSQL(table string, cols []string, keys int, rows string) string {
	return applyDiffSQL(table, cols, keys, diffRowsSQL(table, cols, keys, rows))
}

// diffRowsSQL is a query of the differences between the stored rows of
// tenant $1 in table and rows: stored (the stored row's address, NULL for
// a row to insert), fresh (NULL for a stored row to delete), then cols,
// the fresh values.
func diffRowsSQL(table string, cols []string, keys int, rows string) string {
	values := cols[keys:]
	return fmt.Sprintf(`SELECT s.stored, f.fresh, %[3]s
    FROM (SELECT true AS fresh, * FROM (%[2]s) AS r(%[4]s)) f
    FULL JOIN (SELECT ctid AS stored, %[4]s FROM %[1]s WHERE tenant_id = $1) s ON (%[5]s) = (%[6]s)
    WHERE s.stored IS NULL OR f.fresh IS NULL OR (%[7]s) IS DISTINCT FROM (%[8]s)`,
		table, rows, qualified("f", cols), strings.Join(cols, ", "), qualified("f", cols[:keys]), qualified("s", cols[:keys]),
		qualified("f", values), qualified("s", values))
}

// applyDiffSQL is a statement that writes the differences diff (a query
// with diffRowsSQL's columns) into the rows of tenant $1 in table.
func applyDiffSQL(table string, cols []string, keys int, diff string) string {
	values := cols[keys:]
	sets := make([]string, len(values))
	for i, v := range values {
		sets[i] = v + " = d." + v
	}
	return fmt.Sprintf(`WITH diff AS MATERIALIZED (
    %[2]s
), gone AS (
    DELETE FROM %[1]s g WHERE g.tenant_id = $1 AND g.ctid = ANY (ARRAY(SELECT stored FROM diff WHERE fresh IS NULL))
), changed AS (
    UPDATE %[1]s g SET %[4]s FROM diff d
    WHERE g.tenant_id = $1 AND g.ctid = ANY (ARRAY(SELECT stored FROM diff WHERE fresh AND stored IS NOT NULL)) AND g.ctid = d.stored
)
INSERT INTO %[1]s (tenant_id, %[3]s) SELECT $1, %[3]s FROM diff WHERE stored IS NULL`,
		table, diff, strings.Join(cols, ", "), strings.Join(sets, ", "))
}

// qualified is the columns cols of alias a, as a list.
func qualified(a string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = a + "." + c
	}
	return strings.Join(out, ", ")
}

// GoldRowsFor returns a query computing table's rows from silver for just
// the learners in the array parameter @learners of tenant @tenant, as a
// relation with the table's columns after tenant_id. The dashboards use it
// for the few people in a manager's scope whose gold group is not (dotted
// reports). It panics for a table that is not gold.
func GoldRowsFor(table string) string {
	for _, g := range goldTables {
		if g.name == table {
			nums := make([]string, len(g.keys))
			for i := range g.keys {
				nums[i] = strconv.Itoa(i + 1)
			}
			return strings.ReplaceAll(fmt.Sprintf(`SELECT * FROM (SELECT %s, %s FROM %s WHERE %s AND l.id = ANY(@learners) GROUP BY %s) AS v(%s)`,
				strings.Join(g.keys, ", "), g.aggregates, g.from, g.where, strings.Join(nums, ", "), g.columns), "$1", "@tenant")
		}
	}
	panic("pipeline: no gold table " + table)
}

// rebuildEvents sums the tenant's learning events per learner, course,
// local day and hour and, for assessments, score bucket (NULL for other
// events): the gold tables of events are sums over it (fromEvents), so a
// rebuild scans the events once instead of once per table, and joins the
// learners to fewer rows. CREATE TABLE AS may read in parallel, which an
// INSERT … SELECT may not. The answers (gold_question_daily) are not
// summed here: grouped by question and response they add a row per answer
// (about one in four events), which made this sum half as slow again at
// 10M statements and the question table no faster (docs/PERFORMANCE.md).
const rebuildEvents = `CREATE TEMPORARY TABLE rebuild_events ON COMMIT DROP AS
SELECT e.learner_id, e.course_id, e.day, ` + localHour + ` AS hour,
    CASE WHEN e.kind IN ('pass', 'fail', 'score') THEN ` + scoreBucketSQL + ` END AS bucket,
    count(*) AS statements, sum(e.duration_ms)::bigint AS duration_ms,
    count(*) FILTER (WHERE ` + attemptPassed + `) AS passed, count(*) FILTER (WHERE ` + attemptFailed + `) AS failed
FROM learning_events e JOIN tenants t ON t.id = e.tenant_id
WHERE e.tenant_id = $1 AND NOT e.voided
GROUP BY 1, 2, 3, 4, 5`

// RebuildStep is how long one step of a rebuild took; Second is set for
// the steps the second connection of a two-connection rebuild ran
// (rebuildGoldTwo), at the same time as the first's.
type RebuildStep struct {
	What   string
	Took   time.Duration
	Second bool
}

// stepClock appends each step's time to steps, when it is not nil.
type stepClock struct {
	steps  *[]RebuildStep
	start  time.Time
	second bool
}

func newStepClock(steps *[]RebuildStep, second bool) *stepClock {
	return &stepClock{steps: steps, start: time.Now(), second: second}
}

func (c *stepClock) step(what string) {
	if c.steps != nil {
		*c.steps = append(*c.steps, RebuildStep{what, time.Since(c.start), c.second})
	}
	c.start = time.Now()
}

// rebuildGold recomputes every gold row of the tenant from silver, one
// statement per table writing only what differs (rebuildSQL).
func rebuildGold(ctx context.Context, tx pgx.Tx, tenantID int64) error {
	return rebuildGoldSteps(ctx, tx, tenantID, nil)
}

// rebuildGoldSteps is rebuildGold, appending each step's time to steps
// when it is not nil.
func rebuildGoldSteps(ctx context.Context, tx pgx.Tx, tenantID int64, steps *[]RebuildStep) error {
	clock := newStepClock(steps, false)
	if err := sumEvents(ctx, tx, tenantID); err != nil {
		return err
	}
	clock.step("learning events summed")
	for _, g := range goldTables {
		if _, err := tx.Exec(ctx, g.rebuildSQL(), tenantID); err != nil {
			return fmt.Errorf("rebuild %s: %w", g.name, err)
		}
		clock.step(g.name)
	}
	if _, err := tx.Exec(ctx, `DROP TABLE rebuild_events`); err != nil {
		return err
	}
	err := goldFreshness(ctx, tx, tenantID)
	clock.step("freshness")
	return err
}

// sumEvents sets the rest of the transaction up for a rebuild
// (rebuildMemory) and fills rebuild_events.
func sumEvents(ctx context.Context, tx pgx.Tx, tenantID int64) error {
	if _, err := tx.Exec(ctx, rebuildMemory); err != nil {
		return err
	}
	// A utility statement takes no parameters: the simple protocol sends
	// the tenant's id as a literal.
	if _, err := tx.Exec(ctx, rebuildEvents, pgx.QueryExecModeSimpleProtocol, tenantID); err != nil {
		return fmt.Errorf("sum learning events: %w", err)
	}
	if _, err := tx.Exec(ctx, `ANALYZE rebuild_events`); err != nil {
		return fmt.Errorf("sum learning events: %w", err)
	}
	return nil
}

// goldFreshness records that the tenant's gold was rebuilt now, from the
// statements stored so far.
func goldFreshness(ctx context.Context, tx pgx.Tx, tenantID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO gold_freshness (tenant_id, as_of, refreshed)
		VALUES ($1, (SELECT max(stored) FROM xapi_statements WHERE tenant_id = $1), now())
		ON CONFLICT (tenant_id) DO UPDATE SET as_of = excluded.as_of, refreshed = excluded.refreshed`, tenantID)
	return err
}

// GoldTables lists the gold tables, for tests and tools that compare them.
func GoldTables() []string {
	out := make([]string, len(goldTables))
	for i, g := range goldTables {
		out[i] = g.name
	}
	return out
}

// RebuildGold recomputes every gold row of tenantID from silver, as a new
// gold version.
func (p *Pipeline) RebuildGold(ctx context.Context, tenantID int64) error {
	_, err := p.Rebuild(ctx, tenantID, false)
	return err
}

// ----- deltas -----

type group struct {
	manager    int64
	department string
	location   string
	// teams are the nodes of the team tables the learner counts in
	// (preagg.go): every manager above them in org_closure, and themselves
	// when someone is under them.
	teams []int64
}

// deltaTable accumulates signed changes to one gold table's rows, keyed by
// the row's key values.
type deltaTable struct {
	upsert string // INSERT … SELECT FROM unnest … ON CONFLICT DO UPDATE adding the values, returning the keys whose count reached zero
	prune  string // DELETE one row whose count reached zero
	keyLen int
	rows   map[string]*deltaRow
	order  []string
	id     []byte // scratch space for a key's map id
	// rollups receive every change, with the key's group or part of it
	// left out (rollupKey).
	rollups []rolledDelta
}

// rolledDelta is a roll-up's deltas.
type rolledDelta struct {
	rollup
	*deltaTable
}

type deltaRow struct {
	key    []any
	values []int64
}

func newDeltaTable(table, keyCols string, keyTypes []string, valueCols []string, countCol string) *deltaTable {
	keys := strings.Split(keyCols, ", ")
	var params, sets, match []string
	n := 2
	for i, k := range keys {
		params = append(params, fmt.Sprintf("$%d::%s[]", n, keyTypes[i]))
		match = append(match, fmt.Sprintf("%s = $%d", k, i+2))
		n++
	}
	for _, v := range valueCols {
		params = append(params, fmt.Sprintf("$%d::bigint[]", n))
		sets = append(sets, fmt.Sprintf("%s = g.%s + excluded.%s", v, v, v))
		n++
	}
	all := keyCols + ", " + strings.Join(valueCols, ", ")
	return &deltaTable{
		upsert: fmt.Sprintf(`WITH up AS (
			INSERT INTO %s AS g (tenant_id, %s) SELECT $1, * FROM unnest(%s) AS u(%s)
			ON CONFLICT (tenant_id, %s) DO UPDATE SET %s
			RETURNING %s, %s = 0 AS zero)
			SELECT %s FROM up WHERE zero`,
			table, all, strings.Join(params, ", "), all, keyCols, strings.Join(sets, ", "), keyCols, countCol, keyCols),
		prune:  fmt.Sprintf(`DELETE FROM %s WHERE tenant_id = $1 AND %s AND %s = 0`, table, strings.Join(match, " AND "), countCol),
		keyLen: len(keys),
		rows:   map[string]*deltaRow{},
	}
}

// groupedDeltaTable is newDeltaTable for a table keyed by a first key,
// the group and more keys, with its roll-ups when it has them.
func groupedDeltaTable(table, keyCols string, keyTypes []string, valueCols []string, countCol string) *deltaTable {
	d := newDeltaTable(table, keyCols, keyTypes, valueCols, countCol)
	for _, r := range rollupsOf(table) {
		d.rollups = append(d.rollups, rolledDelta{r, newDeltaTable(r.name, r.columns(keyCols), rollupKey(r, keyTypes), valueCols, countCol)})
	}
	return d
}

func (d *deltaTable) add(key []any, values ...int64) {
	for _, r := range d.rollups {
		r.add(rollupKey(r.rollup, key), values...)
	}
	d.id = d.id[:0]
	for _, k := range key {
		switch k := k.(type) {
		case int64:
			d.id = strconv.AppendInt(d.id, k, 10)
		case int32:
			d.id = strconv.AppendInt(d.id, int64(k), 10)
		case string:
			d.id = append(d.id, k...)
		case bool:
			d.id = strconv.AppendBool(d.id, k)
		default:
			panic(fmt.Sprintf("gold key of type %T", k))
		}
		d.id = append(d.id, 0)
	}
	r, ok := d.rows[string(d.id)]
	if !ok {
		id := string(d.id)
		r = &deltaRow{key: key, values: make([]int64, len(values))}
		d.rows[id] = r
		d.order = append(d.order, id)
	}
	for i, v := range values {
		r.values[i] += v
	}
}

// upsertArgs returns the upsert's arguments for the non-zero deltas, or
// nil when there are none.
func (d *deltaTable) upsertArgs(tenantID int64) []any {
	var keys [][]any
	var values [][]int64
	for _, id := range d.order {
		r := d.rows[id]
		zero := true
		for _, v := range r.values {
			zero = zero && v == 0
		}
		if zero {
			continue
		}
		if keys == nil {
			keys, values = make([][]any, d.keyLen), make([][]int64, len(r.values))
		}
		for i, k := range r.key {
			keys[i] = append(keys[i], k)
		}
		for i, v := range r.values {
			values[i] = append(values[i], v)
		}
	}
	if keys == nil {
		return nil
	}
	args := make([]any, 0, 1+len(keys)+len(values))
	args = append(args, tenantID)
	for _, c := range keys {
		args = append(args, typedColumn(c))
	}
	for _, c := range values {
		args = append(args, c)
	}
	return args
}

// typedColumn returns a column of key values as a slice of their type,
// which pgx encodes without reflecting on every element.
func typedColumn(c []any) any {
	switch c[0].(type) {
	case int64:
		return typed[int64](c)
	case int32:
		return typed[int32](c)
	case string:
		return typed[string](c)
	case bool:
		return typed[bool](c)
	}
	return c
}

func typed[T any](c []any) []T {
	out := make([]T, len(c))
	for i, v := range c {
		out[i] = v.(T)
	}
	return out
}

// applyDeltas writes the non-zero deltas of every table, followed by the
// queries in then, in one round trip, and removes the rows that reached
// zero in a second when there are any.
func applyDeltas(ctx context.Context, tx pgx.Tx, tenantID int64, tables []*deltaTable, then *pgx.Batch) error {
	var b, prune pgx.Batch
	for _, d := range tables {
		for _, r := range d.rollups {
			tables = append(tables, r.deltaTable)
		}
	}
	for _, d := range tables {
		args := d.upsertArgs(tenantID)
		if args == nil {
			continue
		}
		// Rows whose count reached zero no longer describe anyone.
		b.Queue(d.upsert, args...).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				key, err := rows.Values()
				if err != nil {
					return err
				}
				prune.Queue(d.prune, append([]any{tenantID}, key...)...)
			}
			return rows.Err()
		})
	}
	if then != nil {
		b.QueuedQueries = append(b.QueuedQueries, then.QueuedQueries...)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return err
	}
	if prune.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &prune).Close()
}

// applyGoldDeltas turns the silver rows a batch changed (recorded in k)
// into exact changes of the gold rows, in a few statements whatever the
// size of the groups involved. The queries in then (nil for none) are sent
// with the changes, after them.
func applyGoldDeltas(ctx context.Context, tx pgx.Tx, tenantID int64, tz string, k *keys, then *pgx.Batch) error {
	groups, err := learnerGroups(ctx, tx, tenantID, k)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return fmt.Errorf("tenant time zone: %w", err)
	}
	groupCols := "manager_id, department, location"
	groupTypes := []string{"bigint", "text", "text"}
	completion := groupedDeltaTable("gold_course_completion", "course_id, "+groupCols, append([]string{"bigint"}, groupTypes...),
		[]string{"enrolled", "in_progress", "completed", "passed", "failed", "seconds_to_complete"}, "enrolled")
	due := groupedDeltaTable("gold_completion_due", "course_id, "+groupCols+", due_on", append(append([]string{"bigint"}, groupTypes...), "date"),
		[]string{"incomplete"}, "incomplete")
	attemptsToPass := groupedDeltaTable("gold_attempts_to_pass", "course_id, "+groupCols+", attempts",
		append(append([]string{"bigint"}, groupTypes...), "int"), []string{"people"}, "people")
	assessment := groupedDeltaTable("gold_assessment", "course_id, "+groupCols+", bucket, day", append(append([]string{"bigint"}, groupTypes...), "int", "date"),
		[]string{"attempts", "passed", "failed"}, "attempts")
	completions := groupedDeltaTable("gold_completion_daily", "course_id, "+groupCols+", day, days_to_complete",
		append(append([]string{"bigint"}, groupTypes...), "date", "int"), []string{"completed"}, "completed")
	courseActivity := groupedDeltaTable("gold_course_activity_daily", "course_id, "+groupCols+", day",
		append(append([]string{"bigint"}, groupTypes...), "date"), []string{"statements", "duration_ms"}, "statements")
	hourly := groupedDeltaTable("gold_activity_hourly", "day, "+groupCols+", hour", append(append([]string{"date"}, groupTypes...), "int"),
		[]string{"statements"}, "statements")
	compliance := groupedDeltaTable("gold_compliance", "requirement_id, "+groupCols+", completed, on_date",
		append(append([]string{"bigint"}, groupTypes...), "boolean", "date"), []string{"people"}, "people")
	questions := groupedDeltaTable("gold_question_daily", "course_id, "+groupCols+", interaction_id, response, day",
		append(append([]string{"bigint"}, groupTypes...), "text", "text", "date"), []string{"answers", "correct", "judged"}, "answers")
	engagement := groupedDeltaTable("gold_engagement_daily", "day, "+groupCols, append([]string{"date"}, groupTypes...),
		[]string{"active_learners", "statements", "duration_ms"}, "active_learners")

	for _, s := range k.enrollments {
		e, g, n := s.row, groups[s.row.learner], int64(s.sign)
		var secs int64
		if e.secondsToComplete != nil {
			secs = *e.secondsToComplete
		}
		completion.add([]any{e.course, g.manager, g.department, g.location}, n,
			n*b2i(e.status == "in_progress"), n*b2i(e.status == "completed"),
			n*b2i(e.passed != nil && *e.passed), n*b2i(e.passed != nil && !*e.passed), n*secs)
		if e.status != "completed" && e.dueOn != nil {
			due.add([]any{e.course, g.manager, g.department, g.location, *e.dueOn}, n)
		}
		if e.status == "completed" && e.completedAt != nil {
			day := e.completedAt.In(loc).Format(time.DateOnly)
			completions.add([]any{e.course, g.manager, g.department, g.location, day, floorDiv(secs, 86400)}, n)
		}
		if e.attemptsToPass != nil {
			attemptsToPass.add([]any{e.course, g.manager, g.department, g.location, *e.attemptsToPass}, n)
		}
	}
	for _, s := range k.events {
		e, g, n := s.row, groups[s.row.learner], int64(s.sign)
		courseActivity.add([]any{e.course, g.manager, g.department, g.location, e.day}, n, n*e.durationMs)
		hourly.add([]any{e.day, g.manager, g.department, g.location, int32(e.ts.In(loc).Hour())}, n)
		if e.kind == "interaction" && e.interaction != "" {
			questions.add([]any{e.course, g.manager, g.department, g.location, e.interaction, e.response, e.day}, n,
				n*b2i(e.success != nil && *e.success), n*b2i(e.success != nil))
		}
		if e.kind != "pass" && e.kind != "fail" && e.kind != "score" {
			continue
		}
		succeeded := e.success != nil && *e.success
		failedScore := e.success != nil && !*e.success
		assessment.add([]any{e.course, g.manager, g.department, g.location, scoreBucket(e.scaled), e.day}, n,
			n*b2i(e.kind == "pass" || (e.kind == "score" && succeeded)),
			n*b2i(e.kind == "fail" || (e.kind == "score" && failedScore)))
	}
	for _, s := range k.assignments {
		a, g, n := s.row, groups[s.row.learner], int64(s.sign)
		compliance.add([]any{a.requirement, g.manager, g.department, g.location, a.completed, a.statusDate()}, n)
	}
	for _, s := range k.activity {
		a, g, n := s.row, groups[s.row.learner], int64(s.sign)
		engagement.add([]any{a.day, g.manager, g.department, g.location}, n, n*a.statements, n*a.durationMs)
	}
	// The active people's rows are set in the deltas' round trip, before
	// the queries in then.
	var people pgx.Batch
	gaps, err := activeGapDeltas(ctx, tx, tenantID, k, &people)
	if err != nil {
		return err
	}
	if then != nil {
		people.QueuedQueries = append(people.QueuedQueries, then.QueuedQueries...)
	}
	then = &people
	tables := append([]*deltaTable{completion, due, completions, attemptsToPass, assessment, questions, courseActivity, hourly, compliance, engagement, gaps},
		preaggDeltas(k, groups)...)
	tables = append(tables, complianceDeltas(k, groups)...)
	err = applyDeltas(ctx, tx, tenantID, tables, then)
	if err != nil {
		return fmt.Errorf("apply gold deltas: %w", err)
	}
	return nil
}

// learnerGroups returns the current gold group of every learner in k,
// from k.cached where it has them.
func learnerGroups(ctx context.Context, tx pgx.Tx, tenantID int64, k *keys) (map[int64]group, error) {
	seen := map[int64]bool{}
	var ids []int64
	add := func(id int64) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, id := range k.learners {
		add(id)
	}
	for _, e := range k.events {
		add(e.row.learner)
	}
	for _, a := range k.assignments {
		add(a.row.learner)
	}
	out := make(map[int64]group, len(ids))
	if k.cached != nil {
		if ids = k.cached.lookup(ids, out); len(ids) == 0 {
			return out, nil
		}
	}
	rows, err := tx.Query(ctx, learnerGroupsSQL, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("read learner groups: %w", err)
	}
	var id int64
	var g group
	_, err = pgx.ForEachRow(rows, []any{&id, &g.manager, &g.department, &g.location, &g.teams}, func() error {
		out[id] = g
		g.teams = nil // the next scan must not reuse this learner's slice
		return nil
	})
	if err == nil && k.cached != nil {
		k.cached.keep(ids, out)
	}
	return out, err
}

// learnerGroupsSQL reads learners' gold groups and team nodes (see
// group.teams; the team tables' rebuild reads the same org_closure rows).
const learnerGroupsSQL = `
SELECT l.id, coalesce(l.manager_id, 0), l.department, l.location,
    array(SELECT c.manager_id FROM org_closure c WHERE c.tenant_id = $1 AND c.learner_id = l.id
          UNION ALL SELECT l.id WHERE EXISTS (SELECT FROM org_closure c WHERE c.tenant_id = $1 AND c.manager_id = l.id))
FROM learners l
WHERE l.tenant_id = $1 AND l.id = ANY($2)`

// scoreBucket is the tenth of the scaled score an attempt falls in (0–9),
// or 10 without a score; the same as the SQL in gold_assessment's keys.
func scoreBucket(scaled *float64) int32 {
	if scaled == nil {
		return 10
	}
	return int32(max(0, min(9, math.Floor(*scaled*10))))
}

// floorDiv is a / b rounded down, like SQL's floor(a / b).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
