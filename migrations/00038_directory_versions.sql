-- +goose Up
-- A tenant's directory version: a counter that goes up, in the same
-- transaction, with anything a viewer's scope or the filter bar's choices
-- are read from (analytics.ResolveScope, Q.FilterOptions, Q.PersonName):
-- the learners' emails, names, managers, departments and locations, a
-- learner deleted, the reporting lines (org_closure), and the courses'
-- titles, activities and categories, a course added or deleted. Each
-- process keeps scopes and filter choices for the directory version they
-- were read at (viewcache, Key.Directory) while gold moves on under
-- ingest: they depend on no gold row.
--
-- A new learner with no manager, department or location changes no scope
-- and no choice unless a user of the tenant has its email (it becomes
-- that user's own record): the learners xAPI statements create bump
-- nothing, so steady ingest from known courses leaves the version alone.
--
-- Kept by triggers, so no writer can forget it (the previous release's
-- included, during a rolling upgrade). The counter is taken under the
-- row's lock, so versions commit in increasing order; a transaction bumps
-- it once (xact is the transaction that last did). At commit, a deferred
-- constraint trigger announces the final value on learnlens_directory,
-- "<tenant>:<version>": a notification sent earlier in the transaction
-- could name a value that a later statement of it changed again.
--
-- Every tenant starts at this transaction's id, and a tenant's first bump
-- (a tenant created later) starts at its transaction's id, which is never
-- given twice: a process that kept scopes through a Down and Up of this
-- migration cannot find its version again. A tenant without a row has
-- version 0 until its first change.
--
-- CREATE TRIGGER waits for the writes in progress on learners, courses
-- and org_closure, and holds up the next ones while it waits: fail and be
-- run again rather than queue behind a long batch.
SET LOCAL lock_timeout = '5s';

CREATE TABLE directory_versions (
    tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version bigint NOT NULL,
    xact bigint NOT NULL,
    PRIMARY KEY (tenant_id));

SELECT isolate_tenant('directory_versions');
GRANT SELECT, INSERT, UPDATE, DELETE ON directory_versions TO learnlens_app;

SET LOCAL app.platform = 'on';
INSERT INTO directory_versions (tenant_id, version, xact)
SELECT id, pg_current_xact_id()::text::bigint, pg_current_xact_id()::text::bigint FROM tenants;

-- +goose StatementBegin
CREATE FUNCTION bump_directory_versions(changed bigint[]) RETURNS void LANGUAGE sql AS $$
    -- A tenant being deleted (its learners' and courses' cascade) keeps
    -- nothing: its row would break the foreign key.
    INSERT INTO directory_versions AS v (tenant_id, version, xact)
    SELECT t.id, pg_current_xact_id()::text::bigint, pg_current_xact_id()::text::bigint
    FROM tenants t WHERE t.id = ANY(changed)
    ON CONFLICT (tenant_id) DO UPDATE SET version = greatest(v.version + 1, excluded.version), xact = excluded.xact
    WHERE v.xact <> excluded.xact
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        PERFORM bump_directory_versions(ARRAY[NEW.tenant_id]);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM bump_directory_versions(ARRAY(SELECT DISTINCT tenant_id FROM old_rows));
    ELSIF TG_TABLE_NAME = 'learners' THEN
        PERFORM bump_directory_versions(ARRAY(SELECT DISTINCT n.tenant_id FROM new_rows n
            WHERE n.manager_id IS NOT NULL OR n.department <> '' OR n.location <> ''
               OR EXISTS (SELECT FROM users u WHERE u.tenant_id = n.tenant_id AND u.email = n.email)));
    ELSE
        PERFORM bump_directory_versions(ARRAY(SELECT DISTINCT tenant_id FROM new_rows));
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION notify_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('learnlens_directory', NEW.tenant_id::text || ':' || NEW.version::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER directory_version_committed AFTER INSERT OR UPDATE ON directory_versions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION notify_directory_version();

CREATE TRIGGER directory_learners_added AFTER INSERT ON learners
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER directory_learner_changed AFTER UPDATE ON learners FOR EACH ROW
    WHEN (OLD.email IS DISTINCT FROM NEW.email OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.manager_id IS DISTINCT FROM NEW.manager_id OR OLD.department IS DISTINCT FROM NEW.department
          OR OLD.location IS DISTINCT FROM NEW.location)
    EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER directory_learners_deleted AFTER DELETE ON learners
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER directory_lines_added AFTER INSERT ON org_closure
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER directory_lines_changed AFTER UPDATE ON org_closure
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER directory_lines_removed AFTER DELETE ON org_closure
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER directory_courses_added AFTER INSERT ON courses
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER directory_course_changed AFTER UPDATE ON courses FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.activity_iri IS DISTINCT FROM NEW.activity_iri
          OR OLD.category IS DISTINCT FROM NEW.category)
    EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER directory_courses_deleted AFTER DELETE ON courses
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();

-- +goose Down
SET LOCAL lock_timeout = '5s';
DROP TRIGGER directory_learners_added ON learners;
DROP TRIGGER directory_learner_changed ON learners;
DROP TRIGGER directory_learners_deleted ON learners;
DROP TRIGGER directory_lines_added ON org_closure;
DROP TRIGGER directory_lines_changed ON org_closure;
DROP TRIGGER directory_lines_removed ON org_closure;
DROP TRIGGER directory_courses_added ON courses;
DROP TRIGGER directory_course_changed ON courses;
DROP TRIGGER directory_courses_deleted ON courses;
DROP TABLE directory_versions;
DROP FUNCTION notify_directory_version();
DROP FUNCTION bump_directory_version();
DROP FUNCTION bump_directory_versions(bigint[]);
