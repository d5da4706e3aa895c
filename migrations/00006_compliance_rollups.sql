-- +goose Up
-- Compliance gold at the grain its status needs. An assignment's status
-- today turns on one date: its expiry once completed ('infinity' if it
-- never expires), else its due date. Keyed by both dates, gold_compliance
-- held about one row per assignment (438,818 rows for 445,279 assignments
-- in a 90,000-person tenant, hire-based due dates differing per person),
-- and the organisation-wide compliance page took 1.8 s.
DROP TABLE gold_compliance;
CREATE TABLE gold_compliance (
    tenant_id      bigint NOT NULL,
    requirement_id bigint NOT NULL,
    manager_id     bigint NOT NULL,
    department     text NOT NULL,
    location       text NOT NULL,
    completed      boolean NOT NULL,
    on_date        date NOT NULL, -- completed: expires on ('infinity': never); else due on
    people         integer NOT NULL,
    PRIMARY KEY (tenant_id, requirement_id, manager_id, department, location, completed, on_date)
);
CREATE INDEX gold_compliance_manager ON gold_compliance (tenant_id, manager_id);

-- Tenant-wide roll-ups (see 00005) of compliance and of incomplete
-- enrolments by due date, whose grouped rows are also about one per person.
CREATE TABLE gold_compliance_tenant (
    tenant_id bigint NOT NULL, requirement_id bigint NOT NULL, completed boolean NOT NULL, on_date date NOT NULL,
    people integer NOT NULL,
    PRIMARY KEY (tenant_id, requirement_id, completed, on_date));
CREATE TABLE gold_completion_due_tenant (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, due_on date NOT NULL, incomplete integer NOT NULL,
    PRIMARY KEY (tenant_id, course_id, due_on));

SELECT isolate_tenant(t) FROM unnest(ARRAY['gold_compliance', 'gold_compliance_tenant',
    'gold_completion_due_tenant']::regclass[]) AS t;
GRANT SELECT, INSERT, UPDATE, DELETE ON gold_compliance, gold_compliance_tenant, gold_completion_due_tenant
    TO learnlens_app;

-- The same rows a gold rebuild computes (pipeline/gold.go).
SET LOCAL app.platform = 'on';
INSERT INTO gold_compliance
SELECT ca.tenant_id, ca.requirement_id, coalesce(l.manager_id, 0), l.department, l.location, ca.completed_at IS NOT NULL,
    CASE WHEN ca.completed_at IS NOT NULL THEN coalesce(ca.expires_on, 'infinity') ELSE ca.due_on END, count(*)
FROM compliance_assignments ca JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO gold_compliance_tenant
SELECT tenant_id, requirement_id, completed, on_date, sum(people) FROM gold_compliance GROUP BY 1, 2, 3, 4;
INSERT INTO gold_completion_due_tenant
SELECT tenant_id, course_id, due_on, sum(incomplete) FROM gold_completion_due GROUP BY 1, 2, 3;

-- +goose Down
DROP TABLE gold_compliance_tenant, gold_completion_due_tenant;
DROP TABLE gold_compliance;
CREATE TABLE gold_compliance (
    tenant_id      bigint NOT NULL,
    requirement_id bigint NOT NULL,
    manager_id     bigint NOT NULL,
    department     text NOT NULL,
    location       text NOT NULL,
    due_on         date NOT NULL,
    expires_on     date NOT NULL DEFAULT 'infinity',
    completed      boolean NOT NULL,
    people         integer NOT NULL,
    PRIMARY KEY (tenant_id, requirement_id, manager_id, department, location, due_on, expires_on, completed)
);
CREATE INDEX gold_compliance_manager ON gold_compliance (tenant_id, manager_id);
SELECT isolate_tenant('gold_compliance');
GRANT SELECT, INSERT, UPDATE, DELETE ON gold_compliance TO learnlens_app;
SET LOCAL app.platform = 'on';
INSERT INTO gold_compliance
SELECT ca.tenant_id, ca.requirement_id, coalesce(l.manager_id, 0), l.department, l.location, ca.due_on,
    coalesce(ca.expires_on, 'infinity'), ca.completed_at IS NOT NULL, count(*)
FROM compliance_assignments ca JOIN learners l ON l.tenant_id = ca.tenant_id AND l.id = ca.learner_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
