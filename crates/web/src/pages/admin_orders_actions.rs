//! What staff do to an order from its page: fulfil with a tracking number, cancel with a
//! reason, mark an offline payment as received, add a note. Money moves only through
//! [`crate::payment_flow`] / [`crate::payment_flow_staff`]. A refused action shows the order
//! page again with the reason (409 when the order's state does not allow it, 422 for bad
//! input) and changes nothing. Changes are audited with the order number, never personal
//! data. Refunds are in [`super::admin_orders_refund`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use storefort_core::ids::OrderId;
use storefort_core::order_state::OrderStatus;

use super::admin::{checked_form, see_other};
use super::admin_orders::{order_url, Manager};
use super::admin_orders_view::{order_page, Extras, Problem, Typed};
use super::admin_staff::log as record;
use super::render::{field_label, PageError};
use crate::auth::AdminSession;
use crate::error::ApiError;
use crate::middleware::ClientInfo;
use crate::AppState;

/// A refusal that belongs on the page (bad input, wrong state), or a real error page.
pub fn refusal(
    e: ApiError,
    input_of: &dyn Fn(&str) -> String,
) -> Result<(StatusCode, Problem), PageError> {
    let shown = matches!(
        e.status,
        StatusCode::BAD_REQUEST
            | StatusCode::PAYMENT_REQUIRED
            | StatusCode::CONFLICT
            | StatusCode::GONE
            | StatusCode::UNPROCESSABLE_ENTITY
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
    );
    if !shown {
        return Err(e.into());
    }
    let field = e.field.clone().unwrap_or_default();
    let text = if e.status == StatusCode::UNPROCESSABLE_ENTITY && !field.is_empty() {
        format!("{}: {}", field_label(&field), e.message)
    } else {
        e.message.clone()
    };
    Ok((e.status, Problem::new(&input_of(&field), text)))
}

/// Show the order again after a refused action.
pub async fn again(
    state: &AppState,
    s: &AdminSession,
    client: &ClientInfo,
    id: &OrderId,
    status: StatusCode,
    problem: Problem,
    typed: Typed,
) -> Result<Response, PageError> {
    let x = Extras {
        problem: Some(problem),
        typed,
        ..Default::default()
    };
    order_page(
        state,
        s,
        client,
        id,
        status,
        x,
        "shown again after a refused action",
    )
    .await
}

/// The order's number, for audit entries (also proves the order exists: 404 otherwise).
pub async fn number_of(state: &AppState, id: &OrderId) -> Result<i64, PageError> {
    Ok(state.db.order_detail(id).await?.summary.number)
}

/// `POST /admin/orders/{id}/fulfil` (field `tracking`, optional): audited as `order.fulfilled`.
pub async fn fulfil(
    s: Manager,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let id = OrderId(id);
    let number = number_of(&state, &id).await?;
    let tracking = f.text("tracking");
    let actor = s.user().email.clone();
    match state.db.fulfil_order(&id, &tracking, &actor).await {
        Ok(_) => {
            let details = format!(
                "order #{number}, {}",
                if tracking.is_empty() {
                    "no tracking number"
                } else {
                    "with a tracking number"
                }
            );
            record(&state, &s, &client, "order.fulfilled", id.as_str(), details).await?;
            Ok(see_other(&order_url(id.as_str(), "fulfilled")))
        }
        Err(e) => {
            let (status, p) = refusal(e.into(), &|f| {
                if f == "tracking" {
                    "fulfil-tracking"
                } else {
                    ""
                }
                .to_string()
            })?;
            let typed = Typed {
                tracking,
                ..Default::default()
            };
            again(&state, &s, &client, &id, status, p, typed).await
        }
    }
}

/// `POST /admin/orders/{id}/cancel` (field `reason`, required): voids any authorisation and
/// returns the stock through [`crate::payment_flow::cancel`]. A paid order is refused (409):
/// it must be refunded. Audited as `order.cancelled` (without the reason, which is free text).
pub async fn cancel(
    s: Manager,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let id = OrderId(id);
    let detail = state.db.order_detail(&id).await?;
    let number = detail.summary.number;
    let reason = f.text("reason");
    let typed = Typed {
        cancel_reason: reason.clone(),
        ..Default::default()
    };
    let input = "cancel-reason";
    if reason.is_empty() {
        let p = Problem::new(input, "Reason: say why the order is cancelled");
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return again(&state, &s, &client, &id, status, p, typed).await;
    }
    let from = detail.status();
    if matches!(
        from,
        Some(OrderStatus::Paid | OrderStatus::Fulfilled | OrderStatus::PartiallyRefunded)
    ) {
        let p = Problem::new(
            "",
            "This order has been paid, so it cannot be cancelled: refund it instead (and put \
             the items back in stock with the refund).",
        );
        return again(&state, &s, &client, &id, StatusCode::CONFLICT, p, typed).await;
    }
    let actor = s.user().email.clone();
    match crate::payment_flow::cancel(&state, &id, &actor, &reason).await {
        Ok(_) => {
            let was = from.map_or("unknown", |st| st.as_str());
            let details = format!("order #{number}, was {was}");
            record(&state, &s, &client, "order.cancelled", id.as_str(), details).await?;
            Ok(see_other(&order_url(id.as_str(), "cancelled")))
        }
        Err(e) => {
            let (status, p) = refusal(e, &|f| {
                if f == "reason" || f == "note" {
                    input
                } else {
                    ""
                }
                .to_string()
            })?;
            again(&state, &s, &client, &id, status, p, typed).await
        }
    }
}

/// `POST /admin/orders/{id}/mark-paid`: an order on hold for an offline payment becomes paid
/// ([`crate::payment_flow_staff::mark_paid`]). Audited as `order.marked_paid` with the amount.
pub async fn mark_paid(
    s: Manager,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let id = OrderId(id);
    let detail = state.db.order_detail(&id).await?;
    let actor = s.user().email.clone();
    match crate::payment_flow_staff::mark_paid(&state, &id, &actor).await {
        Ok(_) => {
            let amount = super::admin_orders_view::money(
                &state,
                &detail.summary.currency,
                detail.summary.total_minor,
            );
            let details = format!("order #{}, {amount}", detail.summary.number);
            record(
                &state,
                &s,
                &client,
                "order.marked_paid",
                id.as_str(),
                details,
            )
            .await?;
            Ok(see_other(&order_url(id.as_str(), "marked-paid")))
        }
        Err(e) => {
            let (status, p) = refusal(e, &|_| String::new())?;
            again(&state, &s, &client, &id, status, p, Typed::default()).await
        }
    }
}

/// `POST /admin/orders/{id}/notes` (field `note`): a staff note in the timeline (audited as
/// `order.noted`, without the text).
pub async fn note(
    s: Manager,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let id = OrderId(id);
    let number = number_of(&state, &id).await?;
    let text = f.get("note").trim().to_string();
    let actor = s.user().email.clone();
    match state.db.add_order_note(&id, &actor, &text).await {
        Ok(()) => {
            let details = format!("order #{number}");
            record(&state, &s, &client, "order.noted", id.as_str(), details).await?;
            Ok(see_other(&order_url(id.as_str(), "noted")))
        }
        Err(e) => {
            let (status, p) = refusal(e.into(), &|_| "note-text".to_string())?;
            let typed = Typed {
                note: text,
                ..Default::default()
            };
            again(&state, &s, &client, &id, status, p, typed).await
        }
    }
}
