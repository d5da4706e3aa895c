-- +goose Up
-- Data rights (issue 12, item 4): a learner's data, pseudonymisation,
-- erasure and purging statements before a date (docs/DATA-RIGHTS.md).
-- Bronze stays append-only for ingest, but these actions, run by a tenant
-- admin under the tenant's pipeline lock, rewrite agents in stored
-- statements (UPDATE), delete statements and their void bookkeeping
-- (DELETE; the uncount_statements trigger of 00011 keeps the statement
-- counters right) and empty uploaded import files that name a person.
GRANT UPDATE, DELETE ON xapi_statements TO learnlens_app;
GRANT DELETE ON xapi_voided TO learnlens_app;
GRANT UPDATE ON import_files TO learnlens_app;

-- The opaque id a pseudonymised person goes by (NULL for everyone else).
ALTER TABLE learners ADD COLUMN pseudonym text;

-- +goose Down
ALTER TABLE learners DROP COLUMN pseudonym;
REVOKE UPDATE ON import_files FROM learnlens_app;
REVOKE DELETE ON xapi_voided FROM learnlens_app;
REVOKE UPDATE, DELETE ON xapi_statements FROM learnlens_app;
