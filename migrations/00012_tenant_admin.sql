-- +goose Up
-- The tenant admin's pages (issue 11): users linked to their learner
-- record, xAPI credentials' use, and the tenant's logo.

-- A user's own learner record, chosen by an admin: a manager's team and a
-- learner's "My learning" start from it. NULL: the record whose email is
-- the user's (the rule before links existed). Erasing the learner unlinks
-- the user.
ALTER TABLE users ADD COLUMN learner_id bigint;
ALTER TABLE users ADD FOREIGN KEY (tenant_id, learner_id) REFERENCES learners (tenant_id, id) ON DELETE SET NULL (learner_id);
CREATE UNIQUE INDEX users_learner ON users (tenant_id, learner_id) WHERE learner_id IS NOT NULL;

-- What the credentials page shows of each credential's use, kept by the
-- ingest path in the batch's own transaction (one row update per batch,
-- under the tenant's pipeline lock), so the page counts nothing.
ALTER TABLE xapi_credentials
    ADD COLUMN last_used_at        timestamptz,
    ADD COLUMN statements_received bigint NOT NULL DEFAULT 0;

-- The tenant's logo as uploaded (PNG, JPEG or SVG, checked on upload).
-- tenants.logo_url names it with a hash of its content, so it is served
-- with long cache headers.
CREATE TABLE tenant_logos (
    tenant_id    bigint PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/svg+xml')),
    data         bytea NOT NULL,
    sha256       bytea NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
SELECT isolate_tenant('tenant_logos');
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_logos TO learnlens_app;

-- +goose Down
DROP TABLE tenant_logos;
ALTER TABLE xapi_credentials DROP COLUMN last_used_at, DROP COLUMN statements_received;
DROP INDEX users_learner;
ALTER TABLE users DROP COLUMN learner_id;
