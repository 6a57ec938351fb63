-- Point of sale (issue 7): paired devices, cashier PINs, till sales, shifts and cash, stock
-- alerts from offline sales. Secrets are stored only as hashes: pairing codes and device
-- credentials as SHA-256, PINs as argon2id over a keyed HMAC (a copied database cannot be
-- brute-forced without the master key). No customer personal data lives in these tables.

-- A till. `pending` until its pairing code is used, `active` once paired, `revoked` for good.
CREATE TABLE pos_devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    location_id TEXT NOT NULL REFERENCES locations(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
    pairing_hash TEXT UNIQUE,
    pairing_expires_at BIGINT,
    credential_hash TEXT UNIQUE,
    -- the cashier signed in on it (NULL: nobody); their token, hashed; their last own action
    cashier_id TEXT REFERENCES users(id),
    cashier_token_hash TEXT UNIQUE,
    cashier_since BIGINT,
    cashier_active_at BIGINT,
    last_seen_at BIGINT,
    app_version TEXT NOT NULL DEFAULT '',
    queued_sales BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    paired_at BIGINT,
    revoked_at BIGINT,
    revoked_by TEXT
);

-- A staff member's till PIN. Five wrong tries lock it until a manager resets it.
CREATE TABLE pos_pins (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    pin_hash TEXT NOT NULL,
    failed_count BIGINT NOT NULL DEFAULT 0,
    locked_at BIGINT,
    set_at BIGINT NOT NULL,
    set_by TEXT NOT NULL
);

-- A drawer session at one device: counted float in, counted cash out.
CREATE TABLE pos_shifts (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    device_id TEXT NOT NULL REFERENCES pos_devices(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_by TEXT NOT NULL REFERENCES users(id),
    opened_at BIGINT NOT NULL,
    float_minor BIGINT NOT NULL CHECK (float_minor >= 0),
    closed_by TEXT REFERENCES users(id),
    closed_at BIGINT,
    counted_minor BIGINT,
    expected_minor BIGINT,
    variance_minor BIGINT,
    variance_approved_by TEXT REFERENCES users(id),
    note TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX pos_shifts_one_open ON pos_shifts (device_id) WHERE status = 'open';
CREATE INDEX pos_shifts_opened ON pos_shifts (opened_at);

-- Cash put into or taken out of the drawer during a shift, with the reason.
CREATE TABLE pos_cash_movements (
    id TEXT PRIMARY KEY,
    shift_id TEXT NOT NULL REFERENCES pos_shifts(id),
    kind TEXT NOT NULL CHECK (kind IN ('in', 'out')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    reason TEXT NOT NULL,
    actor TEXT NOT NULL REFERENCES users(id),
    at BIGINT NOT NULL
);
CREATE INDEX pos_cash_movements_shift ON pos_cash_movements (shift_id, at);

-- A till sale: the order (channel 'pos') plus what only the till knows. `sale_key` is the
-- device's idempotency key (a sale synced twice is one sale).
CREATE TABLE pos_sales (
    order_id TEXT PRIMARY KEY REFERENCES orders(id),
    sale_key TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL REFERENCES pos_devices(id),
    shift_id TEXT REFERENCES pos_shifts(id),
    cashier_id TEXT NOT NULL REFERENCES users(id),
    approved_by TEXT REFERENCES users(id),
    tendered_minor BIGINT NOT NULL DEFAULT 0,
    change_minor BIGINT NOT NULL DEFAULT 0,
    offline BIGINT NOT NULL DEFAULT 0,
    sold_at BIGINT NOT NULL,
    synced_at BIGINT NOT NULL
);
CREATE INDEX pos_sales_shift ON pos_sales (shift_id);
CREATE INDEX pos_sales_device ON pos_sales (device_id, sold_at);

-- Money given back at the till, by method, so the shift's expected cash and Z report see it.
CREATE TABLE pos_refunds (
    id TEXT PRIMARY KEY,
    refund_key TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL REFERENCES orders(id),
    shift_id TEXT REFERENCES pos_shifts(id),
    device_id TEXT NOT NULL REFERENCES pos_devices(id),
    method TEXT NOT NULL CHECK (method IN ('cash', 'card')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    tax_minor BIGINT NOT NULL DEFAULT 0,
    cashier_id TEXT NOT NULL REFERENCES users(id),
    approved_by TEXT NOT NULL REFERENCES users(id),
    at BIGINT NOT NULL
);
CREATE INDEX pos_refunds_shift ON pos_refunds (shift_id);
CREATE INDEX pos_refunds_order ON pos_refunds (order_id);

-- An offline sale sold more than the location had: the sale stands, staff recount.
CREATE TABLE pos_stock_alerts (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    variant_id TEXT NOT NULL REFERENCES variants(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    short_by BIGINT NOT NULL CHECK (short_by > 0),
    created_at BIGINT NOT NULL,
    resolved_at BIGINT,
    resolved_by TEXT
);
CREATE INDEX pos_stock_alerts_open ON pos_stock_alerts (resolved_at, created_at);

-- The lines a till refund gave back (added by the store-sales helper): what is left to refund
-- on a line is its quantity minus these, whether or not the units went back on the shelf.
-- Amount and tax are each line's share (cumulative, rounded down: the last unit takes the rest).
CREATE TABLE pos_refund_lines (
    refund_key TEXT NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders(id),
    position BIGINT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    amount_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL DEFAULT 0,
    at BIGINT NOT NULL,
    PRIMARY KEY (refund_key, position)
);
CREATE INDEX pos_refund_lines_order ON pos_refund_lines (order_id, position);

-- What lets a till sell offline: issued to a cashier when they unlock the till online, valid
-- for the offline grace period. An offline sale arriving later must carry one of this device
-- and cashier, and have been sold while it was valid (before it expired or was withdrawn).
CREATE TABLE pos_offline_grants (
    token_hash TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES pos_devices(id),
    cashier_id TEXT NOT NULL REFERENCES users(id),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX pos_offline_grants_device ON pos_offline_grants (device_id, cashier_id);
