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
// assignment keeps its assigned date; a new one starts at hire (due_from
// "hire", when known) or today.
const complianceAssignmentsSync = `
WITH desired AS (
    SELECT r.id AS requirement_id, l.id AS learner_id,
        CASE WHEN r.due_from = 'hire' AND l.hire_date IS NOT NULL THEN l.hire_date
             ELSE (now() AT TIME ZONE $2)::date END AS assigned_on,
        r.due_days
    FROM compliance_requirements r
    JOIN learners l ON l.tenant_id = r.tenant_id AND l.rostered AND l.status = 'active'
    WHERE r.tenant_id = $1 AND r.retired_at IS NULL AND ` + audienceMatch + `
), gone AS (
    DELETE FROM compliance_assignments a
    WHERE a.tenant_id = $1 AND NOT EXISTS (
        SELECT FROM desired d WHERE d.requirement_id = a.requirement_id AND d.learner_id = a.learner_id)
)
INSERT INTO compliance_assignments AS a (tenant_id, requirement_id, learner_id, assigned_on, due_on)
SELECT $1, requirement_id, learner_id, assigned_on, assigned_on + due_days FROM desired
ON CONFLICT (tenant_id, requirement_id, learner_id) DO UPDATE
    SET due_on = a.assigned_on + (excluded.due_on - excluded.assigned_on)
    WHERE a.due_on IS DISTINCT FROM a.assigned_on + (excluded.due_on - excluded.assigned_on)`

// allEnrollmentKeys lists every (learner, course) that has or may need an
// enrolment row.
const allEnrollmentKeys = `
SELECT coalesce(array_agg(learner_id), '{}'), coalesce(array_agg(course_id), '{}') FROM (
    SELECT learner_id, course_id FROM learning_events WHERE tenant_id = $1
    UNION SELECT learner_id, course_id FROM enrollment_imports WHERE tenant_id = $1
    UNION SELECT a.learner_id, r.course_id FROM compliance_assignments a
        JOIN compliance_requirements r ON r.tenant_id = a.tenant_id AND r.id = a.requirement_id WHERE a.tenant_id = $1
    UNION SELECT learner_id, course_id FROM enrollments WHERE tenant_id = $1
) k`

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
	var learners, courses []int64
	if err := tx.QueryRow(ctx, allEnrollmentKeys, tenantID).Scan(&learners, &courses); err != nil {
		return fmt.Errorf("list enrolment keys: %w", err)
	}
	k := newKeys()
	for i := range learners {
		k.addRecompute(learners[i], courses[i])
	}
	if err := refreshSilver(ctx, tx, tenantID, tz, k); err != nil {
		return err
	}
	return rebuildGold(ctx, tx, tenantID)
}
