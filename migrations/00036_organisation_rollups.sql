-- +goose Up
-- Organisation roll-ups of the gold the filtered organisation-wide views
-- read: the grouped rows summed over the learner's manager, keyed by
-- department and location, kept by the same deltas as the tenant-wide
-- roll-ups (<name>_tenant, migration 00005) and rebuilt with gold. A view
-- of the whole organisation filtered by a department, a location or both
-- reads them instead of the grouped table, whose rows of one department
-- are on every heap page: it read all the tenant's rows of its range to
-- keep a tenth of them (docs/PERFORMANCE.md, "seventh pass"). The keys
-- lead with the department and location, then the day where there is one,
-- so that a department's range is one index range; a second index by
-- location and day serves a location alone (on a 400,000-statement copy
-- the heatmap of a location read 27 heap pages along it, 611 without).
CREATE TABLE gold_course_completion_org (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, department text NOT NULL, location text NOT NULL,
    enrolled integer NOT NULL, in_progress integer NOT NULL, completed integer NOT NULL, passed integer NOT NULL,
    failed integer NOT NULL, seconds_to_complete bigint NOT NULL,
    PRIMARY KEY (tenant_id, department, location, course_id));
CREATE TABLE gold_completion_daily_org (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, department text NOT NULL, location text NOT NULL,
    day date NOT NULL, days_to_complete integer NOT NULL, completed integer NOT NULL,
    PRIMARY KEY (tenant_id, department, location, day, course_id, days_to_complete));
CREATE TABLE gold_assessment_org (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, department text NOT NULL, location text NOT NULL,
    bucket integer NOT NULL, day date NOT NULL, attempts integer NOT NULL, passed integer NOT NULL, failed integer NOT NULL,
    PRIMARY KEY (tenant_id, department, location, day, course_id, bucket));
CREATE TABLE gold_course_activity_daily_org (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, department text NOT NULL, location text NOT NULL,
    day date NOT NULL, statements integer NOT NULL, duration_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, department, location, day, course_id));
CREATE TABLE gold_activity_hourly_org (
    tenant_id bigint NOT NULL, day date NOT NULL, department text NOT NULL, location text NOT NULL,
    hour integer NOT NULL, statements integer NOT NULL,
    PRIMARY KEY (tenant_id, department, location, day, hour));
CREATE TABLE gold_engagement_daily_org (
    tenant_id bigint NOT NULL, day date NOT NULL, department text NOT NULL, location text NOT NULL,
    active_learners integer NOT NULL, statements integer NOT NULL, duration_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, department, location, day));
CREATE INDEX gold_completion_daily_org_location ON gold_completion_daily_org (tenant_id, location, day);
CREATE INDEX gold_assessment_org_location ON gold_assessment_org (tenant_id, location, day);
CREATE INDEX gold_course_activity_daily_org_location ON gold_course_activity_daily_org (tenant_id, location, day);
CREATE INDEX gold_activity_hourly_org_location ON gold_activity_hourly_org (tenant_id, location, day);
CREATE INDEX gold_engagement_daily_org_location ON gold_engagement_daily_org (tenant_id, location, day);

SELECT isolate_tenant(t) FROM unnest(ARRAY['gold_course_completion_org', 'gold_completion_daily_org',
    'gold_assessment_org', 'gold_course_activity_daily_org', 'gold_activity_hourly_org',
    'gold_engagement_daily_org']::regclass[]) AS t;
GRANT SELECT, INSERT, UPDATE, DELETE ON gold_course_completion_org, gold_completion_daily_org,
    gold_assessment_org, gold_course_activity_daily_org, gold_activity_hourly_org,
    gold_engagement_daily_org TO learnlens_app;

-- Every tenant's rows, summed from the grouped tables as a rebuild sums
-- them, in key order. The previous release, serving meanwhile, does not
-- keep them: what it stores from here on is added by the next gold
-- rebuild (docs/OPERATIONS.md, "Derived tables the previous release does
-- not keep").
SET LOCAL app.platform = 'on';
INSERT INTO gold_course_completion_org
SELECT tenant_id, course_id, department, location, sum(enrolled), sum(in_progress), sum(completed), sum(passed),
    sum(failed), sum(seconds_to_complete)
FROM gold_course_completion GROUP BY 1, 2, 3, 4 ORDER BY 1, 3, 4, 2;
INSERT INTO gold_completion_daily_org
SELECT tenant_id, course_id, department, location, day, days_to_complete, sum(completed)
FROM gold_completion_daily GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 3, 4, 5, 2, 6;
INSERT INTO gold_assessment_org
SELECT tenant_id, course_id, department, location, bucket, day, sum(attempts), sum(passed), sum(failed)
FROM gold_assessment GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 3, 4, 6, 2, 5;
INSERT INTO gold_course_activity_daily_org
SELECT tenant_id, course_id, department, location, day, sum(statements), sum(duration_ms)
FROM gold_course_activity_daily GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 3, 4, 5, 2;
INSERT INTO gold_activity_hourly_org
SELECT tenant_id, day, department, location, hour, sum(statements)
FROM gold_activity_hourly GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 3, 4, 2, 5;
INSERT INTO gold_engagement_daily_org
SELECT tenant_id, day, department, location, sum(active_learners), sum(statements), sum(duration_ms)
FROM gold_engagement_daily GROUP BY 1, 2, 3, 4 ORDER BY 1, 3, 4, 2;

-- +goose Down
DROP TABLE gold_course_completion_org, gold_completion_daily_org, gold_assessment_org,
    gold_course_activity_daily_org, gold_activity_hourly_org, gold_engagement_daily_org;
