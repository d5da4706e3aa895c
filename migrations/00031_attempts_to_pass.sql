-- +goose Up
-- An assessed course's "attempts to pass" (analytics.CourseAttemptsToPass)
-- counts, for each passed enrolment, the course's pass, fail and score
-- events of the learner up to the pass. Through learning_events_course
-- (tenant, course, kind) it fetched every such event of the course from
-- the heap, scattered over the tenant's history: 150–310 ms per course in
-- the dashboards' mix (docs/PERFORMANCE.md, fifth pass). This index holds
-- exactly those events with the columns the count needs, so it is read
-- alone (an index-only scan, one range per course). Assessment events are
-- a few percent of the events, so it adds little to ingest.
--
-- The pipeline's lookups by learner and course name all three leading
-- columns, never a prefix of them only (see docs/DATA-MODEL.md, "Check new
-- indexes of these tables").
CREATE INDEX learning_events_attempts ON learning_events (tenant_id, course_id, learner_id, ts)
    WHERE kind IN ('pass', 'fail', 'score') AND NOT voided;

-- +goose Down
DROP INDEX learning_events_attempts;
