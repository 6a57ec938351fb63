//! The phone-check review queue through the API (the OrdersManage permission, as on the admin
//! pages): the queue, one order's screening record with its calls, and the decisions: approve
//! (capture), cancel (void and restock), ask the customer to pay again, log a call. The work
//! is done by [`crate::fraud_review`]; a refusal changes nothing (409 when the order is not
//! waiting for a check or its authorization ran out, with code `authorization_expired` for
//! the latter; 422 naming the field for bad input). Each decision is audited like its admin
//! page counterpart (`review.approved`, `review.cancelled`, `review.pay_again`,
//! `review.call_logged`) with the order number and score, never personal data or free text;
//! opening one order is audited as `order.viewed` (call notes may hold personal data).

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use storefort_core::ids::OrderId;
use storefort_store::reviews::{OrderRisk, ReviewCall, ReviewSummary};
use utoipa::{IntoParams, ToSchema};

use super::orders::{order_id, record};
use crate::auth::{perm, Api};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::fraud_review;
use crate::middleware::ClientInfo;
use crate::AppState;

/// Queue size asked for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// Most orders returned, 1-500 (default 100).
    pub limit: Option<i64>,
}

/// One order's screening record and the calls logged about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewDetail {
    /// Order ID.
    pub order_id: String,
    /// Order number.
    pub number: i64,
    /// Order status (`on_hold` while waiting for a check, `paid` once approved, ...).
    pub status: String,
    /// Total, minor units.
    pub total_minor: i64,
    /// ISO currency.
    pub currency: String,
    /// Screening's record (`null` when the order was never screened).
    pub risk: Option<OrderRisk>,
    /// Calls logged, oldest first.
    pub calls: Vec<ReviewCall>,
}

/// Cancel a held order.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// Why (optional, up to 500 characters; kept in the order's timeline, never sent to the
    /// customer).
    #[serde(default)]
    pub reason: String,
}

/// A call to the customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallInput {
    /// How it went: `confirmed`, `denied`, `no_answer`, `left_message` or `wrong_number`.
    pub outcome: String,
    /// Note (optional, up to 2000 characters; stored encrypted with the customer's data).
    #[serde(default)]
    pub note: String,
}

async fn detail_of(s: &AppState, order: &OrderId) -> ApiResult<ReviewDetail> {
    let d = s.db.order_detail(order).await?;
    Ok(ReviewDetail {
        risk: s.db.order_risk(order).await?,
        calls: s.db.review_calls(order).await?,
        order_id: d.summary.id,
        number: d.summary.number,
        status: d.summary.status,
        total_minor: d.summary.total_minor,
        currency: d.summary.currency,
    })
}

/// `order #N, score S` for audit entries (also proves the order exists: 404).
async fn described(s: &AppState, order: &OrderId) -> ApiResult<String> {
    let number = s.db.order_detail(order).await?.summary.number;
    let score = s.db.order_risk(order).await?.and_then(|r| r.score);
    Ok(match score {
        Some(sc) => format!("order #{number}, score {sc}"),
        None => format!("order #{number}, not screened"),
    })
}

/// Orders waiting for a phone check, highest score first (reasons hold no personal data, so
/// listing is not audited).
#[utoipa::path(get, path = "/api/v1/admin/reviews", tag = "reviews", params(QueueParams),
    responses((status = 200, body = Vec<ReviewSummary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    _p: Api<perm::OrdersManage>,
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<QueueParams>,
) -> ApiResult<Json<Vec<ReviewSummary>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "choose a limit from 1 to 500",
        )
        .field("limit"));
    }
    Ok(Json(s.db.review_queue(limit).await?))
}

/// One order's screening record (score, decision, reasons, card checks, IP country, review
/// state, when the authorization runs out) and its calls. Audited as `order.viewed`.
#[utoipa::path(get, path = "/api/v1/admin/reviews/{id}", tag = "reviews", params(("id" = String, Path)),
    responses((status = 200, body = ReviewDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn detail(
    p: Api<perm::OrdersManage>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
) -> ApiResult<Json<ReviewDetail>> {
    let order = order_id(&id)?;
    let d = detail_of(&s, &order).await?;
    let details = format!("order #{}, review, via the API", d.number);
    record(&s, &p, &client, "order.viewed", order.as_str(), details).await?;
    Ok(Json(d))
}

/// Approve a held order: its authorization is captured and it is released for fulfilment.
/// 409 (nothing changed) when it is not waiting for a check, or with code
/// `authorization_expired` when the authorization ran out: ask the customer to pay again.
/// Audited as `review.approved`.
#[utoipa::path(post, path = "/api/v1/admin/reviews/{id}/approve", tag = "reviews", params(("id" = String, Path)),
    responses((status = 200, body = ReviewDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn approve(
    p: Api<perm::OrdersManage>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
) -> ApiResult<Json<ReviewDetail>> {
    let order = order_id(&id)?;
    let what = described(&s, &order).await?;
    fraud_review::approve(&s, &order, &p.actor()).await?;
    let details = format!("{what}, via the API");
    record(&s, &p, &client, "review.approved", order.as_str(), details).await?;
    Ok(Json(detail_of(&s, &order).await?))
}

/// Cancel a held order: the authorization is voided, the stock returned and the customer told
/// neutrally. 409 when it is not waiting for a check. Audited as `review.cancelled`.
#[utoipa::path(post, path = "/api/v1/admin/reviews/{id}/cancel", tag = "reviews", params(("id" = String, Path)),
    request_body = CancelInput,
    responses((status = 200, body = ReviewDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn cancel(
    p: Api<perm::OrdersManage>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    ApiJson(i): ApiJson<CancelInput>,
) -> ApiResult<Json<ReviewDetail>> {
    let order = order_id(&id)?;
    let what = described(&s, &order).await?;
    fraud_review::cancel(&s, &order, &p.actor(), &i.reason).await?;
    let given = if i.reason.trim().is_empty() {
        "no reason given"
    } else {
        "with a reason"
    };
    let details = format!("{what}, {given}, via the API");
    record(&s, &p, &client, "review.cancelled", order.as_str(), details).await?;
    Ok(Json(detail_of(&s, &order).await?))
}

/// The authorization ran out (or the customer wants another card): release it, put the order
/// back to awaiting payment for 48 hours and email the customer a link to pay. 409 when it is
/// not waiting for a check. Audited as `review.pay_again`.
#[utoipa::path(post, path = "/api/v1/admin/reviews/{id}/ask-to-pay", tag = "reviews", params(("id" = String, Path)),
    responses((status = 200, body = ReviewDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn ask_to_pay(
    p: Api<perm::OrdersManage>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
) -> ApiResult<Json<ReviewDetail>> {
    let order = order_id(&id)?;
    let what = described(&s, &order).await?;
    fraud_review::ask_to_pay(&s, &order, &p.actor()).await?;
    let details = format!("{what}, via the API");
    record(&s, &p, &client, "review.pay_again", order.as_str(), details).await?;
    Ok(Json(detail_of(&s, &order).await?))
}

/// Log a call to the customer (its outcome also goes to the order's timeline). Audited as
/// `review.call_logged` with the outcome, without the note.
#[utoipa::path(post, path = "/api/v1/admin/reviews/{id}/calls", tag = "reviews", params(("id" = String, Path)),
    request_body = CallInput,
    responses((status = 200, body = ReviewDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn call(
    p: Api<perm::OrdersManage>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    ApiJson(i): ApiJson<CallInput>,
) -> ApiResult<Json<ReviewDetail>> {
    let order = order_id(&id)?;
    let what = described(&s, &order).await?;
    let o = fraud_review::log_call(&s, &order, &i.outcome, &i.note, &p.actor()).await?;
    let note = if i.note.trim().is_empty() {
        "no note"
    } else {
        "with a note"
    };
    let details = format!("{what}, outcome {}, {note}, via the API", o.as_str());
    record(
        &s,
        &p,
        &client,
        "review.call_logged",
        order.as_str(),
        details,
    )
    .await?;
    Ok(Json(detail_of(&s, &order).await?))
}
