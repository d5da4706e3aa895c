-- +goose Up
-- A manager's view reads the per-day gold of the groups under them over a
-- date range: one index range per group instead of the tenant's whole range.
CREATE INDEX gold_course_activity_daily_manager ON gold_course_activity_daily (tenant_id, manager_id, day);
CREATE INDEX gold_completion_daily_manager ON gold_completion_daily (tenant_id, manager_id, day);
CREATE INDEX gold_activity_hourly_manager ON gold_activity_hourly (tenant_id, manager_id, day);
CREATE INDEX gold_assessment_manager ON gold_assessment (tenant_id, manager_id, day);

-- Active learners over a range are counted from the day index alone.
DROP INDEX daily_activity_day;
CREATE INDEX daily_activity_day ON daily_activity (tenant_id, day) INCLUDE (learner_id);

-- Tenant-wide roll-ups of the gold the organisation-wide views read: the
-- same rows summed over the learner's group (manager, department,
-- location), kept by the same deltas. A 1M-statement tenant has about
-- 50,000 grouped rows per table and a few thousand rolled up.
CREATE TABLE gold_course_completion_tenant (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL,
    enrolled integer NOT NULL, in_progress integer NOT NULL, completed integer NOT NULL, passed integer NOT NULL,
    failed integer NOT NULL, seconds_to_complete bigint NOT NULL,
    PRIMARY KEY (tenant_id, course_id));
CREATE TABLE gold_completion_daily_tenant (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, day date NOT NULL, days_to_complete integer NOT NULL,
    completed integer NOT NULL,
    PRIMARY KEY (tenant_id, course_id, day, days_to_complete));
CREATE INDEX gold_completion_daily_tenant_day ON gold_completion_daily_tenant (tenant_id, day);
CREATE TABLE gold_assessment_tenant (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, bucket integer NOT NULL, day date NOT NULL,
    attempts integer NOT NULL, passed integer NOT NULL, failed integer NOT NULL,
    PRIMARY KEY (tenant_id, course_id, bucket, day));
CREATE INDEX gold_assessment_tenant_day ON gold_assessment_tenant (tenant_id, day);
CREATE TABLE gold_course_activity_daily_tenant (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, day date NOT NULL, statements integer NOT NULL,
    duration_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, day, course_id));
CREATE TABLE gold_activity_hourly_tenant (
    tenant_id bigint NOT NULL, day date NOT NULL, hour integer NOT NULL, statements integer NOT NULL,
    PRIMARY KEY (tenant_id, day, hour));
CREATE TABLE gold_engagement_daily_tenant (
    tenant_id bigint NOT NULL, day date NOT NULL, active_learners integer NOT NULL, statements integer NOT NULL,
    duration_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, day));

SELECT isolate_tenant(t) FROM unnest(ARRAY['gold_course_completion_tenant', 'gold_completion_daily_tenant',
    'gold_assessment_tenant', 'gold_course_activity_daily_tenant', 'gold_activity_hourly_tenant',
    'gold_engagement_daily_tenant']::regclass[]) AS t;
GRANT SELECT, INSERT, UPDATE, DELETE ON gold_course_completion_tenant, gold_completion_daily_tenant,
    gold_assessment_tenant, gold_course_activity_daily_tenant, gold_activity_hourly_tenant,
    gold_engagement_daily_tenant TO learnlens_app;

SET LOCAL app.platform = 'on';
INSERT INTO gold_course_completion_tenant
SELECT tenant_id, course_id, sum(enrolled), sum(in_progress), sum(completed), sum(passed), sum(failed), sum(seconds_to_complete)
FROM gold_course_completion GROUP BY 1, 2;
INSERT INTO gold_completion_daily_tenant
SELECT tenant_id, course_id, day, days_to_complete, sum(completed) FROM gold_completion_daily GROUP BY 1, 2, 3, 4;
INSERT INTO gold_assessment_tenant
SELECT tenant_id, course_id, bucket, day, sum(attempts), sum(passed), sum(failed) FROM gold_assessment GROUP BY 1, 2, 3, 4;
INSERT INTO gold_course_activity_daily_tenant
SELECT tenant_id, course_id, day, sum(statements), sum(duration_ms) FROM gold_course_activity_daily GROUP BY 1, 2, 3;
INSERT INTO gold_activity_hourly_tenant
SELECT tenant_id, day, hour, sum(statements) FROM gold_activity_hourly GROUP BY 1, 2, 3;
INSERT INTO gold_engagement_daily_tenant
SELECT tenant_id, day, sum(active_learners), sum(statements), sum(duration_ms) FROM gold_engagement_daily GROUP BY 1, 2;

-- +goose Down
DROP INDEX daily_activity_day;
CREATE INDEX daily_activity_day ON daily_activity (tenant_id, day);
DROP TABLE gold_course_completion_tenant, gold_completion_daily_tenant, gold_assessment_tenant,
    gold_course_activity_daily_tenant, gold_activity_hourly_tenant, gold_engagement_daily_tenant;
DROP INDEX gold_course_activity_daily_manager, gold_completion_daily_manager, gold_activity_hourly_manager,
    gold_assessment_manager;
