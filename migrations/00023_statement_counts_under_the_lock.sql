-- +goose Up
-- The statement counters of 00011 (the platform's usage page) were updated
-- by a trigger in the statement that inserts a batch's bronze rows, so each
-- batch held its tenant's tenant_statement_counts row locked from its bronze
-- INSERT to its commit: the next batch of the tenant waited for it at its own
-- bronze INSERT, before the pipeline lock, and bronze never overlapped silver
-- and gold (issue 17's profile: two thirds of the customer run's statement
-- time was that wait). The statement pipeline now counts its batches itself,
-- under the tenant's pipeline lock in its last round trip
-- (pipeline.queueStatementCounts), and tells the trigger so with the
-- transaction setting learnlens.pipeline_counts; every other insert (a bulk
-- load, say) is still counted by the trigger.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION count_statements() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('learnlens.pipeline_counts', true) = 'on' THEN
        RETURN NULL;
    END IF;
    INSERT INTO tenant_statement_counts AS c (tenant_id, statements, last_stored)
    SELECT tenant_id, count(*), max(stored) FROM new_rows GROUP BY 1
    ON CONFLICT (tenant_id) DO UPDATE
        SET statements = c.statements + excluded.statements, last_stored = greatest(c.last_stored, excluded.last_stored);
    INSERT INTO tenant_statement_hours AS h (tenant_id, hour, statements)
    SELECT tenant_id, date_trunc('hour', stored), count(*) FROM new_rows GROUP BY 1, 2
    ON CONFLICT (tenant_id, hour) DO UPDATE SET statements = h.statements + excluded.statements;
    DELETE FROM tenant_statement_hours
    WHERE tenant_id IN (SELECT DISTINCT tenant_id FROM new_rows) AND hour < now() - interval '2 days';
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION count_statements() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_statement_counts AS c (tenant_id, statements, last_stored)
    SELECT tenant_id, count(*), max(stored) FROM new_rows GROUP BY 1
    ON CONFLICT (tenant_id) DO UPDATE
        SET statements = c.statements + excluded.statements, last_stored = greatest(c.last_stored, excluded.last_stored);
    INSERT INTO tenant_statement_hours AS h (tenant_id, hour, statements)
    SELECT tenant_id, date_trunc('hour', stored), count(*) FROM new_rows GROUP BY 1, 2
    ON CONFLICT (tenant_id, hour) DO UPDATE SET statements = h.statements + excluded.statements;
    DELETE FROM tenant_statement_hours
    WHERE tenant_id IN (SELECT DISTINCT tenant_id FROM new_rows) AND hour < now() - interval '2 days';
    RETURN NULL;
END
$$;
-- +goose StatementEnd
