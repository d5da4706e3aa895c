-- +goose Up
-- Compliance requirements edited on their own page, and the audit log
-- filtered (issue 12, items 2 and 3).

-- A retired requirement is kept, with its history in the audit log, but
-- no longer applies to anyone: the pipeline drops its assignments, so the
-- compliance dashboards stop counting it. NULL: in force.
ALTER TABLE compliance_requirements
    ADD COLUMN retired_at timestamptz,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- The audit log's filters, in the page's order (newest first) so a page
-- is read straight off the index: by action (which also lists the actions
-- present, one probe each) and by actor, whose email is matched in any
-- case. The date range and the search use the existing (tenant_id, at).
CREATE INDEX audit_log_action ON audit_log (tenant_id, action, at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (tenant_id, lower(actor_email), at DESC, id DESC);

-- +goose Down
DROP INDEX audit_log_actor;
DROP INDEX audit_log_action;
ALTER TABLE compliance_requirements DROP COLUMN retired_at, DROP COLUMN updated_at;
