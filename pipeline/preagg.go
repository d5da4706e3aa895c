package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Per-subtree totals for the team tree (migrations/00024): for every
// person with reports, the numbers of their part of the organisation —
// themselves and everyone under them, solid or dotted line, at any depth,
// as org_closure lists them. Each person counts in three groups (grp): ''
// (everyone), 'd:<department>' and 'l:<location>', the filters the tree
// reads from here.
//
// Statement batches apply a learner's changes to each node above them
// (teamDelta: fanned out in Go, to the nodes learnerGroups reads);
// anything that changes the reporting lines rebuilds the tables with the
// rest of gold (refreshTenant), or alone (Erase).

// teamMembers is every (node, member) pair: a manager and each person
// under them, and the manager themselves.
const teamMembers = `(SELECT c.manager_id AS node, c.learner_id AS member FROM org_closure c WHERE c.tenant_id = $1
	UNION ALL SELECT DISTINCT c.manager_id, c.manager_id FROM org_closure c WHERE c.tenant_id = $1) tm`

// teamGroups fans a learners row l out to its three groups.
const teamGroups = `CROSS JOIN LATERAL (VALUES (''), ('d:' || l.department), ('l:' || l.location)) tg(grp)`

// teamFrom is the FROM of a team table's rebuild: per-learner sums s
// (learner_id, …) fanned out to the nodes above the learner and to their
// groups. Summing per learner first keeps the fan-out to one row per
// learner, node and group.
func teamFrom(perLearner string) string {
	return `(` + perLearner + `) s JOIN ` + teamMembers + ` ON tm.member = s.learner_id
		JOIN learners l ON l.tenant_id = $1 AND l.id = s.learner_id ` + teamGroups
}

var teamTables = []goldTable{
	{
		name:       "gold_team_people",
		columns:    "node_id, grp, people",
		keys:       []string{"tm.node", "tg.grp"},
		aggregates: "count(*)",
		from:       teamMembers + ` JOIN learners l ON l.tenant_id = $1 AND l.id = tm.member ` + teamGroups,
		where:      "l.tenant_id = $1",
	},
	{
		name:       "gold_team_completion",
		columns:    "node_id, grp, enrolled, completed",
		keys:       []string{"tm.node", "tg.grp"},
		aggregates: "sum(s.enrolled), sum(s.completed)",
		from: teamFrom(`SELECT learner_id, count(*) AS enrolled, count(*) FILTER (WHERE status = 'completed') AS completed
			FROM enrollments WHERE tenant_id = $1 GROUP BY 1`),
		where: "true",
	},
	{
		name:       "gold_team_due",
		columns:    "node_id, grp, due_on, incomplete",
		keys:       []string{"tm.node", "tg.grp", "s.due_at"},
		aggregates: "sum(s.n)",
		from: teamFrom(`SELECT learner_id, due_at, count(*) AS n FROM enrollments
			WHERE tenant_id = $1 AND status <> 'completed' AND due_at IS NOT NULL GROUP BY 1, 2`),
		where: "true",
	},
	{
		name:       "gold_team_compliance",
		columns:    "node_id, grp, completed, on_date, people",
		keys:       []string{"tm.node", "tg.grp", "s.completed", "s.on_date"},
		aggregates: "sum(s.n)",
		from: teamFrom(`SELECT learner_id, completed_at IS NOT NULL AS completed,
			CASE WHEN completed_at IS NOT NULL THEN coalesce(expires_on, 'infinity') ELSE 'infinity' END AS on_date, count(*) AS n
			FROM compliance_assignments WHERE tenant_id = $1 GROUP BY 1, 2, 3`),
		where: "true",
	},
}

// activeMonths is active days per person and month: a bitmap (bit d-1
// for day d of the month) and their count, so "active over a range" reads
// one row per person and month instead of one per active day. A day is
// in daily_activity once, so the bitmap is the sum of its days' bits and
// signed deltas keep it exactly.
var activeMonths = goldTable{
	name:       "gold_active_months",
	columns:    "learner_id, month, days, active_days",
	keys:       []string{"d.learner_id", "date_trunc('month', d.day)::date"},
	aggregates: "sum(1 << (extract(day FROM d.day)::int - 1)), count(*)",
	from:       "daily_activity d",
	where:      "d.tenant_id = $1",
}

// activeGaps counts each person's active days by the day and the gap in
// days since their previous active day (0 for their first): a person is
// active over from..to when one of their days there follows a gap that
// reaches before from, and exactly one day of theirs does (the first
// there). So the people active over any range are one sum over the
// range's days, with no row per person (analytics.activeOver).
var activeGaps = goldTable{
	name:       "gold_active_gaps",
	columns:    "day, gap, people",
	keys:       []string{"d.day", "d.gap"},
	aggregates: "count(*)",
	from: `(SELECT day, coalesce(day - lag(day) OVER (PARTITION BY learner_id ORDER BY day), 0) AS gap
		FROM daily_activity WHERE tenant_id = $1) d`,
	where: "true",
}

// activePeople is each person's first and last active day (both NULL
// for someone never active: every learner has a row, written by the
// statement that creates the learner): whether they were active over a
// range is then known from their row but when the range falls between
// the two. The inactive people's list reads the rows whose last day is
// outside the range, or none, along gold_active_people_last (migration
// 00035), and the days of the few whose days straddle it.
var activePeople = goldTable{
	name:       "gold_active_people",
	columns:    "learner_id, first_day, last_day",
	keys:       []string{"l.id"},
	aggregates: "min(d.day), max(d.day)",
	from:       "learners l LEFT JOIN daily_activity d ON d.tenant_id = l.tenant_id AND d.learner_id = l.id",
	where:      "l.tenant_id = $1",
}

// activeGapDeltas turns a batch's changes of active days (k.activity) into
// changes of gold_active_gaps, and queues in people the statement that
// sets the gold_active_people rows of the people whose days changed (no
// days for those left without any). A
// day's gap depends on the person's previous day, so each person's days
// before the batch are read from gold_active_months (which the same
// deltas keep, and which changes only after this read); their days after
// it are those plus the batch's signed changes; the gaps of the first are
// taken away and those of the second added.
func activeGapDeltas(ctx context.Context, tx pgx.Tx, tenantID int64, k *keys, people *pgx.Batch) (*deltaTable, error) {
	gaps := newDeltaTable("gold_active_gaps", "day, gap", []string{"date", "int"}, []string{"people"}, "people")
	if len(k.activity) == 0 {
		return gaps, nil
	}
	days := map[int64]map[string]int64{} // learner → day → times it is in daily_activity
	changes := map[int64][]signed[activityRow]{}
	var learners []int64
	for _, s := range k.activity {
		if days[s.row.learner] == nil {
			days[s.row.learner] = map[string]int64{}
			learners = append(learners, s.row.learner)
		}
		changes[s.row.learner] = append(changes[s.row.learner], s)
	}
	// The months' bitmaps, read as they are (bit d-1 for day d: one row
	// a month, not one a day).
	rows, err := tx.Query(ctx, `SELECT m.learner_id, m.month::text, m.days FROM gold_active_months m
		WHERE m.tenant_id = $1 AND m.learner_id = ANY($2)`, tenantID, learners)
	if err != nil {
		return nil, fmt.Errorf("read active days: %w", err)
	}
	var learner int64
	var month string
	var bits int32
	_, err = pgx.ForEachRow(rows, []any{&learner, &month, &bits}, func() error {
		for d := 1; d <= 31; d++ {
			if bits&(1<<(d-1)) != 0 {
				days[learner][fmt.Sprintf("%s%02d", month[:8], d)] = 1
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read active days: %w", err)
	}
	var ids []int64
	var first, last []*string
	for _, learner := range learners {
		before := activeDays(days[learner])
		for _, s := range changes[learner] {
			days[learner][s.row.day] += int64(s.sign)
		}
		after := activeDays(days[learner])
		addGaps(gaps, before, -1)
		addGaps(gaps, after, +1)
		ids = append(ids, learner)
		if len(after) == 0 {
			first, last = append(first, nil), append(last, nil)
		} else {
			first, last = append(first, &after[0]), append(last, &after[len(after)-1])
		}
	}
	people.Queue(`INSERT INTO gold_active_people AS g (tenant_id, learner_id, first_day, last_day)
		SELECT $1, * FROM unnest($2::bigint[], $3::date[], $4::date[])
		ON CONFLICT (tenant_id, learner_id) DO UPDATE SET first_day = excluded.first_day, last_day = excluded.last_day
		WHERE (g.first_day, g.last_day) IS DISTINCT FROM (excluded.first_day, excluded.last_day)`,
		tenantID, ids, first, last)
	return gaps, nil
}

// activeDays is the days of a person's day counts that are there, in order
// (dates as text sort as dates).
func activeDays(counts map[string]int64) []string {
	out := make([]string, 0, len(counts))
	for d, n := range counts {
		if n > 0 {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// addGaps adds n to the gap rows of one person's days (in order), as
// activeGaps's rebuild counts them.
func addGaps(gaps *deltaTable, days []string, n int64) {
	prev := time.Time{}
	for _, d := range days {
		day, err := time.Parse(time.DateOnly, d)
		if err != nil {
			panic("pipeline: activity day " + d)
		}
		gap := int32(0)
		if !prev.IsZero() {
			gap = int32(day.Sub(prev).Hours() / 24)
		}
		gaps.add([]any{d, gap}, n)
		prev = day
	}
}

// teamComplianceDate is gold_team_compliance.on_date: the expiry of a
// completed assignment ('infinity' if it never expires), and 'infinity'
// for every incomplete one — the tree counts assigned and compliant
// people only, so their due dates would only multiply the rows.
func teamComplianceDate(a assignmentRow) string {
	if a.completed {
		return a.expiresOn
	}
	return "infinity"
}

// rebuildTeam recomputes the team tables of the tenant, and the
// compliance counts per manager (preagg_compliance.go), after its
// reporting lines changed outside a full gold rebuild.
func rebuildTeam(ctx context.Context, tx pgx.Tx, tenantID int64) error {
	for _, g := range append(teamTables, complianceNodes) {
		if _, err := tx.Exec(ctx, g.rebuildSQL(), tenantID); err != nil {
			return fmt.Errorf("rebuild %s: %w", g.name, err)
		}
	}
	return nil
}

// teamDelta accumulates the changes of a team table by its key (node,
// group, then extra keys). A learner's change is fanned out here to the
// nodes they count in and their three groups (group.teams, read with the
// learner's gold group), and the rows go in with one upsert as gold's do;
// the rows whose count reached zero are pruned as gold's are (applyDeltas).
// The fan-out used to be a join in each team table's upsert, whose cost
// moved with its plan (docs/PERFORMANCE.md).
type teamDelta struct {
	*deltaTable
	groups map[int64]group
}

func newTeamDelta(table string, extra, extraTypes, values []string, countCol string, groups map[int64]group) teamDelta {
	return teamDelta{newDeltaTable(table, strings.Join(append([]string{"node_id", "grp"}, extra...), ", "),
		append([]string{"bigint", "text"}, extraTypes...), values, countCol), groups}
}

// add adds learner's change (their keys after the group: extra) to every
// row they count in. A learner gold does not know (erased meanwhile)
// counts nowhere, as in the rebuild's join.
func (t teamDelta) add(learner int64, extra []any, values ...int64) {
	g, ok := t.groups[learner]
	if !ok {
		return
	}
	grps := [3]string{"", "d:" + g.department, "l:" + g.location} // teamGroups
	for _, node := range g.teams {
		for _, grp := range grps {
			t.deltaTable.add(append([]any{node, grp}, extra...), values...)
		}
	}
}

// preaggDeltas turns the silver rows a batch changed (k) into changes of
// the pre-aggregates: the team tables and active months. groups are the
// learners' gold groups (learnerGroups).
// gold_team_people changes only with the reporting lines and the roster,
// which rebuild it.
func preaggDeltas(k *keys, groups map[int64]group) []*deltaTable {
	months := newDeltaTable("gold_active_months", "learner_id, month", []string{"bigint", "date"},
		[]string{"days", "active_days"}, "active_days")
	for _, s := range k.activity {
		a, n := s.row, int64(s.sign)
		if len(a.day) != len(time.DateOnly) {
			panic("pipeline: activity day " + a.day)
		}
		day, err := strconv.Atoi(a.day[8:10])
		if err != nil {
			panic("pipeline: activity day " + a.day)
		}
		months.add([]any{a.learner, a.day[:8] + "01"}, n<<(day-1), n)
	}
	completion := newTeamDelta("gold_team_completion", nil, nil, []string{"enrolled", "completed"}, "enrolled", groups)
	due := newTeamDelta("gold_team_due", []string{"due_on"}, []string{"date"}, []string{"incomplete"}, "incomplete", groups)
	compliance := newTeamDelta("gold_team_compliance", []string{"completed", "on_date"}, []string{"boolean", "date"},
		[]string{"people"}, "people", groups)
	for _, s := range k.enrollments {
		e, n := s.row, int64(s.sign)
		completion.add(e.learner, nil, n, n*b2i(e.status == "completed"))
		if e.status != "completed" && e.dueOn != nil {
			due.add(e.learner, []any{*e.dueOn}, n)
		}
	}
	for _, s := range k.assignments {
		a, n := s.row, int64(s.sign)
		compliance.add(a.learner, []any{a.completed, teamComplianceDate(a)}, n)
	}
	return []*deltaTable{months, completion.deltaTable, due.deltaTable, compliance.deltaTable}
}
