//! What staff do to an order through the API: fulfil (OrdersManage), cancel (OrdersManage) and
//! refund (Refunds, with the password typed in the last few minutes, as on the admin page).
//! Money moves only through [`crate::payment_flow`]; everything is checked before the gateway
//! is asked, so a refused request changes nothing. Each change is audited like its admin page
//! counterpart (`order.fulfilled`, `order.cancelled`, `order.refunded`) with the order number
//! and amounts, never personal data or free text.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;
use storefort_core::money::Currency;
use storefort_core::order_state::{self, OrderEvent, OrderStatus};
use storefort_core::{text, ValidationError};
use storefort_store::order_read::OrderDetail;
use storefort_store::StoreError;
use utoipa::ToSchema;

use super::orders::{order_id, record};
use crate::auth::{perm, Api};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::middleware::ClientInfo;
use crate::AppState;

/// Mark an order sent.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilInput {
    /// Carrier's tracking number (optional, up to 100 characters).
    #[serde(default)]
    pub tracking: String,
}

/// Cancel an order that has not been paid.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// Why (required, up to 500 characters; kept in the order's timeline).
    pub reason: String,
}

/// Units of one order line to put back in stock.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestockLine {
    /// The line's `position` in the order.
    pub position: i64,
    /// Units (at least 1, at most those not yet returned).
    pub quantity: i64,
}

/// Refund part or all of what was paid.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// Amount (minor units), at most what is left of the payment.
    pub amount_minor: i64,
    /// Lines to put back in stock.
    #[serde(default)]
    pub restock: Vec<RestockLine>,
    /// Why (optional, up to 500 characters).
    #[serde(default)]
    pub reason: String,
}

/// Mark a paid order fulfilled (audited as `order.fulfilled`).
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/fulfil", tag = "orders", params(("id" = String, Path)),
    request_body = FulfilInput,
    responses((status = 200, body = OrderDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn fulfil(
    p: Api<perm::OrdersManage>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    ApiJson(i): ApiJson<FulfilInput>,
) -> ApiResult<Json<OrderDetail>> {
    let order = order_id(&id)?;
    let number = s.db.order_detail(&order).await?.summary.number;
    s.db.fulfil_order(&order, &i.tracking, &p.actor()).await?;
    let details = format!(
        "order #{number}, {}, via the API",
        if i.tracking.trim().is_empty() {
            "no tracking number"
        } else {
            "with a tracking number"
        }
    );
    record(&s, &p, &client, "order.fulfilled", order.as_str(), details).await?;
    Ok(Json(s.db.order_detail(&order).await?))
}

/// Cancel an order not yet paid: any card authorization is voided and the stock returned.
/// A paid order is refused (409): refund it instead. Audited as `order.cancelled`.
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/cancel", tag = "orders", params(("id" = String, Path)),
    request_body = CancelInput,
    responses((status = 200, body = OrderDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn cancel(
    p: Api<perm::OrdersManage>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    ApiJson(i): ApiJson<CancelInput>,
) -> ApiResult<Json<OrderDetail>> {
    let order = order_id(&id)?;
    let d = s.db.order_detail(&order).await?;
    let reason = text::optional("reason", &i.reason, 500)?;
    if reason.is_empty() {
        return Err(ValidationError::new("reason", "say why the order is cancelled").into());
    }
    let from = d.status();
    if matches!(
        from,
        Some(OrderStatus::Paid | OrderStatus::Fulfilled | OrderStatus::PartiallyRefunded)
    ) {
        return Err(StoreError::state(
            "status",
            "this order has been paid, so it cannot be cancelled: refund it instead (and put \
             the items back in stock with the refund)",
        )
        .into());
    }
    crate::payment_flow::cancel(&s, &order, &p.actor(), &reason).await?;
    let was = from.map_or("unknown", |st| st.as_str());
    let details = format!("order #{}, was {was}, via the API", d.summary.number);
    record(&s, &p, &client, "order.cancelled", order.as_str(), details).await?;
    Ok(Json(s.db.order_detail(&order).await?))
}

/// The restock list checked against the order's lines (422 naming `restock[i]...`).
fn restock_of(d: &OrderDetail, lines: &[RestockLine]) -> ApiResult<Vec<(i64, i64)>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(lines.len());
    for (n, r) in lines.iter().enumerate() {
        let Some(l) = d.lines.iter().find(|l| l.position == r.position) else {
            return Err(ApiError::invalid(
                format!("restock[{n}].position"),
                format!("the order has no line at position {}", r.position),
            ));
        };
        if !seen.insert(r.position) {
            return Err(ApiError::invalid(
                format!("restock[{n}].position"),
                "each line may appear once",
            ));
        }
        let left = (l.quantity - l.refunded_quantity).max(0);
        if !(1..=left).contains(&r.quantity) {
            return Err(ApiError::invalid(
                format!("restock[{n}].quantity"),
                format!("for {} choose from 1 to {left} units", l.name),
            ));
        }
        out.push((r.position, r.quantity));
    }
    Ok(out)
}

/// Refund through the gateway that took the money, optionally restocking lines. Refused with
/// nothing changed: bad input (422), an amount above what is left or a state that allows no
/// refund (409, `amount_minor` / `status`), no recent password (403). Audited as
/// `order.refunded` with the number and amount.
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/refund", tag = "orders", params(("id" = String, Path)),
    request_body = RefundInput,
    responses((status = 200, body = OrderDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn refund(
    p: Api<perm::Refunds>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    ApiJson(i): ApiJson<RefundInput>,
) -> ApiResult<Json<OrderDetail>> {
    let order = order_id(&id)?;
    let d = s.db.order_detail(&order).await?;
    if i.amount_minor <= 0 {
        return Err(ApiError::invalid(
            "amount_minor",
            "enter an amount above zero",
        ));
    }
    let restock = restock_of(&d, &i.restock)?;
    let reason = text::optional("reason", &i.reason, 500)?;
    let cur = Currency::from_code(&d.summary.currency).unwrap_or(s.cfg.currency);
    let (st, paid, before) = s.db.refundable(&order).await?;
    let ev = OrderEvent::Refund {
        amount_minor: i.amount_minor,
        refunded_before_minor: before,
        paid_minor: paid,
    };
    if let Err(v) = order_state::next_in(&cur, st, &ev) {
        let field = if v.field == "amount" {
            "amount_minor".to_string()
        } else {
            v.field
        };
        return Err(StoreError::state(field, v.message).into());
    }
    p.require_recent_password(&s)?;
    let actor = p.actor();
    let units: i64 = restock.iter().map(|(_, n)| n).sum();
    let to = crate::payment_flow::refund(&s, &order, i.amount_minor, restock, &reason, &actor)
        .await
        .map_err(|e| match e.field.as_deref() {
            Some("amount") => e.field("amount_minor"),
            _ => e,
        })?;
    let details = format!(
        "order #{}, {} ({}), {units} units restocked, via the API",
        d.summary.number,
        cur.format(i.amount_minor),
        if to == OrderStatus::Refunded {
            "in full"
        } else {
            "partial"
        },
    );
    record(&s, &p, &client, "order.refunded", order.as_str(), details).await?;
    Ok(Json(s.db.order_detail(&order).await?))
}
