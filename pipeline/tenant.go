package pipeline

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// orgClosureRebuild recomputes today's reporting lines from the learners'
// solid-line managers and current dotted-line managers. A path that
// revisits a person (a cycle in the data) stops there.
const orgClosureRebuild = `
INSERT INTO org_closure (tenant_id, manager_id, learner_id, depth, dotted)
WITH RECURSIVE edges(m, l, dotted) AS (
    SELECT manager_id, id, false FROM learners WHERE tenant_id = $1 AND manager_id IS NOT NULL
    UNION
    SELECT d, h.learner_id, true FROM learner_history h, unnest(h.dotted_manager_ids) AS d
    WHERE h.tenant_id = $1 AND h.valid_to = 'infinity'
), walk(m, l, depth, dotted, path) AS (
    SELECT m, l, 1, dotted, ARRAY[l, m] FROM edges
    UNION ALL
    SELECT e.m, w.l, w.depth + 1, w.dotted OR e.dotted, w.path || e.m
    FROM walk w JOIN edges e ON e.l = w.m
    WHERE NOT e.m = ANY(w.path) AND w.depth < 64
)
SELECT $1, m, l, min(depth), bool_and(dotted) FROM walk GROUP BY m, l`

// audienceMatch is true when learner l is in the audience of requirement
// r: {"all":true}, or every one of department, location and job_title it
// names equals the learner's.
const audienceMatch = `(r.audience ? 'all' OR (
            (NOT r.audience ? 'department' OR l.department = r.audience->>'department') AND
            (NOT r.audience ? 'location' OR l.location = r.audience->>'location') AND
            (NOT r.audience ? 'job_title' OR l.job_title = r.audience->>'job_title')))`

// complianceAssignmentsSync makes compliance_assignments hold exactly the
// active rostered learners the audience of each requirement in force (not
// retired) names; a retired requirement's assignments go. An existing
// assignment keeps its assigned date. A new one is assigned on the
// requirement's in-force date (or the person's hire date, if later) when
// the requirement is getting its people for the first time, and on today
// when someone comes under it later (a new hire's roster upload, a move
// into its audience). Its due date follows dueRule. The rules are written
// out in docs/DASHBOARDS.md, "Compliance dates".
const complianceAssignmentsSync = `
WITH desired AS (
    SELECT r.id AS requirement_id, l.id AS learner_id, r.due_from, r.due_days, r.in_force_from, l.hire_date,
        CASE WHEN r.assigned_at IS NULL THEN greatest(r.in_force_from, l.hire_date)
             ELSE (now() AT TIME ZONE $2)::date END AS assigned_on
    FROM compliance_requirements r
    JOIN learners l ON l.tenant_id = r.tenant_id AND l.rostered AND l.status = 'active'
    WHERE r.tenant_id = $1 AND r.retired_at IS NULL AND ` + audienceMatch + `
), gone AS (
    DELETE FROM compliance_assignments a
    WHERE a.tenant_id = $1 AND NOT EXISTS (
        SELECT FROM desired d WHERE d.requirement_id = a.requirement_id AND d.learner_id = a.learner_id)
), assigned AS (
    UPDATE compliance_requirements SET assigned_at = now()
    WHERE tenant_id = $1 AND retired_at IS NULL AND assigned_at IS NULL
)
INSERT INTO compliance_assignments (tenant_id, requirement_id, learner_id, assigned_on, due_on)
SELECT $1, requirement_id, learner_id, assigned_on, ` + firstDue + `
FROM desired d
ON CONFLICT (tenant_id, requirement_id, learner_id) DO NOTHING`

// complianceDueSync gives every assignment of the tenant the due date
// dueRule says, after the roster (hire dates) or a requirement (its due
// days, in-force date) changed.
const complianceDueSync = `
UPDATE compliance_assignments a SET due_on = ` + dueRule + `
FROM compliance_requirements r, learners l
WHERE a.tenant_id = $1 AND r.tenant_id = $1 AND r.id = a.requirement_id AND l.tenant_id = $1 AND l.id = a.learner_id
  AND a.due_on IS DISTINCT FROM ` + dueRule

// dueRule is an assignment's due date (assignment a, with its
// requirement's and learner's columns beside it): once completed, and
// while the requirement recertifies, the expiry of the last completion
// (the due date rolls forward with each completion); otherwise firstDue.
const dueRule = `coalesce(a.expires_on, ` + firstDue + `)`

// firstDue is the due date before any completion, from columns named as
// in compliance_requirements (due_from, in_force_from, due_days),
// learners (hire_date) and compliance_assignments (assigned_on): due days
// after hire for a requirement due from hire and a person hired on or
// after its in-force date (a new hire); due days after assignment for
// everyone else (existing staff, and every requirement due from
// assignment).
const firstDue = `(CASE WHEN due_from = 'hire' AND hire_date >= in_force_from THEN hire_date ELSE assigned_on END + due_days)`

// refreshTenant recomputes the tenant-wide parts of silver after the
// roster, the catalog or the requirements change (reporting lines,
// compliance assignments, every enrolment), then rebuilds gold. The caller
// gives the change its gold version (Import does, for every import that
// changed anything).
func refreshTenant(ctx context.Context, tx pgx.Tx, tenantID int64, tz string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM org_closure WHERE tenant_id = $1`, tenantID); err != nil {
		return fmt.Errorf("rebuild reporting lines: %w", err)
	}
	if _, err := tx.Exec(ctx, orgClosureRebuild, tenantID); err != nil {
		return fmt.Errorf("rebuild reporting lines: %w", err)
	}
	if _, err := tx.Exec(ctx, complianceAssignmentsSync, tenantID, tz); err != nil {
		return fmt.Errorf("sync compliance assignments: %w", err)
	}
	if _, err := tx.Exec(ctx, complianceDueSync, tenantID); err != nil {
		return fmt.Errorf("sync compliance due dates: %w", err)
	}
	// Every enrolment may change: the tenant-wide rebuild, set-based, not
	// refreshSilver key by key (2,000 keys a statement: 270 statements of
	// seconds each for 90,000 people with 6 requirements).
	if err := rebuildSilver(ctx, tx, tenantID, tz); err != nil {
		return err
	}
	return rebuildGold(ctx, tx, tenantID)
}
