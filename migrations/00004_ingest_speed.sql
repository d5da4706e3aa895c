-- Less work per ingested statement.

-- +goose Up

-- enrollments_course_status shadowed the primary key: on tables without
-- statistics the planner found both equally cheap for a batch's
-- (course, learner) lookups and took the newer index, reading every
-- enrolment of the course per key. The primary key (tenant_id, course_id,
-- learner_id) serves a course's enrolments as well, and without a status
-- index an enrolment's update no longer needs new index entries (HOT).
DROP INDEX enrollments_course_status;

-- learning_events_course serves a course's question results and attempts
-- (kind 'interaction', or 'pass', 'fail' and 'score'); other kinds no
-- longer pay for an entry. Like enrollments_course_status it also
-- shadowed learning_events_key in the per-(learner, course) lookups of
-- voids, imports and compliance, which name no kind or other kinds, so the
-- narrower predicate keeps it out of them.
DROP INDEX learning_events_course;
CREATE INDEX learning_events_course ON learning_events (tenant_id, course_id, kind)
    WHERE NOT voided AND kind IN ('interaction', 'pass', 'fail', 'score');

-- Bronze indexes that cost every statement more than they give GET
-- /xapi/statements (docs/XAPI.md). The agent filter matches the actor or
-- any of agent_keys, an OR the actor index cannot serve, so no plan used
-- it. A verb is a large share of a tenant's statements (a few verbs make
-- most of them), so the newest page of one is found by walking the stored
-- index with the verb as a recheck; with an activity or registration
-- filter, that filter's index serves and the verb is rechecked. Only a
-- rare verb alone on a large tenant reads more than before.
DROP INDEX xapi_statements_agent, xapi_statements_verb;

-- +goose Down
DROP INDEX learning_events_course;
CREATE INDEX learning_events_course ON learning_events (tenant_id, course_id, kind) WHERE NOT voided;
CREATE INDEX xapi_statements_agent ON xapi_statements (tenant_id, actor_key, stored DESC);
CREATE INDEX xapi_statements_verb ON xapi_statements (tenant_id, verb_id, stored DESC);
CREATE INDEX enrollments_course_status ON enrollments (tenant_id, course_id, status);
