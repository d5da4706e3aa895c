-- +goose Up
-- API clients may hold data:manage: purging statements before a date
-- through POST /api/v1/data/purge (issue 12's data rights).
ALTER TABLE api_clients DROP CONSTRAINT api_clients_scopes_check;
ALTER TABLE api_clients ADD CONSTRAINT api_clients_scopes_check CHECK (cardinality(scopes) > 0 AND
    scopes <@ ARRAY['dashboards:read', 'learners:read', 'imports:manage', 'users:manage', 'data:manage']);

-- +goose Down
DELETE FROM api_clients WHERE scopes @> ARRAY['data:manage'] AND cardinality(scopes) = 1;
UPDATE api_clients SET scopes = array_remove(scopes, 'data:manage');
ALTER TABLE api_clients DROP CONSTRAINT api_clients_scopes_check;
ALTER TABLE api_clients ADD CONSTRAINT api_clients_scopes_check CHECK (cardinality(scopes) > 0 AND
    scopes <@ ARRAY['dashboards:read', 'learners:read', 'imports:manage', 'users:manage']);
