-- +goose Up
-- A manager's view reads the per-day gold of the groups under them over a
-- date range: one index range per group instead of the tenant's whole range.
CREATE INDEX gold_course_activity_daily_manager ON gold_course_activity_daily (tenant_id, manager_id, day);
CREATE INDEX gold_completion_daily_manager ON gold_completion_daily (tenant_id, manager_id, day);
CREATE INDEX gold_activity_hourly_manager ON gold_activity_hourly (tenant_id, manager_id, day);
CREATE INDEX gold_assessment_manager ON gold_assessment (tenant_id, manager_id, day);

-- +goose Down
DROP INDEX gold_course_activity_daily_manager, gold_completion_daily_manager, gold_activity_hourly_manager,
    gold_assessment_manager;
