-- +goose Up
-- Onboarding from the browser (issue 11): one-time links, ending a user's
-- other sessions, and statement counts per tenant for the usage page.

-- One-time links: invitations (a new user of the tenant with a role), a
-- user's password reset, and the hand-over of a platform admin's support
-- access to the tenant's host. Only a SHA-256 of the random token is kept,
-- so the table gives nobody a working link. A link is pending until it is
-- used, revoked or past expires_at.
CREATE TABLE one_time_links (
    tenant_id     bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    kind          text NOT NULL CHECK (kind IN ('invitation', 'password_reset', 'support')),
    token_hash    bytea NOT NULL,
    -- invitation: who is invited, with which role
    email         text NOT NULL DEFAULT '' CHECK (email = lower(email)),
    role          text NOT NULL DEFAULT '' CHECK (role IN ('', 'tenant_admin', 'manager', 'analyst', 'learner')),
    -- password_reset: whose password
    user_id       bigint,
    -- who made it: a user of this tenant, or a platform admin (tenant 0)
    created_by_id bigint,
    created_by    text NOT NULL,
    -- support: when the support access it opens ends
    support_until timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CHECK ((kind = 'invitation') = (role <> '' AND email <> '')),
    CHECK ((kind = 'password_reset') = (user_id IS NOT NULL)),
    CHECK ((kind = 'support') = (support_until IS NOT NULL))
);
CREATE INDEX one_time_links_pending ON one_time_links (tenant_id, kind, expires_at)
    WHERE used_at IS NULL AND revoked_at IS NULL;
SELECT isolate_tenant('one_time_links');
GRANT SELECT, INSERT, UPDATE, DELETE ON one_time_links TO learnlens_app;

-- A session signed in before sessions_valid_after is over: a password set
-- through a reset link ends every other session of the user.
ALTER TABLE users ADD COLUMN sessions_valid_after timestamptz;

-- Statements received per tenant (in all, and per hour for the last two
-- days), kept by a statement-level trigger on bronze, so the platform
-- admin's usage page reads a few rows per tenant instead of counting
-- xapi_statements (a second per 10M statements).
CREATE TABLE tenant_statement_counts (
    tenant_id   bigint PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    statements  bigint NOT NULL,
    last_stored timestamptz NOT NULL
);
CREATE TABLE tenant_statement_hours (
    tenant_id  bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hour       timestamptz NOT NULL,
    statements bigint NOT NULL,
    PRIMARY KEY (tenant_id, hour)
);
SELECT isolate_tenant(t) FROM unnest(ARRAY['tenant_statement_counts', 'tenant_statement_hours']::regclass[]) AS t;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_statement_counts, tenant_statement_hours TO learnlens_app;

-- +goose StatementBegin
CREATE FUNCTION count_statements() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_statement_counts AS c (tenant_id, statements, last_stored)
    SELECT tenant_id, count(*), max(stored) FROM new_rows GROUP BY 1
    ON CONFLICT (tenant_id) DO UPDATE
        SET statements = c.statements + excluded.statements, last_stored = greatest(c.last_stored, excluded.last_stored);
    INSERT INTO tenant_statement_hours AS h (tenant_id, hour, statements)
    SELECT tenant_id, date_trunc('hour', stored), count(*) FROM new_rows GROUP BY 1, 2
    ON CONFLICT (tenant_id, hour) DO UPDATE SET statements = h.statements + excluded.statements;
    DELETE FROM tenant_statement_hours
    WHERE tenant_id IN (SELECT DISTINCT tenant_id FROM new_rows) AND hour < now() - interval '2 days';
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER count_statements AFTER INSERT ON xapi_statements
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_statements();

-- Bronze is append-only for the application today; should statements ever
-- be deleted (erasure, purge), the counts follow.
-- +goose StatementBegin
CREATE FUNCTION uncount_statements() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenant_statement_counts c SET statements = c.statements - o.n
    FROM (SELECT tenant_id, count(*) AS n FROM old_rows GROUP BY 1) o WHERE c.tenant_id = o.tenant_id;
    UPDATE tenant_statement_hours h SET statements = h.statements - o.n
    FROM (SELECT tenant_id, date_trunc('hour', stored) AS hour, count(*) AS n FROM old_rows GROUP BY 1, 2) o
    WHERE h.tenant_id = o.tenant_id AND h.hour = o.hour;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER uncount_statements AFTER DELETE ON xapi_statements
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION uncount_statements();

SET LOCAL app.platform = 'on';
INSERT INTO tenant_statement_counts (tenant_id, statements, last_stored)
SELECT tenant_id, count(*), max(stored) FROM xapi_statements GROUP BY 1;
INSERT INTO tenant_statement_hours (tenant_id, hour, statements)
SELECT tenant_id, date_trunc('hour', stored), count(*) FROM xapi_statements
WHERE stored >= now() - interval '2 days' GROUP BY 1, 2;

-- +goose Down
DROP TRIGGER uncount_statements ON xapi_statements;
DROP FUNCTION uncount_statements();
DROP TRIGGER count_statements ON xapi_statements;
DROP FUNCTION count_statements();
DROP TABLE tenant_statement_hours, tenant_statement_counts;
ALTER TABLE users DROP COLUMN sessions_valid_after;
DROP TABLE one_time_links;
