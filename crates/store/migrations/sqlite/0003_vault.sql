-- The customer data vault: the keyring, customers, their addresses and orders. Every personal
-- field is stored sealed (`v2.<key id>.<base64>`, XChaCha20-Poly1305, bound to row and column);
-- lookups by email and phone use keyed blind indexes.

-- Data keys and system keys, each wrapped under the master key's key-encryption key.
-- `wrapped` is cleared when a retired key is destroyed.
CREATE TABLE keyring (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    wrapped TEXT,
    master_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

-- One key per customer (two while a rotation moves them), wrapped under a data key. Erasing a
-- customer deletes these rows: everything sealed under them, in this database and in every
-- older backup, can no longer be read.
CREATE TABLE customer_keys (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    wrapped TEXT NOT NULL,
    wrapped_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX customer_keys_customer ON customer_keys (customer_id);
CREATE INDEX customer_keys_parent ON customer_keys (wrapped_by);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    key_id TEXT,
    name TEXT,
    email TEXT,
    phone TEXT,
    note TEXT,
    email_index TEXT UNIQUE,
    phone_index TEXT,
    marketing_consent BIGINT NOT NULL DEFAULT 0,
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL,
    erased_at BIGINT
);
CREATE INDEX customers_phone ON customers (phone_index);
CREATE INDEX customers_created ON customers (created_at, id);
CREATE INDEX customers_key ON customers (key_id);

CREATE TABLE customer_addresses (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    label TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX customer_addresses_customer ON customer_addresses (customer_id);
CREATE INDEX customer_addresses_key ON customer_addresses (key_id);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('order_number', 1000);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    key_id TEXT,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    email TEXT,
    phone TEXT,
    billing TEXT,
    shipping TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id, created_at);
CREATE INDEX orders_key ON orders (key_id);

-- Other secrets (SMTP password, gateway API keys), sealed under a data key.
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Customers whose personal data was erased or anonymized, and when.
CREATE TABLE erasures (
    customer_id TEXT PRIMARY KEY,
    erased_at BIGINT NOT NULL,
    reason TEXT NOT NULL
);
