-- Fraud screening (issue 6). Nothing here is personal in the clear: velocity keys are keyed
-- hashes (blind indexes) of the email, IP address, device cookie, card fingerprint and delivery
-- address; the IP address itself is never stored, only its country; call notes are sealed under
-- the customer's key.

-- One row per order: what screening knows and decided, and the review's outcome.
CREATE TABLE order_risk (
    order_id TEXT PRIMARY KEY REFERENCES orders(id),
    email_key TEXT,
    ip_key TEXT,
    device_key TEXT,
    card_key TEXT,
    address_key TEXT,
    ip_country TEXT,
    score INTEGER,
    decision TEXT CHECK (decision IN ('pass', 'review', 'block')),
    reasons TEXT NOT NULL DEFAULT '[]',
    checks TEXT NOT NULL DEFAULT '{}',
    screened_at BIGINT,
    -- open (waiting for staff), approved, cancelled, pay_again (staff asked for a new payment)
    review TEXT CHECK (review IN ('open', 'approved', 'cancelled', 'pay_again')),
    held_at BIGINT,
    auth_expires_at BIGINT,
    -- staff were emailed that the authorization is about to run out
    expiry_warned_at BIGINT,
    decided_at BIGINT,
    decided_by TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX order_risk_review ON order_risk (review, score);
CREATE INDEX order_risk_address ON order_risk (address_key);

-- Events counted for velocity: orders placed, failed payments, cards seen.
CREATE TABLE risk_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    order_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('order', 'failed_payment', 'card')),
    email_key TEXT,
    ip_key TEXT,
    device_key TEXT,
    card_key TEXT,
    address_key TEXT
);
CREATE INDEX risk_events_at ON risk_events (at);
CREATE INDEX risk_events_order ON risk_events (order_id);

-- The owner's own rules (CEL expressions), validated before they are saved.
CREATE TABLE fraud_rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    expression TEXT NOT NULL,
    points INTEGER NOT NULL CHECK (points BETWEEN -100 AND 100),
    reason TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- "Called the customer" notes on a held order.
CREATE TABLE review_calls (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    outcome TEXT NOT NULL,
    key_id TEXT,
    note TEXT,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX review_calls_order ON review_calls (order_id, at);

-- A customer's earlier orders, counted for every screened order without reading the rows.
CREATE INDEX orders_customer_history ON orders (customer_id, created_at, status, refunded_minor);
