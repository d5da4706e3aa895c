-- +goose Up
-- Sign-in failures per account and client address, so that an account's
-- progressive delay holds back the addresses that failed on it but not a
-- fresh one: the owner can still sign in with the right password from
-- elsewhere while someone guesses (issue 14, lock-out as a denial of
-- service). Rows older than a day are pruned as failures are recorded.
CREATE TABLE login_account_failures (
    tenant_id       bigint NOT NULL,
    user_id         bigint NOT NULL,
    source          text NOT NULL,
    failures        integer NOT NULL,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, source),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
SELECT isolate_tenant('login_account_failures');
GRANT SELECT, INSERT, UPDATE, DELETE ON login_account_failures TO learnlens_app;

-- The per-address throttle grows its delay with each failure, from the
-- last one.
ALTER TABLE login_ip_failures ADD COLUMN last_failure_at timestamptz NOT NULL DEFAULT now();

-- +goose Down
ALTER TABLE login_ip_failures DROP COLUMN last_failure_at;
DROP TABLE login_account_failures;
