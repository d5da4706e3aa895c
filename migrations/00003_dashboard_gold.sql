-- +goose Up
-- Gold tables for the dashboards' date ranges: completions by the day they
-- happened (with days taken, for medians), assessment attempts by day,
-- activity by course and day, and by hour of the day for the heatmap.
-- Days and hours are the tenant's local ones.

CREATE TABLE gold_completion_daily (
    tenant_id         bigint NOT NULL,
    course_id         bigint NOT NULL,
    manager_id        bigint NOT NULL,
    department        text NOT NULL,
    location          text NOT NULL,
    day               date NOT NULL,
    days_to_complete  integer NOT NULL,
    completed         integer NOT NULL,
    PRIMARY KEY (tenant_id, course_id, manager_id, department, location, day, days_to_complete)
);
CREATE INDEX gold_completion_daily_day ON gold_completion_daily (tenant_id, day);

ALTER TABLE gold_assessment ADD COLUMN day date NOT NULL DEFAULT '-infinity';
ALTER TABLE gold_assessment DROP CONSTRAINT gold_assessment_pkey;
ALTER TABLE gold_assessment ADD PRIMARY KEY (tenant_id, course_id, manager_id, department, location, bucket, day);
ALTER TABLE gold_assessment ALTER COLUMN day DROP DEFAULT;
CREATE INDEX gold_assessment_day ON gold_assessment (tenant_id, day);

CREATE TABLE gold_course_activity_daily (
    tenant_id   bigint NOT NULL,
    day         date NOT NULL,
    course_id   bigint NOT NULL,
    manager_id  bigint NOT NULL,
    department  text NOT NULL,
    location    text NOT NULL,
    statements  integer NOT NULL,
    duration_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, day, course_id, manager_id, department, location)
);

CREATE TABLE gold_activity_hourly (
    tenant_id  bigint NOT NULL,
    day        date NOT NULL,
    hour       integer NOT NULL CHECK (hour BETWEEN 0 AND 23),
    manager_id bigint NOT NULL,
    department text NOT NULL,
    location   text NOT NULL,
    statements integer NOT NULL,
    PRIMARY KEY (tenant_id, day, hour, manager_id, department, location)
);

-- A manager's part of the organisation reads gold by manager.
CREATE INDEX gold_course_completion_manager ON gold_course_completion (tenant_id, manager_id);
CREATE INDEX gold_completion_due_manager ON gold_completion_due (tenant_id, manager_id);
CREATE INDEX gold_compliance_manager ON gold_compliance (tenant_id, manager_id);
CREATE INDEX gold_engagement_daily_manager ON gold_engagement_daily (tenant_id, manager_id, day);

-- Question-level results of one course, and a course's attempts.
CREATE INDEX learning_events_course ON learning_events (tenant_id, course_id, kind) WHERE NOT voided;
CREATE INDEX enrollments_course_status ON enrollments (tenant_id, course_id, status);
CREATE INDEX compliance_assignments_requirement ON compliance_assignments (tenant_id, requirement_id, due_on);

SELECT isolate_tenant(t) FROM unnest(ARRAY['gold_completion_daily', 'gold_course_activity_daily',
    'gold_activity_hourly']::regclass[]) AS t;
GRANT SELECT, INSERT, UPDATE, DELETE ON gold_completion_daily, gold_course_activity_daily, gold_activity_hourly
    TO learnlens_app;

-- Fill the new rows from silver for tenants that already have data (the
-- same definitions as pipeline/gold.go's rebuild).
SET LOCAL app.platform = 'on';
DELETE FROM gold_assessment;
INSERT INTO gold_assessment (tenant_id, course_id, manager_id, department, location, bucket, day, attempts, passed, failed)
SELECT e.tenant_id, e.course_id, coalesce(l.manager_id, 0), l.department, l.location,
    CASE WHEN e.scaled IS NULL THEN 10 ELSE least(9, greatest(0, floor(e.scaled * 10)))::int END, e.day,
    count(*), count(*) FILTER (WHERE e.kind = 'pass' OR (e.kind = 'score' AND e.success)),
    count(*) FILTER (WHERE e.kind = 'fail' OR (e.kind = 'score' AND NOT e.success))
FROM learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
WHERE NOT e.voided AND e.kind IN ('pass', 'fail', 'score')
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO gold_completion_daily (tenant_id, course_id, manager_id, department, location, day, days_to_complete, completed)
SELECT en.tenant_id, en.course_id, coalesce(l.manager_id, 0), l.department, l.location,
    (en.completed_at AT TIME ZONE t.time_zone)::date, floor(round(extract(epoch FROM en.completed_at - en.enrolled_at)) / 86400)::int,
    count(*)
FROM enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
JOIN tenants t ON t.id = en.tenant_id
WHERE en.status = 'completed'
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO gold_course_activity_daily (tenant_id, day, course_id, manager_id, department, location, statements, duration_ms)
SELECT e.tenant_id, e.day, e.course_id, coalesce(l.manager_id, 0), l.department, l.location, count(*), sum(e.duration_ms)
FROM learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
WHERE NOT e.voided
GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO gold_activity_hourly (tenant_id, day, hour, manager_id, department, location, statements)
SELECT e.tenant_id, e.day, extract(hour FROM e.ts AT TIME ZONE t.time_zone)::int, coalesce(l.manager_id, 0),
    l.department, l.location, count(*)
FROM learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
JOIN tenants t ON t.id = e.tenant_id
WHERE NOT e.voided
GROUP BY 1, 2, 3, 4, 5, 6;

-- +goose Down
DROP TABLE gold_activity_hourly, gold_course_activity_daily, gold_completion_daily;
DROP INDEX gold_course_completion_manager, gold_completion_due_manager, gold_compliance_manager,
    gold_engagement_daily_manager, learning_events_course, enrollments_course_status, compliance_assignments_requirement;
DELETE FROM gold_assessment;
DROP INDEX gold_assessment_day;
ALTER TABLE gold_assessment DROP CONSTRAINT gold_assessment_pkey;
ALTER TABLE gold_assessment DROP COLUMN day;
ALTER TABLE gold_assessment ADD PRIMARY KEY (tenant_id, course_id, manager_id, department, location, bucket);
