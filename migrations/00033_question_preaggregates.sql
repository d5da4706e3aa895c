-- +goose NO TRANSACTION
-- +goose Up
-- Question results as gold (issue 17; docs/PERFORMANCE.md, "10M
-- statements: the assessment course page"). The questions table of an
-- assessed course (analytics, "assessments/questions") aggregated every
-- interaction event of the course in the range: 562,000 events and a sort
-- that spilled to disk, 1.1 s, for a course of a 10M-statement tenant.
-- These hold the same counts per question, response and local day, kept
-- by the statement deltas (pipeline/gold.go) and rebuilt with gold; the
-- most frequent response is the response with the most answers.
--
-- Keyed like gold_assessment: course, the learner's group (current
-- manager, department, location), then question, response ('' for none;
-- the pipeline stores no empty response) and local day.
CREATE TABLE IF NOT EXISTS gold_question_daily (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, manager_id bigint NOT NULL, department text NOT NULL,
    location text NOT NULL, interaction_id text NOT NULL, response text NOT NULL, day date NOT NULL,
    answers integer NOT NULL, correct integer NOT NULL, judged integer NOT NULL,
    PRIMARY KEY (tenant_id, course_id, manager_id, department, location, interaction_id, response, day));
-- Its tenant-wide roll-up, what the organisation-wide page reads.
CREATE TABLE IF NOT EXISTS gold_question_daily_tenant (
    tenant_id bigint NOT NULL, course_id bigint NOT NULL, interaction_id text NOT NULL, response text NOT NULL,
    day date NOT NULL, answers integer NOT NULL, correct integer NOT NULL, judged integer NOT NULL,
    PRIMARY KEY (tenant_id, course_id, interaction_id, response, day));

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = 'gold_question_daily'::regclass) THEN
        PERFORM isolate_tenant('gold_question_daily');
    END IF;
    IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = 'gold_question_daily_tenant'::regclass) THEN
        PERFORM isolate_tenant('gold_question_daily_tenant');
    END IF;
END
$$;
-- +goose StatementEnd
GRANT SELECT, INSERT, UPDATE, DELETE ON gold_question_daily, gold_question_daily_tenant TO learnlens_app;

-- Every tenant's rows, as a gold rebuild computes them (one statement: it
-- can be run again after a failure). The previous release, serving
-- meanwhile, does not keep these tables: what it ingests until the new
-- release takes over is counted by the next gold rebuild.
-- +goose StatementBegin
DO $$
BEGIN
    PERFORM set_config('app.platform', 'on', true);
    DELETE FROM gold_question_daily;
    INSERT INTO gold_question_daily
    SELECT e.tenant_id, e.course_id, coalesce(l.manager_id, 0), l.department, l.location, e.interaction_id, coalesce(e.response, ''), e.day,
        count(*), count(*) FILTER (WHERE e.success), count(*) FILTER (WHERE e.success IS NOT NULL)
    FROM learning_events e JOIN learners l ON l.tenant_id = e.tenant_id AND l.id = e.learner_id
    WHERE NOT e.voided AND e.kind = 'interaction' AND e.interaction_id IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
    DELETE FROM gold_question_daily_tenant;
    INSERT INTO gold_question_daily_tenant
    SELECT tenant_id, course_id, interaction_id, response, day, sum(answers), sum(correct), sum(judged)
    FROM gold_question_daily GROUP BY 1, 2, 3, 4, 5;
END
$$;
-- +goose StatementEnd

-- A course's attempts, newest first (the attempts table's default order,
-- assessments/attempts): its first page is the first entries of one range
-- of this index, and its total is gold_assessment's, instead of sorting
-- and counting every attempt of the course (162 ms for a course of the
-- 10M-statement tenant). CONCURRENTLY, as ingest goes on meanwhile
-- (docs/OPERATIONS.md, "Migrations during a rolling upgrade"); the
-- pipeline's lookups name all three leading columns of the others.
CREATE INDEX CONCURRENTLY IF NOT EXISTS learning_events_recent_attempts ON learning_events (tenant_id, course_id, ts DESC, learner_id)
    INCLUDE (day, kind, scaled, success)
    WHERE kind IN ('pass', 'fail', 'score') AND NOT voided;

-- A course's passed enrolments in learner order, with the time of the
-- pass: attempts to pass (analytics.CourseAttemptsToPass) reads them
-- index-only and meets the course's attempts (learning_events_attempts,
-- in the same order) in a merge join, with no sort of either. Partial on
-- passed: the pipeline's lookups of an enrolment by its key never say it,
-- so they keep the primary key.
CREATE INDEX CONCURRENTLY IF NOT EXISTS enrollments_passed ON enrollments (tenant_id, course_id, learner_id)
    INCLUDE (passed_at) WHERE passed;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS enrollments_passed;
DROP INDEX CONCURRENTLY IF EXISTS learning_events_recent_attempts;
DROP TABLE IF EXISTS gold_question_daily_tenant, gold_question_daily;
