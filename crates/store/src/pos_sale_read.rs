//! Reading till sales back (receipts, refunds, replays) and the stock alerts offline sales
//! leave behind.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::ids::OrderId;
use storefort_core::pos::{Discount, PricedLine, SaleTotals};

use crate::db::flag;
use crate::payment_records::PaymentRow;
use crate::{Db, StoreError};

/// A till sale as made (or found again by its key).
#[derive(Debug, Clone, Serialize)]
pub struct PosSale {
    /// The order.
    #[serde(serialize_with = "order_id")]
    pub order_id: OrderId,
    /// Its number (the receipt's barcode).
    pub number: i64,
    /// Prices, discounts, tax and total. Read back from the order, each line's `discount` is its
    /// whole discount as an amount and `order_discount` is `None`.
    pub totals: SaleTotals,
    /// Change given.
    pub change_minor: i64,
    /// Handed over: cash tendered plus card amounts.
    pub tendered_minor: i64,
    /// Payments recorded.
    pub payments: Vec<PaymentRow>,
    /// Items the sale oversold (offline sales only).
    pub stock_alerts: Vec<StockAlert>,
    /// True when this key had already made the sale.
    pub replayed: bool,
    /// Cashier's name.
    pub cashier_name: String,
    /// When it was sold (UTC ms; the device's time for offline sales).
    pub sold_at: i64,
    /// Till name.
    pub device_name: String,
    /// Location name.
    pub location_name: String,
    /// The till's shift, if one was open.
    pub shift_id: Option<String>,
    /// Sold offline and synced later.
    pub offline: bool,
}

fn order_id<S: serde::Serializer>(id: &OrderId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.as_str())
}

/// An offline sale sold more than the location had.
#[derive(Debug, Clone, Serialize)]
pub struct StockAlert {
    /// ID.
    pub id: String,
    /// The order.
    pub order_id: String,
    /// Its number.
    pub order_number: i64,
    /// Variant.
    pub variant_id: String,
    /// SKU.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Location.
    pub location_id: String,
    /// Location name.
    pub location_name: String,
    /// Units sold that were not in stock.
    pub short_by: i64,
    /// When (UTC ms).
    pub created_at: i64,
    /// When staff dealt with it.
    pub resolved_at: Option<i64>,
}

/// A sale with what can still be refunded.
#[derive(Debug, Clone, Serialize)]
pub struct PosSaleView {
    /// The sale (`replayed` false).
    pub sale: PosSale,
    /// Lines with refunded quantities.
    pub lines: Vec<PosSaleLine>,
    /// Refunds given at tills, oldest first.
    pub refunds: Vec<PosRefundRow>,
}

/// A line of a till sale.
#[derive(Debug, Clone, Serialize)]
pub struct PosSaleLine {
    /// Position (0-based; refunds name it).
    pub position: i64,
    /// Variant.
    pub variant_id: String,
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Unit price.
    pub unit_price_minor: i64,
    /// Quantity sold.
    pub quantity: i64,
    /// Units refunded so far (restocked or not).
    pub refunded_quantity: i64,
    /// Discount on the line.
    pub discount_minor: i64,
    /// Tax rate.
    pub tax_rate_bp: i64,
    /// Tax.
    pub tax_minor: i64,
    /// Line total.
    pub total_minor: i64,
}

/// Money given back at a till.
#[derive(Debug, Clone, Serialize)]
pub struct PosRefundRow {
    /// `cash` or `card`.
    pub method: String,
    /// Amount.
    pub amount_minor: i64,
    /// Tax within it.
    pub tax_minor: i64,
    /// Cashier's name.
    pub cashier_name: String,
    /// Approving manager's name.
    pub approved_by_name: String,
    /// When (UTC ms).
    pub at: i64,
}

/// A variant as a sale prices it.
#[derive(Debug, Clone)]
pub(crate) struct SaleCatalogRow {
    pub variant_id: String,
    pub sku: String,
    pub name: String,
    pub price_minor: i64,
    pub tax_class_id: String,
    pub allow_backorder: bool,
    pub on_sale: bool,
}

impl SaleCatalogRow {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let product: String = r.try_get("product_name")?;
        let options: String = r.try_get("options")?;
        Ok(SaleCatalogRow {
            variant_id: r.try_get("id")?,
            sku: r.try_get("sku")?,
            name: crate::pos_catalog::display_name(&product, &options),
            price_minor: r.try_get("price_minor")?,
            tax_class_id: r.try_get("tax_class_id")?,
            allow_backorder: flag(r, "allow_backorder")?,
            on_sale: r.try_get::<String, _>("status")? == "active" && !flag(r, "archived")?,
        })
    }
}

const ALERT_SELECT: &str = "SELECT a.id, a.order_id, o.number, a.variant_id, v.sku, \
     p.name AS product_name, v.options, a.location_id, l.name AS location_name, a.short_by, \
     a.created_at, a.resolved_at FROM pos_stock_alerts a JOIN orders o ON o.id = a.order_id \
     JOIN variants v ON v.id = a.variant_id JOIN products p ON p.id = v.product_id \
     JOIN locations l ON l.id = a.location_id";

fn alert(r: &AnyRow) -> Result<StockAlert, sqlx::Error> {
    let product: String = r.try_get("product_name")?;
    let options: String = r.try_get("options")?;
    Ok(StockAlert {
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        order_number: r.try_get("number")?,
        variant_id: r.try_get("variant_id")?,
        sku: r.try_get("sku")?,
        name: crate::pos_catalog::display_name(&product, &options),
        location_id: r.try_get("location_id")?,
        location_name: r.try_get("location_name")?,
        short_by: r.try_get("short_by")?,
        created_at: r.try_get("created_at")?,
        resolved_at: r.try_get("resolved_at")?,
    })
}

impl Db {
    /// A till sale by its order, with totals, payments and stock alerts.
    pub(crate) async fn load_sale(
        &self,
        id: &OrderId,
        replayed: bool,
    ) -> Result<PosSale, StoreError> {
        let r = sqlx::query(
            "SELECT o.number, o.subtotal_minor, o.discount_minor, o.tax_minor, o.total_minor, \
             s.tendered_minor, s.change_minor, s.sold_at, s.shift_id, s.offline, \
             d.name AS device_name, COALESCE(l.name, '') AS location_name, u.name AS cashier_name \
             FROM pos_sales s JOIN orders o ON o.id = s.order_id \
             JOIN pos_devices d ON d.id = s.device_id JOIN users u ON u.id = s.cashier_id \
             LEFT JOIN locations l ON l.id = o.location_id WHERE s.order_id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("sale", id.as_str()))?;
        let lines = self.sale_lines(id).await?;
        let totals = SaleTotals {
            lines: lines
                .iter()
                .map(|l| PricedLine {
                    variant_id: l.variant_id.clone(),
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    unit_price_minor: l.unit_price_minor,
                    quantity: l.quantity,
                    tax_rate_bp: l.tax_rate_bp,
                    discount: Discount::Amount(l.discount_minor),
                    gross_minor: l.unit_price_minor * l.quantity,
                    discount_minor: l.discount_minor,
                    tax_minor: l.tax_minor,
                    total_minor: l.total_minor,
                })
                .collect(),
            order_discount: Discount::None,
            subtotal_minor: r.try_get("subtotal_minor")?,
            discount_minor: r.try_get("discount_minor")?,
            tax_minor: r.try_get("tax_minor")?,
            total_minor: r.try_get("total_minor")?,
        };
        let alerts = sqlx::query(&format!(
            "{ALERT_SELECT} WHERE a.order_id = $1 ORDER BY a.id"
        ))
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(PosSale {
            order_id: id.clone(),
            number: r.try_get("number")?,
            totals,
            change_minor: r.try_get("change_minor")?,
            tendered_minor: r.try_get("tendered_minor")?,
            payments: self.payments_of_order(id).await?,
            stock_alerts: alerts.iter().map(alert).collect::<Result<_, _>>()?,
            replayed,
            cashier_name: r.try_get("cashier_name")?,
            sold_at: r.try_get("sold_at")?,
            device_name: r.try_get("device_name")?,
            location_name: r.try_get("location_name")?,
            shift_id: r.try_get("shift_id")?,
            offline: flag(&r, "offline")?,
        })
    }

    /// A sale's lines with what the tills have refunded of each.
    pub(crate) async fn sale_lines(&self, id: &OrderId) -> Result<Vec<PosSaleLine>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.position, l.variant_id, l.sku, l.name, l.unit_price_minor, l.quantity, \
             l.discount_minor, l.tax_rate_bp, l.tax_minor, l.total_minor, \
             CAST(COALESCE((SELECT SUM(r.quantity) FROM pos_refund_lines r \
               WHERE r.order_id = l.order_id AND r.position = l.position), 0) AS BIGINT) \
               AS refunded \
             FROM order_lines l WHERE l.order_id = $1 ORDER BY l.position",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PosSaleLine {
                    position: r.try_get("position")?,
                    variant_id: r.try_get("variant_id")?,
                    sku: r.try_get("sku")?,
                    name: r.try_get("name")?,
                    unit_price_minor: r.try_get("unit_price_minor")?,
                    quantity: r.try_get("quantity")?,
                    refunded_quantity: r.try_get("refunded")?,
                    discount_minor: r.try_get("discount_minor")?,
                    tax_rate_bp: r.try_get("tax_rate_bp")?,
                    tax_minor: r.try_get("tax_minor")?,
                    total_minor: r.try_get("total_minor")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The order of a till sale by number (404 when there is none, or it is not a till sale).
    pub(crate) async fn pos_order_id(&self, number: i64) -> Result<OrderId, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT o.id FROM orders o JOIN pos_sales s ON s.order_id = o.id WHERE o.number = $1",
        )
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        id.map(OrderId)
            .ok_or_else(|| StoreError::not_found("sale", number.to_string()))
    }

    /// A till sale by its number, with lines, refundable quantities and refunds.
    pub async fn pos_sale(&self, number: i64) -> Result<PosSaleView, StoreError> {
        let id = self.pos_order_id(number).await?;
        let sale = self.load_sale(&id, false).await?;
        let lines = self.sale_lines(&id).await?;
        let refunds = sqlx::query(
            "SELECT r.method, r.amount_minor, r.tax_minor, r.at, c.name AS cashier_name, \
             a.name AS approver_name FROM pos_refunds r JOIN users c ON c.id = r.cashier_id \
             JOIN users a ON a.id = r.approved_by WHERE r.order_id = $1 ORDER BY r.at, r.id",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(PosRefundRow {
                method: r.try_get("method")?,
                amount_minor: r.try_get("amount_minor")?,
                tax_minor: r.try_get("tax_minor")?,
                cashier_name: r.try_get("cashier_name")?,
                approved_by_name: r.try_get("approver_name")?,
                at: r.try_get("at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(PosSaleView {
            sale,
            lines,
            refunds,
        })
    }

    /// Stock alerts, newest first (`open_only`: not yet resolved), at most `limit` (1-500).
    pub async fn stock_alerts(
        &self,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<StockAlert>, StoreError> {
        let filter = if open_only {
            "WHERE a.resolved_at IS NULL"
        } else {
            ""
        };
        let rows = sqlx::query(&format!(
            "{ALERT_SELECT} {filter} ORDER BY a.created_at DESC, a.id DESC LIMIT {}",
            limit.clamp(1, 500)
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(alert).collect::<Result<_, _>>()?)
    }

    /// Mark a stock alert dealt with (404 unknown, 409 already resolved).
    pub async fn resolve_stock_alert(&self, id: &str, actor: &str) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE pos_stock_alerts SET resolved_at = $1, resolved_by = $2 \
             WHERE id = $3 AND resolved_at IS NULL",
        )
        .bind(self.now())
        .bind(actor)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let exists: Option<String> =
            sqlx::query_scalar("SELECT id FROM pos_stock_alerts WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        match exists {
            Some(_) => Err(StoreError::state(
                "alert",
                "this alert was already resolved",
            )),
            None => Err(StoreError::not_found("stock alert", id)),
        }
    }
}
