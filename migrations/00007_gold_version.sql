-- +goose Up
-- The gold version: a per-tenant counter that every transaction changing
-- what the tenant's dashboards read (statement batches, applied imports,
-- gold rebuilds) increments, under the tenant's pipeline lock, so versions
-- commit in order. Caches of dashboard results compare it with the version
-- a result was computed at; NOTIFY learnlens_gold carries
-- '<tenant>:<version>'. committed is the clock time of the transaction that
-- set the version (taken just before its commit), NULL until the first.
ALTER TABLE gold_freshness
    ADD COLUMN version bigint NOT NULL DEFAULT 0,
    ADD COLUMN committed timestamptz;

-- +goose Down
ALTER TABLE gold_freshness DROP COLUMN committed, DROP COLUMN version;
