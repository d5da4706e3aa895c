-- +goose Up
-- Sign-in hardening (issue 14).
--
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

-- Multi-factor authentication (TOTP, RFC 6238) with one-time recovery
-- codes. totp_secret is set when a user starts setting it up and counts
-- once totp_enabled_at is set; totp_last_step is the last time step whose
-- code was accepted, so no code works twice.
-- mfa_failures and mfa_held_until hold the second step back for the whole
-- account after wrong codes, whoever sends them: only someone who knows
-- the password gets that far, so guessing codes from many addresses must
-- not be free.
ALTER TABLE users
    ADD COLUMN totp_secret     bytea,
    ADD COLUMN totp_enabled_at timestamptz,
    ADD COLUMN totp_last_step  bigint NOT NULL DEFAULT 0,
    ADD COLUMN mfa_failures    integer NOT NULL DEFAULT 0,
    ADD COLUMN mfa_held_until  timestamptz;
CREATE TABLE mfa_recovery_codes (
    tenant_id bigint NOT NULL,
    user_id   bigint NOT NULL,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (tenant_id, user_id, code_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
SELECT isolate_tenant('mfa_recovery_codes');
GRANT SELECT, INSERT, UPDATE, DELETE ON mfa_recovery_codes TO learnlens_app;
-- TOTP keys are stored sealed (AES-256-GCM) with this key, so a copy of
-- the users table alone does not give anyone's second factor. Made like
-- the CSRF key of 00008.
INSERT INTO signing_keys (name, key)
VALUES ('mfa', decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
-- A tenant may require it of its admins.
ALTER TABLE tenants ADD COLUMN require_admin_mfa boolean NOT NULL DEFAULT false;

-- A tenant's own xAPI limits per credential (NULL: the deployment's
-- XAPI_CREDENTIAL_* settings; 0: no limit).
ALTER TABLE tenants
    ADD COLUMN xapi_rate        integer CHECK (xapi_rate >= 0),
    ADD COLUMN xapi_burst       integer CHECK (xapi_burst >= 0),
    ADD COLUMN xapi_concurrency integer CHECK (xapi_concurrency >= 0);

-- +goose Down
DELETE FROM signing_keys WHERE name = 'mfa';
ALTER TABLE tenants DROP COLUMN xapi_rate, DROP COLUMN xapi_burst, DROP COLUMN xapi_concurrency;
ALTER TABLE tenants DROP COLUMN require_admin_mfa;
DROP TABLE mfa_recovery_codes;
ALTER TABLE users DROP COLUMN totp_secret, DROP COLUMN totp_enabled_at, DROP COLUMN totp_last_step,
    DROP COLUMN mfa_failures, DROP COLUMN mfa_held_until;
ALTER TABLE login_ip_failures DROP COLUMN last_failure_at;
DROP TABLE login_account_failures;
