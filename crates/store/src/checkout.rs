//! Turning a cart into an order: one transaction that closes the cart, reserves stock at the
//! online location, takes the next order number, records the order (personal fields sealed under
//! the customer's key), its lines and first timeline entry, and counts the discount code's use.
//! Submitting the same cart again finds the order already made (double click, retry).

use storefort_core::checkout::CheckoutInput;
use storefort_core::customer::{NewCustomer, OrderRecord};
use storefort_core::ids::{CustomerId, OrderId};
use storefort_core::order_state::OrderStatus;
use storefort_core::pricing::Quote;
use storefort_core::stock::{self, Reason};
use storefort_core::ValidationError;

use crate::carts::Cart;
use crate::db::new_id;
use crate::orders::{ctx, plain_order_fields, SEALED_COLUMNS};
use crate::stock::{lock_level, write, Change};
use crate::vault::seal_field;
use crate::{Db, StoreError};

/// An unpaid order keeps its stock this long (15 minutes), then is cancelled.
pub const RESERVATION_MS: i64 = 15 * 60 * 1000;

/// What the shopper (or a headless storefront) submits.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    /// The cart being ordered.
    pub cart_id: String,
    /// Validated checkout details (`CheckoutInput::validate`).
    pub checkout: CheckoutInput,
    /// The signed-in shopper, if any (else a guest customer is found or made by email).
    pub customer_id: Option<CustomerId>,
    /// Client-chosen key: the same cart and key always give the same order.
    pub idempotency_key: String,
    /// `web` or `api` (`pos` comes with the POS).
    pub channel: String,
}

/// The order made (or found again).
#[derive(Debug, Clone)]
pub struct Placed {
    /// Order ID.
    pub order_id: OrderId,
    /// Human order number.
    pub number: i64,
    /// Amount to pay (minor units).
    pub total_minor: i64,
    /// The customer the order belongs to.
    pub customer_id: CustomerId,
    /// True when this submission found an order made by an earlier one.
    pub replayed: bool,
}

fn idempotency_hash(cart_id: &str, key: &str) -> String {
    storefort_crypto::token::hash_token(&format!("{cart_id}\n{key}"))
}

impl Db {
    /// Place an order for a cart. See the module docs for what happens in the transaction.
    /// Errors: empty cart or items no longer on sale (422), a code no longer valid (422), not
    /// enough stock (409 naming the item), the cart already ordered under another key (409).
    pub async fn place_order(&self, p: &PlaceOrder) -> Result<Placed, StoreError> {
        if p.idempotency_key.trim().is_empty() || p.idempotency_key.len() > 200 {
            return Err(ValidationError::new(
                "idempotency_key",
                "send a unique key of 1-200 characters with each new checkout",
            )
            .into());
        }
        let key_hash = idempotency_hash(&p.cart_id, &p.idempotency_key);
        if let Some(found) = self.order_by_idempotency(&key_hash).await? {
            return Ok(found);
        }
        let cart = self.cart(&p.cart_id).await?;
        if let Some(order_id) = &cart.order_id {
            // A submission with the same key may have committed since the first look.
            if let Some(found) = self.order_by_idempotency(&key_hash).await? {
                return Ok(found);
            }
            let number: i64 = sqlx::query_scalar("SELECT number FROM orders WHERE id = $1")
                .bind(order_id)
                .fetch_one(&self.pool)
                .await?;
            return Err(StoreError::state(
                "cart",
                format!("this cart was already ordered as order #{number}"),
            ));
        }
        let (quote, method_name) = self.checkout_quote(&cart, &p.checkout).await?;
        let customer = match &p.customer_id {
            Some(id) => self.customer(id).await?,
            None => {
                self.guest_customer(&NewCustomer {
                    name: p.checkout.billing.name.clone(),
                    email: p.checkout.email.clone(),
                    phone: p.checkout.phone.clone(),
                    ..Default::default()
                })
                .await?
            }
        };
        let key_id = self.current_customer_key(&customer.id).await?;
        let key = self.customer_key(&key_id).await?;
        let id = new_id();
        let now = self.now();
        let plain = plain_order_fields(&OrderRecord {
            id: OrderId(id.clone()),
            number: 0,
            customer_id: customer.id.clone(),
            status: String::new(),
            currency: String::new(),
            total_minor: 0,
            email: p.checkout.email.clone(),
            phone: p.checkout.phone.clone(),
            billing: Some(p.checkout.billing.clone()),
            shipping: p.checkout.shipping.clone(),
            created_at: now,
        })?;
        let mut sealed: Vec<Option<String>> = Vec::with_capacity(4);
        for (i, col) in SEALED_COLUMNS.iter().enumerate() {
            sealed.push(if i == 3 && p.checkout.shipping.is_none() {
                None
            } else {
                Some(seal_field(&key, &key_id, &plain[i], &ctx(col, &id))?)
            });
        }
        let discount_id = match &cart.discount_code {
            Some(code) => Some(self.discount_by_code(code).await?.id),
            None => None,
        };
        let location = self.online_location().await?;
        let mut backorder = std::collections::HashMap::new();
        for l in &cart.lines {
            backorder.insert(l.variant_id.clone(), l.allow_backorder);
        }
        let settings = self.shop_settings().await?;

        let mut tx = self.begin_write().await?;
        // Closing the cart is the first write: it takes SQLite's write lock, and it is what
        // makes a second submission of the same cart find this order instead of a new one.
        let closed = sqlx::query(
            "UPDATE carts SET order_id = $1, updated_at = $2 WHERE id = $3 AND order_id IS NULL",
        )
        .bind(&id)
        .bind(now)
        .bind(&cart.id)
        .execute(&mut *tx)
        .await?;
        if closed.rows_affected() != 1 {
            tx.rollback().await?;
            return match self.order_by_idempotency(&key_hash).await? {
                Some(found) => Ok(found),
                None => Err(StoreError::state("cart", "this cart was already ordered")),
            };
        }
        let number: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = 'order_number' RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await?;
        let note = format!("order #{number}");
        let mut lines: Vec<_> = quote.lines.iter().collect();
        // Lock stock rows in one order so concurrent checkouts cannot deadlock.
        lines.sort_by(|a, b| a.variant_id.cmp(&b.variant_id));
        for l in &lines {
            let on_hand = lock_level(&mut tx, &l.variant_id, &location, now).await?;
            let allow = backorder.get(&l.variant_id).copied().unwrap_or(false);
            let after = match stock::apply(on_hand, -l.quantity, allow) {
                Ok(after) => after,
                Err(_) => {
                    tx.rollback().await?;
                    let left = on_hand.max(0);
                    return Err(StoreError::state(
                        "quantity",
                        match left {
                            0 => format!("{} has just sold out", l.name),
                            n => format!("only {n} of {} left in stock", l.name),
                        },
                    ));
                }
            };
            let change = Change {
                variant_id: &l.variant_id,
                location_id: &location,
                note: &note,
                actor: "checkout",
            };
            write(
                &mut tx,
                &change,
                &location,
                -l.quantity,
                after,
                Reason::Sale,
                None,
                now,
            )
            .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO orders (id, number, customer_id, key_id, status, currency, total_minor, \
             email, phone, billing, shipping, created_at, channel, subtotal_minor, discount_minor, \
             shipping_minor, tax_minor, prices_include_tax, shipping_method, discount_code, \
             payment_method, location_id, idempotency_key, reserved_until, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22, $23, $24, $12 \
             WHERE EXISTS (SELECT 1 FROM customers WHERE id = $3 AND key_id = $4)",
        )
        .bind(&id)
        .bind(number)
        .bind(customer.id.as_str())
        .bind(&key_id)
        .bind(OrderStatus::PendingPayment.as_str())
        .bind(self.currency.code)
        .bind(quote.total_minor)
        .bind(sealed[0].clone())
        .bind(sealed[1].clone())
        .bind(sealed[2].clone())
        .bind(sealed[3].clone())
        .bind(now)
        .bind(&p.channel)
        .bind(quote.goods_minor)
        .bind(quote.discount_minor)
        .bind(quote.shipping_minor)
        .bind(quote.tax_minor)
        .bind(i64::from(settings.prices_include_tax))
        .bind(&method_name)
        .bind(cart.discount_code.clone())
        .bind(&p.checkout.payment_method)
        .bind(&location)
        .bind(&key_hash)
        .bind(now + RESERVATION_MS)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::Busy("customer"));
        }
        for (pos, l) in quote.lines.iter().enumerate() {
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
        crate::order_flow::add_event(
            &mut tx,
            &id,
            now,
            "created",
            None,
            Some(OrderStatus::PendingPayment),
            &p.channel,
            &format!("placed online, paying by {}", p.checkout.payment_method),
        )
        .await?;
        if let Some(d) = &discount_id {
            crate::discounts::use_code(&mut tx, d).await?;
        }
        tx.commit().await?;
        self.catalog_changed();
        Ok(Placed {
            order_id: OrderId(id),
            number,
            total_minor: quote.total_minor,
            customer_id: customer.id,
            replayed: false,
        })
    }

    /// Price a cart for checkout: the shipping method must be enabled, every line on sale,
    /// tax for the destination (the shipping country, or the shop's own for pickup).
    pub async fn checkout_quote(
        &self,
        cart: &Cart,
        c: &CheckoutInput,
    ) -> Result<(Quote, String), StoreError> {
        if cart.lines.is_empty() {
            return Err(ValidationError::new("cart", "your cart is empty").into());
        }
        if let Some(l) = cart.lines.iter().find(|l| !l.on_sale) {
            return Err(ValidationError::new(
                "cart",
                format!("{} is no longer on sale; please remove it", l.name),
            )
            .into());
        }
        let method = match self.shipping_method(&c.shipping_method_id).await {
            Ok(m) if m.enabled => m,
            _ => {
                return Err(ValidationError::new(
                    "shipping_method",
                    "choose one of the delivery options offered",
                )
                .into())
            }
        };
        let country = match &c.shipping {
            Some(a) => a.country.clone(),
            None => self.shop_settings().await?.country,
        };
        let quote = self.price_cart(cart, &country, Some(&method)).await?;
        Ok((quote, method.name))
    }

    async fn order_by_idempotency(&self, key_hash: &str) -> Result<Option<Placed>, StoreError> {
        let row: Option<(String, i64, i64, String)> = sqlx::query_as(
            "SELECT id, number, total_minor, customer_id FROM orders WHERE idempotency_key = $1",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, number, total_minor, customer)| Placed {
            order_id: OrderId(id),
            number,
            total_minor,
            customer_id: CustomerId(customer),
            replayed: true,
        }))
    }

    /// The secret that lets a guest see their own order (a keyed hash of its ID, so nothing
    /// needs storing and a replayed checkout can hand it out again). Written with the letters
    /// a-p only: a hex digit run could look like a card number to the card guard.
    pub fn order_access_token(&self, order: &OrderId) -> Result<String, StoreError> {
        Ok(self
            .blind_index("order-access", order.as_str())?
            .chars()
            .map(|c| match c {
                '0'..='9' => char::from(b'g' + (c as u8 - b'0')),
                other => other,
            })
            .collect())
    }

    /// Does `token` open this order?
    pub fn order_access_ok(&self, order: &OrderId, token: &str) -> bool {
        match self.order_access_token(order) {
            Ok(t) => storefort_crypto::token::constant_time_eq(&t, token),
            Err(_) => false,
        }
    }
}
