-- +goose NO TRANSACTION
-- +goose Up
-- Issue 17's last two admin routes over 100 ms on the 10M-statement tenant:
-- attempts to pass as silver and gold, and a row of gold_active_people for
-- every learner (below).
--
-- Attempts to pass (docs/PERFORMANCE.md, "10M statements: the assessment
-- course page"). An assessed course's attempts
-- to pass (analytics.CourseAttemptsToPass) joined each passed enrolment to
-- its attempts up to the pass: about 80,000 passes and 107,000 attempts,
-- 252 ms for a course of the 10M-statement tenant whatever the join plan.
--
-- Each enrolment now keeps that count: its pass, fail and score events
-- (not voided) up to and including passed_at, when passed (the latest pass
-- or fail, by time and statement id, is a pass); NULL otherwise, and for a
-- pass that only an import records (no passed_at). Both silver paths keep
-- it (pipeline/silver.go, rebuild.go). Nullable without a default: the
-- previous release's inserts leave it NULL, which the next batch for the
-- enrolment recomputes.
ALTER TABLE enrollments ADD COLUMN IF NOT EXISTS attempts_to_pass integer;

-- Passed enrolments per course, learner group (current manager,
-- department, location, keyed like gold_course_completion) and attempts
-- to pass; and its tenant-wide roll-up, what the organisation-wide page
-- reads (a few rows per course). Kept by the enrolments' gold deltas and
-- rebuilt with gold.
CREATE TABLE IF NOT EXISTS gold_attempts_to_pass (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, manager_id bigint NOT NULL, department text NOT NULL,
    location text NOT NULL, attempts integer NOT NULL, people integer NOT NULL,
    PRIMARY KEY (tenant_id, course_id, manager_id, department, location, attempts));
CREATE TABLE IF NOT EXISTS gold_attempts_to_pass_tenant (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, attempts integer NOT NULL, people integer NOT NULL,
    PRIMARY KEY (tenant_id, course_id, attempts));

-- Every learner gets a row of gold_active_people, without days when they
-- were never active, so that the inactive people's list (analytics,
-- "engagement/inactive") reads only the rows whose last day is outside
-- the range, or none, along the index below: it hashed every person of
-- the tenant against the active ones to keep the inactive (87 ms of the
-- engagement page's 115 ms on the 10M-statement tenant, 3,259 of 86,744
-- people kept; docs/PERFORMANCE.md, "10M statements: engagement"). The
-- statements that create learners write the row (pipeline/events.go,
-- roster.go); a batch that leaves someone without days empties it.
-- The previous release, serving meanwhile, deletes such a row instead and
-- creates learners without one, and its list of inactive people leaves out
-- those without days: the gold rebuild after the upgrade puts them back.
ALTER TABLE gold_active_people ALTER COLUMN first_day DROP NOT NULL, ALTER COLUMN last_day DROP NOT NULL;
CREATE INDEX IF NOT EXISTS gold_active_people_last ON gold_active_people (tenant_id, last_day);
-- The tenant's share of the rows without days, or before a date, is its
-- own: a tenant whose roster is not active yet (every row without days)
-- made the planner expect 35,000 such rows of the 10M-statement tenant
-- (501 there) and scan the whole table. Statistics of the pairs keep the
-- estimates per tenant.
CREATE STATISTICS IF NOT EXISTS gold_active_people_tenant_last (mcv) ON tenant_id, last_day FROM gold_active_people;

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = 'gold_attempts_to_pass'::regclass) THEN
        PERFORM isolate_tenant('gold_attempts_to_pass');
    END IF;
    IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = 'gold_attempts_to_pass_tenant'::regclass) THEN
        PERFORM isolate_tenant('gold_attempts_to_pass_tenant');
    END IF;
END
$$;
-- +goose StatementEnd
GRANT SELECT, INSERT, UPDATE, DELETE ON gold_attempts_to_pass, gold_attempts_to_pass_tenant TO learnlens_app;

-- Every tenant's counts and rows, as the silver and gold rebuilds compute
-- them (one statement: it can be run again after a failure). What the
-- previous release stores meanwhile is counted by the next silver rebuild
-- (docs/OPERATIONS.md, "Derived tables the previous release does not keep").
-- +goose StatementBegin
DO $$
BEGIN
    PERFORM set_config('app.platform', 'on', true);
    UPDATE enrollments en SET attempts_to_pass = a.n
    FROM (SELECT en.tenant_id, en.course_id, en.learner_id, count(*) AS n
          FROM enrollments en
          JOIN learning_events e ON e.tenant_id = en.tenant_id AND e.course_id = en.course_id AND e.learner_id = en.learner_id
          WHERE en.passed AND e.kind IN ('pass', 'fail', 'score') AND NOT e.voided AND e.ts <= en.passed_at
          GROUP BY 1, 2, 3) a
    WHERE en.tenant_id = a.tenant_id AND en.course_id = a.course_id AND en.learner_id = a.learner_id
      AND en.attempts_to_pass IS DISTINCT FROM a.n;
    DELETE FROM gold_attempts_to_pass;
    INSERT INTO gold_attempts_to_pass
    SELECT en.tenant_id, en.course_id, coalesce(l.manager_id, 0), l.department, l.location, en.attempts_to_pass, count(*)
    FROM enrollments en JOIN learners l ON l.tenant_id = en.tenant_id AND l.id = en.learner_id
    WHERE en.attempts_to_pass IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6;
    DELETE FROM gold_attempts_to_pass_tenant;
    INSERT INTO gold_attempts_to_pass_tenant
    SELECT tenant_id, course_id, attempts, sum(people) FROM gold_attempts_to_pass GROUP BY 1, 2, 3;
    INSERT INTO gold_active_people (tenant_id, learner_id)
    SELECT l.tenant_id, l.id FROM learners l
    WHERE NOT EXISTS (SELECT FROM gold_active_people p WHERE p.tenant_id = l.tenant_id AND p.learner_id = l.id);
END
$$;
-- +goose StatementEnd

-- The passed enrolments' index served only the query these replace.
DROP INDEX CONCURRENTLY IF EXISTS enrollments_passed;

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    PERFORM set_config('app.platform', 'on', true);
    DELETE FROM gold_active_people WHERE last_day IS NULL;
END
$$;
-- +goose StatementEnd
DROP STATISTICS IF EXISTS gold_active_people_tenant_last;
DROP INDEX IF EXISTS gold_active_people_last;
ALTER TABLE gold_active_people ALTER COLUMN first_day SET NOT NULL, ALTER COLUMN last_day SET NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS enrollments_passed ON enrollments (tenant_id, course_id, learner_id)
    INCLUDE (passed_at) WHERE passed;
DROP TABLE IF EXISTS gold_attempts_to_pass_tenant, gold_attempts_to_pass;
ALTER TABLE enrollments DROP COLUMN IF EXISTS attempts_to_pass;
