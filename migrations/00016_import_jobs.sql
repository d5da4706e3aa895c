-- +goose Up
-- The imports page (issue 12): an uploaded file is staged here between its
-- preview and its apply, and its apply runs in the background, reporting
-- its progress in this row from its own connection (the apply's own
-- transaction is invisible until it commits). Any instance can answer the
-- page's poll. A running job whose heartbeat stops (its instance died) is
-- shown as failed. Staged files are deleted after a day; an applied job's
-- content is dropped, bronze (import_files) keeps the file.
CREATE TABLE import_jobs (
    tenant_id      bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             bigint GENERATED ALWAYS AS IDENTITY,
    kind           text NOT NULL CHECK (kind IN ('roster', 'courses', 'enrollments', 'requirements')),
    filename       text NOT NULL,
    mode           text NOT NULL CHECK (mode IN ('valid-rows', 'all-or-nothing')),
    content        bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL,
    state          text NOT NULL DEFAULT 'staged' CHECK (state IN ('staged', 'running', 'done', 'failed')),
    rows_total     integer NOT NULL,
    rows_done      integer NOT NULL DEFAULT 0,
    dry_run        jsonb,
    started_at     timestamptz,
    heartbeat_at   timestamptz,
    finished_at    timestamptz,
    import_file_id bigint,
    error          text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, import_file_id) REFERENCES import_files (tenant_id, id)
);
CREATE INDEX import_jobs_created ON import_jobs (tenant_id, created_at DESC);
SELECT isolate_tenant('import_jobs');
GRANT SELECT, INSERT, UPDATE, DELETE ON import_jobs TO learnlens_app;

-- +goose Down
DROP TABLE import_jobs;
