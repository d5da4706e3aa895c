-- +goose NO TRANSACTION
-- +goose Up
-- Compliance pre-aggregates and an index-paged at-risk list (issue 17;
-- docs/PERFORMANCE.md, "Compliance pre-aggregates (December 2026)").
--
-- No transaction: the two indexes on compliance_assignments, which takes
-- writes while the previous release serves, are built CONCURRENTLY
-- (docs/OPERATIONS.md, "Migrations during a rolling upgrade"). Each
-- statement below is one step that can be run again after a failure.

-- Compliance counts for the compliance page's scopes, keyed as
-- gold_compliance is: requirement, completed, and the one date the status
-- turns on (expiry once completed, 'infinity' if it never expires; else
-- the due date). Summed over a date range they give every status for any
-- "today", so a filtered page reads one index range instead of summing
-- the tenant's grouped gold. Kept by the statement deltas
-- (pipeline/preagg_compliance.go) and rebuilt with gold.
-- Per department ('d:<department>') and per location ('l:<location>'):
CREATE TABLE IF NOT EXISTS gold_compliance_groups (
    tenant_id bigint NOT NULL, grp text NOT NULL, requirement_id bigint NOT NULL, completed boolean NOT NULL,
    on_date date NOT NULL, people integer NOT NULL,
    PRIMARY KEY (tenant_id, grp, requirement_id, completed, on_date));
-- Per manager: the people under them in org_closure (solid or dotted
-- line, any depth, not themselves), a manager's scope on the dashboards.
CREATE TABLE IF NOT EXISTS gold_compliance_nodes (
    tenant_id bigint NOT NULL, node_id bigint NOT NULL, requirement_id bigint NOT NULL, completed boolean NOT NULL,
    on_date date NOT NULL, people integer NOT NULL,
    PRIMARY KEY (tenant_id, node_id, requirement_id, completed, on_date));

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = 'gold_compliance_groups'::regclass) THEN
        PERFORM isolate_tenant('gold_compliance_groups');
    END IF;
    IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = 'gold_compliance_nodes'::regclass) THEN
        PERFORM isolate_tenant('gold_compliance_nodes');
    END IF;
END
$$;
-- +goose StatementEnd
GRANT SELECT, INSERT, UPDATE, DELETE ON gold_compliance_groups, gold_compliance_nodes TO learnlens_app;

-- The rows a gold rebuild computes (pipeline/preagg_compliance.go), for
-- every tenant: the groups summed from the grouped gold that holds the
-- same keys, the managers' from the assignments and reporting lines.
-- +goose StatementBegin
DO $$
BEGIN
    PERFORM set_config('app.platform', 'on', true);
    DELETE FROM gold_compliance_groups;
    INSERT INTO gold_compliance_groups
    SELECT g.tenant_id, tg.grp, g.requirement_id, g.completed, g.on_date, sum(g.people)
    FROM gold_compliance g CROSS JOIN LATERAL (VALUES ('d:' || g.department), ('l:' || g.location)) tg(grp)
    GROUP BY 1, 2, 3, 4, 5;
    DELETE FROM gold_compliance_nodes;
    INSERT INTO gold_compliance_nodes
    SELECT ca.tenant_id, c.manager_id, ca.requirement_id, ca.completed_at IS NOT NULL,
        CASE WHEN ca.completed_at IS NOT NULL THEN coalesce(ca.expires_on, 'infinity') ELSE ca.due_on END, count(*)
    FROM compliance_assignments ca JOIN org_closure c ON c.tenant_id = ca.tenant_id AND c.learner_id = ca.learner_id
    GROUP BY 1, 2, 3, 4, 5;
END
$$;
-- +goose StatementEnd

-- The assignments table's default order (due date, then person and
-- requirement), so a page is an index range, not a sort of every row.
CREATE INDEX CONCURRENTLY IF NOT EXISTS compliance_assignments_due
    ON compliance_assignments (tenant_id, due_on, learner_id, requirement_id);
-- The same order for the assignments that can be at risk: all but those
-- completed for good (no expiry), whose due dates lie in the past
-- without being overdue. The at-risk list pages along it reading
-- (almost) only its own rows.
CREATE INDEX CONCURRENTLY IF NOT EXISTS compliance_assignments_at_risk
    ON compliance_assignments (tenant_id, due_on, learner_id, requirement_id) INCLUDE (completed_at, expires_on)
    WHERE completed_at IS NULL OR expires_on IS NOT NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS compliance_assignments_at_risk;
DROP INDEX CONCURRENTLY IF EXISTS compliance_assignments_due;
DROP TABLE IF EXISTS gold_compliance_groups, gold_compliance_nodes;
