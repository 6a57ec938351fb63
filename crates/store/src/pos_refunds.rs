//! Refunds at the till: chosen lines of a till sale go back, to cash or to how they were paid,
//! with a manager's approval. The refund key is claimed first (with the lines and amounts, in
//! one transaction that locks the order), then the order's refund is recorded through
//! [`Db::record_refund`] (status, refunds row, restock at the order's location); if that is
//! refused the claim is taken back, so nothing is changed.

use std::collections::HashMap;

use serde::Serialize;
use storefort_core::ids::OrderId;
use storefort_core::order_state::{self, OrderEvent, OrderStatus};
use storefort_core::{text, ValidationError};

use crate::db::new_id;
use crate::order_flow::RefundRecord;
use crate::pos_sales::check_key;
use crate::{Db, StoreError};

/// A refund asked for at a till.
#[derive(Debug, Clone)]
pub struct PosRefundInput {
    /// Idempotency key, 8-100 characters: the same key gives the same refund.
    pub refund_key: String,
    /// The sale's order number.
    pub order_number: i64,
    /// The till giving the money back.
    pub device_id: String,
    /// The cashier signed in.
    pub cashier_id: String,
    /// The manager or owner who approved it with their PIN.
    pub approved_by: String,
    /// (line position, quantity) pairs.
    pub lines: Vec<(i64, i64)>,
    /// `cash`, or `original` (card part back to card, cash part to cash).
    pub method: String,
    /// Put the units back in stock at the sale's location.
    pub restock: bool,
    /// Why (up to 500 characters).
    pub reason: String,
}

/// What was given back.
#[derive(Debug, Clone, Serialize)]
pub struct PosRefundResult {
    /// Total refunded.
    pub amount_minor: i64,
    /// Per method (`cash`, `card`), card first.
    pub by_method: Vec<(String, i64)>,
    /// The order's status afterwards.
    #[serde(serialize_with = "status_str")]
    pub status: OrderStatus,
    /// True when this key had already made the refund.
    pub replayed: bool,
}

fn status_str<S: serde::Serializer>(s: &OrderStatus, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_str())
}

/// Stored keys of a refund's rows, one per method.
fn row_keys(key: &str) -> [String; 2] {
    [format!("{key}:card"), format!("{key}:cash")]
}

/// `a * b / c` rounded down, in i128 (amounts times quantities cannot overflow).
fn share(a: i64, b: i64, c: i64) -> i64 {
    if c <= 0 {
        return 0;
    }
    i64::try_from(i128::from(a) * i128::from(b) / i128::from(c)).unwrap_or(0)
}

type Plan = (i64, i64, Vec<(i64, i64, i64, i64)>);

impl Db {
    /// Refund lines of a till sale (see the module docs). Amount per line: its share of the
    /// line total (`total * qty / line qty`, rounded down, counting what earlier refunds took;
    /// the last unit takes the remainder). Errors: unknown sale 404; a position not in the sale
    /// or a quantity below 1 (422 `lines[i]...`); more than is left (409 `lines[i].quantity`:
    /// "only N left to refund"); the order's state refusing it (409). Nothing changes on error.
    pub async fn create_pos_refund(
        &self,
        r: &PosRefundInput,
    ) -> Result<PosRefundResult, StoreError> {
        check_key("key", &r.refund_key)?;
        let id = self.pos_order_id(r.order_number).await?;
        if let Some(done) = self.refund_by_key(&r.refund_key, &id).await? {
            return Ok(done);
        }
        if r.method != "cash" && r.method != "original" {
            return Err(ValidationError::new("method", "choose cash or original").into());
        }
        let reason = text::optional("reason", &r.reason, 500)?;
        self.till(&r.device_id).await?;
        let cashier = self.staff(&r.cashier_id, "cashier_id", false).await?;
        self.staff(&r.approved_by, "approver", true).await?;
        if r.lines.is_empty() || r.lines.len() > 200 {
            return Err(ValidationError::new("lines", "choose the lines to refund").into());
        }
        for (i, (pos, qty)) in r.lines.iter().enumerate() {
            if r.lines[..i].iter().any(|(p, _)| p == pos) {
                let f = format!("lines[{i}].position");
                return Err(ValidationError::new(f, "this line is listed twice").into());
            }
            if *qty < 1 {
                let f = format!("lines[{i}].quantity");
                return Err(ValidationError::new(f, "refund at least 1").into());
            }
        }
        let shift = self.open_shift_of(&r.device_id).await?.map(|s| s.id);
        let now = self.now();

        let mut tx = self.begin_write().await?;
        // Lock the order: refunds of one sale queue instead of both taking the last unit.
        sqlx::query("UPDATE orders SET updated_at = updated_at WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        let [k_card, k_cash] = row_keys(&r.refund_key);
        let dup: Option<String> = sqlx::query_scalar(
            "SELECT refund_key FROM pos_refund_lines WHERE refund_key = $1 LIMIT 1",
        )
        .bind(&r.refund_key)
        .fetch_optional(&mut *tx)
        .await?;
        if dup.is_some() {
            tx.rollback().await?;
            return self
                .refund_by_key(&r.refund_key, &id)
                .await?
                .ok_or(StoreError::Busy("refund"));
        }
        let (amount, tax, plan) = match self.plan_refund(&mut tx, &id, &r.lines).await {
            Ok(p) => p,
            Err(e) => {
                tx.rollback().await?;
                return Err(e);
            }
        };
        if amount <= 0 {
            tx.rollback().await?;
            let msg = "these lines cost nothing, so there is nothing to refund";
            return Err(ValidationError::new("lines", msg).into());
        }
        // Check the order's state before claiming anything (record_refund checks it again).
        let (status, paid, before) = self.refundable(&id).await?;
        let ev = OrderEvent::Refund {
            amount_minor: amount,
            refunded_before_minor: before,
            paid_minor: paid,
        };
        let to = match order_state::next_in(&self.currency, status, &ev) {
            Ok(to) => to,
            Err(e) => {
                tx.rollback().await?;
                return Err(StoreError::state(e.field, e.message));
            }
        };
        // Payments: (id, gateway, captured, refunded), oldest first.
        let payments: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, gateway, captured_minor, refunded_minor FROM payments \
             WHERE order_id = $1 ORDER BY created_at, id",
        )
        .bind(id.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let card_left: i64 = payments
            .iter()
            .filter(|p| p.1 != "cash")
            .map(|p| (p.2 - p.3).max(0))
            .sum();
        let card = if r.method == "original" {
            amount.min(card_left)
        } else {
            0
        };
        let by_method: Vec<(String, i64)> = [("card", card), ("cash", amount - card)]
            .into_iter()
            .filter(|(_, a)| *a > 0)
            .map(|(m, a)| (m.to_string(), a))
            .collect();
        for (pos, qty, line_amount, line_tax) in &plan {
            sqlx::query(
                "INSERT INTO pos_refund_lines (refund_key, order_id, position, quantity, \
                 amount_minor, tax_minor, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&r.refund_key)
            .bind(id.as_str())
            .bind(pos)
            .bind(qty)
            .bind(line_amount)
            .bind(line_tax)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for (method, part) in &by_method {
            let key = if method == "card" { &k_card } else { &k_cash };
            sqlx::query(
                "INSERT INTO pos_refunds (id, refund_key, order_id, shift_id, device_id, method, \
                 amount_minor, tax_minor, cashier_id, approved_by, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(new_id())
            .bind(key)
            .bind(id.as_str())
            .bind(shift.clone())
            .bind(&r.device_id)
            .bind(method)
            .bind(part)
            .bind(share(tax, *part, amount))
            .bind(&r.cashier_id)
            .bind(&r.approved_by)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let moves = payment_moves(&payments, card, amount - card);
        for (pid, n) in &moves {
            sqlx::query("UPDATE payments SET refunded_minor = refunded_minor + $1 WHERE id = $2")
                .bind(n)
                .bind(pid)
                .execute(&mut *tx)
                .await?;
        }
        let record = RefundRecord {
            amount_minor: amount,
            payment_id: None,
            gateway_reference: Some(format!("pos-refund-{}", r.refund_key)),
            restock: if r.restock {
                plan.iter().map(|p| (p.0, p.1)).collect()
            } else {
                Vec::new()
            },
            reason: reason.clone(),
        };
        // The order's refund, in the same transaction: the till's rows and the order's
        // refunded amount, status and restock commit together or not at all.
        self.record_refund_in(
            &mut tx,
            &id,
            &record,
            &reason,
            &cashier.email,
            (status, to, before),
        )
        .await?;
        tx.commit().await?;
        if r.restock {
            self.catalog_changed();
        }
        Ok(PosRefundResult {
            amount_minor: amount,
            by_method,
            status: to,
            replayed: false,
        })
    }

    /// Lines, amounts and tax of a refund: (amount, tax, [(position, qty, amount, tax)]).
    async fn plan_refund(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        id: &OrderId,
        lines: &[(i64, i64)],
    ) -> Result<Plan, StoreError> {
        // (position, quantity, total, tax, refunded qty, refunded amount, refunded tax)
        let rows: Vec<(i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT l.position, l.quantity, l.total_minor, l.tax_minor, \
             CAST(COALESCE(SUM(r.quantity), 0) AS BIGINT), \
             CAST(COALESCE(SUM(r.amount_minor), 0) AS BIGINT), \
             CAST(COALESCE(SUM(r.tax_minor), 0) AS BIGINT) \
             FROM order_lines l LEFT JOIN pos_refund_lines r \
             ON r.order_id = l.order_id AND r.position = l.position \
             WHERE l.order_id = $1 GROUP BY l.position, l.quantity, l.total_minor, l.tax_minor",
        )
        .bind(id.as_str())
        .fetch_all(&mut **tx)
        .await?;
        let by_pos: HashMap<i64, _> = rows.into_iter().map(|r| (r.0, r)).collect();
        let (mut amount, mut tax, mut plan) = (0, 0, Vec::with_capacity(lines.len()));
        for (i, (pos, qty)) in lines.iter().enumerate() {
            let Some(&(_, sold, total, line_tax, done, done_amount, done_tax)) = by_pos.get(pos)
            else {
                let f = format!("lines[{i}].position");
                return Err(ValidationError::new(f, "the sale has no such line").into());
            };
            let left = sold - done;
            if *qty > left {
                return Err(StoreError::state(
                    format!("lines[{i}].quantity"),
                    format!("only {left} left to refund"),
                ));
            }
            // Cumulative shares, rounded down: the refund that takes the last unit takes
            // whatever is left of the line, so a line never refunds more than it cost.
            let a = share(total, done + qty, sold) - done_amount;
            let t = share(line_tax, done + qty, sold) - done_tax;
            amount += a;
            tax += t;
            plan.push((*pos, *qty, a, t));
        }
        Ok((amount, tax, plan))
    }

    /// The refund a key already made on this order, as a replay.
    async fn refund_by_key(
        &self,
        key: &str,
        id: &OrderId,
    ) -> Result<Option<PosRefundResult>, StoreError> {
        let [k_card, k_cash] = row_keys(key);
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT method, amount_minor, order_id FROM pos_refunds \
             WHERE refund_key IN ($1, $2) ORDER BY method DESC",
        )
        .bind(&k_card)
        .bind(&k_cash)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        if rows.iter().any(|r| r.2 != id.as_str()) {
            return Err(StoreError::state(
                "key",
                "this refund key was already used for another sale",
            ));
        }
        // "card" sorts after "cash": DESC puts card first, as a new refund reports it.
        Ok(Some(PosRefundResult {
            amount_minor: rows.iter().map(|r| r.1).sum(),
            by_method: rows.iter().map(|r| (r.0.clone(), r.1)).collect(),
            status: self.order_status(id).await?,
            replayed: true,
        }))
    }
}

/// How much of a refund each payment records: card money against card payments, cash against
/// cash payments, each up to what is left on it, oldest first.
fn payment_moves(
    payments: &[(String, String, i64, i64)],
    card: i64,
    cash: i64,
) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let (mut card, mut cash) = (card, cash);
    for (id, gateway, captured, refunded) in payments {
        let room = (captured - refunded).max(0);
        let want = if gateway == "cash" {
            &mut cash
        } else {
            &mut card
        };
        let n = room.min(*want);
        if n > 0 {
            out.push((id.clone(), n));
            *want -= n;
        }
    }
    out
}
