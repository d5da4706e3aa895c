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
-- Each person's first and last active day: whether they were active over
-- a range is known from these but when the range falls between them, so
-- the list of inactive people reads the days of those few only. Kept by
-- the same deltas (set for the people a batch changes) and rebuilt with
-- gold.
CREATE TABLE gold_active_people (
    tenant_id bigint NOT NULL, learner_id bigint NOT NULL,
    first_day date NOT NULL, last_day date NOT NULL,
    PRIMARY KEY (tenant_id, learner_id));

SELECT isolate_tenant(t) FROM unnest(ARRAY['gold_active_gaps', 'gold_active_people']::regclass[]) AS t;
GRANT SELECT, INSERT, UPDATE, DELETE ON gold_active_gaps, gold_active_people TO learnlens_app;

-- The same rows a gold rebuild computes (pipeline/preagg.go), for every tenant.
SET LOCAL app.platform = 'on';
INSERT INTO gold_active_gaps
SELECT tenant_id, day, gap, count(*)
FROM (SELECT tenant_id, day, coalesce(day - lag(day) OVER (PARTITION BY tenant_id, learner_id ORDER BY day), 0) AS gap
      FROM daily_activity) d
GROUP BY 1, 2, 3;
INSERT INTO gold_active_people
SELECT tenant_id, learner_id, min(day), max(day) FROM daily_activity GROUP BY 1, 2;

-- +goose Down
DROP TABLE gold_active_gaps, gold_active_people;
