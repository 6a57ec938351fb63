//! What a gateway's answer means for an order. Pages, the API and webhooks all come here, so a
//! payment is handled the same way whichever of them hears about it first:
//! authorized -> the order is authorized, then screened for fraud and captured, held for a
//! phone check or voided (`fraud_review::after_authorization`); pending offline money -> on hold until staff mark it paid; failed -> the order stays
//! awaiting payment so the shopper can try again; an authorization for an order that was
//! cancelled meanwhile is voided.

use storefort_core::ids::OrderId;
use storefort_core::order_state::{OrderEvent, OrderStatus};
use storefort_payments::{
    AuthorizeRequest, Gateway, GatewayError, NextStep, PaymentState, PaymentStatus,
};
use storefort_store::order_flow::RefundRecord;
use storefort_store::payment_records::PaymentUpdate;
use storefort_store::StoreError;

use crate::error::ApiError;
use crate::AppState;

/// Most payment attempts one order may start (each asks the gateway for a new payment).
pub const MAX_ATTEMPTS: usize = 10;
/// A bank-transfer order keeps its stock this long (7 days, as the instructions say), then is
/// cancelled.
pub const MANUAL_PAYMENT_MS: i64 = 7 * 24 * 3600 * 1000;

/// Map a gateway failure to what the caller should answer.
pub fn gateway_error(e: GatewayError) -> ApiError {
    use axum::http::StatusCode;
    match e {
        GatewayError::Declined(m) => ApiError::new(StatusCode::PAYMENT_REQUIRED, "declined", m),
        GatewayError::Invalid { field, message } => ApiError::invalid(field, message),
        GatewayError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "state", m),
        GatewayError::BadSignature(m) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_signature",
            format!("webhook refused: {m}"),
        ),
        GatewayError::Unavailable(m) => {
            tracing::warn!(error = %m, "payment provider unavailable");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "gateway_unavailable",
                "the payment provider could not be reached; please try again in a minute",
            )
        }
        GatewayError::NotSupported(what) => ApiError::new(
            StatusCode::CONFLICT,
            "not_supported",
            format!("this payment method cannot {what}"),
        ),
    }
}

fn gateway(state: &AppState, id: &str) -> Result<std::sync::Arc<dyn Gateway>, ApiError> {
    state.gateways.get(id).ok_or_else(|| {
        ApiError::invalid(
            "payment_method",
            format!("{id:?} is not a payment method this shop offers"),
        )
    })
}

/// The record kept of a gateway's answer (reference, brand and last 4 only).
pub fn update_of(s: &PaymentState) -> PaymentUpdate {
    PaymentUpdate {
        status: s.status.as_str().to_string(),
        amount_minor: s.amount_minor,
        captured_minor: s.captured_minor,
        refunded_minor: s.refunded_minor,
        card_brand: s.card.as_ref().map(|c| c.brand.clone()),
        card_last4: s.card.as_ref().map(|c| c.last4.clone()),
        checks_json: serde_json::to_string(&s.checks).unwrap_or_else(|_| "{}".into()),
        message: s.decline.clone().unwrap_or_default(),
    }
}

/// Start paying for an order awaiting payment: asks its gateway to authorize the total and
/// says what the shopper does next. `return_url` is where the gateway sends them back.
pub async fn start(
    state: &AppState,
    order: &OrderId,
    return_url: &str,
) -> Result<NextStep, ApiError> {
    let detail = state.db.order_detail(order).await?;
    if detail.status() != Some(OrderStatus::PendingPayment) {
        return Err(
            StoreError::state("status", "this order is not awaiting payment any more").into(),
        );
    }
    let g = gateway(state, &detail.summary.payment_method)?;
    let attempt = detail.payments.len() + 1;
    if attempt > MAX_ATTEMPTS {
        return Err(ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!(
                "this order has had {MAX_ATTEMPTS} payment attempts; please place a new order or \
                 contact the shop"
            ),
        ));
    }
    let auth = g
        .authorize(&AuthorizeRequest {
            order_id: order.0.clone(),
            order_number: detail.summary.number,
            amount_minor: detail.summary.total_minor,
            currency: detail.summary.currency.clone(),
            return_url: return_url.to_string(),
            idempotency_key: format!("{}-{attempt}", order.0),
            description: format!("{} order #{}", state.cfg.shop_name, detail.summary.number),
        })
        .await
        .map_err(gateway_error)?;
    apply(
        state,
        order,
        g.as_ref(),
        &auth.reference,
        &auth.state,
        "checkout",
    )
    .await?;
    Ok(auth.next)
}

/// Ask the gateway where a payment stands and apply it (the shopper came back from the
/// gateway's page; the query string they bring is never trusted on its own).
pub async fn refresh(
    state: &AppState,
    order: &OrderId,
    reference: &str,
) -> Result<OrderStatus, ApiError> {
    let detail = state.db.order_detail(order).await?;
    let Some(p) = detail.payments.iter().find(|p| p.reference == reference) else {
        return Err(ApiError::from(StoreError::not_found("payment", reference)));
    };
    let g = gateway(state, &p.gateway)?;
    let st = g.status(reference).await.map_err(gateway_error)?;
    apply(state, order, g.as_ref(), reference, &st, &p.gateway.clone()).await
}

/// Apply a gateway's state to the order. Safe to call again with the same state.
pub async fn apply(
    state: &AppState,
    order: &OrderId,
    g: &dyn Gateway,
    reference: &str,
    st: &PaymentState,
    actor: &str,
) -> Result<OrderStatus, ApiError> {
    let _one_at_a_time = state.lock_order(&order.0).await;
    let db = &state.db;
    // Only a failure needs the payment as it stood (to tell it once): no extra read otherwise.
    let before = match st.status {
        PaymentStatus::Failed => db.payment_by_reference(g.id(), reference).await?,
        _ => None,
    };
    let row = db
        .record_payment(order, g.id(), reference, &update_of(st))
        .await?;
    let mut now = db.order_status(order).await?;
    // A stale report ("authorized") of a payment the record already has as voided or failed
    // moves nothing: the record is the furthest the payment has gone.
    let recorded = PaymentStatus::parse(&row.status).unwrap_or(st.status);
    if matches!(
        st.status,
        PaymentStatus::Authorized | PaymentStatus::Captured
    ) && !matches!(
        recorded,
        PaymentStatus::Authorized | PaymentStatus::Captured
    ) {
        return Ok(now);
    }
    match st.status {
        PaymentStatus::Authorized | PaymentStatus::Captured => {
            if now == OrderStatus::PendingPayment
                && crate::fraud_review::stale_after_pay_again(state, order, g, reference, st)
                    .await?
            {
                return Ok(now);
            }
            // One payment pays an order: a second authorization (another tab, a reload) is
            // given back, never captured.
            if now != OrderStatus::Cancelled && !db.claim_order_payment(order, &row.id).await? {
                return second_payment(state, order, g, reference, st).await;
            }
            if matches!(now, OrderStatus::Cancelled) {
                // Paid after the reservation ran out: give the money back untouched.
                if st.status == PaymentStatus::Authorized {
                    let voided = g.void(reference).await.map_err(gateway_error)?;
                    db.record_payment(order, g.id(), reference, &update_of(&voided))
                        .await?;
                }
                return Ok(now);
            }
            if now == OrderStatus::PendingPayment {
                now = db
                    .transition(order, OrderEvent::Authorize, actor, &card_note(st))
                    .await?;
            }
            if now == OrderStatus::Authorized {
                now =
                    crate::fraud_review::after_authorization(state, order, g, reference, st, actor)
                        .await?;
            }
        }
        PaymentStatus::Pending => {
            if now == OrderStatus::PendingPayment {
                now = db
                    .transition(
                        order,
                        OrderEvent::Hold,
                        actor,
                        "waiting for the payment to arrive",
                    )
                    .await?;
                // The stock stays reserved while the transfer is on its way, not for ever.
                db.set_reserved_until(order, db.now() + MANUAL_PAYMENT_MS)
                    .await?;
                crate::order_mail::confirmation(state, order).await?;
            }
        }
        PaymentStatus::Failed => {
            let why = st
                .decline
                .clone()
                .unwrap_or_else(|| "payment failed".into());
            // Told once per attempt (the return page and the webhook both report it).
            if before.is_none_or(|p| p.status != PaymentStatus::Failed.as_str()) {
                crate::fraud_screen::note_failed_payment(state, order, st).await;
                db.add_order_note(order, actor, &format!("payment attempt failed: {why}"))
                    .await?;
            }
        }
        PaymentStatus::RequiresAction | PaymentStatus::Voided => {}
    }
    Ok(now)
}

/// A payment for an order that another payment already pays: void it, or (if the gateway
/// captured it anyway) say loudly that it must be refunded.
async fn second_payment(
    state: &AppState,
    order: &OrderId,
    g: &dyn Gateway,
    reference: &str,
    st: &PaymentState,
) -> Result<OrderStatus, ApiError> {
    if st.status == PaymentStatus::Authorized {
        let voided = g.void(reference).await.map_err(gateway_error)?;
        state
            .db
            .record_payment(order, g.id(), reference, &update_of(&voided))
            .await?;
        state
            .db
            .add_order_note(order, "system", "a second card authorization was voided")
            .await?;
    } else {
        tracing::error!(order = %order.0, reference, "a second payment was captured for one order");
        state
            .db
            .add_order_note(
                order,
                "system",
                &format!("a second payment ({reference}) was taken for this order: refund it"),
            )
            .await?;
    }
    Ok(state.db.order_status(order).await?)
}

/// Take the money of an authorized order and mark it paid (sends the confirmation).
pub async fn capture(
    state: &AppState,
    order: &OrderId,
    g: &dyn Gateway,
    reference: &str,
    st: &PaymentState,
    actor: &str,
) -> Result<OrderStatus, ApiError> {
    let captured = if st.status == PaymentStatus::Captured {
        st.clone()
    } else {
        g.capture(reference, st.amount_minor)
            .await
            .map_err(gateway_error)?
    };
    state
        .db
        .record_payment(order, g.id(), reference, &update_of(&captured))
        .await?;
    let before = state.db.order_status(order).await?;
    let now = state
        .db
        .transition(order, OrderEvent::Capture, actor, "payment taken")
        .await?;
    if before == OrderStatus::OnHold && g.instructions().is_some() {
        // A bank transfer: the shopper had the order confirmation (with how to pay) already.
        crate::order_mail::payment_received(state, order).await?;
    } else {
        crate::order_mail::confirmation(state, order).await?;
    }
    Ok(now)
}

/// Cancel an order: void any authorization first, then return stock (audited by the caller).
pub async fn cancel(
    state: &AppState,
    order: &OrderId,
    actor: &str,
    reason: &str,
) -> Result<OrderStatus, ApiError> {
    let _one_at_a_time = state.lock_order(&order.0).await;
    cancel_locked(state, order, actor, reason).await
}

/// [`cancel`] for a caller that holds the order's lock already.
pub async fn cancel_locked(
    state: &AppState,
    order: &OrderId,
    actor: &str,
    reason: &str,
) -> Result<OrderStatus, ApiError> {
    let detail = state.db.order_detail(order).await?;
    let from = detail
        .status()
        .ok_or_else(|| StoreError::state("status", "order is in an unknown state"))?;
    storefort_core::order_state::next(from, &OrderEvent::Cancel)
        .map_err(|e| StoreError::state(e.field, e.message))?;
    if detail
        .payments
        .iter()
        .any(|p| p.captured_minor > p.refunded_minor)
    {
        return Err(StoreError::state(
            "status",
            "money was taken for this order: refund it instead of cancelling",
        )
        .into());
    }
    for p in &detail.payments {
        if p.status == PaymentStatus::Authorized.as_str()
            || p.status == PaymentStatus::RequiresAction.as_str()
            || p.status == PaymentStatus::Pending.as_str()
        {
            let g = gateway(state, &p.gateway)?;
            match g.void(&p.reference).await {
                Ok(st) => {
                    state
                        .db
                        .record_payment(order, g.id(), &p.reference, &update_of(&st))
                        .await?;
                }
                Err(GatewayError::Conflict(m)) if p.status != "authorized" => {
                    tracing::info!(reference = %p.reference, reason = %m, "nothing to void");
                }
                Err(e) => return Err(gateway_error(e)),
            }
        }
    }
    let to = state
        .db
        .transition(order, OrderEvent::Cancel, actor, reason)
        .await?;
    // A held order cancelled from anywhere leaves the review queue.
    if from == OrderStatus::OnHold {
        match state.db.close_review(order, "cancelled", actor).await {
            Ok(()) | Err(StoreError::State { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if from != OrderStatus::PendingPayment {
        crate::order_mail::cancellation(state, order).await?;
    }
    Ok(to)
}

/// Refund part or all of what was paid, through the gateway that took it; optionally restock.
pub async fn refund(
    state: &AppState,
    order: &OrderId,
    amount_minor: i64,
    restock: storefort_store::order_flow::Restock,
    reason: &str,
    actor: &str,
) -> Result<OrderStatus, ApiError> {
    let _one_at_a_time = state.lock_order(&order.0).await;
    let db = &state.db;
    let (status, paid, before) = db.refundable(order).await?;
    // Everything is checked before any money moves: the reason, the lines to restock, and (by
    // the state machine) the state and the amount left.
    storefort_core::text::optional("reason", reason, 500)?;
    let lines = db.order_detail(order).await?.lines;
    for (pos, qty) in &restock {
        match lines.iter().find(|l| l.position == *pos) {
            Some(l) if *qty >= 0 && *qty <= l.quantity - l.refunded_quantity => {}
            _ => {
                return Err(ApiError::invalid(
                    "restock",
                    format!("line {} cannot take back {qty} units", pos + 1),
                ))
            }
        }
    }
    storefort_core::order_state::next_in(
        &state.cfg.currency,
        status,
        &OrderEvent::Refund {
            amount_minor,
            refunded_before_minor: before,
            paid_minor: paid,
        },
    )
    .map_err(|e| StoreError::state(e.field, e.message))?;
    let payments = db.payments_of_order(order).await?;
    let Some(p) = payments
        .iter()
        .find(|p| p.captured_minor - p.refunded_minor >= amount_minor)
    else {
        return Err(StoreError::state(
            "amount",
            "no single payment on this order has that much left to refund",
        )
        .into());
    };
    let g = gateway(state, &p.gateway)?;
    let key = format!("{}-refund-{}", order.0, before);
    let r = g
        .refund(&p.reference, amount_minor, &key)
        .await
        .map_err(gateway_error)?;
    let to = db
        .record_refund(
            order,
            &RefundRecord {
                amount_minor,
                payment_id: Some(p.id.clone()),
                gateway_reference: Some(r.reference.clone()),
                restock,
                reason: reason.to_string(),
            },
            actor,
        )
        .await?;
    crate::order_mail::refund(state, order, amount_minor).await?;
    Ok(to)
}

/// Release the stock of orders whose 15-minute reservation ran out unpaid. Returns how many.
pub async fn release_expired(state: &AppState) -> Result<usize, ApiError> {
    let mut n = 0;
    for id in state.db.expired_reservations(200).await? {
        match cancel_expired(state, &id).await {
            Ok(()) => n += 1,
            Err(e) => tracing::warn!(order = %id.0, error = %e.message, "could not release"),
        }
    }
    Ok(n)
}

async fn cancel_expired(state: &AppState, id: &OrderId) -> Result<(), ApiError> {
    let detail = state.db.order_detail(id).await?;
    if detail.status() == Some(OrderStatus::OnHold) {
        // A bank transfer that never came.
        cancel(state, id, "system", "payment not received within 7 days").await?;
        return Ok(());
    }
    for p in &detail.payments {
        if p.status == PaymentStatus::RequiresAction.as_str() {
            if let Some(g) = state.gateways.get(&p.gateway) {
                if let Ok(st) = g.void(&p.reference).await {
                    state
                        .db
                        .record_payment(id, g.id(), &p.reference, &update_of(&st))
                        .await?;
                }
            }
        }
    }
    state
        .db
        .transition(
            id,
            OrderEvent::Expire,
            "system",
            "not paid within 15 minutes",
        )
        .await?;
    Ok(())
}

fn card_note(st: &PaymentState) -> String {
    match &st.card {
        Some(c) => format!("authorized on {} ending {}", c.brand, c.last4),
        None => "authorized".into(),
    }
}
