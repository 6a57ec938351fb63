-- Shopper accounts on the storefront: sessions and sign-in bookkeeping. The account itself (a
-- password hash on a customer) lives in `customers` (0003_vault.sql). Times: UTC milliseconds.

-- Only the SHA-256 of each session token is kept, so a copy of the database cannot be used to
-- sign in. `csrf_token` is the session's anti-forgery token for the account forms.
CREATE TABLE shopper_sessions (
    token_hash TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX shopper_sessions_customer ON shopper_sessions (customer_id);

-- One row per shopper account: when it was opened on the storefront (0 when not known) and the
-- run of failed sign-ins with the lock it causes.
CREATE TABLE shopper_accounts (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    opened_at BIGINT NOT NULL DEFAULT 0,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT
);
