package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// enrollmentEventAggregates are what an enrolment takes from its
// learning events (e, the non-voided ones of one learner and course).
const enrollmentEventAggregates = `
            min(e.ts) AS first_ts,
            min(e.ts) FILTER (WHERE e.kind <> 'enroll') AS started,
            min(e.ts) FILTER (WHERE e.kind IN ('complete', 'pass')) AS completed,
            (array_agg(e.kind = 'pass' ORDER BY e.ts DESC, e.statement_id DESC) FILTER (WHERE e.kind IN ('pass', 'fail')))[1] AS passed,
            (array_agg(e.ts ORDER BY e.ts DESC, e.statement_id DESC) FILTER (WHERE e.kind IN ('pass', 'fail')))[1] AS passed_at,
            (array_agg(e.statement_id ORDER BY e.ts DESC, e.statement_id DESC) FILTER (WHERE e.kind IN ('pass', 'fail')))[1] AS passed_statement,
            max(e.scaled) FILTER (WHERE e.kind IN ('pass', 'fail', 'score')) AS best,
            count(*) FILTER (WHERE e.kind IN ('pass', 'fail', 'score')) AS attempts,
            max(e.ts) AS last_ts`

// enrollmentMerged merges a key's event aggregates (ev), its import row
// (i), its compliance assignments (ca) and its attempts up to ev.passed_at
// (ap.n) into the enrolment's values. Attempts to pass count only for a
// pass its events record (a pass only an import records has no time).
const enrollmentMerged = `
        least(ev.first_ts, i.enrolled_at, i.started_at, i.completed_at, ca.assigned_on::timestamptz) AS enrolled_at,
        least(ev.started, i.started_at, i.completed_at) AS started_at,
        least(ev.completed, i.completed_at) AS completed_at,
        coalesce(ev.passed, i.passed) AS passed, ev.passed_at, ev.passed_statement,
        greatest(ev.best, i.scaled) AS best,
        coalesce(ev.attempts, 0) AS attempts,
        coalesce(i.due_at, ca.due_on) AS due_at,
        greatest(ev.last_ts, i.completed_at, i.started_at, i.enrolled_at, ca.assigned_on::timestamptz) AS last_ts,
        CASE WHEN ev.passed THEN ap.n END AS attempts_to_pass`

// enrollmentsFromMerged writes the merged rows that have anything behind
// them as enrolments.
const enrollmentsFromMerged = `
INSERT INTO enrollments AS en (tenant_id, course_id, learner_id, status, enrolled_at, started_at, completed_at,
    passed, passed_at, passed_statement, best_scaled, attempts, due_at, last_activity_at, attempts_to_pass)
SELECT $1, ` + enrollmentsFromMergedRows

// enrollmentsFromMergedRows are the enrolments' columns (after tenant_id)
// from the merged rows that have anything behind them.
const enrollmentsFromMergedRows = `course_id, learner_id,
    CASE WHEN completed_at IS NOT NULL THEN 'completed' WHEN started_at IS NOT NULL THEN 'in_progress' ELSE 'enrolled' END,
    enrolled_at, started_at, completed_at, passed, passed_at, passed_statement, best, attempts, due_at, last_ts, attempts_to_pass
FROM merged WHERE enrolled_at IS NOT NULL`

// The tenant-wide rebuild of silver computes what the incremental path
// keeps up to date key by key, from the same definitions, in one
// statement per table: each reads the tenant's rows once (hash joins and
// aggregates) instead of an index lookup per key.
const (
	dailyActivityRows = `
SELECT learner_id, day, count(*), sum(duration_ms) FROM learning_events
WHERE tenant_id = $1 AND NOT voided
GROUP BY learner_id, day`

	enrollmentsRows = `
WITH ev AS (
    SELECT e.learner_id, e.course_id, ` + enrollmentEventAggregates + `
    FROM learning_events e
    WHERE e.tenant_id = $1 AND NOT e.voided
    GROUP BY e.learner_id, e.course_id
), ca AS (
    SELECT a.learner_id, r.course_id, min(a.assigned_on) AS assigned_on, min(a.due_on) AS due_on
    FROM compliance_assignments a
    JOIN compliance_requirements r ON r.tenant_id = a.tenant_id AND r.id = a.requirement_id
    WHERE a.tenant_id = $1
    GROUP BY 1, 2
), ap AS (
    -- Each passed key's attempts up to its pass: the tenant's attempts
    -- (learning_events_attempts, index-only) hashed against the passes.
    SELECT e.learner_id, e.course_id, count(*) AS n
    FROM learning_events e
    JOIN ev ON ev.learner_id = e.learner_id AND ev.course_id = e.course_id AND ev.passed AND e.ts <= ev.passed_at
    WHERE e.tenant_id = $1 AND e.kind IN ('pass', 'fail', 'score') AND NOT e.voided
    GROUP BY 1, 2
), i AS (
    SELECT * FROM enrollment_imports WHERE tenant_id = $1
), k AS (
    SELECT learner_id, course_id FROM ev
    UNION SELECT learner_id, course_id FROM i
    UNION SELECT learner_id, course_id FROM ca
), merged AS (
    SELECT k.learner_id, k.course_id, ` + enrollmentMerged + `
    FROM k
    LEFT JOIN ev ON ev.learner_id = k.learner_id AND ev.course_id = k.course_id
    LEFT JOIN i ON i.learner_id = k.learner_id AND i.course_id = k.course_id
    LEFT JOIN ca ON ca.learner_id = k.learner_id AND ca.course_id = k.course_id
    LEFT JOIN ap ON ap.learner_id = k.learner_id AND ap.course_id = k.course_id
)
SELECT ` + enrollmentsFromMergedRows

	// complianceCompletionsRebuild is complianceCompletionUpdate for every
	// assignment of the tenant (completion, expiry, and the due date that
	// rolls forward with them). Each row is updated where it was read (its
	// ctid), not found again by its key: in an import's transaction the
	// assignments it has just inserted have no statistics, and the planner
	// found each by the requirement's index with the person as a filter,
	// reading a requirement's assignments once per assignment (48 s of a
	// 105 s import of 9,000 people). The imported completions are read
	// with the events, hashed once, for the same reason: looked up per
	// assignment, the planner probed their key without its course. It
	// runs without nested loops (rebuildSilver): with statistics taken
	// while the tables were nearly empty, the planner rescanned these
	// completions once per assignment (108 s at 9,000 people).
	complianceCompletionsRebuild = `
WITH done AS (
    -- Each person's last completion of each course: the latest completing
    -- event or imported completion, whichever is later.
    SELECT c.learner_id, c.course_id, max(c.ts) AS ts FROM (
        SELECT e.learner_id, e.course_id, e.ts FROM learning_events e
        WHERE e.tenant_id = $1 AND e.kind IN ('complete', 'pass') AND NOT e.voided
        UNION ALL
        SELECT i.learner_id, i.course_id, i.completed_at FROM enrollment_imports i
        WHERE i.tenant_id = $1 AND i.completed_at IS NOT NULL
    ) c
    GROUP BY 1, 2
), last AS (
    SELECT a.ctid AS assignment_row, r.recertify_months, a.assigned_on, r.due_from, r.due_days, r.in_force_from,
        l.hire_date, d.ts AS completed_at
    FROM compliance_assignments a
    JOIN compliance_requirements r ON r.tenant_id = a.tenant_id AND r.id = a.requirement_id
    JOIN learners l ON l.tenant_id = a.tenant_id AND l.id = a.learner_id
    LEFT JOIN done d ON d.learner_id = a.learner_id AND d.course_id = r.course_id
    WHERE a.tenant_id = $1
), expiry AS (
    SELECT *, CASE WHEN recertify_months > 0 AND completed_at IS NOT NULL
            THEN ((completed_at AT TIME ZONE $2)::date + make_interval(months => recertify_months))::date END AS expires_on
    FROM last
), due AS (
    SELECT *, coalesce(expires_on, ` + firstDue + `) AS due_on
    FROM expiry
)
UPDATE compliance_assignments a SET completed_at = due.completed_at, expires_on = due.expires_on, due_on = due.due_on
FROM due
WHERE a.ctid = due.assignment_row
  AND (a.completed_at, a.expires_on, a.due_on) IS DISTINCT FROM (due.completed_at, due.expires_on, due.due_on)`
)

// rebuildMemory sets the rest of a rebuild's transaction up for its few
// large statements: work_mem at 256 MB keeps their aggregates and hash
// joins over a large tenant's rows in memory rather than spilling to disk
// in batches, and JIT is off because the planner's estimates for the team
// tables' fan-out (25M rows expected, 0.5M read on the 1M-statement
// tenant) made it compile for 3.6 s in a 7.6 s statement.
const rebuildMemory = `SELECT set_config('work_mem', '256MB', true), set_config('jit', 'off', true)`

// enrollmentTableColumns are the enrolments' columns after tenant_id, the key
// (course, learner) first.
var enrollmentTableColumns = []string{"course_id", "learner_id", "status", "enrolled_at", "started_at", "completed_at",
	"passed", "passed_at", "passed_statement", "best_scaled", "attempts", "due_at", "last_activity_at", "attempts_to_pass"}

// rebuildSilver recomputes the tenant's daily activity, enrolments and
// compliance completions from its learning events, enrolment imports and
// compliance assignments, tenant-wide and set-based. Gold must be rebuilt
// after it.
func rebuildSilver(ctx context.Context, tx pgx.Tx, tenantID int64, tz string) error {
	if _, err := tx.Exec(ctx, rebuildMemory); err != nil {
		return err
	}
	for _, step := range []struct {
		what   string
		sql    string
		args   []any
		noLoop bool // planned without nested loops
	}{
		{"rebuild daily activity", replaceRowsSQL("daily_activity", []string{"learner_id", "day", "statements", "duration_ms"}, 2,
			dailyActivityRows), nil, false},
		// Completions first: they roll due dates forward, and enrolments
		// take their due date from the assignment.
		{"rebuild compliance completions", complianceCompletionsRebuild, []any{tz}, true},
		{"rebuild enrolments", replaceRowsSQL("enrollments", enrollmentTableColumns, 2, enrollmentsRows), nil, false},
	} {
		args := append([]any{tenantID}, step.args...)
		var err error
		if step.noLoop {
			err = execWithoutNestedLoops(ctx, tx, step.sql, args...)
		} else {
			_, err = tx.Exec(ctx, step.sql, args...)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", step.what, err)
		}
	}
	return nil
}

// execWithoutNestedLoops runs sql with the planner's nested loops turned
// off for it, then back as they were. Statistics taken while a tenant's
// tables were nearly empty (a seed or a first import, before autovacuum
// catches up) can say one row where there are tens of thousands; a nested
// loop then rescans its inner side once per row.
func execWithoutNestedLoops(ctx context.Context, tx pgx.Tx, sql string, args ...any) error {
	var was string
	if err := tx.QueryRow(ctx, `SELECT current_setting('enable_nestloop'), set_config('enable_nestloop', 'off', true)`).Scan(&was, new(string)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `SELECT set_config('enable_nestloop', $1, true)`, was)
	return err
}

// RebuildTimes are how long the steps of a rebuild took: silver and gold,
// and each step of them.
type RebuildTimes struct {
	Silver, Gold time.Duration
	Steps        []RebuildStep
}

// Rebuild recomputes the tenant's silver aggregates (daily activity,
// enrolments, compliance completions) from its learning events when silver
// is set, then every gold row from silver, as one new gold version. Gold
// alone is rebuilt on two connections (rebuildGoldTwo); after silver, whose
// new rows only this transaction sees, on one.
func (p *Pipeline) Rebuild(ctx context.Context, tenantID int64, silver bool) (RebuildTimes, error) {
	var times RebuildTimes
	var version committedVersions
	err := p.inTenant(ctx, tenantID, func(tx pgx.Tx, tz string) error {
		times = RebuildTimes{}
		start := time.Now()
		if silver {
			if err := rebuildSilver(ctx, tx, tenantID, tz); err != nil {
				return err
			}
			times.Silver = time.Since(start)
			start = time.Now()
			if err := rebuildGoldSteps(ctx, tx, tenantID, &times.Steps); err != nil {
				return err
			}
		} else if err := p.rebuildGoldTwo(ctx, tx, tenantID, &times.Steps); err != nil {
			return err
		}
		times.Gold = time.Since(start)
		return newVersion(ctx, tx, tenantID, &version)
	})
	if err != nil {
		return RebuildTimes{}, err
	}
	p.committed(tenantID, version)
	return times, nil
}

// rebuildGoldTwo is rebuildGoldSteps on both of a database server's cores:
// PostgreSQL 15 runs no INSERT … SELECT or data-modifying statement in
// parallel, so a second connection computes the tables of learning events
// (those with fromEvents: the events summed, then each table's
// differences, diffSQL) while tx rebuilds the others, and tx then writes
// the second connection's differences and the roll-ups of those tables.
//
// It stays one transaction for readers and exact under ingest: tx holds
// the tenant's pipeline lock, so nothing changes the tenant's silver or
// gold until it commits, and the second connection reads in the snapshot
// tx exported after taking the lock (the silver and the stored gold tx
// sees: it has written nothing yet). tx writes a table of events only
// from the differences computed against its stored rows, which nothing
// else writes meanwhile; and it holds ROW EXCLUSIVE on those tables from
// the start, so that no VACUUM FULL or CLUSTER can move the rows the
// differences address. A failure on either connection rolls tx back.
//
// The differences travel as COPY text through a temporary file each
// (none at all when a table was right: the usual case).
func (p *Pipeline) rebuildGoldTwo(ctx context.Context, tx pgx.Tx, tenantID int64, steps *[]RebuildStep) error {
	var second []goldTable
	onSecond := map[string]bool{}
	for _, g := range goldTables {
		if g.fromEvents != nil && g.rollupOf == "" {
			second, onSecond[g.name] = append(second, g), true
		}
	}
	names := make([]string, len(second))
	for i, g := range second {
		names[i] = g.name
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(names, ", ")+` IN ROW EXCLUSIVE MODE`); err != nil {
		return err
	}
	var snapshot string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&snapshot); err != nil {
		return fmt.Errorf("export snapshot: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	diffs := make(chan tableDiff, len(second))
	var secondSteps []RebuildStep
	var secondErr error
	go func() {
		defer close(diffs)
		secondErr = p.db.TenantTxAtSnapshot(ctx, tenantID, snapshot, func(stx pgx.Tx) error {
			return goldDiffs(ctx, stx, tenantID, second, diffs, &secondSteps)
		})
	}()
	defer func() {
		// On a return before every difference was written: stop the second
		// connection and let go of the files it left.
		cancel()
		for d := range diffs {
			d.close()
		}
	}()

	clock := newStepClock(steps, false)
	if _, err := tx.Exec(ctx, rebuildMemory); err != nil {
		return err
	}
	for _, g := range goldTables {
		if onSecond[g.name] || onSecond[g.rollupOf] {
			continue
		}
		if _, err := tx.Exec(ctx, g.rebuildSQL(), tenantID); err != nil {
			return fmt.Errorf("rebuild %s: %w", g.name, err)
		}
		clock.step(g.name)
	}
	// The time spent waiting for the second connection is one step,
	// writing each of its tables' differences another.
	var written []string
	var waited time.Duration
	for {
		start := time.Now()
		d, ok := <-diffs
		wait := time.Since(start)
		waited, clock.start = waited+wait, clock.start.Add(wait)
		if !ok {
			break
		}
		err := d.apply(ctx, tx, tenantID)
		d.close()
		if err != nil {
			return fmt.Errorf("rebuild %s: %w", d.table.name, err)
		}
		written = append(written, d.table.name)
		clock.step(fmt.Sprintf("%s: %d rows written", d.table.name, d.rows))
	}
	// diffs is closed: the second connection is done.
	if secondErr != nil {
		return fmt.Errorf("second connection: %w", secondErr)
	}
	if len(written) != len(second) {
		return fmt.Errorf("second connection: %d of %d tables", len(written), len(second))
	}
	if steps != nil {
		*steps = append(*steps, RebuildStep{What: "waiting for the second connection", Took: waited})
		*steps = append(*steps, secondSteps...)
	}
	for _, g := range goldTables {
		if onSecond[g.rollupOf] {
			if _, err := tx.Exec(ctx, g.rebuildSQL(), tenantID); err != nil {
				return fmt.Errorf("rebuild %s: %w", g.name, err)
			}
			clock.step(g.name)
		}
	}
	err := goldFreshness(ctx, tx, tenantID)
	clock.step("freshness")
	return err
}

// tableDiff is one gold table's differences (diffSQL's rows) as COPY
// text in file, or no file when there are none.
type tableDiff struct {
	table goldTable
	file  *os.File
	rows  int64
}

func (d tableDiff) close() {
	if d.file != nil {
		d.file.Close()
	}
}

// goldDiffs sums the tenant's events and sends each of tables' differences
// to out as it has them; tx reads for the transaction that writes them.
func goldDiffs(ctx context.Context, tx pgx.Tx, tenantID int64, tables []goldTable, out chan<- tableDiff, steps *[]RebuildStep) error {
	clock := newStepClock(steps, true)
	if err := sumEvents(ctx, tx, tenantID); err != nil {
		return err
	}
	clock.step("learning events summed")
	for _, g := range tables {
		f, err := os.CreateTemp("", "learnlens-rebuild-*.copy")
		if err != nil {
			return err
		}
		os.Remove(f.Name()) // gone with the last descriptor
		d := tableDiff{table: g, file: f}
		tag, err := tx.Conn().PgConn().CopyTo(ctx, f, "COPY ("+withTenant(g.diffSQL(), tenantID)+") TO STDOUT")
		if err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		if err != nil {
			d.close()
			return fmt.Errorf("differences of %s: %w", g.name, err)
		}
		if d.rows = tag.RowsAffected(); d.rows == 0 {
			d.close()
			d.file = nil
		}
		out <- d
		clock.step(g.name)
	}
	return nil
}

// apply writes the differences into the tenant's rows of the table: COPY
// into a temporary table, then the statement replaceRowsSQL would have
// run with them.
func (d tableDiff) apply(ctx context.Context, tx pgx.Tx, tenantID int64) error {
	if d.file == nil {
		return nil
	}
	cols := strings.Split(d.table.columns, ", ")
	if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE rebuild_diff ON COMMIT DROP AS
		SELECT ctid AS stored, true AS fresh, `+d.table.columns+` FROM `+d.table.name+` WITH NO DATA`); err != nil {
		return err
	}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, d.file, `COPY rebuild_diff FROM STDIN`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, applyDiffSQL(d.table.name, cols, len(d.table.keys), `SELECT * FROM rebuild_diff`), tenantID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DROP TABLE rebuild_diff`)
	return err
}

// withTenant is query with its one parameter, $1, replaced by the tenant's
// id, for a statement that takes none (COPY).
func withTenant(query string, tenantID int64) string {
	return parameter.ReplaceAllStringFunc(query, func(p string) string {
		if p != "$1" {
			panic("pipeline: a query with a parameter other than $1: " + p)
		}
		return strconv.FormatInt(tenantID, 10)
	})
}

var parameter = regexp.MustCompile(`\$[0-9]+`)
