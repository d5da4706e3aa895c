-- +goose Up
-- Due dates a compliance officer signs off (issue 19, part 1). See
-- docs/DASHBOARDS.md, "Compliance dates".

-- in_force_from is the day a requirement applies from: the day it was
-- created, unless an import names an earlier "In Force From" date (a
-- requirement carried over from a previous LMS). People hired on or after
-- it are new hires for a requirement due from hire; everyone else is
-- existing staff, due N days after assignment.
-- assigned_at is when its people were first assigned (NULL until then, and
-- again after an edit restarts its clock or it is put back in force): the
-- people on the roster at that first assignment are assigned on
-- in_force_from (or their hire date, if later); anyone who comes under it
-- later is assigned on the day they do.
ALTER TABLE compliance_requirements
    ADD COLUMN in_force_from date,
    ADD COLUMN assigned_at timestamptz;
UPDATE compliance_requirements r SET in_force_from = (r.created_at AT TIME ZONE t.time_zone)::date,
    assigned_at = r.created_at
FROM tenants t WHERE t.id = r.tenant_id;
ALTER TABLE compliance_requirements ALTER COLUMN in_force_from SET NOT NULL;
-- A default keeps the previous release's inserts working during a rolling
-- upgrade (docs/OPERATIONS.md); this release always sets the column.
ALTER TABLE compliance_requirements ALTER COLUMN in_force_from SET DEFAULT current_date;

-- Existing staff of a requirement due from hire were assigned (and due)
-- from their hire date, years before the requirement existed: assign them
-- on its in-force date instead, and give every assignment its due date by
-- the rule (a recertifying requirement's due date is the expiry of the
-- last completion). Enrolments and gold follow at the tenant's next
-- roster, catalog or requirements change.
UPDATE compliance_assignments a SET assigned_on = greatest(a.assigned_on, r.in_force_from)
FROM compliance_requirements r
WHERE r.tenant_id = a.tenant_id AND r.id = a.requirement_id AND a.assigned_on < r.in_force_from;
UPDATE compliance_assignments a SET due_on = coalesce(a.expires_on,
        CASE WHEN r.due_from = 'hire' AND l.hire_date >= r.in_force_from THEN l.hire_date ELSE a.assigned_on END + r.due_days)
FROM compliance_requirements r, learners l
WHERE r.tenant_id = a.tenant_id AND r.id = a.requirement_id AND l.tenant_id = a.tenant_id AND l.id = a.learner_id;

-- +goose Down
ALTER TABLE compliance_requirements DROP COLUMN in_force_from, DROP COLUMN assigned_at;
