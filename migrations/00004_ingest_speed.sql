-- Less work per ingested statement.

-- +goose Up

-- enrollments_course_status shadowed the primary key: on tables without
-- statistics the planner found both equally cheap for a batch's
-- (course, learner) lookups and took the newer index, reading every
-- enrolment of the course per key. The primary key (tenant_id, course_id,
-- learner_id) serves a course's enrolments as well, and without a status
-- index an enrolment's update no longer needs new index entries (HOT).
DROP INDEX enrollments_course_status;

-- +goose Down
CREATE INDEX enrollments_course_status ON enrollments (tenant_id, course_id, status);
