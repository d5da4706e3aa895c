-- Cheaper dashboard reads: tenant policies evaluated once per query, and
-- an index for course-filtered active learners.

-- +goose Up

-- The tenant policy called app_tenant_id() and app_platform() for every
-- row a query read: they are STABLE, not constant, so PostgreSQL evaluates
-- them per row, and each parses a setting. As scalar subqueries they are
-- InitPlans, evaluated once per query, and the per-row check is a
-- comparison of two numbers: a scan of 160,000 gold rows of the
-- 1M-statement tenant took 46–66 ms as the app and 40 ms this way (a
-- superuser, who skips the policy, 28–38 ms). The rule is the same: a
-- setting cannot change during a query.
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
    FOR t IN SELECT polrelid::regclass FROM pg_policy WHERE polname = 'tenant_isolation' AND polrelid <> 'tenants'::regclass LOOP
        EXECUTE format('ALTER POLICY tenant_isolation ON %s
            USING (tenant_id = (SELECT app_tenant_id()) OR (SELECT app_platform()))
            WITH CHECK (tenant_id = (SELECT app_tenant_id()) OR (SELECT app_platform()))', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
ALTER POLICY tenant_isolation ON tenants
    USING (id = (SELECT app_tenant_id()) OR (SELECT app_platform()))
    WITH CHECK (id = (SELECT app_tenant_id()) OR (SELECT app_platform()));

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
ALTER POLICY tenant_isolation ON tenants
    USING (id = app_tenant_id() OR app_platform())
    WITH CHECK (id = app_tenant_id() OR app_platform());
-- +goose StatementBegin
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT polrelid::regclass FROM pg_policy WHERE polname = 'tenant_isolation' AND polrelid <> 'tenants'::regclass LOOP
        EXECUTE format('ALTER POLICY tenant_isolation ON %s
            USING (tenant_id = app_tenant_id() OR app_platform())
            WITH CHECK (tenant_id = app_tenant_id() OR app_platform())', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION isolate_tenant(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s
        USING (tenant_id = app_tenant_id() OR app_platform())
        WITH CHECK (tenant_id = app_tenant_id() OR app_platform())', t);
END
$$;
-- +goose StatementEnd
