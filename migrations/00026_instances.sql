-- +goose Up
-- The running instances, each as it last reported itself: its release and
-- the newest migration it knows. During a rolling upgrade the previous
-- release and the new one run side by side; a later release's contract
-- migration (one that drops or renames what an earlier release still
-- uses) may only run once no instance that needs the old shape is left,
-- and this is where an operator (learnlens migrate status) sees that.
-- An expand step itself: a new table, which no earlier release reads.
-- A platform-wide table (no tenant's rows): a reference table under Citus.
SET LOCAL lock_timeout = '5s';
CREATE TABLE instances (
    id             text PRIMARY KEY,        -- host:port/pid
    version        text NOT NULL,           -- the release (learnlens version)
    schema_version bigint NOT NULL,         -- the newest migration the release knows
    started_at     timestamptz NOT NULL DEFAULT now(),
    seen_at        timestamptz NOT NULL DEFAULT now()
);
-- The platform login reports its own instance; serve reads the schema's
-- version as the app (the platform login is a member of the app's role).
GRANT SELECT, INSERT, UPDATE, DELETE ON instances TO learnlens_platform;
GRANT SELECT ON goose_db_version TO learnlens_app;

-- +goose Down
REVOKE SELECT ON goose_db_version FROM learnlens_app;
DROP TABLE instances;
