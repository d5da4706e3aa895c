-- The learning-data pipeline: bronze (raw statements and import files, append
-- only), silver (clean, typed, deduplicated), gold (dashboard aggregates).
-- Every table leads its keys with tenant_id and forces Row Level Security.

-- +goose Up

-- Per-tenant HTTP Basic credentials of the xAPI endpoint. The key is public;
-- only a SHA-256 of the random secret is kept. (Under Citus the key lookup
-- would go through a reference table; the key is globally unique.)
CREATE TABLE xapi_credentials (
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    key          text NOT NULL CHECK (key ~ '^[A-Za-z0-9._-]{8,64}$'),
    secret_hash  bytea NOT NULL,
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX xapi_credentials_key ON xapi_credentials (key);

-- Bronze: each statement exactly as stored (with the id, stored, authority
-- and version the LRS set), plus the columns the Statements resource filters
-- on. Never updated or deleted by the application.
-- The high-volume tables (xapi_statements, learning_events, enrollments,
-- daily_activity) carry no foreign keys: a key check is a trigger per row,
-- and the pipeline writes ids it resolved in the same transaction.
CREATE TABLE xapi_statements (
    tenant_id            bigint NOT NULL,
    id                   uuid NOT NULL,
    seq                  bigint GENERATED ALWAYS AS IDENTITY,
    stored               timestamptz NOT NULL,
    ts                   timestamptz NOT NULL,
    credential_id        bigint,
    verb_id              text NOT NULL,
    actor_key            text NOT NULL,
    agent_keys           text[] NOT NULL,
    related_agent_keys   text[] NOT NULL,
    activity_id          text,
    related_activity_ids text[] NOT NULL,
    registration         uuid,
    voids                uuid,
    statement            jsonb NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX xapi_statements_stored ON xapi_statements (tenant_id, stored DESC, seq DESC);
CREATE INDEX xapi_statements_agent ON xapi_statements (tenant_id, actor_key, stored DESC);
CREATE INDEX xapi_statements_verb ON xapi_statements (tenant_id, verb_id, stored DESC);
CREATE INDEX xapi_statements_activity ON xapi_statements (tenant_id, activity_id, stored DESC);
CREATE INDEX xapi_statements_registration ON xapi_statements (tenant_id, registration) WHERE registration IS NOT NULL;

-- Which statements are voided, and by which voiding statement (append only).
CREATE TABLE xapi_voided (
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    statement_id uuid NOT NULL,
    voided_by    uuid NOT NULL,
    PRIMARY KEY (tenant_id, statement_id)
);

-- Bronze: import files as uploaded, with what the import did.
CREATE TABLE import_files (
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    kind         text NOT NULL CHECK (kind IN ('roster', 'courses', 'enrollments', 'requirements')),
    filename     text NOT NULL,
    sha256       bytea NOT NULL,
    content      bytea NOT NULL,
    uploaded_at  timestamptz NOT NULL DEFAULT now(),
    uploaded_by  text NOT NULL DEFAULT '',
    mode         text NOT NULL CHECK (mode IN ('valid-rows', 'all-or-nothing')),
    outcome      text NOT NULL CHECK (outcome IN ('applied', 'refused')),
    rows_total   integer NOT NULL,
    rows_applied integer NOT NULL,
    report       jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant_id, id)
);

-- Silver: people. Roster rows and xAPI actors both land here; an actor not in
-- the roster becomes a learner with rostered = false.
CREATE TABLE learners (
    tenant_id   bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          bigint GENERATED ALWAYS AS IDENTITY,
    employee_id text,
    email       text,
    name        text NOT NULL DEFAULT '',
    department  text NOT NULL DEFAULT '',
    location    text NOT NULL DEFAULT '',
    job_title   text NOT NULL DEFAULT '',
    manager_id  bigint,
    hire_date   date,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    rostered    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, employee_id),
    UNIQUE (tenant_id, email)
);
CREATE INDEX learners_manager ON learners (tenant_id, manager_id);
-- A learner's gold group, for refreshing exactly the touched groups.
CREATE INDEX learners_group ON learners (tenant_id, (coalesce(manager_id, 0)), department, location);

-- xAPI actor keys (Agent.Key()) that identify a learner.
CREATE TABLE learner_identities (
    tenant_id  bigint NOT NULL,
    actor_key  text NOT NULL,
    learner_id bigint NOT NULL,
    PRIMARY KEY (tenant_id, actor_key),
    FOREIGN KEY (tenant_id, learner_id) REFERENCES learners (tenant_id, id) ON DELETE CASCADE
);

-- Effective-dated roster: each row holds a learner's org data from
-- valid_from until valid_to (exclusive), so reports can use the hierarchy as
-- it was when an event happened.
CREATE TABLE learner_history (
    tenant_id          bigint NOT NULL,
    learner_id         bigint NOT NULL,
    valid_from         date NOT NULL,
    valid_to           date NOT NULL DEFAULT 'infinity',
    department         text NOT NULL DEFAULT '',
    location           text NOT NULL DEFAULT '',
    job_title          text NOT NULL DEFAULT '',
    manager_id         bigint,
    dotted_manager_ids bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, learner_id, valid_from),
    FOREIGN KEY (tenant_id, learner_id) REFERENCES learners (tenant_id, id) ON DELETE CASCADE,
    CHECK (valid_from < valid_to)
);

-- Today's reporting lines, solid and dotted, as a closure table: everyone
-- under manager M is one indexed lookup. dotted is true when the path uses a
-- dotted-line edge anywhere.
CREATE TABLE org_closure (
    tenant_id  bigint NOT NULL,
    manager_id bigint NOT NULL,
    learner_id bigint NOT NULL,
    depth      integer NOT NULL CHECK (depth > 0),
    dotted     boolean NOT NULL,
    PRIMARY KEY (tenant_id, manager_id, learner_id)
);
CREATE INDEX org_closure_learner ON org_closure (tenant_id, learner_id);

CREATE TABLE courses (
    tenant_id        bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    activity_iri     text NOT NULL,
    code             text,
    title            text NOT NULL DEFAULT '',
    category         text NOT NULL DEFAULT '',
    duration_minutes integer NOT NULL DEFAULT 0,
    required         boolean NOT NULL DEFAULT false,
    catalogued       boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, activity_iri),
    UNIQUE (tenant_id, code)
);

-- One row per accepted xAPI statement about a learner and a course (the
-- course is the statement's activity, or its parent/grouping course for a
-- question). kind is what the verb means for learning; voided rows stay but
-- stop counting. manager_at/department_at are the learner's org data on the
-- day of the event (point-in-time hierarchy).
CREATE TABLE learning_events (
    tenant_id      bigint NOT NULL,
    statement_id   uuid NOT NULL,
    learner_id     bigint NOT NULL,
    course_id      bigint NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('enroll', 'start', 'activity', 'complete', 'pass', 'fail', 'score', 'interaction')),
    ts             timestamptz NOT NULL,
    day            date NOT NULL,
    scaled         double precision,
    success        boolean,
    duration_ms    bigint NOT NULL DEFAULT 0,
    interaction_id text,
    response       text,
    manager_at     bigint,
    department_at  text NOT NULL DEFAULT '',
    voided         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, statement_id)
);
CREATE INDEX learning_events_key ON learning_events (tenant_id, learner_id, course_id);
CREATE INDEX learning_events_day ON learning_events (tenant_id, learner_id, day);

-- Enrolments and completions from an import (history before xAPI, or an LMS
-- export); merged with learning_events into enrollments.
CREATE TABLE enrollment_imports (
    tenant_id    bigint NOT NULL,
    learner_id   bigint NOT NULL,
    course_id    bigint NOT NULL,
    enrolled_at  timestamptz,
    started_at   timestamptz,
    completed_at timestamptz,
    due_at       date,
    scaled       double precision,
    passed       boolean,
    PRIMARY KEY (tenant_id, course_id, learner_id),
    FOREIGN KEY (tenant_id, learner_id) REFERENCES learners (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id) ON DELETE CASCADE
);

-- A learner's state in a course: a function of its learning_events,
-- enrollment_imports row and compliance assignments. A batch that only adds
-- events merges them in; a void or an import recomputes the row.
CREATE TABLE enrollments (
    tenant_id        bigint NOT NULL,
    course_id        bigint NOT NULL,
    learner_id       bigint NOT NULL,
    status           text NOT NULL CHECK (status IN ('enrolled', 'in_progress', 'completed')),
    enrolled_at      timestamptz NOT NULL,
    started_at       timestamptz,
    completed_at     timestamptz,
    passed           boolean,
    -- the latest pass/fail event, which decides passed (NULL: from an import)
    passed_at        timestamptz,
    passed_statement uuid,
    best_scaled      double precision,
    attempts         integer NOT NULL DEFAULT 0,
    due_at           date,
    last_activity_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, course_id, learner_id)
);
CREATE INDEX enrollments_learner ON enrollments (tenant_id, learner_id);

-- Statements and time per learner and tenant-local day (maintained by
-- delta from the learning events a batch adds or voids).
CREATE TABLE daily_activity (
    tenant_id  bigint NOT NULL,
    learner_id bigint NOT NULL,
    day        date NOT NULL,
    statements  integer NOT NULL,
    duration_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, learner_id, day)
);
CREATE INDEX daily_activity_day ON daily_activity (tenant_id, day);

-- Required training: who must complete which course by when, and how often
-- again. audience: {"all":true} or {"department":…,"location":…,"job_title":…}.
CREATE TABLE compliance_requirements (
    tenant_id        bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    course_id        bigint NOT NULL,
    audience         jsonb NOT NULL,
    audience_key     text NOT NULL,
    due_days         integer NOT NULL CHECK (due_days > 0),
    due_from         text NOT NULL CHECK (due_from IN ('hire', 'assignment')),
    recertify_months integer NOT NULL DEFAULT 0 CHECK (recertify_months >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, course_id, audience_key),
    FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id) ON DELETE CASCADE
);

-- Each person a requirement applies to, with the dates that decide their
-- status on any day: compliant until expires_at after completing, due soon
-- within 30 days of due_at, overdue after due_at, expired after expires_at.
CREATE TABLE compliance_assignments (
    tenant_id      bigint NOT NULL,
    requirement_id bigint NOT NULL,
    learner_id     bigint NOT NULL,
    assigned_on    date NOT NULL,
    due_on         date NOT NULL,
    completed_at   timestamptz,
    expires_on     date,
    PRIMARY KEY (tenant_id, requirement_id, learner_id),
    FOREIGN KEY (tenant_id, learner_id) REFERENCES learners (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX compliance_assignments_learner ON compliance_assignments (tenant_id, learner_id);

-- Gold: per-tenant aggregates keyed by the learner's current solid-line
-- manager (0 = none), department and location, so a dashboard reads a few
-- hundred rows instead of scanning silver. Statement batches apply exact
-- integer deltas to the rows they touch; a rebuild recomputes them; both
-- must agree row by row. Every row of a tenant is as of gold_freshness.as_of.
CREATE TABLE gold_course_completion (
    tenant_id          bigint NOT NULL,
    course_id          bigint NOT NULL,
    manager_id         bigint NOT NULL,
    department         text NOT NULL,
    location           text NOT NULL,
    enrolled           integer NOT NULL,
    in_progress        integer NOT NULL,
    completed          integer NOT NULL,
    passed             integer NOT NULL,
    failed             integer NOT NULL,
    -- whole seconds from enrolment to completion, summed over completions
    seconds_to_complete bigint NOT NULL,
    PRIMARY KEY (tenant_id, course_id, manager_id, department, location)
);

-- Incomplete enrolments by due date: overdue on any day is a sum over rows
-- with due_on before it, so the numbers stay right as days pass.
CREATE TABLE gold_completion_due (
    tenant_id  bigint NOT NULL,
    course_id  bigint NOT NULL,
    manager_id bigint NOT NULL,
    department text NOT NULL,
    location   text NOT NULL,
    due_on     date NOT NULL,
    incomplete integer NOT NULL,
    PRIMARY KEY (tenant_id, course_id, manager_id, department, location, due_on)
);

CREATE TABLE gold_engagement_daily (
    tenant_id       bigint NOT NULL,
    day             date NOT NULL,
    manager_id      bigint NOT NULL,
    department      text NOT NULL,
    location        text NOT NULL,
    active_learners integer NOT NULL,
    statements      integer NOT NULL,
    duration_ms     bigint NOT NULL,
    PRIMARY KEY (tenant_id, day, manager_id, department, location)
);

-- Assessment attempts by tenth of the scaled score (bucket 0..9; 10 = no score).
CREATE TABLE gold_assessment (
    tenant_id  bigint NOT NULL,
    course_id  bigint NOT NULL,
    manager_id bigint NOT NULL,
    department text NOT NULL,
    location   text NOT NULL,
    bucket     integer NOT NULL CHECK (bucket BETWEEN 0 AND 10),
    attempts   integer NOT NULL,
    passed     integer NOT NULL,
    failed     integer NOT NULL,
    PRIMARY KEY (tenant_id, course_id, manager_id, department, location, bucket)
);

-- People per requirement and status-deciding dates; status on a given day
-- is computed from the dates when read.
CREATE TABLE gold_compliance (
    tenant_id      bigint NOT NULL,
    requirement_id bigint NOT NULL,
    manager_id     bigint NOT NULL,
    department     text NOT NULL,
    location       text NOT NULL,
    due_on         date NOT NULL,
    expires_on     date NOT NULL DEFAULT 'infinity',
    completed      boolean NOT NULL,
    people         integer NOT NULL,
    PRIMARY KEY (tenant_id, requirement_id, manager_id, department, location, due_on, expires_on, completed)
);

-- Newest statement (by stored time) per tenant included in gold: the
-- "data as of" of every tile. Gold is refreshed in the transaction that
-- stores a batch, so every gold row of the tenant includes every statement
-- stored up to this time.
CREATE TABLE gold_freshness (
    tenant_id bigint PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    as_of     timestamptz,
    refreshed timestamptz NOT NULL
);

SELECT isolate_tenant(t) FROM unnest(ARRAY['xapi_credentials', 'xapi_statements', 'xapi_voided', 'import_files',
    'learners', 'learner_identities', 'learner_history', 'org_closure', 'courses', 'learning_events',
    'enrollment_imports', 'enrollments', 'daily_activity', 'compliance_requirements', 'compliance_assignments',
    'gold_course_completion', 'gold_completion_due', 'gold_engagement_daily', 'gold_assessment',
    'gold_compliance', 'gold_freshness']::regclass[]) AS t;

-- Bronze is append-only for the application.
GRANT SELECT, INSERT ON xapi_statements, xapi_voided, import_files TO learnlens_app;
GRANT SELECT, INSERT, UPDATE ON xapi_credentials TO learnlens_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON learners, learner_identities, learner_history, org_closure, courses,
    learning_events, enrollment_imports, enrollments, daily_activity, compliance_requirements, compliance_assignments,
    gold_course_completion, gold_completion_due, gold_engagement_daily, gold_assessment, gold_compliance,
    gold_freshness TO learnlens_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO learnlens_app;

-- +goose Down
DROP TABLE gold_freshness, gold_compliance, gold_assessment, gold_engagement_daily, gold_completion_due,
    gold_course_completion, compliance_assignments, compliance_requirements, daily_activity, enrollments,
    enrollment_imports, learning_events, courses, org_closure, learner_history, learner_identities, learners,
    import_files, xapi_voided, xapi_statements, xapi_credentials;
