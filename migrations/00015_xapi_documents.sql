-- +goose Up
-- The xAPI document resources (issue 16): State, Activity Profile and Agent
-- Profile documents, one table for the three, as they share their
-- semantics (Communication 2.2). The scope columns are '' where the
-- resource has no such key (an activity profile has no agent, a profile no
-- registration), so that the primary key names each document once.
-- Content is kept as sent, with its Content-Type; etag is the hex SHA-1 of
-- the content; updated answers "since" and Last-Modified.
CREATE TABLE xapi_documents (
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    resource     text NOT NULL CHECK (resource IN ('state', 'activity_profile', 'agent_profile')),
    activity_id  text NOT NULL,
    agent_key    text NOT NULL,
    registration text NOT NULL,
    document_id  text NOT NULL,
    content_type text NOT NULL,
    content      bytea NOT NULL,
    etag         text NOT NULL,
    updated      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, resource, activity_id, agent_key, registration, document_id)
);
SELECT isolate_tenant('xapi_documents');
GRANT SELECT, INSERT, UPDATE, DELETE ON xapi_documents TO learnlens_app;

-- +goose Down
DROP TABLE xapi_documents;
