-- Platform-wide access becomes a role of its own (issue 14).
--
-- Until now one role ran every query, and any transaction that set
-- app.platform = 'on' saw every tenant: so could one SQL injection. From
-- here the app's tenant-scoped login (learnlens_app) is bound by the policy
-- tenant_id = app.tenant_id alone, whatever it sets, and only the platform
-- login (learnlens_platform), which learnlens_app is not a member of and
-- cannot SET ROLE to, sees every tenant, by a policy of its own. The
-- setting app.platform no longer means anything.
--
-- The roles belong to the cluster, not to this schema. Where the owner
-- may not create or grant roles, an operator creates them first
-- (docs/SECURITY.md); then every statement below that would need that
-- privilege finds its work done and is skipped.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'learnlens_platform') THEN
        CREATE ROLE learnlens_platform NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
    -- The platform login may do to every tenant's rows what the app may
    -- do to one tenant's: every GRANT to learnlens_app, past or future,
    -- is the platform's too.
    IF NOT pg_has_role('learnlens_platform', 'learnlens_app', 'MEMBER') THEN
        GRANT learnlens_app TO learnlens_platform;
    END IF;
    -- FORCE ROW LEVEL SECURITY binds the owner too; as a member of the
    -- platform role it sees every tenant, so later migrations can
    -- backfill tenant tables.
    IF NOT pg_has_role(current_user, 'learnlens_platform', 'MEMBER') THEN
        EXECUTE format('GRANT learnlens_platform TO %I', current_user);
    END IF;
END
$$;
-- +goose StatementEnd

-- isolate_tenant gives a tenant-owned table forced Row Level Security with
-- two policies: tenant_isolation, for every role, shows the rows of the
-- transaction's tenant (as a scalar subquery app_tenant_id() is evaluated
-- once per query, migration 00009), and platform_access shows
-- learnlens_platform every row. Every later migration calls it for its
-- new tables.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION isolate_tenant(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s
        USING (tenant_id = (SELECT app_tenant_id()))
        WITH CHECK (tenant_id = (SELECT app_tenant_id()))', t);
    EXECUTE format('CREATE POLICY platform_access ON %s TO learnlens_platform USING (true) WITH CHECK (true)', t);
END
$$;
-- +goose StatementEnd

-- Every table an earlier migration isolated, whichever it was, gets the
-- policies again from the function above.
-- +goose StatementBegin
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT polrelid::regclass FROM pg_policy WHERE polname = 'tenant_isolation' AND polrelid <> 'tenants'::regclass LOOP
        EXECUTE format('DROP POLICY tenant_isolation ON %s', t);
        PERFORM isolate_tenant(t);
    END LOOP;
END
$$;
-- +goose StatementEnd
ALTER POLICY tenant_isolation ON tenants
    USING (id = (SELECT app_tenant_id()))
    WITH CHECK (id = (SELECT app_tenant_id()));
CREATE POLICY platform_access ON tenants TO learnlens_platform USING (true) WITH CHECK (true);

DROP FUNCTION app_platform();

-- +goose Down
-- app_platform is true in transactions opened for platform-level work.
CREATE FUNCTION app_platform() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(current_setting('app.platform', true), '') = 'on' $$;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION isolate_tenant(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s
        USING (tenant_id = (SELECT app_tenant_id()) OR (SELECT app_platform()))
        WITH CHECK (tenant_id = (SELECT app_tenant_id()) OR (SELECT app_platform()))', t);
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT polrelid::regclass FROM pg_policy WHERE polname = 'platform_access' AND polrelid <> 'tenants'::regclass LOOP
        EXECUTE format('DROP POLICY platform_access ON %s', t);
        EXECUTE format('DROP POLICY tenant_isolation ON %s', t);
        PERFORM isolate_tenant(t);
    END LOOP;
END
$$;
-- +goose StatementEnd
DROP POLICY platform_access ON tenants;
ALTER POLICY tenant_isolation ON tenants
    USING (id = (SELECT app_tenant_id()) OR (SELECT app_platform()))
    WITH CHECK (id = (SELECT app_tenant_id()) OR (SELECT app_platform()));
