//! Stock levels, the ledger, and the three ways stock changes: adjust, transfer, count.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use storefort_core::model::{Movement, Page, StockLevel};
use storefort_core::stock::Reason;
use storefort_store::stock::Change;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{perm, Api};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::AppState;

/// Add or remove units at one location.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustInput {
    /// Variant.
    pub variant_id: String,
    /// Location.
    pub location_id: String,
    /// Units to add (positive) or remove (negative).
    pub delta: i64,
    /// `received`, `sale`, `return`, `damaged` or `correction`.
    pub reason: Reason,
    /// Optional note (up to 500 characters).
    #[serde(default)]
    pub note: String,
}

/// Move units between locations.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// Variant.
    pub variant_id: String,
    /// From this location.
    pub from_location_id: String,
    /// To this location.
    pub to_location_id: String,
    /// Units to move (at least 1).
    pub quantity: i64,
    /// Optional note.
    #[serde(default)]
    pub note: String,
}

/// Record a physical count.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountInput {
    /// Variant.
    pub variant_id: String,
    /// Location.
    pub location_id: String,
    /// Units counted on the shelf.
    pub counted: i64,
    /// Optional note.
    #[serde(default)]
    pub note: String,
}

/// Both ledger lines of a transfer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferResult {
    /// The line at the source.
    pub out: Movement,
    /// The line at the destination.
    #[serde(rename = "in")]
    pub into: Movement,
}

/// Paging for the ledger.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LedgerParams {
    /// Page size, 1-100 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// Stock of a variant at every location.
#[utoipa::path(get, path = "/api/v1/variants/{id}/stock", tag = "stock", params(("id" = String, Path)),
    responses((status = 200, body = Vec<StockLevel>), (status = 404, body = ErrorBody)))]
pub async fn levels(
    _p: Api<perm::StockView>,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<StockLevel>>> {
    Ok(Json(s.db.stock_levels(&id).await?))
}

/// The stock ledger of a variant, newest first.
#[utoipa::path(get, path = "/api/v1/variants/{id}/movements", tag = "stock", params(("id" = String, Path), LedgerParams),
    responses((status = 200, body = Page<Movement>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn movements(
    _p: Api<perm::StockView>,
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LedgerParams>,
) -> ApiResult<Json<Page<Movement>>> {
    Ok(Json(
        s.db.movements(&id, q.cursor.as_deref(), q.limit.unwrap_or(50))
            .await?,
    ))
}

/// Adjust stock with a reason. Refused (422, field `quantity`) if it would go below zero
/// without backorders.
#[utoipa::path(post, path = "/api/v1/stock/adjust", tag = "stock", request_body = AdjustInput,
    responses((status = 200, body = Movement), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn adjust(
    p: Api<perm::StockEdit>,
    State(s): State<AppState>,
    ApiJson(i): ApiJson<AdjustInput>,
) -> ApiResult<Json<Movement>> {
    let actor = p.actor();
    let c = Change {
        variant_id: &i.variant_id,
        location_id: &i.location_id,
        note: &i.note,
        actor: &actor,
    };
    Ok(Json(s.db.adjust_stock(&c, i.delta, i.reason).await?))
}

/// Transfer stock between locations.
#[utoipa::path(post, path = "/api/v1/stock/transfer", tag = "stock", request_body = TransferInput,
    responses((status = 200, body = TransferResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn transfer(
    p: Api<perm::StockEdit>,
    State(s): State<AppState>,
    ApiJson(i): ApiJson<TransferInput>,
) -> ApiResult<Json<TransferResult>> {
    let actor = p.actor();
    let c = Change {
        variant_id: &i.variant_id,
        location_id: &i.from_location_id,
        note: &i.note,
        actor: &actor,
    };
    let (out, into) =
        s.db.transfer_stock(&c, &i.to_location_id, i.quantity)
            .await?;
    Ok(Json(TransferResult { out, into }))
}

/// Record a stock count; the ledger keeps the difference.
#[utoipa::path(post, path = "/api/v1/stock/count", tag = "stock", request_body = CountInput,
    responses((status = 200, body = Movement), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn count(
    p: Api<perm::StockEdit>,
    State(s): State<AppState>,
    ApiJson(i): ApiJson<CountInput>,
) -> ApiResult<Json<Movement>> {
    let actor = p.actor();
    let c = Change {
        variant_id: &i.variant_id,
        location_id: &i.location_id,
        note: &i.note,
        actor: &actor,
    };
    Ok(Json(s.db.count_stock(&c, i.counted).await?))
}
