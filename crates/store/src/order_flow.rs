//! Moving orders through `core::order_state`: every change is checked by the state machine,
//! applied only if the order is still in the state it was read in (compare-and-swap), and
//! written to the order's timeline in the same transaction. Cancelling or expiring returns the
//! reserved stock and the discount code's use; a refund may restock lines.

use storefort_core::ids::OrderId;
use storefort_core::order_state::{self, OrderEvent, OrderStatus};
use storefort_core::stock::{self, Reason};
use storefort_core::{text, ValidationError};

use crate::db::new_id;
use crate::stock::{lock_level, write, Change, Tx};
use crate::{Db, StoreError};

/// Add an entry to an order's timeline.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn add_event(
    tx: &mut Tx<'_>,
    order_id: &str,
    at: i64,
    kind: &str,
    from: Option<OrderStatus>,
    to: Option<OrderStatus>,
    actor: &str,
    note: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO order_events (id, order_id, at, kind, from_status, to_status, actor, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(order_id)
    .bind(at)
    .bind(kind)
    .bind(from.map(|s| s.as_str()))
    .bind(to.map(|s| s.as_str()))
    .bind(actor)
    .bind(note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Lines to put back on the shelf with a refund: (line position, quantity).
pub type Restock = Vec<(i64, i64)>;

/// A refund to record (the gateway has already paid it out).
#[derive(Debug, Clone)]
pub struct RefundRecord {
    /// Amount refunded (minor units).
    pub amount_minor: i64,
    /// The payment it was taken from.
    pub payment_id: Option<String>,
    /// The gateway's refund reference.
    pub gateway_reference: Option<String>,
    /// Lines restocked.
    pub restock: Restock,
    /// Why (shown in the timeline, up to 500 characters).
    pub reason: String,
}

impl Db {
    /// Current status of an order.
    pub async fn order_status(&self, id: &OrderId) -> Result<OrderStatus, StoreError> {
        let s: Option<String> = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let s = s.ok_or_else(|| StoreError::not_found("order", id.as_str()))?;
        OrderStatus::parse(&s).ok_or_else(|| {
            StoreError::state("status", format!("order is in an unknown state {s:?}"))
        })
    }

    /// Apply an event to an order (not refunds: see [`Db::record_refund`]). Returns the new
    /// status. A transition the state machine refuses is a 409 naming why; nothing changes.
    pub async fn transition(
        &self,
        id: &OrderId,
        event: OrderEvent,
        actor: &str,
        note: &str,
    ) -> Result<OrderStatus, StoreError> {
        let note = text::optional("note", note, 500)?;
        let from = self.order_status(id).await?;
        let to = order_state::next(from, &event).map_err(refused)?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        swap_status(&mut tx, id, from, to, now).await?;
        if matches!(event, OrderEvent::Cancel | OrderEvent::Expire) {
            self.return_stock(&mut tx, id, None, actor, now).await?;
            let code: Option<String> =
                sqlx::query_scalar("SELECT discount_code FROM orders WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
            if let Some(code) = code {
                crate::discounts::unuse_code(&mut tx, &code).await?;
            }
        }
        if to != OrderStatus::PendingPayment {
            sqlx::query("UPDATE orders SET reserved_until = NULL WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        add_event(
            &mut tx,
            id.as_str(),
            now,
            event.as_str(),
            Some(from),
            Some(to),
            actor,
            &note,
        )
        .await?;
        tx.commit().await?;
        if matches!(event, OrderEvent::Cancel | OrderEvent::Expire) {
            self.catalog_changed();
        }
        Ok(to)
    }

    /// Mark an order fulfilled with an optional tracking number.
    pub async fn fulfil_order(
        &self,
        id: &OrderId,
        tracking: &str,
        actor: &str,
    ) -> Result<OrderStatus, StoreError> {
        let tracking = text::optional("tracking", tracking, 100)?;
        let note = if tracking.is_empty() {
            String::new()
        } else {
            format!("tracking {tracking}")
        };
        let to = self
            .transition(id, OrderEvent::Fulfil, actor, &note)
            .await?;
        sqlx::query("UPDATE orders SET tracking = $1 WHERE id = $2")
            .bind(&tracking)
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(to)
    }

    /// Record a refund already paid out by the gateway: the order's refunded amount grows,
    /// its status becomes partially refunded or refunded, chosen lines go back into stock.
    pub async fn record_refund(
        &self,
        id: &OrderId,
        r: &RefundRecord,
        actor: &str,
    ) -> Result<OrderStatus, StoreError> {
        let reason = text::optional("reason", &r.reason, 500)?;
        let (from, paid, refunded_before) = self.refundable(id).await?;
        let event = OrderEvent::Refund {
            amount_minor: r.amount_minor,
            refunded_before_minor: refunded_before,
            paid_minor: paid,
        };
        let to = order_state::next(from, &event).map_err(refused)?;
        let mut tx = self.begin_write().await?;
        self.record_refund_in(&mut tx, id, r, &reason, actor, (from, to, refunded_before))
            .await?;
        tx.commit().await?;
        if !r.restock.is_empty() {
            self.catalog_changed();
        }
        Ok(to)
    }

    /// The writes of a refund (status, amounts, the refund row, restock, timeline) inside the
    /// caller's transaction, so a till refund's own rows commit with it or not at all. `step`
    /// is (status before, status after, refunded before), as the caller checked them.
    pub(crate) async fn record_refund_in(
        &self,
        tx: &mut Tx<'_>,
        id: &OrderId,
        r: &RefundRecord,
        reason: &str,
        actor: &str,
        step: (OrderStatus, OrderStatus, i64),
    ) -> Result<(), StoreError> {
        let (from, to, refunded_before) = step;
        let now = self.now();
        swap_status(tx, id, from, to, now).await?;
        let grew = sqlx::query(
            "UPDATE orders SET refunded_minor = refunded_minor + $1 \
             WHERE id = $2 AND refunded_minor = $3",
        )
        .bind(r.amount_minor)
        .bind(id.as_str())
        .bind(refunded_before)
        .execute(&mut **tx)
        .await?;
        if grew.rows_affected() != 1 {
            return Err(StoreError::Busy("order"));
        }
        if let Some(p) = &r.payment_id {
            sqlx::query(
                "UPDATE payments SET refunded_minor = refunded_minor + $1, updated_at = $2 \
                 WHERE id = $3",
            )
            .bind(r.amount_minor)
            .bind(now)
            .bind(p)
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO refunds (id, order_id, payment_id, amount_minor, restock, reason, \
             gateway_reference, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new_id())
        .bind(id.as_str())
        .bind(r.payment_id.clone())
        .bind(r.amount_minor)
        .bind(i64::from(!r.restock.is_empty()))
        .bind(reason)
        .bind(r.gateway_reference.clone())
        .bind(actor)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        if !r.restock.is_empty() {
            self.return_stock(tx, id, Some(&r.restock), actor, now)
                .await?;
        }
        let shown = self.currency.format(r.amount_minor);
        let note = if reason.is_empty() {
            format!("refunded {shown}")
        } else {
            format!("refunded {shown}: {reason}")
        };
        add_event(
            tx,
            id.as_str(),
            now,
            "refund",
            Some(from),
            Some(to),
            actor,
            &note,
        )
        .await?;
        Ok(())
    }

    /// Check a refund before asking the gateway for it: the state allows it and the amount is
    /// at most what is left. Returns (status, paid, refunded so far).
    pub async fn refundable(&self, id: &OrderId) -> Result<(OrderStatus, i64, i64), StoreError> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT status, refunded_minor FROM orders WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let (status, refunded) = row.ok_or_else(|| StoreError::not_found("order", id.as_str()))?;
        let paid: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(captured_minor), 0) AS BIGINT) FROM payments \
             WHERE order_id = $1",
        )
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?;
        let status = OrderStatus::parse(&status)
            .ok_or_else(|| StoreError::state("status", "order is in an unknown state"))?;
        Ok((status, paid.unwrap_or(0), refunded))
    }

    /// Add a staff note to the timeline.
    pub async fn add_order_note(
        &self,
        id: &OrderId,
        actor: &str,
        note: &str,
    ) -> Result<(), StoreError> {
        let note = text::optional("note", note, 2000)?;
        if note.is_empty() {
            return Err(ValidationError::new("note", "write the note first").into());
        }
        self.order_status(id).await?;
        let mut tx = self.begin_write().await?;
        add_event(
            &mut tx,
            id.as_str(),
            self.now(),
            "note",
            None,
            None,
            actor,
            &note,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Hold an order's stock until `until` (UTC ms): a bank-transfer order waits longer than
    /// the 15 minutes of a card payment.
    pub async fn set_reserved_until(&self, id: &OrderId, until: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE orders SET reserved_until = $1 WHERE id = $2")
            .bind(until)
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Queue an email about an order and note it in the order's timeline, in one transaction.
    pub async fn enqueue_order_email(
        &self,
        id: &OrderId,
        mail: &crate::outbox::OutgoingEmail,
    ) -> Result<(), StoreError> {
        let note = format!("{} email queued", mail.kind.replace('_', " "));
        let mut tx = self.begin_write().await?;
        self.enqueue_email_in(&mut tx, mail).await?;
        add_event(
            &mut tx,
            id.as_str(),
            self.now(),
            "note",
            None,
            None,
            "system",
            &note,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Orders whose reservation has run out: awaiting payment after 15 minutes, or on hold
    /// waiting for a bank transfer after 7 days.
    pub async fn expired_reservations(&self, limit: i64) -> Result<Vec<OrderId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM orders WHERE status IN ('pending_payment', 'on_hold') \
             AND reserved_until IS NOT NULL AND reserved_until <= $1 \
             ORDER BY reserved_until LIMIT $2",
        )
        .bind(self.now())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(OrderId).collect())
    }

    /// Put an order's stock back at its location: every line's unreturned units (`None`), or
    /// the given (position, quantity) pairs, each at most what is left to return.
    async fn return_stock(
        &self,
        tx: &mut Tx<'_>,
        id: &OrderId,
        only: Option<&Restock>,
        actor: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let location: Option<String> =
            sqlx::query_scalar("SELECT location_id FROM orders WHERE id = $1")
                .bind(id.as_str())
                .fetch_one(&mut **tx)
                .await?;
        let Some(location) = location else {
            return Ok(());
        };
        let number: i64 = sqlx::query_scalar("SELECT number FROM orders WHERE id = $1")
            .bind(id.as_str())
            .fetch_one(&mut **tx)
            .await?;
        let lines: Vec<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT position, variant_id, quantity, refunded_quantity FROM order_lines \
             WHERE order_id = $1 ORDER BY variant_id",
        )
        .bind(id.as_str())
        .fetch_all(&mut **tx)
        .await?;
        let note = format!("order #{number}");
        for (pos, variant, qty, back) in lines {
            let left = qty - back;
            let n = match only {
                None => left,
                Some(list) => match list.iter().find(|(p, _)| *p == pos) {
                    Some((_, want)) if *want > left || *want < 0 => {
                        return Err(ValidationError::new(
                            "restock",
                            format!("line {} has only {left} units left to restock", pos + 1),
                        )
                        .into())
                    }
                    Some((_, want)) => *want,
                    None => 0,
                },
            };
            if n == 0 {
                continue;
            }
            let on_hand = lock_level(tx, &variant, &location, now).await?;
            let after = stock::apply(on_hand, n, true)?;
            let change = Change {
                variant_id: &variant,
                location_id: &location,
                note: &note,
                actor,
            };
            write(tx, &change, &location, n, after, Reason::Return, None, now).await?;
            sqlx::query(
                "UPDATE order_lines SET refunded_quantity = refunded_quantity + $1 \
                 WHERE order_id = $2 AND position = $3",
            )
            .bind(n)
            .bind(id.as_str())
            .bind(pos)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Process each gateway event once: true the first time an event ID is seen.
    pub async fn webhook_first_time(
        &self,
        gateway: &str,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO webhook_events (gateway, event_id, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (gateway, event_id) DO NOTHING",
        )
        .bind(gateway)
        .bind(event_id)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Db {
    /// Forget an event whose processing failed, so the provider's next delivery is processed.
    pub async fn forget_webhook(&self, gateway: &str, event_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM webhook_events WHERE gateway = $1 AND event_id = $2")
            .bind(gateway)
            .bind(event_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn refused(e: ValidationError) -> StoreError {
    StoreError::state(e.field, e.message)
}

async fn swap_status(
    tx: &mut Tx<'_>,
    id: &OrderId,
    from: OrderStatus,
    to: OrderStatus,
    now: i64,
) -> Result<(), StoreError> {
    let done =
        sqlx::query("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(to.as_str())
            .bind(now)
            .bind(id.as_str())
            .bind(from.as_str())
            .execute(&mut **tx)
            .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::state(
            "status",
            "the order was changed by someone else meanwhile; reload it and try again",
        ));
    }
    Ok(())
}
