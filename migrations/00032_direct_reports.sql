-- +goose NO TRANSACTION
-- +goose Up
-- The team tree lists a node's direct reports (org_closure rows of depth
-- 1, dotted lines included) and counts each child's. Through
-- org_closure_pkey (tenant, manager, learner) both read every row of the
-- node's whole subtree and kept the depth-1 ones: at the top of a
-- 90,000-person tenant, 90,000 index entries for 10 children, then about
-- 10,000 per child for their counts (45 ms of the team page's 247 ms;
-- docs/PERFORMANCE.md, "10M statements"). This partial index holds only
-- the direct reports. org_closure is rewritten by roster imports only.
-- CONCURRENTLY, in a migration of its own (docs/OPERATIONS.md,
-- "Migrations during a rolling upgrade").
CREATE INDEX CONCURRENTLY IF NOT EXISTS org_closure_reports ON org_closure (tenant_id, manager_id, learner_id) WHERE depth = 1;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS org_closure_reports;
