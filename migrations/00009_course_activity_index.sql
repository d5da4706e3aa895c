-- Active learners with a course or category filter.

-- +goose Up

-- The engagement tiles with a course or category filter count the people
-- active on those courses per day, which only learning_events knows. With
-- no index leading on the course, a 7-day range of one course on a
-- 1M-statement tenant read every statement of the tenant's learners in
-- the range and their learner rows (676 ms); from this index it is an
-- index-only scan of the course's days (49 ms, docs/PERFORMANCE.md).
CREATE INDEX learning_events_course_day ON learning_events (tenant_id, course_id, day) INCLUDE (learner_id)
    WHERE NOT voided;

-- +goose Down
DROP INDEX learning_events_course_day;
