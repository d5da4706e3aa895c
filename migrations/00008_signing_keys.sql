-- +goose Up
-- Secret keys every instance shares, made once here so that all instances
-- agree without configuration. "csrf" signs the sign-in form's CSRF token,
-- which anonymous visitors carry in a cookie instead of a server-side
-- session. gen_random_uuid() draws from the server's strong random source;
-- two of them give 244 random bits.
CREATE TABLE signing_keys (
    name       text PRIMARY KEY,
    key        bytea NOT NULL CHECK (length(key) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO signing_keys (name, key)
VALUES ('csrf', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
GRANT SELECT ON signing_keys TO learnlens_app;

-- +goose Down
DROP TABLE signing_keys;
