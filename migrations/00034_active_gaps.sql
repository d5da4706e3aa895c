-- +goose Up
-- People's active days by the day and the gap since their previous active
-- day (0 for their first): the people active over any range from..to are
-- those with a day there whose gap reaches before from, and each counts
-- once (the first such day), so the engagement tiles of the whole tenant
-- (active now, previous period, DAU, WAU, MAU) are one sum over the
-- range's days instead of a grouping of gold_active_months by person
-- (docs/PERFORMANCE.md, "10M statements: engagement"). Kept by the
-- statement deltas (pipeline/preagg.go, activeGapDeltas) and rebuilt with
-- gold.
CREATE TABLE gold_active_gaps (
    tenant_id bigint NOT NULL, day date NOT NULL, gap integer NOT NULL,
    people integer NOT NULL,
    PRIMARY KEY (tenant_id, day, gap));

SELECT isolate_tenant('gold_active_gaps'::regclass);
GRANT SELECT, INSERT, UPDATE, DELETE ON gold_active_gaps TO learnlens_app;

-- The same rows a gold rebuild computes (pipeline/preagg.go), for every tenant.
SET LOCAL app.platform = 'on';
INSERT INTO gold_active_gaps
SELECT tenant_id, day, gap, count(*)
FROM (SELECT tenant_id, day, coalesce(day - lag(day) OVER (PARTITION BY tenant_id, learner_id ORDER BY day), 0) AS gap
      FROM daily_activity) d
GROUP BY 1, 2, 3;

-- +goose Down
DROP TABLE gold_active_gaps;
