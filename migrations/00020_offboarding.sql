-- +goose Up
-- Offboarding (issue 12, item 6): deleting a customer tenant for good.
--
-- Neither login may delete bronze statements or audit entries (both are
-- append-only for learnlens_app, and so for learnlens_platform, its
-- member), and many tenant tables have no foreign key to tenants, so a
-- DELETE FROM tenants would leave them behind. Rather than grant the
-- platform login DELETE on the append-only tables for this one purpose,
-- one function owned by the schema's owner does the whole deletion, and
-- only the platform login may call it:
--   - it refuses a tenant that is not a suspended customer tenant, or when
--     the confirmation is not the tenant's slug;
--   - it deletes the tenant's rows from every table of the public schema
--     with a tenant_id column, found in the catalogue when it runs, so a
--     table added later is covered without changing it; tables are tried
--     again in later rounds while a foreign key between them refuses one;
--   - it deletes the platform log's entries about the tenant (target
--     tenant:<id>) and writes one entry that it was deleted, by whom, when,
--     its name, slug and hosts, and how many rows went from each table.
-- All in the caller's transaction: the deletion is whole or nothing.
-- +goose StatementBegin
CREATE FUNCTION delete_tenant(p_tenant bigint, p_confirm text, p_actor_id bigint, p_actor_email text,
    p_ip text, p_request_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t         tenants%ROWTYPE;
    hosts     text[];
    emails    text[];
    remaining text[];
    failed    text[];
    tbl       text;
    n         bigint;
    counts    jsonb := '{}';
    round     int := 0;
BEGIN
    SELECT * INTO t FROM tenants WHERE id = p_tenant FOR UPDATE;
    IF NOT FOUND OR t.kind <> 'customer' THEN
        RAISE EXCEPTION 'no customer tenant %', p_tenant USING ERRCODE = 'no_data_found';
    END IF;
    IF t.status <> 'suspended' THEN
        RAISE EXCEPTION 'tenant % is not suspended', t.slug USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF p_confirm IS DISTINCT FROM t.slug THEN
        RAISE EXCEPTION 'the confirmation is not the tenant''s address' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT coalesce(array_agg(domain ORDER BY domain) FILTER (WHERE kind = 'host'), '{}'),
           coalesce(array_agg(domain ORDER BY domain) FILTER (WHERE kind = 'email'), '{}')
      INTO hosts, emails FROM tenant_domains WHERE tenant_id = p_tenant;

    SELECT array_agg(c.relname::text ORDER BY c.relname) INTO remaining
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition;
    WHILE cardinality(remaining) > 0 LOOP
        round := round + 1;
        failed := '{}';
        FOREACH tbl IN ARRAY remaining LOOP
            BEGIN
                EXECUTE format('DELETE FROM %I WHERE tenant_id = $1', tbl) USING p_tenant;
                GET DIAGNOSTICS n = ROW_COUNT;
                counts := counts || jsonb_build_object(tbl, coalesce((counts ->> tbl)::bigint, 0) + n);
            EXCEPTION WHEN foreign_key_violation THEN
                failed := failed || tbl;
            END;
        END LOOP;
        IF cardinality(failed) = cardinality(remaining) OR round > 20 THEN
            RAISE EXCEPTION 'foreign keys keep the rows of % from being deleted', failed;
        END IF;
        remaining := failed;
    END LOOP;
    -- The platform's own entries about the tenant (created, updated,
    -- suspended, exported, support access) go too: the one below is all
    -- that stays of it.
    DELETE FROM audit_log WHERE tenant_id = 0 AND target = 'tenant:' || p_tenant;
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts || jsonb_build_object('platform audit_log', n);
    DELETE FROM tenants WHERE id = p_tenant;
    INSERT INTO audit_log (tenant_id, actor_user_id, actor_email, action, target, ip, request_id, details)
    VALUES (0, p_actor_id, p_actor_email, 'tenant.deleted', 'tenant:' || p_tenant, p_ip, p_request_id,
        jsonb_build_object('name', t.name, 'slug', t.slug, 'hosts', hosts, 'email_domains', emails,
            'created_at', t.created_at, 'rows', counts));
    RETURN counts;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION delete_tenant(bigint, text, bigint, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION delete_tenant(bigint, text, bigint, text, text, text) TO learnlens_platform;

-- +goose Down
DROP FUNCTION delete_tenant(bigint, text, bigint, text, text, text);
