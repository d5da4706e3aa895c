package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A learner's gold group: current solid-line manager (0 = none),
// department and location.
const learnerGroup = `coalesce(l.manager_id, 0), l.department, l.location`

// Which groups a change touched, from the (learner, course) pairs or the
// (learner, day) pairs in $2 and $3.
const (
	affectedCourseGroups = `SELECT DISTINCT k.course_id, ` + learnerGroup + `
		FROM unnest($2::bigint[], $3::bigint[]) AS k(learner_id, course_id)
		JOIN learners l ON l.tenant_id = $1 AND l.id = k.learner_id`
	affectedDayGroups = `SELECT DISTINCT k.day::date, ` + learnerGroup + `
		FROM unnest($2::bigint[], $3::text[]) AS k(learner_id, day)
		JOIN learners l ON l.tenant_id = $1 AND l.id = k.learner_id`
	affectedRequirementGroups = `SELECT DISTINCT r.id, ` + learnerGroup + `
		FROM unnest($2::bigint[], $3::bigint[]) AS k(learner_id, course_id)
		JOIN learners l ON l.tenant_id = $1 AND l.id = k.learner_id
		JOIN compliance_requirements r ON r.tenant_id = $1 AND r.course_id = k.course_id`
)

// goldTable is one gold aggregate: how to compute its rows from silver
// (selectSQL, whose %s takes an extra WHERE condition) and which key columns
// an incremental refresh recomputes.
type goldTable struct {
	name       string
	columns    string // insert column list after tenant_id
	selectSQL  string // SELECT $1, <columns> ... WHERE <tenant> %s GROUP BY ...
	goldKey    string // key columns in the gold table
	sourceKey  string // the same key computed from the source rows
	affected   string // query of the touched keys
	usesCourse bool   // affected by (learner, course) pairs, else by (learner, day) pairs
}

var goldTables = []goldTable{
	{
		name:    "gold_course_completion",
		columns: "course_id, manager_id, department, location, enrolled, in_progress, completed, passed, failed, days_to_complete, as_of",
		selectSQL: `SELECT $1, en.course_id, ` + learnerGroup + `,
				count(*), count(*) FILTER (WHERE en.status = 'in_progress'), count(*) FILTER (WHERE en.status = 'completed'),
				count(*) FILTER (WHERE en.passed), count(*) FILTER (WHERE NOT en.passed),
				coalesce(round(sum(extract(epoch FROM en.completed_at - en.enrolled_at) / 86400)::numeric, 6), 0)::float8,
				max(en.last_activity_at)
			FROM enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
			WHERE en.tenant_id = $1 %s
			GROUP BY 2, 3, 4, 5`,
		goldKey:    "course_id, manager_id, department, location",
		sourceKey:  "en.course_id, " + learnerGroup,
		affected:   affectedCourseGroups,
		usesCourse: true,
	},
	{
		name:    "gold_completion_due",
		columns: "course_id, manager_id, department, location, due_on, incomplete",
		selectSQL: `SELECT $1, en.course_id, ` + learnerGroup + `, en.due_at, count(*)
			FROM enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
			WHERE en.tenant_id = $1 AND en.status <> 'completed' AND en.due_at IS NOT NULL %s
			GROUP BY 2, 3, 4, 5, 6`,
		goldKey:    "course_id, manager_id, department, location",
		sourceKey:  "en.course_id, " + learnerGroup,
		affected:   affectedCourseGroups,
		usesCourse: true,
	},
	{
		name:    "gold_assessment",
		columns: "course_id, manager_id, department, location, bucket, attempts, passed, failed, as_of",
		selectSQL: `SELECT $1, e.course_id, ` + learnerGroup + `,
				CASE WHEN e.scaled IS NULL THEN 10 ELSE least(9, greatest(0, floor(e.scaled * 10)))::int END,
				count(*),
				count(*) FILTER (WHERE e.kind = 'pass' OR (e.kind = 'score' AND e.success)),
				count(*) FILTER (WHERE e.kind = 'fail' OR (e.kind = 'score' AND NOT e.success)),
				max(e.ts)
			FROM learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
			WHERE e.tenant_id = $1 AND NOT e.voided AND e.kind IN ('pass', 'fail', 'score') %s
			GROUP BY 2, 3, 4, 5, 6`,
		goldKey:    "course_id, manager_id, department, location",
		sourceKey:  "e.course_id, " + learnerGroup,
		affected:   affectedCourseGroups,
		usesCourse: true,
	},
	{
		name:    "gold_compliance",
		columns: "requirement_id, manager_id, department, location, due_on, expires_on, completed, people, as_of",
		selectSQL: `SELECT $1, a.requirement_id, ` + learnerGroup + `, a.due_on, coalesce(a.expires_on, 'infinity'),
				a.completed_at IS NOT NULL, count(*), max(a.completed_at)
			FROM compliance_assignments a JOIN learners l ON l.tenant_id = a.tenant_id AND l.id = a.learner_id
			WHERE a.tenant_id = $1 %s
			GROUP BY 2, 3, 4, 5, 6, 7, 8`,
		goldKey:    "requirement_id, manager_id, department, location",
		sourceKey:  "a.requirement_id, " + learnerGroup,
		affected:   affectedRequirementGroups,
		usesCourse: true,
	},
	{
		name:    "gold_engagement_daily",
		columns: "day, manager_id, department, location, active_learners, statements, minutes",
		selectSQL: `SELECT $1, d.day, ` + learnerGroup + `,
				count(DISTINCT d.learner_id), sum(d.statements), round(sum(d.minutes)::numeric, 6)::float8
			FROM daily_activity d JOIN learners l ON l.tenant_id = d.tenant_id AND l.id = d.learner_id
			WHERE d.tenant_id = $1 %s
			GROUP BY 2, 3, 4, 5`,
		goldKey:   "day, manager_id, department, location",
		sourceKey: "d.day, " + learnerGroup,
		affected:  affectedDayGroups,
	},
}

// refreshGold recomputes the gold rows of the groups k touched.
func refreshGold(ctx context.Context, tx pgx.Tx, tenantID int64, k *keys) error {
	for _, g := range goldTables {
		if g.usesCourse && len(k.learners) == 0 || !g.usesCourse && len(k.days) == 0 {
			continue
		}
		args := []any{tenantID, k.learners, k.courses}
		if !g.usesCourse {
			args = []any{tenantID, k.dayLearners, k.days}
		}
		del := fmt.Sprintf(`WITH affected AS (%s) DELETE FROM %s g WHERE g.tenant_id = $1 AND (%s) IN (SELECT * FROM affected)`,
			g.affected, g.name, prefixed("g.", g.goldKey))
		if _, err := tx.Exec(ctx, del, args...); err != nil {
			return fmt.Errorf("refresh %s: %w", g.name, err)
		}
		ins := fmt.Sprintf(`WITH affected AS (%s) INSERT INTO %s (tenant_id, %s) `+g.selectSQL,
			g.affected, g.name, g.columns,
			fmt.Sprintf(`AND (%s) IN (SELECT * FROM affected)`, g.sourceKey))
		if _, err := tx.Exec(ctx, ins, args...); err != nil {
			return fmt.Errorf("refresh %s: %w", g.name, err)
		}
	}
	return nil
}

// rebuildGold recomputes every gold row of the tenant from silver.
func rebuildGold(ctx context.Context, tx pgx.Tx, tenantID int64) error {
	for _, g := range goldTables {
		if _, err := tx.Exec(ctx, `DELETE FROM `+g.name+` WHERE tenant_id = $1`, tenantID); err != nil {
			return fmt.Errorf("rebuild %s: %w", g.name, err)
		}
		ins := fmt.Sprintf(`INSERT INTO %s (tenant_id, %s) `+g.selectSQL, g.name, g.columns, "")
		if _, err := tx.Exec(ctx, ins, tenantID); err != nil {
			return fmt.Errorf("rebuild %s: %w", g.name, err)
		}
	}
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

// RebuildGold recomputes every gold row of tenantID from silver.
func (p *Pipeline) RebuildGold(ctx context.Context, tenantID int64) error {
	return p.inTenant(ctx, tenantID, func(tx pgx.Tx, _ string) error {
		if err := rebuildGold(ctx, tx, tenantID); err != nil {
			return err
		}
		return notifyGold(ctx, tx, tenantID)
	})
}

func prefixed(prefix, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = prefix + p
	}
	return strings.Join(parts, ", ")
}
