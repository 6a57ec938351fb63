//! After checkout: the payment step, the return from the gateway, and the shopper's order page.
//! A guest proves the order is theirs with the `t` token in the link (a keyed hash of the order
//! ID, sent only to them); a signed-in shopper may also open their own orders.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use storefort_core::ids::OrderId;
use storefort_core::order_state::OrderStatus;
use storefort_payments::NextStep;
use storefort_store::db::looks_like_id;
use storefort_store::order_read::OrderDetail;

use super::render::{page, seg, PageError};
use super::shopper::current_shopper;
use super::storefront::{shop, Shop};
use crate::payment_flow;
use crate::AppState;

/// Check the caller may see this order; returns its ID and the access token for links.
async fn access(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    q: &HashMap<String, String>,
) -> Result<(OrderId, String), PageError> {
    if !looks_like_id(id) {
        return Err(PageError::not_found());
    }
    let order = OrderId(id.to_string());
    let token = state.db.order_access_token(&order)?;
    if let Some(t) = q.get("t") {
        if state.db.order_access_ok(&order, t) {
            return Ok((order, token));
        }
    }
    if let Some(s) = current_shopper(state, headers).await? {
        let owner: Option<String> =
            sqlx::query_scalar("SELECT customer_id FROM orders WHERE id = $1")
                .bind(id)
                .fetch_optional(&state.db.pool)
                .await
                .map_err(|e| PageError::internal(&e))?;
        if owner.as_deref() == Some(s.customer.id.as_str()) {
            return Ok((order, token));
        }
    }
    // The same answer as an unknown order: nothing tells a guesser that it exists.
    Err(PageError::not_found())
}

fn links(state: &AppState, order: &OrderId, token: &str) -> (String, String) {
    let base = state.cfg.public_url.trim_end_matches('/');
    (
        format!("{base}/checkout/return/{}?t={token}", seg(&order.0)),
        format!("/orders/{}?t={token}", seg(&order.0)),
    )
}

/// `GET /checkout/pay/{id}?t=`: start paying (or try again) and go to the gateway.
pub async fn pay(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (order, token) = access(&state, &headers, &id, &q).await?;
    let (return_url, order_url) = links(&state, &order, &token);
    if state.db.order_status(&order).await? != OrderStatus::PendingPayment {
        return Ok(Redirect::to(&order_url).into_response());
    }
    match payment_flow::start(&state, &order, &return_url).await? {
        NextStep::Redirect { url } => Ok(Redirect::to(&url).into_response()),
        NextStep::None => Ok(Redirect::to(&order_url).into_response()),
        NextStep::Element {
            publishable_key,
            client_secret,
            js_url,
        } => {
            crate::payment_page::element_page(
                &state,
                &order,
                &return_url,
                &publishable_key,
                &client_secret,
                &js_url,
            )
            .await
        }
    }
}

/// `GET /checkout/return/{id}?t=&ref=`: the shopper is back from the gateway. The gateway is
/// asked where the payment stands (the query string alone proves nothing).
pub async fn back(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (order, token) = access(&state, &headers, &id, &q).await?;
    let (_, order_url) = links(&state, &order, &token);
    let reference = q
        .get("ref")
        .or_else(|| q.get("payment_intent"))
        .cloned()
        .unwrap_or_default();
    if !reference.is_empty() {
        payment_flow::refresh(&state, &order, &reference).await?;
    }
    Ok(Redirect::to(&order_url).into_response())
}

struct Line {
    name: String,
    quantity: i64,
    total: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    shop: Shop,
    number: i64,
    status: String,
    headline: String,
    message: String,
    retry_url: String,
    lines: Vec<Line>,
    subtotal: String,
    discount: String,
    shipping: String,
    shipping_method: String,
    tax: String,
    total: String,
    refunded: String,
    address: Vec<String>,
    payment: String,
    tracking: String,
    instructions: String,
    tax_included: bool,
}

fn headline(d: &OrderDetail, now: i64) -> (String, String) {
    let failed = d
        .payments
        .last()
        .filter(|p| p.status == "failed")
        .map(|p| p.message.clone());
    match d.status() {
        Some(OrderStatus::PendingPayment) => match failed {
            Some(m) => (
                "Your payment did not go through".into(),
                format!("{m} Your items are kept for 15 minutes: you can try again."),
            ),
            // Asked to pay again after a phone check: kept for 48 hours, not 15 minutes.
            None if d
                .reserved_until
                .is_some_and(|until| until - now > 3_600_000) =>
            {
                (
                    "Waiting for your payment".into(),
                    format!(
                        "Your items are kept for you until {} UTC while you pay.",
                        crate::pages::render::utc(d.reserved_until.unwrap_or_default())
                    ),
                )
            }
            None => (
                "Waiting for your payment".into(),
                "Your items are kept for 15 minutes while you pay.".into(),
            ),
        },
        Some(OrderStatus::OnHold) if d.summary.payment_method == "manual" => (
            "Thank you: your order is waiting for your payment".into(),
            "We will send your order when the payment arrives. How to pay is below and in your \
             email."
                .into(),
        ),
        Some(OrderStatus::OnHold) | Some(OrderStatus::Authorized) => (
            "Thank you: we will confirm your order shortly".into(),
            "Your payment is reserved; we will email you as soon as your order is confirmed."
                .into(),
        ),
        Some(OrderStatus::Paid) => (
            "Thank you for your order".into(),
            "A receipt is on its way to your email.".into(),
        ),
        Some(OrderStatus::Fulfilled) => ("Your order is on its way".into(), String::new()),
        // Blocked by screening: neutral words, nothing that teaches a fraudster what to change.
        Some(OrderStatus::Cancelled)
            if d.events
                .iter()
                .any(|e| e.kind == "cancel" && e.actor == crate::fraud_review::SCREENING) =>
        {
            (
                "We could not complete your payment".into(),
                "No money has been taken. Please contact us if you would like to place this \
                 order."
                    .into(),
            )
        }
        Some(OrderStatus::Cancelled) => (
            "This order was cancelled".into(),
            "No money was taken for it.".into(),
        ),
        Some(OrderStatus::PartiallyRefunded) | Some(OrderStatus::Refunded) => {
            ("This order was refunded".into(), String::new())
        }
        None => ("Your order".into(), String::new()),
    }
}

/// `GET /orders/{id}?t=`: the shopper's view of an order (the confirmation page).
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (order, token) = access(&state, &headers, &id, &q).await?;
    let d = state.db.order_detail(&order).await?;
    let c = &state.cfg.currency;
    let (headline, message) = headline(&d, state.db.now());
    let retry_url = if d.status() == Some(OrderStatus::PendingPayment) {
        format!("/checkout/pay/{}?t={token}", seg(&order.0))
    } else {
        String::new()
    };
    let payment = crate::order_mail::payment_summary(&state, &d);
    let address = match &d.record.shipping {
        Some(a) => [
            &a.name,
            &a.line1,
            &a.line2,
            &a.city,
            &a.region,
            &a.postcode,
            &a.country,
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect(),
        None => vec!["Collect from the shop".to_string()],
    };
    let t = OrderPage {
        shop: shop(&state, "", "").await?,
        number: d.summary.number,
        status: d
            .status()
            .map(|s| s.label().to_string())
            .unwrap_or_default(),
        headline,
        message,
        retry_url,
        lines: d
            .lines
            .iter()
            .map(|l| Line {
                name: l.name.clone(),
                quantity: l.quantity,
                // Before the discount, which has its own line below.
                total: c.format(l.unit_price_minor * l.quantity),
            })
            .collect(),
        subtotal: c.format(d.subtotal_minor),
        discount: if d.discount_minor > 0 {
            c.format(-d.discount_minor)
        } else {
            String::new()
        },
        shipping: c.format(d.shipping_minor),
        shipping_method: d.shipping_method.clone(),
        tax: c.format(d.tax_minor),
        total: c.format(d.summary.total_minor),
        refunded: if d.summary.refunded_minor > 0 {
            c.format(d.summary.refunded_minor)
        } else {
            String::new()
        },
        address,
        payment,
        tracking: d.tracking.clone(),
        instructions: crate::order_mail::offline_instructions(&state, &d).unwrap_or_default(),
        tax_included: d.prices_include_tax,
    };
    let mut res = page(StatusCode::OK, &t);
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    // The token is in this page's URL: never send it to other sites.
    res.headers_mut().insert(
        axum::http::header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}
