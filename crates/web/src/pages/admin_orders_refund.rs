//! Refunding an order from its page: the whole of what is left or part of it, an optional
//! reason, and optionally units of each line put back in stock. Needs the Refunds permission
//! and the password typed within the last few minutes. Everything is checked before any money
//! moves (amount, restock quantities, reason, the order's state and what is left), then the
//! refund goes through [`crate::payment_flow::refund`] and is audited as `order.refunded`
//! with the order number and amount.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use storefort_core::ids::OrderId;
use storefort_core::money::Currency;
use storefort_core::order_state::{self, OrderEvent, OrderStatus};
use storefort_core::text;

use super::admin::{checked_form, see_other};
use super::admin_orders::{order_url, Refunder};
use super::admin_orders_actions::{again, refusal};
use super::admin_orders_view::{Problem, Typed};
use super::admin_staff::log as record;
use super::render::{FormData, PageError};
use crate::middleware::ClientInfo;
use crate::AppState;

/// The refund form's values, read (not yet checked).
fn typed_of(f: &FormData, positions: impl Iterator<Item = i64>) -> Typed {
    Typed {
        refund_amount: Some(f.text("amount")),
        refund_reason: f.text("reason"),
        restock: positions
            .map(|p| (p, f.text(&format!("restock_{p}"))))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        ..Default::default()
    }
}

/// `POST /admin/orders/{id}/refund` (fields `amount`, `reason`, `restock_{position}`).
/// Bad input is 422 and an amount above what is left (or a state that allows no refund) is
/// 409, both showing the page again with nothing changed.
pub async fn refund(
    s: Refunder,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let id = OrderId(id);
    let detail = state.db.order_detail(&id).await?;
    let number = detail.summary.number;
    let typed = typed_of(&f, detail.lines.iter().map(|l| l.position));
    let cur = Currency::from_code(&detail.summary.currency).unwrap_or(state.cfg.currency);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;

    let amount_text = typed.refund_amount.clone().unwrap_or_default();
    let amount = match cur.parse("amount", &amount_text) {
        Ok(a) if a > 0 => a,
        Ok(_) => {
            let p = Problem::new("refund-amount", "Amount: enter an amount above zero");
            return again(&state, &s, &client, &id, unprocessable, p, typed).await;
        }
        Err(v) => {
            let p = Problem::new("refund-amount", format!("Amount: {}", v.message));
            return again(&state, &s, &client, &id, unprocessable, p, typed).await;
        }
    };
    let mut restock = Vec::new();
    for l in &detail.lines {
        let Some(t) = typed.restock.get(&l.position) else {
            continue;
        };
        let left = (l.quantity - l.refunded_quantity).max(0);
        match t.parse::<i64>() {
            Ok(n) if (0..=left).contains(&n) => {
                if n > 0 {
                    restock.push((l.position, n));
                }
            }
            _ => {
                let p = Problem::new(
                    "restock",
                    format!(
                        "Put back in stock: for {} enter a whole number from 0 to {left}",
                        l.name
                    ),
                );
                return again(&state, &s, &client, &id, unprocessable, p, typed).await;
            }
        }
    }
    let reason = match text::optional("reason", &typed.refund_reason, 500) {
        Ok(r) => r,
        Err(v) => {
            let p = Problem::new("refund-reason", format!("Reason: {}", v.message));
            return again(&state, &s, &client, &id, unprocessable, p, typed).await;
        }
    };
    // The state and what is left, checked with amounts in the shop's money before the
    // password prompt and before the gateway is asked.
    let (st, paid, before) = state.db.refundable(&id).await?;
    let ev = OrderEvent::Refund {
        amount_minor: amount,
        refunded_before_minor: before,
        paid_minor: paid,
    };
    if let Err(v) = order_state::next_in(&cur, st, &ev) {
        let p = if v.field == "amount" {
            Problem::new("refund-amount", format!("Amount: {}", v.message))
        } else {
            Problem::new("", super::render::capitalize(&v.message))
        };
        return again(&state, &s, &client, &id, StatusCode::CONFLICT, p, typed).await;
    }
    if let Err(to) = s.require_recent_password(&state, &order_url(id.as_str(), "confirmed")) {
        return Ok(to.into_response());
    }
    let actor = s.user().email.clone();
    let units: i64 = restock.iter().map(|(_, n)| n).sum();
    match crate::payment_flow::refund(&state, &id, amount, restock, &reason, &actor).await {
        Ok(to) => {
            let details = format!(
                "order #{number}, {} ({}), {units} units restocked",
                cur.format(amount),
                if to == OrderStatus::Refunded {
                    "in full"
                } else {
                    "partial"
                },
            );
            record(&state, &s, &client, "order.refunded", id.as_str(), details).await?;
            Ok(see_other(&order_url(id.as_str(), "refunded")))
        }
        Err(e) => {
            let (status, p) = refusal(e, &|f| match f {
                "amount" => "refund-amount".into(),
                "reason" => "refund-reason".into(),
                "restock" => "restock".into(),
                _ => String::new(),
            })?;
            again(&state, &s, &client, &id, status, p, typed).await
        }
    }
}
