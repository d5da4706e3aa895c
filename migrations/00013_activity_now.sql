-- +goose Up
-- "Activity now" on the engagement dashboard (issue 10): who was active in
-- the last 15 minutes and the latest completions, read from the learning
-- events by their own time (ts), not by when they were stored. Without
-- these indexes both questions would read the tenant's whole history; with
-- them they read only the rows of the window. A statement's timestamp
-- grows with live traffic, so new entries land at the right-hand end of
-- the index; a backfill of old statements lands far from the window and
-- is never read by it.
--
-- Both are partial on "ts > 2000-01-01", which every real window implies
-- and no pipeline lookup states: without statistics (a fresh database)
-- the planner takes any index that leads with tenant_id and whose
-- predicate the query implies as cheap as the key, and would read every
-- event (or completion) of the tenant per key of a batch (see
-- docs/DATA-MODEL.md, "Check new indexes of these tables").
CREATE INDEX learning_events_recent ON learning_events (tenant_id, ts) WHERE NOT voided AND ts > '2000-01-01';
-- Completions (a completed or passed statement) are a few percent of the
-- events: the latest ones in a viewer's scope are a short walk back.
CREATE INDEX learning_events_completions ON learning_events (tenant_id, ts)
    WHERE kind IN ('complete', 'pass') AND NOT voided AND ts > '2000-01-01';

-- +goose Down
DROP INDEX learning_events_completions;
DROP INDEX learning_events_recent;
