//! Till sales: one transaction that takes the order number, takes stock at the till's location,
//! records the order (channel `pos`, fulfilled: paid and handed over), its lines, payments,
//! timeline and the till's own row. The device's sale key makes a sale synced twice one sale.
//! Reading sales back lives in `pos_sale_read.rs`.

use std::collections::BTreeMap;

use storefort_core::ids::{CustomerId, OrderId};
use storefort_core::order_state::OrderStatus;
use storefort_core::pos::{
    check_tenders_in, price_sale, Discount, SaleLineInput, TenderInput, MAX_LINES,
};
use storefort_core::stock::{self, Reason};
use storefort_core::ValidationError;

use crate::db::new_id;
pub(crate) use crate::pos_parties::check_key;
use crate::pos_sale_read::PosSale;
use crate::stock::{lock_level, write, Change};
use crate::{Db, StoreError};

/// How far back an offline sale's own time may go (30 days).
pub const OFFLINE_MAX_AGE_MS: i64 = 30 * 24 * 3600 * 1000;

/// One line as the till asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosLineRequest {
    /// Variant sold.
    pub variant_id: String,
    /// How many.
    pub quantity: i64,
    /// The line's own discount.
    pub discount: Discount,
    /// The unit price the till showed; a different catalog price is a 409.
    pub unit_price_minor: Option<i64>,
}

/// A sale as the till sends it (see the POS contract).
#[derive(Debug, Clone)]
pub struct PosSaleInput {
    /// Idempotency key, 8-100 characters: the same key gives the same sale.
    pub sale_key: String,
    /// The till; the sale takes stock at its location.
    pub device_id: String,
    /// The cashier signed in.
    pub cashier_id: String,
    /// A manager or owner whose PIN the web layer checked (discounts above the limit).
    pub approved_by: Option<String>,
    /// The customer; `None` is the shop's walk-in customer.
    pub customer_id: Option<CustomerId>,
    /// Email a receipt goes to; sealed into the order's email.
    pub receipt_email: Option<String>,
    /// Lines.
    pub lines: Vec<PosLineRequest>,
    /// Discount on the whole sale.
    pub order_discount: Discount,
    /// Payments.
    pub tenders: Vec<TenderInput>,
    /// The total the till showed; a different server total is refused (422, `total_minor`).
    pub expected_total_minor: Option<i64>,
    /// Synced from the offline queue: overselling is recorded as a stock alert.
    pub offline: bool,
    /// The device's time of an offline sale (clamped to the last 30 days); ignored online.
    pub sold_at: i64,
    /// The device's shift (`None`: its open shift, if any).
    pub shift_id: Option<String>,
}

impl Db {
    /// Record a till sale (see the module docs and the POS contract). Errors: unknown or
    /// archived items (422 `lines[i].variant_id`), a changed price (409
    /// `lines[i].unit_price_minor`), a total other than the server's (422 `total_minor`), bad
    /// payments (422 `payments...`), not enough stock online (409 `lines[i].quantity`).
    /// Nothing is written on any error.
    pub async fn create_pos_sale(&self, s: &PosSaleInput) -> Result<PosSale, StoreError> {
        check_key("key", &s.sale_key)?;
        if let Some(found) = self.sale_by_key(&s.sale_key, &s.device_id).await? {
            return Ok(found);
        }
        let till = self.till(&s.device_id).await?;
        let cashier = self.staff(&s.cashier_id, "cashier_id", false).await?;
        if let Some(a) = &s.approved_by {
            self.staff(a, "approver", true).await?;
        }
        if s.lines.is_empty() || s.lines.len() > MAX_LINES {
            let msg = format!("a sale holds 1 to {MAX_LINES} lines");
            return Err(ValidationError::new("lines", msg).into());
        }
        let ids: Vec<String> = s.lines.iter().map(|l| l.variant_id.clone()).collect();
        let catalog = self.sale_catalog(&ids).await?;
        let settings = self.shop_settings().await?;
        let mut inputs = Vec::with_capacity(s.lines.len());
        for (i, l) in s.lines.iter().enumerate() {
            let Some(c) = catalog.get(&l.variant_id).filter(|c| c.on_sale) else {
                return Err(ValidationError::new(
                    format!("lines[{i}].variant_id"),
                    "this item is not on sale any more; remove it from the sale",
                )
                .into());
            };
            if l.unit_price_minor.is_some_and(|p| p != c.price_minor) {
                return Err(StoreError::state(
                    format!("lines[{i}].unit_price_minor"),
                    format!(
                        "{} now costs {}",
                        c.name,
                        self.currency.format(c.price_minor)
                    ),
                ));
            }
            inputs.push(SaleLineInput {
                variant_id: l.variant_id.clone(),
                sku: c.sku.clone(),
                name: c.name.clone(),
                unit_price_minor: c.price_minor,
                quantity: l.quantity,
                tax_rate_bp: self
                    .tax_rate_for(&c.tax_class_id, &settings.country)
                    .await?,
                discount: l.discount,
            });
        }
        let totals = price_sale(&inputs, &s.order_discount, settings.prices_include_tax)?;
        if let Some(shown) = s.expected_total_minor.filter(|t| *t != totals.total_minor) {
            return Err(ValidationError::new(
                "total_minor",
                format!(
                    "the till's total {} does not match the shop's prices {}; nothing was recorded",
                    self.currency.format(shown),
                    self.currency.format(totals.total_minor)
                ),
            )
            .into());
        }
        if s.offline {
            if let Some(i) = s
                .tenders
                .iter()
                .position(|t| matches!(t, TenderInput::Card { .. }))
            {
                return Err(ValidationError::new(
                    format!("payments[{i}].method"),
                    "card payments cannot be taken offline",
                )
                .into());
            }
        }
        let change = check_tenders_in(&self.currency, totals.total_minor, &s.tenders)?;
        let now = self.now();
        let sold_at = if s.offline {
            s.sold_at.clamp(now - OFFLINE_MAX_AGE_MS, now)
        } else {
            now
        };
        let shift = self.sale_shift(s).await?;
        let id = new_id();
        let (customer, key_id, email) = self.sale_customer(s, &id).await?;

        // Stock rows are locked in variant order so concurrent sales cannot deadlock.
        let mut wanted: BTreeMap<&str, (i64, usize)> = BTreeMap::new();
        for (i, l) in inputs.iter().enumerate() {
            let e = wanted.entry(l.variant_id.as_str()).or_insert((0, i));
            e.0 += l.quantity;
        }
        let mut tx = self.begin_write().await?;
        let number: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = 'order_number' RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await?;
        // A replay that waited for the write lock finds the first sale now.
        let dup: Option<String> =
            sqlx::query_scalar("SELECT order_id FROM pos_sales WHERE sale_key = $1")
                .bind(&s.sale_key)
                .fetch_optional(&mut *tx)
                .await?;
        if dup.is_some() {
            tx.rollback().await?;
            return self.replayed(&s.sale_key, &s.device_id).await;
        }
        if let (Some(sh), false) = (&shift, s.offline) {
            // Lock the open shift: a sale cannot land in a shift being closed.
            let open = sqlx::query(
                "UPDATE pos_shifts SET status = status WHERE id = $1 AND status = 'open'",
            )
            .bind(sh)
            .execute(&mut *tx)
            .await?;
            if open.rows_affected() != 1 {
                tx.rollback().await?;
                return Err(StoreError::state("shift_id", "this shift was just closed"));
            }
        }
        let note = format!("order #{number}");
        let mut alerts: Vec<(String, i64)> = Vec::new();
        for (variant, (qty, first)) in &wanted {
            let c = &catalog[*variant];
            let on_hand = lock_level(&mut tx, variant, &till.location_id, now).await?;
            let take = match stock::apply(on_hand, -qty, c.allow_backorder) {
                Ok(_) => *qty,
                Err(_) if s.offline => {
                    // The sale already happened: take what is there, flag the rest.
                    let take = (*qty).min(on_hand.max(0));
                    alerts.push((variant.to_string(), qty - take));
                    take
                }
                Err(_) => {
                    tx.rollback().await?;
                    let msg = match on_hand.max(0) {
                        0 => format!("{} is sold out here", c.name),
                        n => format!("only {n} of {} left here", c.name),
                    };
                    return Err(StoreError::state(format!("lines[{first}].quantity"), msg));
                }
            };
            if take > 0 {
                let change = Change {
                    variant_id: variant,
                    location_id: &till.location_id,
                    note: &note,
                    actor: &cashier.email,
                };
                let after = on_hand - take;
                let loc = till.location_id.clone();
                write(
                    &mut tx,
                    &change,
                    &loc,
                    -take,
                    after,
                    Reason::Sale,
                    None,
                    sold_at,
                )
                .await?;
            }
        }
        let method = payment_method(&s.tenders);
        sqlx::query(
            "INSERT INTO orders (id, number, customer_id, key_id, status, currency, total_minor, \
             email, phone, billing, shipping, created_at, channel, subtotal_minor, discount_minor, \
             shipping_minor, tax_minor, prices_include_tax, shipping_method, payment_method, \
             location_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL, \
             $9, 'pos', $10, $11, 0, $12, $13, '', $14, $15, $16)",
        )
        .bind(&id)
        .bind(number)
        .bind(customer.as_str())
        .bind(key_id)
        .bind(OrderStatus::Fulfilled.as_str())
        .bind(self.currency.code)
        .bind(totals.total_minor)
        .bind(email)
        .bind(sold_at)
        .bind(totals.subtotal_minor)
        .bind(totals.discount_minor)
        .bind(totals.tax_minor)
        .bind(i64::from(settings.prices_include_tax))
        .bind(method)
        .bind(&till.location_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (pos, l) in totals.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO order_lines (order_id, position, variant_id, sku, name, \
                 unit_price_minor, quantity, discount_minor, tax_rate_bp, tax_minor, total_minor) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&id)
            .bind(pos as i64)
            .bind(&l.variant_id)
            .bind(&l.sku)
            .bind(&l.name)
            .bind(l.unit_price_minor)
            .bind(l.quantity)
            .bind(l.discount_minor)
            .bind(l.tax_rate_bp)
            .bind(l.tax_minor)
            .bind(l.total_minor)
            .execute(&mut *tx)
            .await?;
        }
        let mut tendered = 0;
        let mut paid = Vec::new();
        for (i, t) in s.tenders.iter().enumerate() {
            let (gateway, brand, last4) = match t {
                TenderInput::Cash { tendered_minor, .. } => {
                    tendered += tendered_minor;
                    ("cash", None, None)
                }
                TenderInput::Card { brand, last4, .. } => {
                    tendered += t.amount_minor();
                    let b = brand.trim().to_ascii_lowercase();
                    let l = last4.trim().to_string();
                    (
                        "card_terminal",
                        (!b.is_empty()).then_some(b),
                        (!l.is_empty()).then_some(l),
                    )
                }
            };
            paid.push(self.tender_text(t));
            sqlx::query(
                "INSERT INTO payments (id, order_id, gateway, reference, status, amount_minor, \
                 captured_minor, refunded_minor, card_brand, card_last4, checks, message, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, 'captured', $5, $5, 0, $6, $7, \
                 '{}', '', $8, $8)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(gateway)
            .bind(format!("pos-{number}-{}", i + 1))
            .bind(t.amount_minor())
            .bind(brand)
            .bind(last4)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO pos_sales (order_id, sale_key, device_id, shift_id, cashier_id, \
             approved_by, tendered_minor, change_minor, offline, sold_at, synced_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(&s.sale_key)
        .bind(&s.device_id)
        .bind(shift.clone())
        .bind(&s.cashier_id)
        .bind(s.approved_by.clone())
        .bind(tendered)
        .bind(change)
        .bind(i64::from(s.offline))
        .bind(sold_at)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                // The same key committed meanwhile (PostgreSQL): that sale is the sale.
                tx.rollback().await?;
                return self.replayed(&s.sale_key, &s.device_id).await;
            }
            other => {
                other?;
            }
        }
        for (variant, short) in &alerts {
            sqlx::query(
                "INSERT INTO pos_stock_alerts (id, order_id, variant_id, location_id, short_by, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(variant)
            .bind(&till.location_id)
            .bind(short)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let mut story = format!(
            "sold at {} by {}, paid {}, handed over",
            till.name,
            cashier.name,
            paid.join(" + ")
        );
        if change > 0 {
            story.push_str(&format!(" (change {})", self.currency.format(change)));
        }
        let add = crate::order_flow::add_event;
        let to = Some(OrderStatus::Fulfilled);
        add(
            &mut tx,
            &id,
            sold_at,
            "created",
            None,
            to,
            &cashier.email,
            &story,
        )
        .await?;
        if s.offline {
            let mut n = "sold while the till was offline; synced later".to_string();
            for (variant, short) in &alerts {
                let c = &catalog[variant.as_str()];
                n.push_str(&format!("; {} ({}) oversold by {short}", c.name, c.sku));
            }
            add(&mut tx, &id, now, "note", None, None, &cashier.email, &n).await?;
        }
        tx.commit().await?;
        self.catalog_changed();
        self.load_sale(&OrderId(id), false).await
    }

    fn tender_text(&self, t: &TenderInput) -> String {
        match t {
            TenderInput::Cash { amount_minor, .. } => {
                format!("{} cash", self.currency.format(*amount_minor))
            }
            TenderInput::Card {
                amount_minor,
                brand,
                last4,
            } => {
                let mut s = format!("{} by card", self.currency.format(*amount_minor));
                if !brand.trim().is_empty() {
                    s.push_str(&format!(" ({})", brand.trim().to_ascii_lowercase()));
                }
                if !last4.trim().is_empty() {
                    s.push_str(&format!(" ending {}", last4.trim()));
                }
                s
            }
        }
    }

    /// The sale a key already made at this till, as a replay.
    async fn replayed(&self, key: &str, device: &str) -> Result<PosSale, StoreError> {
        self.sale_by_key(key, device)
            .await?
            .ok_or(StoreError::Busy("sale"))
    }

    async fn sale_by_key(&self, key: &str, device: &str) -> Result<Option<PosSale>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT order_id, device_id FROM pos_sales WHERE sale_key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            None => Ok(None),
            Some((_, d)) if d != device => Err(StoreError::state(
                "key",
                "this sale key was already used by another till",
            )),
            Some((order, _)) => Ok(Some(self.load_sale(&OrderId(order), true).await?)),
        }
    }

    /// The shift a sale belongs to: the one given (the device's open shift online, any shift of
    /// the device offline), else the device's open shift, if any.
    async fn sale_shift(&self, s: &PosSaleInput) -> Result<Option<String>, StoreError> {
        let Some(id) = &s.shift_id else {
            return Ok(self.open_shift_of(&s.device_id).await?.map(|sh| sh.id));
        };
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT device_id, status FROM pos_shifts WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some((d, status)) if d == s.device_id && (s.offline || status == "open") => {
                Ok(Some(id.clone()))
            }
            Some((d, _)) if d == s.device_id => Err(StoreError::state(
                "shift_id",
                "this shift is closed; open a new shift",
            )),
            _ => Err(ValidationError::new("shift_id", "not a shift of this till").into()),
        }
    }
}

/// `cash`, `card`, or `split` when a sale mixes them.
fn payment_method(t: &[TenderInput]) -> &'static str {
    let cash = t.iter().any(|t| matches!(t, TenderInput::Cash { .. }));
    let card = t.iter().any(|t| matches!(t, TenderInput::Card { .. }));
    match (cash, card) {
        (true, true) => "split",
        (false, true) => "card",
        _ => "cash",
    }
}
