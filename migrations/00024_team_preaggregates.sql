-- +goose Up
-- Pre-aggregates for the organisation-wide and managers' pages.
--
-- Per-subtree totals for the team tree (docs/DASHBOARDS.md, "Team"): for
-- every person with reports (a manager in org_closure), the numbers of
-- their part of the organisation — themselves and everyone under them,
-- solid or dotted line, at any depth — so that a node, its children and
-- a manager's own tree read a handful of rows instead of summing the
-- grouped gold of the subtree. grp carries the filters the tree answers
-- from here: '' for everyone, 'd:<department>' and 'l:<location>' for the
-- people of one department or one location (each person is counted in
-- three rows). Kept by the statement deltas (pipeline/preagg.go: a
-- learner's change applies to each of their ancestors) and rebuilt with
-- gold, hence with every change of the reporting lines.
CREATE TABLE gold_team_people (
    tenant_id bigint NOT NULL, node_id bigint NOT NULL, grp text NOT NULL,
    people integer NOT NULL,
    PRIMARY KEY (tenant_id, node_id, grp));
CREATE TABLE gold_team_completion (
    tenant_id bigint NOT NULL, node_id bigint NOT NULL, grp text NOT NULL,
    enrolled integer NOT NULL, completed integer NOT NULL,
    PRIMARY KEY (tenant_id, node_id, grp));
-- Incomplete enrolments by due date: overdue is those due before today.
CREATE TABLE gold_team_due (
    tenant_id bigint NOT NULL, node_id bigint NOT NULL, grp text NOT NULL, due_on date NOT NULL,
    incomplete integer NOT NULL,
    PRIMARY KEY (tenant_id, node_id, grp, due_on));
-- Compliance assignments by completed and expiry ('infinity' when it never
-- expires, and for every incomplete assignment: the tree shows assigned and
-- compliant people only).
CREATE TABLE gold_team_compliance (
    tenant_id bigint NOT NULL, node_id bigint NOT NULL, grp text NOT NULL, completed boolean NOT NULL,
    on_date date NOT NULL, people integer NOT NULL,
    PRIMARY KEY (tenant_id, node_id, grp, completed, on_date));


-- Active days per person and month: days is a bitmap (bit d-1 for day d
-- of the month), active_days their count. "Active over a range" and
-- "inactive people" read one row per person and month instead of one per
-- active day (daily_activity).
CREATE TABLE gold_active_months (
    tenant_id bigint NOT NULL, learner_id bigint NOT NULL, month date NOT NULL,
    days integer NOT NULL, active_days integer NOT NULL,
    PRIMARY KEY (tenant_id, learner_id, month));
CREATE INDEX gold_active_months_month ON gold_active_months (tenant_id, month) INCLUDE (learner_id, days);

SELECT isolate_tenant(t) FROM unnest(ARRAY['gold_team_people', 'gold_team_completion', 'gold_team_due',
    'gold_team_compliance', 'gold_active_months']::regclass[]) AS t;
GRANT SELECT, INSERT, UPDATE, DELETE ON gold_team_people, gold_team_completion, gold_team_due, gold_team_compliance,
    gold_active_months TO learnlens_app;

-- The same rows a gold rebuild computes (pipeline/preagg.go), for every tenant.
SET LOCAL app.platform = 'on';
CREATE TEMPORARY TABLE team_members ON COMMIT DROP AS
    SELECT tenant_id, manager_id AS node, learner_id AS member FROM org_closure
    UNION ALL SELECT DISTINCT tenant_id, manager_id, manager_id FROM org_closure;
INSERT INTO gold_team_people
SELECT l.tenant_id, tm.node, tg.grp, count(*)
FROM team_members tm JOIN learners l ON l.tenant_id = tm.tenant_id AND l.id = tm.member
CROSS JOIN LATERAL (VALUES (''), ('d:' || l.department), ('l:' || l.location)) tg(grp)
GROUP BY 1, 2, 3;
INSERT INTO gold_team_completion
SELECT l.tenant_id, tm.node, tg.grp, sum(s.enrolled), sum(s.completed)
FROM (SELECT tenant_id, learner_id, count(*) AS enrolled, count(*) FILTER (WHERE status = 'completed') AS completed
      FROM enrollments GROUP BY 1, 2) s
JOIN team_members tm ON tm.tenant_id = s.tenant_id AND tm.member = s.learner_id
JOIN learners l ON l.tenant_id = s.tenant_id AND l.id = s.learner_id
CROSS JOIN LATERAL (VALUES (''), ('d:' || l.department), ('l:' || l.location)) tg(grp)
GROUP BY 1, 2, 3;
INSERT INTO gold_team_due
SELECT l.tenant_id, tm.node, tg.grp, s.due_at, sum(s.n)
FROM (SELECT tenant_id, learner_id, due_at, count(*) AS n FROM enrollments
      WHERE status <> 'completed' AND due_at IS NOT NULL GROUP BY 1, 2, 3) s
JOIN team_members tm ON tm.tenant_id = s.tenant_id AND tm.member = s.learner_id
JOIN learners l ON l.tenant_id = s.tenant_id AND l.id = s.learner_id
CROSS JOIN LATERAL (VALUES (''), ('d:' || l.department), ('l:' || l.location)) tg(grp)
GROUP BY 1, 2, 3, 4;
INSERT INTO gold_team_compliance
SELECT l.tenant_id, tm.node, tg.grp, s.completed, s.on_date, sum(s.n)
FROM (SELECT tenant_id, learner_id, completed_at IS NOT NULL AS completed,
          CASE WHEN completed_at IS NOT NULL THEN coalesce(expires_on, 'infinity') ELSE 'infinity' END AS on_date, count(*) AS n
      FROM compliance_assignments GROUP BY 1, 2, 3, 4) s
JOIN team_members tm ON tm.tenant_id = s.tenant_id AND tm.member = s.learner_id
JOIN learners l ON l.tenant_id = s.tenant_id AND l.id = s.learner_id
CROSS JOIN LATERAL (VALUES (''), ('d:' || l.department), ('l:' || l.location)) tg(grp)
GROUP BY 1, 2, 3, 4, 5;
INSERT INTO gold_active_months
SELECT tenant_id, learner_id, date_trunc('month', day)::date, sum(1 << (extract(day FROM day)::int - 1)), count(*)
FROM daily_activity GROUP BY 1, 2, 3;

-- +goose Down
DROP TABLE gold_team_people, gold_team_completion, gold_team_due, gold_team_compliance, gold_active_months;
