//! Payment steps staff take by hand, beside [`crate::payment_flow`] (which they reuse): marking
//! an offline payment (bank transfer, external card terminal) as received. Like every change
//! that touches money, this goes through the order's gateway first and the state machine second.

use storefort_core::ids::OrderId;
use storefort_core::order_state::{self, OrderEvent, OrderStatus};
use storefort_payments::{PaymentState, PaymentStatus};
use storefort_store::StoreError;

use crate::error::ApiError;
use crate::AppState;

/// Mark the money of an order on hold as received: the waiting (`pending`) payment is captured
/// through its gateway (the manual gateway records it as taken), then the order takes the
/// Capture transition to paid and the receipt is queued ([`crate::payment_flow::capture`]).
///
/// Refused with a 409 naming `status` when the order is not on hold, and naming `payment`
/// when no payment on it is waiting for offline money (a card payment held for review is
/// released or cancelled instead). Nothing changes when refused.
pub async fn mark_paid(
    state: &AppState,
    order: &OrderId,
    actor: &str,
) -> Result<OrderStatus, ApiError> {
    let _one_at_a_time = state.lock_order(&order.0).await;
    let detail = state.db.order_detail(order).await?;
    let from = detail
        .status()
        .ok_or_else(|| StoreError::state("status", "order is in an unknown state"))?;
    order_state::next(from, &OrderEvent::MarkPaid)
        .map_err(|e| StoreError::state(e.field, e.message))?;
    let waiting = detail
        .payments
        .iter()
        .rev()
        .find(|p| p.status == PaymentStatus::Pending.as_str());
    let Some(p) = waiting else {
        return Err(StoreError::state(
            "payment",
            "this order has no payment waiting to be received; only bank transfers and other \
             offline payments are marked as paid by hand",
        )
        .into());
    };
    let g = state.gateways.get(&p.gateway).ok_or_else(|| {
        ApiError::from(StoreError::state(
            "payment",
            format!(
                "the payment method {:?} is no longer set up in this shop",
                p.gateway
            ),
        ))
    })?;
    let st = PaymentState::new(PaymentStatus::Pending, p.amount_minor);
    crate::payment_flow::capture(state, order, g.as_ref(), &p.reference, &st, actor).await
}
