-- +goose Up
-- API clients (issue 13): a tenant's OAuth 2.0 client-credentials clients.
-- The secret is kept as its SHA-256 (it is 256 random bits, so a slow hash
-- would add nothing), like xAPI secrets. scopes is a subset of
-- dashboards:read, learners:read, imports:manage, users:manage.
-- last_used_at is the time the client was last given a token.
CREATE TABLE api_clients (
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    client_id    text NOT NULL CHECK (client_id ~ '^[A-Za-z0-9._-]{8,64}$'),
    name         text NOT NULL,
    scopes       text[] NOT NULL CHECK (cardinality(scopes) > 0 AND
                     scopes <@ ARRAY['dashboards:read', 'learners:read', 'imports:manage', 'users:manage']),
    secret_hash  bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    rotated_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX api_clients_client_id ON api_clients (client_id);
SELECT isolate_tenant('api_clients');
GRANT SELECT, INSERT, UPDATE ON api_clients TO learnlens_app;

-- The keys that sign API access tokens: platform-owned, not tenant data.
-- Each is an Ed25519 key whose private half is sealed with AES-256-GCM
-- under the deployment's TOKEN_KEY (bound to its kid); the public half is
-- derived from it when the key is opened, so a row written by anyone
-- without TOKEN_KEY signs and verifies nothing. One key is current
-- (retired_at IS NULL); a retired key is still published and accepted
-- until every token it signed has expired. The app login may only read
-- them; the platform login creates the first key and rotates them.
CREATE TABLE token_keys (
    kid            text PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9_-]{8,64}$'),
    alg            text NOT NULL CHECK (alg = 'EdDSA'),
    private_sealed bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    retired_at     timestamptz
);
CREATE UNIQUE INDEX token_keys_one_current ON token_keys ((true)) WHERE retired_at IS NULL;
GRANT SELECT ON token_keys TO learnlens_app;
GRANT INSERT, UPDATE, DELETE ON token_keys TO learnlens_platform;

-- +goose Down
DROP TABLE token_keys;
DROP TABLE api_clients;
