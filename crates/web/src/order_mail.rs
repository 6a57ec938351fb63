//! The emails an order sends (confirmation, refund, cancellation): built from the order as
//! stored, written to the outbox (sealed under the customer's key) and sent by the outbox worker,
//! so an SMTP outage delays mail but loses none. Each one is noted in the order's timeline.

use storefort_core::ids::OrderId;
use storefort_store::order_read::OrderDetail;
use storefort_store::outbox::OutgoingEmail;

use crate::emails::{self, EmailLine, EmailOrder, Rendered};
use crate::error::ApiError;
use crate::AppState;

/// The shopper's link to their order (guests get the access token in it).
pub fn order_url(state: &AppState, order: &OrderId) -> Result<String, ApiError> {
    let token = state.db.order_access_token(order)?;
    Ok(format!(
        "{}/orders/{}?t={}",
        state.cfg.public_url.trim_end_matches('/'),
        order.0,
        token
    ))
}

fn email_order(state: &AppState, d: &OrderDetail) -> Result<EmailOrder, ApiError> {
    let c = &state.cfg.currency;
    let payment = payment_summary(state, d);
    let address = d
        .record
        .shipping
        .as_ref()
        .map(|a| {
            [
                &a.name,
                &a.line1,
                &a.line2,
                &a.city,
                &a.region,
                &a.postcode,
                &a.country,
            ]
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .cloned()
            .collect()
        })
        .unwrap_or_else(|| vec![format!("Collect in store ({})", d.shipping_method)]);
    Ok(EmailOrder {
        shop_name: state.cfg.shop_name.clone(),
        order_number: d.summary.number,
        lines: d
            .lines
            .iter()
            .map(|l| EmailLine {
                name: l.name.clone(),
                quantity: l.quantity,
                // Before the discount, which has its own line.
                amount: c.format(l.unit_price_minor * l.quantity),
            })
            .collect(),
        subtotal: c.format(d.subtotal_minor),
        discount: (d.discount_minor > 0).then(|| c.format(-d.discount_minor)),
        shipping: c.format(d.shipping_minor),
        tax: c.format(d.tax_minor),
        tax_included: d.prices_include_tax,
        instructions: offline_instructions(state, d),
        total: c.format(d.summary.total_minor),
        shipping_address: address,
        payment,
        order_url: order_url(state, &OrderId(d.summary.id.clone()))?,
    })
}

/// How an order was paid, for people: "Visa ending 4242" for a card that was authorized or
/// captured (never a declined attempt's), else the payment method's name.
pub fn payment_summary(state: &AppState, d: &OrderDetail) -> String {
    d.payments
        .iter()
        .rev()
        .filter(|p| p.status == "captured" || p.status == "authorized")
        .find_map(|p| match (&p.card_brand, &p.card_last4) {
            (Some(b), Some(l4)) => Some(format!(
                "{} ending {l4}",
                crate::pages::render::capitalize(b)
            )),
            _ => None,
        })
        .or_else(|| {
            state
                .gateways
                .get(&d.summary.payment_method)
                .map(|g| g.label())
        })
        .unwrap_or_else(|| d.summary.payment_method.clone())
}

/// Bank-transfer details for an order still waiting for its money.
pub fn offline_instructions(state: &AppState, d: &OrderDetail) -> Option<String> {
    if d.status() != Some(storefort_core::order_state::OrderStatus::OnHold) {
        return None;
    }
    state
        .gateways
        .get(&d.summary.payment_method)
        .and_then(|g| g.instructions())
}

async fn queue(state: &AppState, d: &OrderDetail, kind: &str, r: Rendered) -> Result<(), ApiError> {
    if d.record.email.is_empty() {
        // The customer's personal data was erased: there is no one to write to, and the
        // refund or cancellation that asked for this email has already happened.
        return Ok(());
    }
    let mail = OutgoingEmail {
        kind: kind.to_string(),
        customer_id: Some(d.record.customer_id.clone()),
        to: d.record.email.clone(),
        subject: r.subject,
        text: r.text,
        html: r.html,
    };
    let id = OrderId(d.summary.id.clone());
    Ok(state.db.enqueue_order_email(&id, &mail).await?)
}

/// Queue the order confirmation (receipt).
pub async fn confirmation(state: &AppState, order: &OrderId) -> Result<(), ApiError> {
    let d = state.db.order_detail(order).await?;
    let r =
        emails::order_confirmation(&email_order(state, &d)?).map_err(|e| ApiError::internal(&e))?;
    queue(state, &d, "order_confirmation", r).await
}

/// Queue the receipt for money paid offline (the order confirmation went out already).
pub async fn payment_received(state: &AppState, order: &OrderId) -> Result<(), ApiError> {
    let d = state.db.order_detail(order).await?;
    let r =
        emails::payment_received(&email_order(state, &d)?).map_err(|e| ApiError::internal(&e))?;
    queue(state, &d, "payment_received", r).await
}

/// Queue a refund notice for `amount_minor`.
pub async fn refund(state: &AppState, order: &OrderId, amount_minor: i64) -> Result<(), ApiError> {
    let d = state.db.order_detail(order).await?;
    let amount = state.cfg.currency.format(amount_minor);
    let r = emails::refund_notice(&email_order(state, &d)?, &amount)
        .map_err(|e| ApiError::internal(&e))?;
    queue(state, &d, "refund", r).await
}

/// Queue a cancellation notice.
pub async fn cancellation(state: &AppState, order: &OrderId) -> Result<(), ApiError> {
    let d = state.db.order_detail(order).await?;
    let r = emails::cancellation_notice(&email_order(state, &d)?)
        .map_err(|e| ApiError::internal(&e))?;
    queue(state, &d, "cancellation", r).await
}

/// Queue "we have your order and will confirm it shortly" (held for a phone check).
pub async fn under_review(state: &AppState, order: &OrderId) -> Result<(), ApiError> {
    let d = state.db.order_detail(order).await?;
    let r = emails::under_review(&email_order(state, &d)?).map_err(|e| ApiError::internal(&e))?;
    queue(state, &d, "order_under_review", r).await
}

/// Queue "please pay again" with the link to the order's payment step.
pub async fn pay_again(state: &AppState, order: &OrderId) -> Result<(), ApiError> {
    let d = state.db.order_detail(order).await?;
    let mut o = email_order(state, &d)?;
    let token = state.db.order_access_token(order)?;
    o.order_url = format!(
        "{}/checkout/pay/{}?t={token}",
        state.cfg.public_url.trim_end_matches('/'),
        order.0
    );
    let r = emails::pay_again(&o).map_err(|e| ApiError::internal(&e))?;
    queue(state, &d, "pay_again", r).await
}
