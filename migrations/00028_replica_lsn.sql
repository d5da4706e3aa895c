-- +goose Up
-- The WAL position of each gold version, for reads from a streaming
-- replica: a replica whose replay position (pg_last_wal_replay_lsn()) has
-- reached gold_freshness.lsn has replayed the version's changes up to its
-- commit record, which follows within the same transaction's last few
-- records, so a read there waits for that position and then checks the
-- version its snapshot sees (docs/SCALING.md). A trigger sets it, so every
-- writer of a new version records it, whichever code path gives it.
--
-- Cost: adding a nullable column without a default rewrites nothing (a
-- catalogue change); the trigger adds one function call per version
-- (about a microsecond) to a transaction that already writes gold.
ALTER TABLE gold_freshness ADD COLUMN lsn pg_lsn;

-- +goose StatementBegin
CREATE FUNCTION gold_version_lsn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.version IS DISTINCT FROM OLD.version THEN
        NEW.lsn := pg_current_wal_insert_lsn();
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER gold_freshness_lsn BEFORE INSERT OR UPDATE ON gold_freshness
    FOR EACH ROW EXECUTE FUNCTION gold_version_lsn();

-- +goose Down
DROP TRIGGER gold_freshness_lsn ON gold_freshness;
DROP FUNCTION gold_version_lsn();
ALTER TABLE gold_freshness DROP COLUMN lsn;
