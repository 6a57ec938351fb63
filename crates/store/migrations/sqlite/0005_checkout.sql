-- Checkout: carts, tax rates, shipping methods, discount codes, order lines and timeline,
-- payments through gateways, refunds, webhook de-duplication, the email outbox and the payment
-- page's approved scripts. Money: integer minor units. Times: UTC milliseconds.

-- A tax class's rate for one destination country; the class's own rate applies elsewhere.
CREATE TABLE tax_rates (
    tax_class_id TEXT NOT NULL REFERENCES tax_classes(id),
    country TEXT NOT NULL,
    rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    PRIMARY KEY (tax_class_id, country)
);

CREATE TABLE shipping_methods (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('flat', 'free_over', 'pickup')),
    amount_minor BIGINT NOT NULL DEFAULT 0,
    threshold_minor BIGINT,
    position INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

-- Codes are stored upper-case; `used_count` only grows inside the order's own transaction.
CREATE TABLE discount_codes (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
    value BIGINT NOT NULL,
    min_spend_minor BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT,
    usage_limit BIGINT,
    used_count BIGINT NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

-- Carts: a guest's is found by the SHA-256 of its cookie token; a signed-in shopper's also by
-- customer. Lines hold quantities only: prices are always read from the catalog. A cart turns
-- into one order (`order_id`): submitting it again finds that order instead of a second one.
CREATE TABLE carts (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    customer_id TEXT REFERENCES customers(id) ON DELETE SET NULL,
    discount_code TEXT,
    order_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX carts_customer ON carts (customer_id);
CREATE INDEX carts_expires ON carts (expires_at);

CREATE TABLE cart_lines (
    cart_id TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    variant_id TEXT NOT NULL REFERENCES variants(id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (cart_id, variant_id)
);

-- What an order was priced at, and where it stands.
ALTER TABLE orders ADD COLUMN channel TEXT NOT NULL DEFAULT 'web';
ALTER TABLE orders ADD COLUMN subtotal_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN discount_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN shipping_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN tax_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN refunded_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN prices_include_tax INTEGER NOT NULL DEFAULT 1;
ALTER TABLE orders ADD COLUMN shipping_method TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN discount_code TEXT;
ALTER TABLE orders ADD COLUMN payment_method TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN location_id TEXT;
ALTER TABLE orders ADD COLUMN idempotency_key TEXT;
ALTER TABLE orders ADD COLUMN access_hash TEXT;
ALTER TABLE orders ADD COLUMN reserved_until BIGINT;
ALTER TABLE orders ADD COLUMN tracking TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
-- The payment that pays this order: a second authorization for the same order is voided.
ALTER TABLE orders ADD COLUMN payment_id TEXT;
CREATE UNIQUE INDEX orders_idempotency ON orders (idempotency_key);
CREATE INDEX orders_status ON orders (status, created_at);
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_reserved ON orders (reserved_until);

CREATE TABLE order_lines (
    order_id TEXT NOT NULL REFERENCES orders(id),
    position INTEGER NOT NULL,
    variant_id TEXT NOT NULL REFERENCES variants(id),
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    discount_minor BIGINT NOT NULL DEFAULT 0,
    tax_rate_bp INTEGER NOT NULL,
    tax_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    refunded_quantity BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, position)
);

-- The order's timeline: every status change and every staff note, oldest first.
CREATE TABLE order_events (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    actor TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_events_order ON order_events (order_id, at);

-- A payment attempt at a gateway. Only the gateway's reference, card brand and last 4 digits
-- are kept; `checks` is the gateway's CVC / postcode / 3-D Secure results as JSON.
CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    gateway TEXT NOT NULL,
    reference TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    captured_minor BIGINT NOT NULL DEFAULT 0,
    refunded_minor BIGINT NOT NULL DEFAULT 0,
    card_brand TEXT,
    card_last4 TEXT,
    checks TEXT NOT NULL DEFAULT '{}',
    message TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (gateway, reference)
);
CREATE INDEX payments_order ON payments (order_id);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    payment_id TEXT REFERENCES payments(id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    restock INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    gateway_reference TEXT,
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_id);

-- Each gateway event is processed once.
CREATE TABLE webhook_events (
    gateway TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (gateway, event_id)
);

-- The sandbox gateway's own book of payments (it plays the provider).
CREATE TABLE sandbox_payments (
    id TEXT PRIMARY KEY,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    return_url TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    captured_minor BIGINT NOT NULL DEFAULT 0,
    refunded_minor BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Emails are written here first and sent by a worker, so an SMTP outage loses nothing. The
-- recipient and body are sealed under the customer's key (erasure makes them unreadable); the
-- body is cleared once sent.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    customer_id TEXT,
    key_id TEXT,
    recipient TEXT NOT NULL,
    body TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    sent_at BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);

-- Scripts the payment page may load (PCI DSS 6.4.3): each with its origin, SHA-384 and why.
CREATE TABLE payment_scripts (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    origin TEXT NOT NULL,
    sha384 TEXT NOT NULL,
    reason TEXT NOT NULL,
    gateway TEXT NOT NULL,
    added_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
