-- +goose Up
-- A tenant's roster version: an id that changes, in the same transaction,
-- with anything that can change a learner's gold group (pipeline/gold.go,
-- learnerGroups: the learner's manager, department and location, and
-- their nodes in org_closure). Each process keeps the groups it has read
-- for the version it read them at (pipeline/groupcache.go), and reads the
-- version once per batch under the tenant's pipeline lock: a roster
-- import, an erasure, a move through the people API, on this instance or
-- any other, retires every group read before it. The version is the
-- changing transaction's id, which is never given twice (not even after a
-- rollback), so a version read inside a transaction that then rolled back
-- can never match a later one.
--
-- Kept by triggers, so no writer can forget it (the previous release's
-- included, during a rolling upgrade): statement-level ones on org_closure
-- (the reporting lines are rebuilt by DELETE and INSERT) and on deletions
-- of learners, and a row-level one on updates of learners that fires only
-- when the group's columns change (a pseudonymisation, a login, a new
-- name do not). Inserting a learner changes no one's group but its own,
-- which no process has read yet: the people ingest creates bump nothing.
-- CREATE TRIGGER waits for the writes in progress on learners and
-- org_closure, and holds up the next ones while it waits: fail and be run
-- again rather than queue behind a long batch.
SET LOCAL lock_timeout = '5s';

CREATE TABLE roster_versions (
    tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version bigint NOT NULL,
    PRIMARY KEY (tenant_id));

SELECT isolate_tenant('roster_versions');
GRANT SELECT, INSERT, UPDATE, DELETE ON roster_versions TO learnlens_app;

-- Every tenant starts at this transaction's id. A tenant without a row
-- (one created later, until its first roster change) has version 0, for
-- which nothing is cached: a process that kept groups through a Down and
-- Up of this migration must not find its version again.
SET LOCAL app.platform = 'on';
INSERT INTO roster_versions (tenant_id, version) SELECT id, pg_current_xact_id()::text::bigint FROM tenants;

-- +goose StatementBegin
CREATE FUNCTION bump_roster_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The tenant exists unless this is its deletion's cascade (nothing to
    -- keep then, and the row would break the foreign key).
    IF TG_OP = 'DELETE' THEN
        INSERT INTO roster_versions AS v (tenant_id, version)
        SELECT DISTINCT o.tenant_id, pg_current_xact_id()::text::bigint FROM old_rows o
        WHERE EXISTS (SELECT FROM tenants t WHERE t.id = o.tenant_id)
        ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version WHERE v.version <> excluded.version;
    ELSIF TG_LEVEL = 'ROW' THEN
        INSERT INTO roster_versions AS v (tenant_id, version)
        VALUES (NEW.tenant_id, pg_current_xact_id()::text::bigint)
        ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version WHERE v.version <> excluded.version;
    ELSE
        INSERT INTO roster_versions AS v (tenant_id, version)
        SELECT DISTINCT n.tenant_id, pg_current_xact_id()::text::bigint FROM new_rows n
        ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version WHERE v.version <> excluded.version;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER roster_version_learner_moved AFTER UPDATE ON learners FOR EACH ROW
    WHEN (OLD.manager_id IS DISTINCT FROM NEW.manager_id OR OLD.department IS DISTINCT FROM NEW.department
          OR OLD.location IS DISTINCT FROM NEW.location)
    EXECUTE FUNCTION bump_roster_version();
CREATE TRIGGER roster_version_learners_deleted AFTER DELETE ON learners
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_roster_version();
CREATE TRIGGER roster_version_lines_added AFTER INSERT ON org_closure
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_roster_version();
CREATE TRIGGER roster_version_lines_changed AFTER UPDATE ON org_closure
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_roster_version();
CREATE TRIGGER roster_version_lines_removed AFTER DELETE ON org_closure
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_roster_version();

-- +goose Down
DROP TRIGGER roster_version_learner_moved ON learners;
DROP TRIGGER roster_version_learners_deleted ON learners;
DROP TRIGGER roster_version_lines_added ON org_closure;
DROP TRIGGER roster_version_lines_changed ON org_closure;
DROP TRIGGER roster_version_lines_removed ON org_closure;
DROP FUNCTION bump_roster_version();
DROP TABLE roster_versions;
