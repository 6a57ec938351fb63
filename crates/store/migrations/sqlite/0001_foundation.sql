-- storefort foundation schema (SQLite). Money: integer minor units. Times: UTC milliseconds.
-- Booleans are 0/1 integers so that one SQL text serves SQLite and PostgreSQL.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tax_classes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    created_at INTEGER NOT NULL
);

CREATE TABLE categories (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    category_id TEXT REFERENCES categories(id),
    tax_class_id TEXT NOT NULL REFERENCES tax_classes(id),
    status TEXT NOT NULL CHECK (status IN ('active', 'draft', 'archived')),
    allow_backorder INTEGER NOT NULL DEFAULT 0,
    search_text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX products_category ON products (category_id, status, id);
CREATE INDEX products_status ON products (status, id);

CREATE TABLE variants (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products(id),
    sku TEXT NOT NULL UNIQUE,
    barcode TEXT UNIQUE,
    options TEXT NOT NULL DEFAULT '{}',
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    archived INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX variants_product ON variants (product_id, position);

CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('warehouse', 'shop')),
    created_at INTEGER NOT NULL
);

CREATE TABLE stock_levels (
    variant_id TEXT NOT NULL REFERENCES variants(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    quantity INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (variant_id, location_id)
);

CREATE TABLE stock_movements (
    id TEXT PRIMARY KEY,
    variant_id TEXT NOT NULL REFERENCES variants(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    delta INTEGER NOT NULL,
    quantity_after INTEGER NOT NULL,
    reason TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    transfer_id TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX stock_movements_variant ON stock_movements (variant_id, id);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'cashier')),
    password_hash TEXT NOT NULL,
    password_score INTEGER NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
