-- +goose Up
-- The data of xAPI statement attachments (issue 16; Communication 1.5.2),
-- kept once per tenant and SHA-2: the same certificate sent with a
-- thousand statements is one row. A statement names its attachments by
-- sha2 in its own JSON (bronze), so no link table is needed; a row no
-- statement names any more is removed by DeleteOrphanAttachments
-- (pipeline/attachments.go) when statements are erased.
CREATE TABLE xapi_attachments (
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sha2         text NOT NULL CHECK (sha2 ~ '^[0-9a-f]+$' AND length(sha2) IN (56, 64, 96, 128)),
    content_type text NOT NULL,
    length       bigint NOT NULL CHECK (length = octet_length(content)),
    content      bytea NOT NULL,
    stored       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sha2)
);
-- Attachment data is not compressed (PDFs and images already are) and is
-- read whole.
ALTER TABLE xapi_attachments ALTER COLUMN content SET STORAGE EXTERNAL;
SELECT isolate_tenant('xapi_attachments');
GRANT SELECT, INSERT, DELETE ON xapi_attachments TO learnlens_app;

-- The statements whose object is a StatementRef, newest first: a query
-- with an agent, verb, activity or registration filter also returns those
-- whose target matches (Communication 2.1.3.s3), and walks them here.
-- They are few (voiding statements and the odd confirmation), so the index
-- is small and costs the other statements nothing.
CREATE INDEX xapi_statements_refs ON xapi_statements (tenant_id, stored DESC, seq DESC)
    WHERE (statement->'object'->>'objectType') = 'StatementRef';

-- +goose Down
DROP INDEX xapi_statements_refs;
DROP TABLE xapi_attachments;
