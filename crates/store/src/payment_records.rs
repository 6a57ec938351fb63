//! The shop's record of payments made through gateways. Only the gateway's reference, the card
//! brand and its last 4 digits are kept (checked here too, as a last line of defence).

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::ids::OrderId;
use storefort_core::ValidationError;

use crate::db::new_id;
use crate::{Db, StoreError};

/// A payment's state as last reported by its gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentUpdate {
    /// `requires_action`, `pending`, `authorized`, `captured`, `voided`, `failed`.
    pub status: String,
    /// Amount authorized (minor units).
    pub amount_minor: i64,
    /// Amount captured.
    pub captured_minor: i64,
    /// Amount refunded.
    pub refunded_minor: i64,
    /// Card brand (`visa`), when the gateway says.
    pub card_brand: Option<String>,
    /// Last 4 digits of the card, when the gateway says.
    pub card_last4: Option<String>,
    /// The gateway's CVC / postcode / 3-D Secure results, as JSON.
    pub checks_json: String,
    /// A message for staff (decline reason), no personal data.
    pub message: String,
}

/// A payment as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentRow {
    /// ID.
    pub id: String,
    /// Order.
    pub order_id: String,
    /// Gateway ID (`stripe`, `sandbox`, `manual`, `cash`).
    pub gateway: String,
    /// The gateway's reference.
    pub reference: String,
    /// Status (see [`PaymentUpdate::status`]).
    pub status: String,
    /// Authorized amount.
    pub amount_minor: i64,
    /// Captured amount.
    pub captured_minor: i64,
    /// Refunded amount.
    pub refunded_minor: i64,
    /// Card brand.
    pub card_brand: Option<String>,
    /// Last 4 digits.
    pub card_last4: Option<String>,
    /// Gateway checks (JSON object).
    #[schema(value_type = Object)]
    pub checks: serde_json::Value,
    /// Message.
    pub message: String,
    /// Created (UTC ms).
    pub created_at: i64,
    /// Last update (UTC ms).
    pub updated_at: i64,
}

fn row(r: &AnyRow) -> Result<PaymentRow, sqlx::Error> {
    let checks: String = r.try_get("checks")?;
    Ok(PaymentRow {
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        gateway: r.try_get("gateway")?,
        reference: r.try_get("reference")?,
        status: r.try_get("status")?,
        amount_minor: r.try_get("amount_minor")?,
        captured_minor: r.try_get("captured_minor")?,
        refunded_minor: r.try_get("refunded_minor")?,
        card_brand: r.try_get("card_brand")?,
        card_last4: r.try_get("card_last4")?,
        checks: serde_json::from_str(&checks).unwrap_or(serde_json::Value::Null),
        message: r.try_get("message")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "id, order_id, gateway, reference, status, amount_minor, captured_minor, \
     refunded_minor, card_brand, card_last4, checks, message, created_at, updated_at";

fn check(u: &PaymentUpdate) -> Result<(), ValidationError> {
    if let Some(l4) = &u.card_last4 {
        if l4.len() != 4 || !l4.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::new(
                "card_last4",
                "must be exactly 4 digits",
            ));
        }
    }
    if let Some(b) = &u.card_brand {
        if b.len() > 20
            || !b
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '_' || c == ' ')
        {
            return Err(ValidationError::new(
                "card_brand",
                "must be a brand name such as visa",
            ));
        }
    }
    if storefort_core::pan::find_card_number(&u.checks_json).is_some()
        || storefort_core::pan::find_card_number(&u.message).is_some()
    {
        return Err(ValidationError::new(
            "payment",
            "a card number must never be stored",
        ));
    }
    Ok(())
}

impl Db {
    /// Create or update the payment a gateway knows as `reference` for an order. Updates only
    /// move forward: a late or replayed report cannot turn a captured or voided payment back
    /// into an earlier state, nor lower what was captured or refunded.
    pub async fn record_payment(
        &self,
        order: &OrderId,
        gateway: &str,
        reference: &str,
        u: &PaymentUpdate,
    ) -> Result<PaymentRow, StoreError> {
        check(u)?;
        let now = self.now();
        sqlx::query(
            "INSERT INTO payments (id, order_id, gateway, reference, status, amount_minor, \
             captured_minor, refunded_minor, card_brand, card_last4, checks, message, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
             ON CONFLICT (gateway, reference) DO UPDATE SET \
             status = CASE WHEN payments.status IN ('captured', 'voided') \
                 AND excluded.status NOT IN ('captured', 'voided') \
                 THEN payments.status ELSE excluded.status END, \
             amount_minor = excluded.amount_minor, \
             captured_minor = CASE WHEN excluded.captured_minor > payments.captured_minor \
                 THEN excluded.captured_minor ELSE payments.captured_minor END, \
             refunded_minor = CASE WHEN excluded.refunded_minor > payments.refunded_minor \
                 THEN excluded.refunded_minor ELSE payments.refunded_minor END, \
             card_brand = COALESCE(excluded.card_brand, payments.card_brand), \
             card_last4 = COALESCE(excluded.card_last4, payments.card_last4), \
             checks = excluded.checks, message = excluded.message, updated_at = excluded.updated_at",
        )
        .bind(new_id())
        .bind(order.as_str())
        .bind(gateway)
        .bind(reference)
        .bind(&u.status)
        .bind(u.amount_minor)
        .bind(u.captured_minor)
        .bind(u.refunded_minor)
        .bind(u.card_brand.clone())
        .bind(u.card_last4.clone())
        .bind(if u.checks_json.is_empty() { "{}" } else { &u.checks_json })
        .bind(&u.message)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.payment_by_reference(gateway, reference)
            .await?
            .ok_or_else(|| StoreError::not_found("payment", reference))
    }

    /// Make `payment_id` the payment that pays this order unless another one already does.
    /// True when it is (now, or already was) the order's payment.
    pub async fn claim_order_payment(
        &self,
        order: &OrderId,
        payment_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE orders SET payment_id = $1 WHERE id = $2 \
             AND (payment_id IS NULL OR payment_id = $1)",
        )
        .bind(payment_id)
        .bind(order.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A payment by its gateway reference.
    pub async fn payment_by_reference(
        &self,
        gateway: &str,
        reference: &str,
    ) -> Result<Option<PaymentRow>, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM payments WHERE gateway = $1 AND reference = $2");
        let r = sqlx::query(&q)
            .bind(gateway)
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.as_ref().map(row).transpose()?)
    }

    /// An order's payments, oldest first.
    pub async fn payments_of_order(&self, order: &OrderId) -> Result<Vec<PaymentRow>, StoreError> {
        let q =
            format!("SELECT {COLUMNS} FROM payments WHERE order_id = $1 ORDER BY created_at, id");
        let rows = sqlx::query(&q)
            .bind(order.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(row).collect::<Result<_, _>>()?)
    }
}
