-- +goose NO TRANSACTION
-- +goose Up
-- An assessed course's page reads the course's pass, fail and score
-- events twice: its attempts to pass (analytics.CourseAttemptsToPass, each
-- passed enrolment's attempts up to the pass) and its attempts table
-- (assessments/attempts, with the time, score and result). Through
-- learning_events_course (tenant, course, kind) both fetched every such
-- event of the course from the heap, scattered over the tenant's history:
-- 110–310 ms and 90–220 ms per course in the dashboards' mix
-- (docs/PERFORMANCE.md, fifth pass). This index holds exactly those events
-- with every column the two read, so both read it alone (index-only, one
-- range per course). Assessment events are a few percent of the events
-- (4% of a generated tenant's), so it adds little to ingest.
--
-- The pipeline's lookups by learner and course name all three leading
-- columns, never a prefix of them only (see docs/DATA-MODEL.md, "Check new
-- indexes of these tables"). CONCURRENTLY, in a migration of its own: ingest
-- goes on while it is built (docs/OPERATIONS.md, "Migrations during a
-- rolling upgrade").
CREATE INDEX CONCURRENTLY IF NOT EXISTS learning_events_attempts ON learning_events (tenant_id, course_id, learner_id, ts)
    INCLUDE (day, kind, scaled, success)
    WHERE kind IN ('pass', 'fail', 'score') AND NOT voided;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS learning_events_attempts;
