//! The phone-check review queue: orders screening held, what staff decided, and the calls they
//! made. Call notes are sealed under the customer's key (they may name people and numbers).

use serde::Serialize;
use sqlx::Row;
use storefort_core::fraud::{Decision, PaymentChecks, Reason};
use storefort_core::ids::OrderId;
use storefort_core::text;

use crate::db::new_id;
use crate::vault::seal_field;
use crate::{Db, StoreError};

/// A held order in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReviewSummary {
    /// Order id.
    pub order_id: String,
    /// Order number.
    pub number: i64,
    /// Order status (`on_hold` while waiting).
    pub status: String,
    /// Risk score 0-100.
    pub score: i64,
    /// Why.
    pub reasons: Vec<Reason>,
    /// Total, minor units.
    pub total_minor: i64,
    /// ISO currency.
    pub currency: String,
    /// Payment method (gateway id).
    pub payment_method: String,
    /// Placed, UTC ms.
    pub created_at: i64,
    /// Held, UTC ms.
    pub held_at: i64,
    /// The card authorization runs out then (UTC ms); after it the money cannot be taken.
    pub auth_expires_at: Option<i64>,
    /// Calls logged.
    pub calls: i64,
}

/// Screening's record for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderRisk {
    /// Order id.
    pub order_id: String,
    /// Score, once screened.
    pub score: Option<i64>,
    /// Pass, review or block, once screened.
    pub decision: Option<Decision>,
    /// Why.
    pub reasons: Vec<Reason>,
    /// The gateway's card checks.
    #[schema(value_type = Object)]
    pub checks: PaymentChecks,
    /// Country of the shopper's IP address (when GeoIP is configured).
    pub ip_country: Option<String>,
    /// `open`, `approved`, `cancelled`, `pay_again`; `None` when never held.
    pub review: Option<String>,
    /// Held, UTC ms.
    pub held_at: Option<i64>,
    /// Authorization runs out, UTC ms.
    pub auth_expires_at: Option<i64>,
    /// Decided, UTC ms.
    pub decided_at: Option<i64>,
    /// By whom.
    pub decided_by: Option<String>,
}

/// How a call to the customer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Reached them; they confirmed the order.
    Confirmed,
    /// Reached them; they did not place it.
    Denied,
    /// No answer.
    NoAnswer,
    /// Left a message.
    LeftMessage,
    /// The number is not theirs or does not work.
    WrongNumber,
}

impl CallOutcome {
    /// Every outcome.
    pub const ALL: [CallOutcome; 5] = [
        CallOutcome::Confirmed,
        CallOutcome::Denied,
        CallOutcome::NoAnswer,
        CallOutcome::LeftMessage,
        CallOutcome::WrongNumber,
    ];

    /// snake_case text.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Confirmed => "confirmed",
            CallOutcome::Denied => "denied",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::LeftMessage => "left_message",
            CallOutcome::WrongNumber => "wrong_number",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            CallOutcome::Confirmed => "Customer confirmed the order",
            CallOutcome::Denied => "Customer did not place this order",
            CallOutcome::NoAnswer => "No answer",
            CallOutcome::LeftMessage => "Left a message",
            CallOutcome::WrongNumber => "Wrong or dead number",
        }
    }

    /// Parse [`CallOutcome::as_str`].
    pub fn parse(s: &str) -> Option<CallOutcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A logged call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReviewCall {
    /// How it went.
    pub outcome: CallOutcome,
    /// Staff's note (empty once the customer's data is erased).
    pub note: String,
    /// Who called.
    pub actor: String,
    /// When, UTC ms.
    pub at: i64,
}

/// Figures for the doctor and the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ReviewHealth {
    /// Orders waiting for a check.
    pub open: i64,
    /// Of those, held longer than the given age.
    pub stale: i64,
    /// Of those, whose authorization runs out within the given time (or has run out).
    pub expiring: i64,
    /// Of those, whose authorization has run out already.
    pub expired: i64,
}

fn reasons_of(json: &str) -> Vec<Reason> {
    serde_json::from_str(json).unwrap_or_default()
}

impl Db {
    /// Orders waiting for a phone check: those screening could not score first (they scored 0
    /// but nobody has looked at them at all), then highest score first.
    pub async fn review_queue(&self, limit: i64) -> Result<Vec<ReviewSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.order_id, o.number, o.status, r.score, r.reasons, o.total_minor, \
             o.currency, o.payment_method, o.created_at, r.held_at, r.auth_expires_at, \
             (SELECT COUNT(*) FROM review_calls c WHERE c.order_id = r.order_id) AS calls \
             FROM order_risk r JOIN orders o ON o.id = r.order_id WHERE r.review = 'open' \
             AND o.status = 'on_hold' \
             ORDER BY CASE WHEN r.reasons LIKE '%\"screening_failed\"%' THEN 0 ELSE 1 END, \
             r.score DESC, r.held_at LIMIT $1",
        )
        .bind(limit.clamp(1, 500))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReviewSummary {
                    order_id: r.try_get("order_id")?,
                    number: r.try_get("number")?,
                    status: r.try_get("status")?,
                    score: r.try_get::<Option<i64>, _>("score")?.unwrap_or(0),
                    reasons: reasons_of(&r.try_get::<String, _>("reasons")?),
                    total_minor: r.try_get("total_minor")?,
                    currency: r.try_get("currency")?,
                    payment_method: r.try_get("payment_method")?,
                    created_at: r.try_get("created_at")?,
                    held_at: r.try_get::<Option<i64>, _>("held_at")?.unwrap_or(0),
                    auth_expires_at: r.try_get("auth_expires_at")?,
                    calls: r.try_get("calls")?,
                })
            })
            .collect()
    }

    /// How many orders wait for a phone check (also kept for [`Db::open_reviews_hint`]).
    pub async fn open_review_count(&self) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_risk WHERE review = 'open'")
            .fetch_one(&self.pool)
            .await?;
        self.fraud_cache
            .open_reviews
            .store(n, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }

    /// The open-review count as last counted in this process (for the admin badge, which must
    /// not cost a query per page); -1 before the first count. The background loop recounts.
    pub fn open_reviews_hint(&self) -> i64 {
        self.fraud_cache
            .open_reviews
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Screening's record for an order (`None` when it was never screened or placed here).
    pub async fn order_risk(&self, order: &OrderId) -> Result<Option<OrderRisk>, StoreError> {
        let row = sqlx::query(
            "SELECT order_id, score, decision, reasons, checks, ip_country, review, held_at, \
             auth_expires_at, decided_at, decided_by FROM order_risk WHERE order_id = $1",
        )
        .bind(order.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let decision: Option<String> = r.try_get("decision")?;
        let checks: String = r.try_get("checks")?;
        Ok(Some(OrderRisk {
            order_id: r.try_get("order_id")?,
            score: r.try_get("score")?,
            decision: decision.as_deref().and_then(Decision::parse),
            reasons: reasons_of(&r.try_get::<String, _>("reasons")?),
            checks: serde_json::from_str(&checks).unwrap_or_default(),
            ip_country: r.try_get("ip_country")?,
            review: r.try_get("review")?,
            held_at: r.try_get("held_at")?,
            auth_expires_at: r.try_get("auth_expires_at")?,
            decided_at: r.try_get("decided_at")?,
            decided_by: r.try_get("decided_by")?,
        }))
    }

    /// Close an open review (`approved`, `cancelled`, `pay_again`). Only one decision wins: a
    /// review decided meanwhile gives a 409 and changes nothing.
    pub async fn close_review(
        &self,
        order: &OrderId,
        outcome: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE order_risk SET review = $1, decided_at = $2, decided_by = $3 \
             WHERE order_id = $4 AND review = 'open'",
        )
        .bind(outcome)
        .bind(self.now())
        .bind(actor)
        .bind(order.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::state(
                "review",
                "this order is not waiting for a check (someone may have decided it already)",
            ));
        }
        self.open_review_count().await?;
        Ok(())
    }

    /// The payment that pays an order (the first to authorize), if any.
    pub async fn order_payment_id(&self, order: &OrderId) -> Result<Option<String>, StoreError> {
        let id: Option<Option<String>> =
            sqlx::query_scalar("SELECT payment_id FROM orders WHERE id = $1")
                .bind(order.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.flatten())
    }

    /// A held order keeps its stock until staff decide: no deadline (the 15-minute reservation
    /// of an unpaid order would otherwise cancel it).
    pub async fn keep_reservation(&self, order: &OrderId) -> Result<(), StoreError> {
        sqlx::query("UPDATE orders SET reserved_until = NULL WHERE id = $1")
            .bind(order.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Free an order for a new payment (staff asked the customer to pay again): the old
    /// payment no longer pays it, and the stock stays reserved until `reserved_until`.
    pub async fn release_order_payment(
        &self,
        order: &OrderId,
        reserved_until: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE orders SET payment_id = NULL, reserved_until = $1 WHERE id = $2")
            .bind(reserved_until)
            .bind(order.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Log a call to the customer about a held order.
    pub async fn add_review_call(
        &self,
        order: &OrderId,
        outcome: CallOutcome,
        note: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let note = text::optional("note", note, 2000)?;
        let customer: Option<(String,)> =
            sqlx::query_as("SELECT customer_id FROM orders WHERE id = $1")
                .bind(order.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let Some((customer,)) = customer else {
            return Err(StoreError::not_found("order", order.as_str()));
        };
        let id = new_id();
        let (key_id, sealed) = if note.is_empty() {
            (None, None)
        } else {
            let key_id = self
                .current_customer_key(&storefort_core::ids::CustomerId(customer))
                .await?;
            let key = self.customer_key(&key_id).await?;
            let sealed = seal_field(&key, &key_id, &note, &format!("review_calls.note:{id}"))?;
            (Some(key_id), Some(sealed))
        };
        sqlx::query(
            "INSERT INTO review_calls (id, order_id, outcome, key_id, note, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(order.as_str())
        .bind(outcome.as_str())
        .bind(key_id)
        .bind(sealed)
        .bind(actor)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Calls logged for an order, oldest first.
    pub async fn review_calls(&self, order: &OrderId) -> Result<Vec<ReviewCall>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.outcome, c.key_id, c.note, c.actor, c.at, k.wrapped, k.wrapped_by \
             FROM review_calls c LEFT JOIN customer_keys k ON k.id = c.key_id \
             WHERE c.order_id = $1 ORDER BY c.at, c.id",
        )
        .bind(order.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            let note = match r.try_get::<Option<String>, _>("key_id")? {
                None => String::new(),
                Some(_) => {
                    let [n] = self.open_row(r, "review_calls", &id, ["note"]).await?;
                    n
                }
            };
            let outcome: String = r.try_get("outcome")?;
            out.push(ReviewCall {
                outcome: CallOutcome::parse(&outcome).unwrap_or(CallOutcome::NoAnswer),
                note,
                actor: r.try_get("actor")?,
                at: r.try_get("at")?,
            });
        }
        Ok(out)
    }

    /// Open reviews whose authorization runs out within `within_ms` and whose staff have not
    /// been warned yet; each is marked warned (so each warning goes out once).
    pub async fn take_expiry_warnings(
        &self,
        within_ms: i64,
    ) -> Result<Vec<(OrderId, i64, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.order_id, o.number, r.auth_expires_at FROM order_risk r \
             JOIN orders o ON o.id = r.order_id WHERE r.review = 'open' \
             AND o.status = 'on_hold' AND r.expiry_warned_at IS NULL \
             AND r.auth_expires_at < $1",
        )
        .bind(self.now() + within_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let id: String = r.try_get("order_id")?;
            let done = sqlx::query(
                "UPDATE order_risk SET expiry_warned_at = $1 WHERE order_id = $2 \
                 AND expiry_warned_at IS NULL",
            )
            .bind(self.now())
            .bind(&id)
            .execute(&self.pool)
            .await?;
            if done.rows_affected() == 1 {
                out.push((
                    OrderId(id),
                    r.try_get("number")?,
                    r.try_get("auth_expires_at")?,
                ));
            }
        }
        Ok(out)
    }

    /// Open reviews, those held longer than `stale_ms`, and those whose authorization runs out
    /// within `expiring_ms`.
    pub async fn review_health(
        &self,
        stale_ms: i64,
        expiring_ms: i64,
    ) -> Result<ReviewHealth, StoreError> {
        let now = self.now();
        let row = sqlx::query(
            "SELECT COUNT(*) AS open, \
             COALESCE(SUM(CASE WHEN held_at < $1 THEN 1 ELSE 0 END), 0) AS stale, \
             COALESCE(SUM(CASE WHEN auth_expires_at < $2 THEN 1 ELSE 0 END), 0) AS expiring, \
             COALESCE(SUM(CASE WHEN auth_expires_at < $3 THEN 1 ELSE 0 END), 0) AS expired \
             FROM order_risk r JOIN orders o ON o.id = r.order_id \
             WHERE r.review = 'open' AND o.status = 'on_hold'",
        )
        .bind(now - stale_ms)
        .bind(now + expiring_ms)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(ReviewHealth {
            open: row.try_get("open")?,
            stale: row.try_get("stale")?,
            expiring: row.try_get("expiring")?,
            expired: row.try_get("expired")?,
        })
    }
}
