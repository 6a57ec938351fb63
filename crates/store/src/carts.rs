//! Carts. A guest's cart is found by the hash of its cookie token, a signed-in shopper's also by
//! their customer ID. Lines hold only variant and quantity: every price, tax and total is read
//! from the catalog and recomputed by `core::pricing` each time, so nothing a client sends can
//! change what is charged.

use std::sync::Arc;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::ids::CustomerId;
use storefort_core::pricing::{self, PriceMode, PricingLine, Quote, ShippingMethod};
use storefort_core::ValidationError;
use storefort_crypto::token::{hash_token, random_token};

use crate::db::{flag, looks_like_id, new_id};
use crate::{Db, StoreError};

/// A cart lives this long after its last change (14 days).
pub const CART_LIFETIME_MS: i64 = 14 * 24 * 3600 * 1000;
/// Most distinct lines in one cart.
pub const MAX_LINES: usize = 100;

/// A cart with its lines priced from the catalog.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Cart {
    /// ID.
    pub id: String,
    /// The signed-in shopper it belongs to, if any.
    #[schema(value_type = Option<String>)]
    pub customer_id: Option<CustomerId>,
    /// Discount code applied (upper-case), if any.
    pub discount_code: Option<String>,
    /// Lines in the order they were added.
    pub lines: Vec<CartLine>,
    /// The order this cart became, once checked out (the cart is then closed).
    pub order_id: Option<String>,
    /// When the cart expires unless changed (UTC ms).
    pub expires_at: i64,
}

/// One line, with what the catalog says now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CartLine {
    /// Variant.
    pub variant_id: String,
    /// SKU.
    pub sku: String,
    /// Product name, plus the variant's options ("Mug (Blue)").
    pub name: String,
    /// Product URL slug.
    pub product_slug: String,
    /// Unit price now (minor units, as entered in the catalog).
    pub unit_price_minor: i64,
    /// Quantity.
    pub quantity: i64,
    /// Tax class.
    pub tax_class_id: String,
    /// Units in stock at the online location.
    pub available: i64,
    /// Sold even when out of stock.
    pub allow_backorder: bool,
    /// Still on sale (product active, variant not archived).
    pub on_sale: bool,
}

impl CartLine {
    /// Enough stock (or backorders allowed) for this line's quantity.
    pub fn in_stock(&self) -> bool {
        self.allow_backorder || self.available >= self.quantity
    }
}

fn line(r: &AnyRow) -> Result<CartLine, sqlx::Error> {
    let product: String = r.try_get("product_name")?;
    let options: String = r.try_get("options")?;
    let opts: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&options).unwrap_or_default();
    let name = if opts.is_empty() {
        product
    } else {
        let shown: Vec<&str> = opts.values().map(String::as_str).collect();
        format!("{product} ({})", shown.join(", "))
    };
    Ok(CartLine {
        variant_id: r.try_get("variant_id")?,
        sku: r.try_get("sku")?,
        name,
        product_slug: r.try_get("slug")?,
        unit_price_minor: r.try_get("price_minor")?,
        quantity: r.try_get("quantity")?,
        tax_class_id: r.try_get("tax_class_id")?,
        available: r.try_get::<Option<i64>, _>("available")?.unwrap_or(0),
        allow_backorder: flag(r, "allow_backorder")?,
        on_sale: r.try_get::<String, _>("status")? == "active" && !flag(r, "archived")?,
    })
}

const LINES: &str = "SELECT l.variant_id, l.quantity, v.sku, v.options, v.price_minor, v.archived, \
     p.name AS product_name, p.slug, p.status, p.tax_class_id, p.allow_backorder, \
     s.quantity AS available \
     FROM cart_lines l JOIN variants v ON v.id = l.variant_id JOIN products p ON p.id = v.product_id \
     LEFT JOIN stock_levels s ON s.variant_id = l.variant_id AND s.location_id = $2 \
     WHERE l.cart_id = $1 ORDER BY l.added_at, l.variant_id";

impl Db {
    /// Start a cart; returns the token for the cookie (only its hash is stored) and the cart.
    pub async fn create_cart(
        &self,
        customer: Option<&CustomerId>,
    ) -> Result<(String, Cart), StoreError> {
        let token = random_token();
        let id = new_id();
        let now = self.now();
        sqlx::query(
            "INSERT INTO carts (id, token_hash, customer_id, created_at, updated_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(&id)
        .bind(hash_token(&token))
        .bind(customer.map(|c| c.as_str().to_string()))
        .bind(now)
        .bind(now + CART_LIFETIME_MS)
        .execute(&self.pool)
        .await?;
        Ok((token, self.cart(&id).await?))
    }

    /// The cart a token opens. Unknown: not found; past its lifetime: gone (410).
    pub async fn cart_by_token(&self, token: &str) -> Result<Cart, StoreError> {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM carts WHERE token_hash = $1")
            .bind(hash_token(token))
            .fetch_optional(&self.pool)
            .await?;
        match id {
            Some(id) => self.cart(&id).await,
            None => Err(StoreError::not_found("cart", "(token)")),
        }
    }

    /// A signed-in shopper's newest live cart.
    pub async fn cart_of_customer(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<Cart>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM carts WHERE customer_id = $1 AND expires_at > $2 AND order_id IS NULL \
             ORDER BY updated_at DESC LIMIT 1",
        )
        .bind(customer.as_str())
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => Ok(Some(self.cart(&id).await?)),
            None => Ok(None),
        }
    }

    /// A cart by ID with its lines. Expired carts are gone (410).
    pub async fn cart(&self, id: &str) -> Result<Cart, StoreError> {
        let row = sqlx::query(
            "SELECT id, customer_id, discount_code, order_id, expires_at FROM carts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("cart", id))?;
        let expires_at: i64 = row.try_get("expires_at")?;
        if expires_at <= self.now() {
            return Err(StoreError::Gone(
                "this cart has expired; please add the items again".into(),
            ));
        }
        let location = self.online_location().await?;
        let lines = sqlx::query(LINES)
            .bind(id)
            .bind(&location)
            .fetch_all(&self.pool)
            .await?;
        Ok(Cart {
            id: row.try_get("id")?,
            customer_id: row
                .try_get::<Option<String>, _>("customer_id")?
                .map(CustomerId),
            discount_code: row.try_get("discount_code")?,
            order_id: row.try_get("order_id")?,
            lines: lines.iter().map(line).collect::<Result<_, _>>()?,
            expires_at,
        })
    }

    /// Add units of a variant (to any already in the cart).
    pub async fn cart_add(
        &self,
        cart_id: &str,
        variant_id: &str,
        qty: i64,
    ) -> Result<Cart, StoreError> {
        let cart = self.cart(cart_id).await?;
        let have = cart
            .lines
            .iter()
            .find(|l| l.variant_id == variant_id)
            .map_or(0, |l| l.quantity);
        self.cart_set_quantity(cart_id, variant_id, have.saturating_add(qty))
            .await
    }

    /// Set a line's quantity; 0 removes it. Checks the variant is on sale and in stock.
    pub async fn cart_set_quantity(
        &self,
        cart_id: &str,
        variant_id: &str,
        qty: i64,
    ) -> Result<Cart, StoreError> {
        let cart = self.open_cart(cart_id).await?;
        if qty == 0 {
            sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1 AND variant_id = $2")
                .bind(cart_id)
                .bind(variant_id)
                .execute(&self.pool)
                .await?;
            return self.touch_cart(cart_id).await;
        }
        if !(1..=pricing::MAX_QUANTITY).contains(&qty) {
            return Err(ValidationError::new(
                "quantity",
                format!("choose between 1 and {}", pricing::MAX_QUANTITY),
            )
            .into());
        }
        if !looks_like_id(variant_id) {
            return Err(StoreError::not_found("variant", variant_id));
        }
        let exists = cart.lines.iter().any(|l| l.variant_id == variant_id);
        if !exists && cart.lines.len() >= MAX_LINES {
            return Err(ValidationError::new(
                "variant_id",
                format!("a cart holds at most {MAX_LINES} different items"),
            )
            .into());
        }
        let v = self.variant(variant_id).await?;
        let p = self.product(v.product_id.as_str()).await?;
        if v.archived || p.status != storefort_core::catalog::ProductStatus::Active {
            return Err(
                ValidationError::new("variant_id", "this item is no longer on sale").into(),
            );
        }
        let location = self.online_location().await?;
        let available: i64 = sqlx::query_scalar(
            "SELECT quantity FROM stock_levels WHERE variant_id = $1 AND location_id = $2",
        )
        .bind(variant_id)
        .bind(&location)
        .fetch_optional(&self.pool)
        .await?
        .unwrap_or(0);
        if !p.allow_backorder && qty > available {
            let msg = match available {
                n if n <= 0 => format!("{} is out of stock", p.name),
                n => format!("only {n} of {} left in stock", p.name),
            };
            return Err(ValidationError::new("quantity", msg).into());
        }
        sqlx::query(
            "INSERT INTO cart_lines (cart_id, variant_id, quantity, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = excluded.quantity",
        )
        .bind(cart_id)
        .bind(variant_id)
        .bind(qty)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        self.touch_cart(cart_id).await
    }

    /// Apply a discount code (it must exist; whether it applies is checked when pricing) or
    /// remove it with `None`.
    pub async fn cart_set_discount(
        &self,
        cart_id: &str,
        code: Option<&str>,
    ) -> Result<Cart, StoreError> {
        self.open_cart(cart_id).await?;
        let code = match code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(self.discount_by_code(c).await?.code),
            None => None,
        };
        sqlx::query("UPDATE carts SET discount_code = $1 WHERE id = $2")
            .bind(code)
            .bind(cart_id)
            .execute(&self.pool)
            .await?;
        self.touch_cart(cart_id).await
    }

    /// Give a guest cart to the shopper who just signed in, moving in the lines of any cart they
    /// had already (quantities of the same item are added).
    pub async fn attach_cart(
        &self,
        cart_id: &str,
        customer: &CustomerId,
    ) -> Result<Cart, StoreError> {
        let cart = self.open_cart(cart_id).await?;
        if let Some(old) = self.cart_of_customer(customer).await? {
            if old.id != cart.id {
                let mut lines = cart.lines.len();
                for l in &old.lines {
                    let known = cart.lines.iter().any(|c| c.variant_id == l.variant_id);
                    if !known {
                        if lines >= MAX_LINES {
                            break;
                        }
                        lines += 1;
                    }
                    let have = cart
                        .lines
                        .iter()
                        .find(|c| c.variant_id == l.variant_id)
                        .map_or(0, |c| c.quantity);
                    let qty = (have + l.quantity).min(pricing::MAX_QUANTITY);
                    sqlx::query(
                        "INSERT INTO cart_lines (cart_id, variant_id, quantity, added_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (cart_id, variant_id) \
                         DO UPDATE SET quantity = excluded.quantity",
                    )
                    .bind(cart_id)
                    .bind(&l.variant_id)
                    .bind(qty)
                    .bind(self.now())
                    .execute(&self.pool)
                    .await?;
                }
                sqlx::query("DELETE FROM carts WHERE id = $1")
                    .bind(&old.id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        sqlx::query("UPDATE carts SET customer_id = $1 WHERE id = $2")
            .bind(customer.as_str())
            .bind(cart_id)
            .execute(&self.pool)
            .await?;
        self.touch_cart(cart_id).await
    }

    /// Price a cart for a destination country with an optional shipping method. Tax rates are
    /// the destination's; the discount code is checked now (expiry, minimum spend, uses left).
    pub async fn price_cart(
        &self,
        cart: &Cart,
        country: &str,
        shipping: Option<&ShippingMethod>,
    ) -> Result<Quote, StoreError> {
        let settings = self.shop_settings().await?;
        let mut lines = Vec::with_capacity(cart.lines.len());
        for l in &cart.lines {
            lines.push(PricingLine {
                variant_id: l.variant_id.clone(),
                sku: l.sku.clone(),
                name: l.name.clone(),
                unit_price_minor: l.unit_price_minor,
                quantity: l.quantity,
                tax_rate_bp: self.tax_rate_for(&l.tax_class_id, country).await?,
            });
        }
        let discount = match &cart.discount_code {
            Some(code) => Some(self.discount_by_code(code).await?),
            None => None,
        };
        let mode = if settings.prices_include_tax {
            PriceMode::TaxInclusive
        } else {
            PriceMode::TaxExclusive
        };
        let shipping_rate = self
            .tax_rate_for(&self.default_tax_class().await?.id.0, country)
            .await?;
        if let Some(d) = &discount {
            let goods: i64 = lines
                .iter()
                .map(|l| l.unit_price_minor.saturating_mul(l.quantity))
                .sum();
            d.check(self.now(), goods, &self.currency)?;
        }
        let adjustments = match self.cart_adjuster() {
            Some(a) => a.adjust(&lines, &self.currency),
            None => Vec::new(),
        };
        Ok(pricing::quote_with(
            &lines,
            mode,
            shipping.map(|s| (s, shipping_rate)),
            discount.as_ref(),
            &adjustments,
        )?)
    }

    /// A cart that can still change (not yet turned into an order).
    pub async fn open_cart(&self, id: &str) -> Result<Cart, StoreError> {
        let cart = self.cart(id).await?;
        if cart.order_id.is_some() {
            return Err(StoreError::state(
                "cart",
                "this cart was already ordered; start a new one",
            ));
        }
        Ok(cart)
    }

    async fn touch_cart(&self, cart_id: &str) -> Result<Cart, StoreError> {
        let now = self.now();
        sqlx::query("UPDATE carts SET updated_at = $1, expires_at = $2 WHERE id = $3")
            .bind(now)
            .bind(now + CART_LIFETIME_MS)
            .bind(cart_id)
            .execute(&self.pool)
            .await?;
        self.cart(cart_id).await
    }

    /// Delete carts past their lifetime; returns how many.
    pub async fn purge_expired_carts(&self) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM carts WHERE expires_at <= $1")
            .bind(self.now())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

/// Adds discount lines to a web cart as it is priced (the shop's plugins). Called on every
/// pricing, so it must be quick; it must never fail the pricing (a failing plugin adds nothing).
pub trait CartAdjuster: Send + Sync {
    /// Discount lines for these lines, in the shop's currency.
    fn adjust(
        &self,
        lines: &[PricingLine],
        currency: &storefort_core::money::Currency,
    ) -> Vec<pricing::Adjustment>;
}

/// Where the server's [`CartAdjuster`] is kept.
#[derive(Clone, Default)]
pub struct AdjusterSlot(Arc<std::sync::RwLock<Option<Arc<dyn CartAdjuster>>>>);

impl std::fmt::Debug for AdjusterSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdjusterSlot")
    }
}

impl Db {
    /// Have every web cart priced through `a` from now on (all clones of this `Db`).
    pub fn set_cart_adjuster(&self, a: Arc<dyn CartAdjuster>) {
        match self.cart_adjuster.0.write() {
            Ok(mut g) => *g = Some(a),
            Err(p) => *p.into_inner() = Some(a),
        }
    }

    fn cart_adjuster(&self) -> Option<Arc<dyn CartAdjuster>> {
        match self.cart_adjuster.0.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}
