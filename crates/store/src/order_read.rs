//! Reading orders: one order with its lines, timeline, payments and refunds; lists with filters
//! for the admin and the API (newest first, cursor pagination).

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::customer::OrderRecord;
use storefort_core::ids::{CustomerId, OrderId};
use storefort_core::model::Page;
use storefort_core::order_state::OrderStatus;

use crate::orders::{COLUMNS, FROM};
use crate::payment_records::PaymentRow;
use crate::products::{decode_cursor, encode_cursor, MAX_LIMIT};
use crate::{Db, StoreError};

/// One line of an order, as priced when it was placed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderLine {
    /// Position (0-based).
    pub position: i64,
    /// Variant.
    pub variant_id: String,
    /// SKU.
    pub sku: String,
    /// Name at the time of the order.
    pub name: String,
    /// Unit price (as entered in the catalog).
    pub unit_price_minor: i64,
    /// Quantity.
    pub quantity: i64,
    /// Discount on this line.
    pub discount_minor: i64,
    /// Tax rate (basis points).
    pub tax_rate_bp: i64,
    /// Tax on this line.
    pub tax_minor: i64,
    /// What the line cost the shopper, tax included.
    pub total_minor: i64,
    /// Units refunded or returned to stock.
    pub refunded_quantity: i64,
}

/// A timeline entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderEventRow {
    /// When (UTC ms).
    pub at: i64,
    /// `created`, an event name (`capture`, `cancel`...), `note`, `email`.
    pub kind: String,
    /// Status before, for status changes.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: Option<String>,
    /// Who: a staff email, `shopper`, `checkout`, a gateway, `system`.
    pub actor: String,
    /// Note.
    pub note: String,
}

/// A refund.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefundRow {
    /// Amount.
    pub amount_minor: i64,
    /// Stock was returned.
    pub restock: bool,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: String,
    /// When (UTC ms).
    pub created_at: i64,
}

/// An order as lists show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderSummary {
    /// ID.
    pub id: String,
    /// Human number.
    pub number: i64,
    /// Status (`pending_payment`, ...).
    pub status: String,
    /// `web`, `api` or `pos`.
    pub channel: String,
    /// Customer.
    pub customer_id: String,
    /// Contact email.
    pub email: String,
    /// Currency.
    pub currency: String,
    /// Total charged.
    pub total_minor: i64,
    /// Refunded so far.
    pub refunded_minor: i64,
    /// Payment method (gateway ID).
    pub payment_method: String,
    /// Placed (UTC ms).
    pub created_at: i64,
}

/// Everything about one order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderDetail {
    /// Contact details and addresses (opened from their sealed form).
    #[schema(value_type = Object)]
    pub record: OrderRecord,
    /// Summary fields.
    pub summary: OrderSummary,
    /// Goods before discount.
    pub subtotal_minor: i64,
    /// Discount.
    pub discount_minor: i64,
    /// Shipping, tax included.
    pub shipping_minor: i64,
    /// All tax.
    pub tax_minor: i64,
    /// Prices were entered with tax included.
    pub prices_include_tax: bool,
    /// Shipping method name.
    pub shipping_method: String,
    /// Discount code used.
    pub discount_code: Option<String>,
    /// Tracking number, once fulfilled.
    pub tracking: String,
    /// Stock is held until then while awaiting payment (UTC ms).
    pub reserved_until: Option<i64>,
    /// Lines.
    pub lines: Vec<OrderLine>,
    /// Timeline, oldest first.
    pub events: Vec<OrderEventRow>,
    /// Payments.
    pub payments: Vec<PaymentRow>,
    /// Refunds.
    pub refunds: Vec<RefundRow>,
}

impl OrderDetail {
    /// The status as the state machine knows it.
    pub fn status(&self) -> Option<OrderStatus> {
        OrderStatus::parse(&self.summary.status)
    }
}

/// Filters for order lists.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Placed at or after (UTC ms).
    pub from: Option<i64>,
    /// Placed before (UTC ms).
    pub to: Option<i64>,
    /// Only this channel.
    pub channel: Option<String>,
    /// Only this payment method.
    pub payment_method: Option<String>,
    /// Only this customer.
    pub customer_id: Option<CustomerId>,
    /// Page size (default 50, at most 100).
    pub limit: Option<i64>,
    /// Continue after this cursor.
    pub cursor: Option<String>,
}

const EXTRA: &str = ", o.channel, o.subtotal_minor, o.discount_minor, o.shipping_minor, \
     o.tax_minor, o.refunded_minor, o.prices_include_tax, o.shipping_method, o.discount_code, \
     o.payment_method, o.tracking, o.reserved_until";

impl Db {
    async fn summary_of(&self, row: &AnyRow) -> Result<(OrderRecord, OrderSummary), StoreError> {
        let record = self.order_from_row(row).await?;
        let summary = OrderSummary {
            id: record.id.0.clone(),
            number: record.number,
            status: record.status.clone(),
            channel: row.try_get("channel")?,
            customer_id: record.customer_id.0.clone(),
            email: record.email.clone(),
            currency: record.currency.clone(),
            total_minor: record.total_minor,
            refunded_minor: row.try_get("refunded_minor")?,
            payment_method: row.try_get("payment_method")?,
            created_at: record.created_at,
        };
        Ok((record, summary))
    }

    /// One order with everything about it.
    pub async fn order_detail(&self, id: &OrderId) -> Result<OrderDetail, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS}{EXTRA} {FROM} WHERE o.id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("order", id.as_str()))?;
        let (record, summary) = self.summary_of(&row).await?;
        let lines = sqlx::query(
            "SELECT position, variant_id, sku, name, unit_price_minor, quantity, discount_minor, \
             tax_rate_bp, tax_minor, total_minor, refunded_quantity FROM order_lines \
             WHERE order_id = $1 ORDER BY position",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(OrderLine {
                position: r.try_get("position")?,
                variant_id: r.try_get("variant_id")?,
                sku: r.try_get("sku")?,
                name: r.try_get("name")?,
                unit_price_minor: r.try_get("unit_price_minor")?,
                quantity: r.try_get("quantity")?,
                discount_minor: r.try_get("discount_minor")?,
                tax_rate_bp: r.try_get("tax_rate_bp")?,
                tax_minor: r.try_get("tax_minor")?,
                total_minor: r.try_get("total_minor")?,
                refunded_quantity: r.try_get("refunded_quantity")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let events = sqlx::query(
            "SELECT at, kind, from_status, to_status, actor, note FROM order_events \
             WHERE order_id = $1 ORDER BY at, id",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(OrderEventRow {
                at: r.try_get("at")?,
                kind: r.try_get("kind")?,
                from_status: r.try_get("from_status")?,
                to_status: r.try_get("to_status")?,
                actor: r.try_get("actor")?,
                note: r.try_get("note")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let refunds = sqlx::query(
            "SELECT amount_minor, restock, reason, actor, created_at FROM refunds \
             WHERE order_id = $1 ORDER BY created_at, id",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(RefundRow {
                amount_minor: r.try_get("amount_minor")?,
                restock: r.try_get::<i64, _>("restock")? != 0,
                reason: r.try_get("reason")?,
                actor: r.try_get("actor")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(OrderDetail {
            subtotal_minor: row.try_get("subtotal_minor")?,
            discount_minor: row.try_get("discount_minor")?,
            shipping_minor: row.try_get("shipping_minor")?,
            tax_minor: row.try_get("tax_minor")?,
            prices_include_tax: row.try_get::<i64, _>("prices_include_tax")? != 0,
            shipping_method: row.try_get("shipping_method")?,
            discount_code: row.try_get("discount_code")?,
            tracking: row.try_get("tracking")?,
            reserved_until: row.try_get("reserved_until")?,
            payments: self.payments_of_order(id).await?,
            record,
            summary,
            lines,
            events,
            refunds,
        })
    }

    /// Orders matching a filter, newest first.
    pub async fn orders_page(&self, f: &OrderFilter) -> Result<Page<OrderSummary>, StoreError> {
        let limit = f.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
        let mut sql = format!("SELECT {COLUMNS}{EXTRA} {FROM} WHERE 1 = 1");
        let mut binds: Vec<BindValue> = Vec::new();
        let mut add = |cond: &str, v: BindValue| {
            binds.push(v);
            sql.push_str(&format!(" AND {cond} ${}", binds.len()));
        };
        if let Some(s) = &f.status {
            add("o.status =", BindValue::Text(s.clone()));
        }
        if let Some(c) = &f.channel {
            add("o.channel =", BindValue::Text(c.clone()));
        }
        if let Some(p) = &f.payment_method {
            add("o.payment_method =", BindValue::Text(p.clone()));
        }
        if let Some(c) = &f.customer_id {
            add("o.customer_id =", BindValue::Text(c.0.clone()));
        }
        if let Some(t) = f.from {
            add("o.created_at >=", BindValue::Int(t));
        }
        if let Some(t) = f.to {
            add("o.created_at <", BindValue::Int(t));
        }
        if let Some(c) = &f.cursor {
            add("o.id <", BindValue::Text(decode_cursor(c)?));
        }
        sql.push_str(&format!(" ORDER BY o.id DESC LIMIT {}", limit + 1));
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = match b {
                BindValue::Text(s) => q.bind(s.clone()),
                BindValue::Int(i) => q.bind(*i),
            };
        }
        let rows = q.fetch_all(&self.pool).await?;
        let more = rows.len() as i64 > limit;
        let mut items = Vec::with_capacity(rows.len());
        for r in rows.iter().take(limit as usize) {
            items.push(self.summary_of(r).await?.1);
        }
        let next_cursor = if more {
            items.last().map(|o: &OrderSummary| encode_cursor(&o.id))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}

enum BindValue {
    Text(String),
    Int(i64),
}
